"""Retractions in the read models: an ``event.retracted`` takes back an event its organisation attested.

Every read model must be what the log says minus the events validly retracted, whatever the order
in which events arrive. The runner sees to it for every projector, in one place
(``ProjectionRunner.apply_events``: both runners and rebuilds go through it):

- each event a projector handles leaves its attester (``attested_by.organisation``; for an event
  logged before attestation existed, its ``recorded_by``), its type and its place in the log in
  ``log_event_attesters``, shared by the projectors (it is a fact of the log);
- each retraction becomes a claim of the projector in ``projector_retractions``: ``pending`` until
  its event is seen, then ``done`` (valid: the event counts for nothing), ``refused`` (the event is
  another organisation's, or is itself a retraction) or ``undo``;
- an event with a valid retraction is never applied: it is handed to the projector's
  ``apply_retracted`` if it has one (the provenance keeps it in the timeline, marked), else dropped;
- a valid retraction of an event the projector has *already applied* is ``undo``: no read model can
  take an event back row by row, so the runner rebuilds the read model beside the live one
  (:mod:`consumers.rebuild`), where the event is dropped like any retracted event; the API serves
  the old read model until the switch. Retractions are rare corrections; a rebuild is the one undo
  that is right for every projector.

The claims a projector keeps are replaced with its rebuild's at the switch, and a rebuild starts
from the live claims (status ``pending``), so an event retracted later in the log than itself is
dropped when the replay meets it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, Engine, select, update

from consumers import tracking
from consumers.sql import among, insert_ignore
from events.log import RecordedEvent
from events.position import LogPosition

RETRACTION = "event.retracted"
_CHUNK = 500


@dataclass
class Sorted:
    """A batch sorted by the retractions a projector knows: what to apply, what to keep aside."""

    #: the events to apply as usual (retractions included, for projectors that handle them)
    apply: list[RecordedEvent] = field(default_factory=list)
    #: events validly retracted, each with the event id of its retraction
    retracted: list[tuple[RecordedEvent, str]] = field(default_factory=list)
    #: retractions of events this projector already applied: the read model must be rebuilt
    undo: list[str] = field(default_factory=list)


def attester_of(event: RecordedEvent) -> str:
    """The organisation that attested ``event``: its key's, or (logged before keys were kept) its recorder."""
    if event.attested_by is not None:
        return event.attested_by.organisation
    return event.envelope["recorded_by"]


def refusal(retracted_by: str, target_attester: str, target_type: str) -> str | None:
    """Why a retraction by ``retracted_by`` of an event does not count, or None when it does."""
    if target_type == RETRACTION:
        return "a retraction cannot be retracted"
    if retracted_by != target_attester:
        return f"only {target_attester}, which attested the event, may retract it"
    return None


def sort_batch(tx: Connection, projector: str, handles: frozenset[str], events: Sequence[RecordedEvent],
               applied: LogPosition) -> Sorted:
    """Record the batch's attesters and retraction claims for ``projector``, and sort the batch.

    ``applied`` is the projector's position before the batch: an event before it was applied.
    """
    handled = [event for event in events if event.type in handles or event.type == RETRACTION]
    claims = tracking.retractions
    _record_attesters(tx, handled)
    new_claims = [event for event in handled if event.type == RETRACTION]
    if new_claims:
        insert_ignore(tx, claims, [{
            "projector": projector, "retraction_id": event.event_id, "target_id": event.envelope["data"]["event_id"],
            "retracted_by": attester_of(event), "reason": event.envelope["data"]["reason"], "status": "pending",
        } for event in new_claims])
    in_batch = {event.event_id: event for event in handled}
    targets = set(in_batch) | {event.envelope["data"]["event_id"] for event in new_claims}
    open_claims = _claims(tx, projector, targets)
    result = Sorted()
    statuses: dict[str, str] = {}
    # claims on events met in this batch: the event is dropped when one is valid
    retracted_now: dict[str, str] = {}
    for claim in open_claims:
        target = in_batch.get(claim["target_id"])
        if target is None or target.type not in handles:
            continue
        why = refusal(claim["retracted_by"], attester_of(target), target.type)
        statuses[claim["retraction_id"]] = "refused" if why else "done"
        if why is None:
            retracted_now.setdefault(target.event_id, claim["retraction_id"])
    # claims on events seen before: refused, done already, or to undo when this projector applied them
    earlier = _attesters(tx, {c["target_id"] for c in open_claims if c["retraction_id"] not in statuses})
    dropped_before = _dropped(tx, projector, {c["target_id"] for c in open_claims})
    for claim in open_claims:
        if claim["retraction_id"] in statuses or claim["status"] != "pending":
            continue
        seen = earlier.get(claim["target_id"])
        if seen is None:
            continue  # the event has not reached any projector yet: decided when it does
        why = refusal(claim["retracted_by"], seen["organisation"], seen["type"])
        if why is not None:
            statuses[claim["retraction_id"]] = "refused"
        elif seen["type"] not in handles or claim["target_id"] in dropped_before:
            statuses[claim["retraction_id"]] = "done"
        elif applied.offset(seen["partition"]) > seen["offset"]:
            statuses[claim["retraction_id"]] = "undo"
            result.undo.append(claim["retraction_id"])
    _set_statuses(tx, projector, statuses)
    for event in handled:
        if event.event_id in retracted_now:
            result.retracted.append((event, retracted_now[event.event_id]))
        elif event.type in handles:
            result.apply.append(event)
    return result


