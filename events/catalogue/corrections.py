"""Corrections: an organisation takes back an event it attested (``event.retracted``).

The log is append-only: a mistake is corrected by a later event that says so. A retraction names
the event it takes back and why; the read models then count the retracted event for nothing, and
the timeline shows both (see ``consumers.retractions``).
"""
from __future__ import annotations

from events.catalogue.base import DataSchema
from events.fields import EventId, Text


class EventRetracted(DataSchema):
    """Takes back an earlier event: ``event_id`` names it, ``reason`` says why."""

    stream_field = "event_id"
    event_id = EventId(required=True)
    reason = Text(required=True, max_length=2000)


SCHEMAS = {
    "event.retracted": EventRetracted,
}
