"""The base of every event-data schema: strict, unknown fields are errors."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields

from events.fields import Grams, Identifier


class DataSchema(Schema):
    """Base for the ``data`` of an event type. Subclasses name the stream the event belongs to."""

    #: the field of ``data`` whose value is the event's stream (the thing it is about)
    stream_field: str = ""

    class Meta:
        unknown = RAISE


class LotQuantity(DataSchema):
    """A quantity of a lot taken into (or out of) a transformation: ``{lot_id, mass_g}``."""

    lot_id = Identifier(required=True)
    mass_g = Grams(required=True)


def quantities(**kwargs) -> fields.List:
    """A non-empty list of lot quantities (at most 10,000)."""
    from marshmallow import validate

    return fields.List(fields.Nested(LotQuantity), validate=validate.Length(min=1, max=10_000), **kwargs)


def require_distinct(items: list[dict], field_name: str, key: str = "lot_id") -> None:
    """Raise a ValidationError at ``field_name`` when two items name the same ``key``."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item[key] in seen:
            raise ValidationError({field_name: {index: {key: [f"Repeated {key} {item[key]!r}."]}}})
        seen.add(item[key])


def require_together(data: dict, field_name: str, needs: str) -> None:
    """Raise a ValidationError at ``needs`` when ``field_name`` is given without it."""
    if field_name in data and needs not in data:
        raise ValidationError({needs: [f"Required when {field_name} is given."]})