class AttesterView:
    """Who attested the events the projectors have met (for capture's 403 on another's retraction)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def attesters(self, event_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """``{event_id: (organisation, type)}`` for those of ``event_ids`` a projector has met."""
        with self.engine.connect() as connection:
            if not connection.dialect.has_table(connection, tracking.event_attesters.name):
                return {}
            return {event_id: (row["organisation"], row["type"])
                    for event_id, row in _attesters(connection, set(event_ids)).items()}


def pending_undo(tx: Connection, projector: str) -> bool:
    """Whether a retraction of an event ``projector`` had applied still waits for its rebuild."""
    c = tracking.retractions.c
    return tx.execute(select(c.retraction_id).where(c.projector == projector, c.status == "undo").limit(1)).first() is not None


def live_claims(engine: Engine, projector: str) -> list[dict[str, Any]]:
    """A projector's retraction claims, as a rebuild starts from them (every one ``pending`` again)."""
    with engine.connect() as connection:
        rows = connection.execute(select(tracking.retractions).where(tracking.retractions.c.projector == projector))
        return [{**row._asdict(), "status": "pending"} for row in rows]


def _record_attesters(tx: Connection, events: Iterable[RecordedEvent]) -> None:
    insert_ignore(tx, tracking.event_attesters, [{
        "event_id": event.event_id, "organisation": attester_of(event), "type": event.type,
        "partition": event.partition, "offset": event.offset,
    } for event in events])


def _claims(tx: Connection, projector: str, targets: set[str]) -> list[dict[str, Any]]:
    c = tracking.retractions.c
    found: list[dict[str, Any]] = []
    for chunk in _chunks(targets):
        found += [dict(row) for row in tx.execute(select(tracking.retractions).where(
            c.projector == projector, among(c.target_id, chunk))).mappings()]
    found.sort(key=lambda claim: claim["retraction_id"])
    return found


def _attesters(tx: Connection, event_ids: set[str]) -> dict[str, dict[str, Any]]:
    a = tracking.event_attesters.c
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(event_ids):
        for row in tx.execute(select(tracking.event_attesters).where(
                among(a.event_id, chunk))).mappings():
            found[row["event_id"]] = dict(row)
    return found


def _dropped(tx: Connection, projector: str, targets: set[str]) -> set[str]:
    """Which of ``targets`` this projector already dropped (a valid retraction of theirs is done)."""
    c = tracking.retractions.c
    found: set[str] = set()
    for chunk in _chunks(targets):
        found.update(tx.execute(select(c.target_id).where(
            c.projector == projector, c.status == "done",
            among(c.target_id, chunk))).scalars())
    return found


def _set_statuses(tx: Connection, projector: str, statuses: dict[str, str]) -> None:
    c = tracking.retractions.c
    for status in set(statuses.values()):
        ids = sorted(retraction for retraction, wanted in statuses.items() if wanted == status)
        for chunk in _chunks(ids):
            tx.execute(update(tracking.retractions).where(
                c.projector == projector, among(c.retraction_id, chunk)
            ).values(status=status))


def _chunks(ids: Iterable[str]):
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]
