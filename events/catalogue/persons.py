"""Persons: the erasure of a person's personal data (crypto-shredding).

``person.erased`` is recorded once the person's data keys are destroyed: the sealed fields of their
events stay in the log (it is append-only) but no longer open, and every answer shows the person as
erased. Only the platform's operator (an admin key) records it (``oretrail erase``).
"""
from __future__ import annotations

from events.catalogue.base import DataSchema
from events.fields import Identifier, Text


class PersonErased(DataSchema):
    """A person whose data keys were destroyed: ``person_id`` (e.g. a miner id) and why, in words."""

    stream_field = "person_id"
    person_id = Identifier(required=True)
    reason = Text(required=True, max_length=2000)


SCHEMAS = {
    "person.erased": PersonErased,
}
