"""The catalogue's marshmallow rules, compiled into plain functions for the hot path of capture.

marshmallow stays the contract's source of truth: its schemas generate the OpenAPI document and
word every error. But a ``Schema.load`` pays for error stores, hooks and per-field closures on every
field of every event, most of capture's time. Here each schema is compiled once into a function
that runs the very same field conversions, field validators and schema validators (the schema's
own methods), and only says whether a document is valid: it raises :class:`Invalid` (no message)
at the first problem. :func:`events.envelope.validation_errors` asks it first and asks marshmallow
only for a document it refuses, to word the errors; a property test keeps both verdicts equal.

A schema using what this compiler does not know (load hooks, field-level ``@validates``, an
``unknown`` policy other than RAISE, ``many`` nesting, per-field pre/post-load functions) compiles
to ``None``: its documents always go through marshmallow.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

from marshmallow import RAISE, Schema, ValidationError, fields
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from marshmallow.utils import is_collection

#: a compiled check: the value loaded as marshmallow would load it, or :class:`Invalid` raised
Check = Callable[[Any, Mapping[str, Any] | None], Any]

_MISSING = object()


class Invalid(Exception):
    """A document the compiled rules refuse (marshmallow then says why)."""


class Unsupported(Exception):
    """A schema or field the compiler does not know: its documents go through marshmallow."""


def compile_schema(schema: Schema) -> Callable[[Any], dict[str, Any]] | None:
    """``schema``'s load as a plain function (raising :class:`Invalid`), or None if it cannot be compiled."""
    try:
        return _schema(schema)
    except Unsupported:
        return None


def _schema(schema: Schema) -> Callable[[Any], dict[str, Any]]:
    hooks = schema._hooks  # noqa: SLF001 - the hooks marshmallow resolved for this class
    if hooks[PRE_LOAD] or hooks[POST_LOAD] or hooks[VALIDATES] or schema.unknown != RAISE or schema.many \
            or schema.partial:
        raise Unsupported(type(schema).__name__)
    entries = []
    for attr_name, field in schema.load_fields.items():
        key = field.data_key if field.data_key is not None else attr_name
        entries.append((key, field.attribute or attr_name, field.required, field.load_default, _field(field)))
    known = frozenset(key for key, *_ in entries)
    validators = []
    for attr_name, hook_many, kwargs in hooks[VALIDATES_SCHEMA]:
        if hook_many:
            raise Unsupported(f"{type(schema).__name__}.{attr_name}: a collection validator")
        validators.append((getattr(schema, attr_name), bool(kwargs.get("pass_original", False))))

    def load(raw: Any) -> dict[str, Any]:
        if (type(raw) is not dict and not isinstance(raw, Mapping)) or not known.issuperset(raw):
            raise Invalid
        out: dict[str, Any] = {}
        for key, attribute, required, load_default, check in entries:
            value = raw.get(key, _MISSING)
            if value is _MISSING:
                if required:
                    raise Invalid
                if load_default is fields.missing_:
                    continue
                out[attribute] = load_default() if callable(load_default) else load_default
                continue
            out[attribute] = check(value, raw)
        try:
            for validator, pass_original in validators:
                if pass_original:
                    validator(out, raw, partial=None, many=False, unknown=RAISE)
                else:
                    validator(out, partial=None, many=False, unknown=RAISE)
        except ValidationError:
            raise Invalid from None
        return out

    return load


def _field(field: fields.Field) -> Check:
    """A check running what ``field.deserialize`` runs: null, conversion, validators."""
    if field.pre_load or field.post_load:
        raise Unsupported(f"{type(field).__name__} with load functions")
    allow_none = field.allow_none
    validators = tuple(field.validators)
    if isinstance(field, fields.Nested):
        if field.many or field.schema.many:
            raise Unsupported("Nested(many=True)")
        if field.unknown is not None and field.unknown != RAISE:
            raise Unsupported("Nested with its own unknown policy")
        nested = _schema(field.schema)
        return _checked(lambda value, _attr, _data: nested(value), allow_none, validators)
    if isinstance(field, fields.List):
        inner = _field(field.inner)

        def convert(value: Any, _attr: None, data: Mapping | None) -> Any:
            if not is_collection(value):
                raise Invalid
            return [inner(each, data) for each in value]
        return _checked(convert, allow_none, validators)
    if type(field)._deserialize is fields.List._deserialize:  # noqa: SLF001 - a List by another name
        raise Unsupported(type(field).__name__)
    return _checked(field._deserialize, allow_none, validators)  # noqa: SLF001 - the field's own conversion


def _checked(deserialize: Callable[..., Any], allow_none: bool, validators: tuple) -> Check:
    """A field's check: null, then its conversion ``deserialize(value, attr, data)`` and its
    validators in one call (a ValidationError from either refuses)."""
    def check(value: Any, data: Mapping[str, Any] | None) -> Any:
        if value is None:
            if allow_none:
                return None
            raise Invalid
        try:
            output = deserialize(value, None, data)
            for validator in validators:  # as marshmallow's And: only a ValidationError refuses
                validator(output)
        except ValidationError:
            raise Invalid from None
        return output

    return check
