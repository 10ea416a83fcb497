"""The event feed: the log read in order from an opaque cursor, filtered by type and subject.

A cursor is the reader's :class:`~events.position.LogPosition` (partition -> next offset) with the
log's name, as base64url JSON: on SQLite ``{0: the last position read}``, on Kafka one offset per
partition. It names only places in the log, so it stays valid across restarts and processes, and a
page read from it again gives the same events. Within a partition (on Kafka: for each stream, whose
key picks its partition) events come in log order; between partitions there is no order to keep.

An event is shown as stored: its envelope and the server's fields (``recorded_at``, ``position``,
``hash``, ``attested_by``). A key that may not read restricted fields (names, photo-ID hashes,
coordinates: ``events.catalogue.RESTRICTED_FIELDS``) gets the event without them, as in the timelines.

``subject``: an event is *about* an id when the id is its ``recorded_by`` or the value of an
identifier field of its ``data`` (a key ending in ``_id`` or ``_ids``, at any depth, so the lots
of ``inputs`` and ``outputs`` too, and an audit's ``auditor``).
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import orjson

from events.catalogue import RESTRICTED_FIELDS
from events.log import EventLog, RecordedEvent
from events.position import LogPosition
from services.errors import InvalidRequest

#: how many events one request may scan for matches of a filter before it answers (with a cursor past them)
SCAN_BUDGET = 20_000
#: fields of ``data`` naming an organisation without the ``_id`` suffix
_ID_FIELDS = frozenset({"auditor"})


def encode_cursor(log_name: str, position: LogPosition) -> str:
    """The opaque cursor of ``position`` in the log named ``log_name``."""
    document = orjson.dumps({"log": log_name, "at": position.as_json()})
    return base64.urlsafe_b64encode(document).decode().rstrip("=")


def decode_cursor(log_name: str, cursor: str | None) -> LogPosition:
    """The position a cursor names (the log's start for none); :class:`InvalidRequest` (422) if it is not
    a cursor of this log."""
    if not cursor:
        return LogPosition.start()
    try:
        document = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if document["log"] != log_name:
            raise ValueError("a cursor of another log")
        return LogPosition({int(partition): int(offset) for partition, offset in document["at"].items()})
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidRequest("after is not a cursor of this feed: pass the `next` of an earlier page, or nothing "
                             "to start from the beginning.", {"after": ["Not a valid cursor."]}) from None


def subjects_of(envelope: dict[str, Any]) -> set[str]:
    """The ids an event is about: its ``recorded_by`` and every identifier field of its ``data``."""
    found = {envelope.get("recorded_by")}
    found.update(_identifiers(envelope.get("data", {})))
    found.discard(None)
    return found  # type: ignore[return-value] - None was discarded


def _identifiers(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and (key.endswith("_id") or key in _ID_FIELDS):
                yield item
            elif key.endswith("_ids") and isinstance(item, list):
                yield from (entry for entry in item if isinstance(entry, str))
            elif isinstance(item, (dict, list)):
                yield from _identifiers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _identifiers(item)


def visible_event(event: RecordedEvent, sees_restricted: bool, envelope: dict[str, Any] | None = None) -> dict[str, Any]:
    """``event`` as the feed and webhooks show it to a key that may (or may not) read restricted fields."""
    envelope = orjson.loads(event.body) if envelope is None else envelope
    if not sees_restricted:
        hidden = RESTRICTED_FIELDS.get(event.type)
        data = envelope.get("data")
        if hidden is not None and isinstance(data, dict) and not hidden.isdisjoint(data):
            envelope = {**envelope, "data": {key: item for key, item in data.items() if key not in hidden}}
    return {**envelope, **event.server_fields()}


@dataclass(frozen=True)
class FeedFilter:
    """Which events a reader wants: of some types (any when empty) and about one id (any when None)."""

    types: frozenset[str] = frozenset()
    subject: str | None = None

    def matches(self, event: RecordedEvent, envelope: dict[str, Any] | None) -> bool:
        """Whether ``event`` (whose parsed envelope is ``envelope``, needed only with a subject) passes."""
        if self.types and event.type not in self.types:
            return False
        return self.subject is None or self.subject in subjects_of(envelope or orjson.loads(event.body))


def shown_json(event: RecordedEvent, sees_restricted: bool) -> orjson.Fragment:
    """:func:`visible_event` as ready JSON: an event with nothing to hide is its stored body with the
    server's fields spliced in, never parsed (the stored body is one JSON object, the envelope)."""
    hidden = None if sees_restricted else RESTRICTED_FIELDS.get(event.type)
    if hidden is not None:
        return orjson.Fragment(orjson.dumps(visible_event(event, sees_restricted)))
    server = orjson.dumps(event.server_fields())
    return orjson.Fragment(event.body[:-1] + b"," + server[1:])


@dataclass(frozen=True)
class Matches:
    """Events of the log that passed a filter (each with its parsed envelope when the filter parsed it),
    the position after everything read, and whether the log's end was reached."""

    events: list[RecordedEvent]
    envelopes: list[dict[str, Any] | None]
    next: LogPosition
    caught_up: bool


@dataclass(frozen=True)
class FeedPage:
    """One page of the feed: the events shown (as JSON), the position after them, and whether the log's
    end was reached."""

    events: list[orjson.Fragment]
    next: LogPosition
    caught_up: bool


class Feed:
    """Reads the log as the feed shows it."""

    def __init__(self, log: EventLog):
        self.log = log

    @property
    def name(self) -> str:
        """The log's name, carried in each cursor."""
        return self.log.name

    def page(self, after: LogPosition, limit: int, wanted: FeedFilter = FeedFilter(),
             sees_restricted: bool = False) -> FeedPage:
        """Up to ``limit`` events past ``after`` that pass ``wanted``, as the feed shows them to a key
        that may (or may not) read restricted fields."""
        found = self.read_events(after, limit, wanted)
        return FeedPage([shown_json(event, sees_restricted) for event in found.events], found.next, found.caught_up)

    def read_events(self, after: LogPosition, limit: int, wanted: FeedFilter = FeedFilter(),
                    budget: int = SCAN_BUDGET) -> Matches:
        """Up to ``limit`` events past ``after`` that pass ``wanted``, oldest first per partition.

        With a filter, at most ``budget`` events are scanned: the answer may then hold fewer than
        ``limit`` events (even none) with ``caught_up`` false, and its ``next`` goes past everything scanned.
        """
        events: list[RecordedEvent] = []
        envelopes: list[dict[str, Any] | None] = []
        position = after
        scanned = 0
        filtered = bool(wanted.types) or wanted.subject is not None
        while True:
            asked = max(limit, 500) if filtered else limit - len(events)
            page = self.log.page(position, asked)
            if not page.events:
                return Matches(events, envelopes, page.next, caught_up=True)
            for index, event in enumerate(page.events):
                envelope = orjson.loads(event.body) if wanted.subject is not None else None
                if not wanted.matches(event, envelope):
                    continue
                events.append(event)
                envelopes.append(envelope)
                if len(events) == limit:
                    if index + 1 < len(page.events):  # stopped inside the page: the position after this event
                        return Matches(events, envelopes, _after_events(position, page.events[:index + 1]), False)
                    return Matches(events, envelopes, page.next, caught_up=len(page.events) < asked)
            position = page.next
            scanned += len(page.events)
            if len(page.events) < asked:
                return Matches(events, envelopes, position, caught_up=True)
            if scanned >= budget:
                return Matches(events, envelopes, position, caught_up=False)


def _after_events(position: LogPosition, events: Iterable[RecordedEvent]) -> LogPosition:
    """``position`` moved past ``events`` (each partition to the offset after its last event read)."""
    reached: dict[int, int] = {}
    for event in events:
        reached[event.partition] = max(reached.get(event.partition, 0), event.offset + 1)
    return position.advanced(reached)
