"""Signed events in the provenance model: the registered signing keys, and per event whether its
``signature`` proves that its organisation signed it (served as ``signed_by``).

Order tolerant: keys, revocations and signatures are kept as claims (insert only), and a signature's
verdict is recomputed whenever a batch brings the signature or anything about its key, so a signed
event that arrives before its key's registration (Kafka orders only within a partition) shows as
signed once the key is seen, and never before. The verdict is ``events.signing.signature_problem``
judged at the event's ``recorded_at``: the same rule capture applied, so a key revoked later leaves
the signature standing.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import orjson
from sqlalchemy import Connection, or_, select, update

from consumers.batch import BatchWrites
from consumers.provenance import tables as t
from consumers.sql import among
from events.fields import parse_timestamp
from events.log import RecordedEvent
from events.signing import SigningKey, signature_problem

KEY_REGISTERED, KEY_REVOKED = "organization.key_registered", "organization.key_revoked"
_CHUNK = 500


def gather(writes: BatchWrites, event: RecordedEvent, envelope: Mapping[str, Any]) -> set[str]:
    """Add the key, revocation or signature claim of one new event to ``writes``; the key ids it touches."""
    touched: set[str] = set()
    data = envelope["data"]
    if event.type == KEY_REGISTERED:
        writes.insert(t.signing_keys, dict(
            event_id=event.event_id, key_id=data["key_id"], organisation_id=data["organisation_id"],
            public_key=data["public_key"], valid_from=data["valid_from"], recorded_at=event.recorded_at))
        touched.add(data["key_id"])
    elif event.type == KEY_REVOKED:
        writes.insert(t.key_revocations, dict(event_id=event.event_id, key_id=data["key_id"],
                                              organisation_id=data["organisation_id"], recorded_at=event.recorded_at))
        touched.add(data["key_id"])
    signature = envelope.get("signature")
    if isinstance(signature, Mapping):
        writes.insert(t.event_signatures, dict(
            event_id=event.event_id, key_id=signature["key_id"], recorded_by=envelope["recorded_by"],
            value=signature["value"], hash=event.hash, recorded_at=event.recorded_at))
        touched.add(signature["key_id"])
    return touched


def signing_keys(connection: Connection, key_ids: Iterable[str]) -> dict[str, SigningKey]:
    """The registered keys among ``key_ids``: each one's earliest registration and its organisation's
    earliest revocation of it (by the server's clock)."""
    ids = sorted(set(key_ids))
    keys: dict[str, SigningKey] = {}
    revoked: dict[tuple[str, str], str] = {}
    k, r = t.signing_keys.c, t.key_revocations.c
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        for row in connection.execute(select(k.event_id, k.key_id, k.organisation_id, k.public_key, k.valid_from,
                                             k.recorded_at).where(among(k.key_id, chunk))
                                      .order_by(k.recorded_at, k.event_id)):
            if row.key_id not in keys:
                keys[row.key_id] = SigningKey(row.organisation_id, row.key_id, row.public_key,
                                              parse_timestamp(row.valid_from), parse_timestamp(row.recorded_at),
                                              event_id=row.event_id)
        for row in connection.execute(select(r.key_id, r.organisation_id, r.recorded_at).where(among(r.key_id, chunk))):
            key = (row.key_id, row.organisation_id)
            revoked[key] = min(revoked.get(key, row.recorded_at), row.recorded_at)
    for key_id, key in keys.items():
        moment = revoked.get((key_id, key.organisation))
        if moment is not None:
            keys[key_id] = SigningKey(key.organisation, key_id, key.public_key, key.valid_from, key.registered_at,
                                      parse_timestamp(moment), key.event_id)
    return keys


def recompute(tx: Connection, key_ids: Iterable[str], event_ids: Iterable[str]) -> None:
    """Decide again the signatures of ``event_ids`` and of every event signed with ``key_ids``, and
    rewrite the served form of each event whose ``signed_by`` changes."""
    s = t.event_signatures.c
    keys, events = sorted(set(key_ids)), sorted(set(event_ids))
    if not keys and not events:
        return
    rows = []
    for start in range(0, max(len(keys), len(events)), _CHUNK):
        rows += tx.execute(select(t.event_signatures).where(or_(
            among(s.key_id, keys[start:start + _CHUNK]), among(s.event_id, events[start:start + _CHUNK])))).all()
    known = signing_keys(tx, {row.key_id for row in rows})
    for row in {row.event_id: row for row in rows}.values():
        problem = signature_problem({"key_id": row.key_id, "value": row.value}, row.hash, row.recorded_by,
                                    known.get(row.key_id), parse_timestamp(row.recorded_at))
        signed_with = row.key_id if problem is None else None
        if signed_with != row.signed_with:
            tx.execute(update(t.event_signatures).where(s.event_id == row.event_id).values(signed_with=signed_with))
            _serve_signed_by(tx, row.event_id, {"organisation": row.recorded_by, "key_id": signed_with}
                             if signed_with is not None else None)


def _serve_signed_by(tx: Connection, event_id: str, signed_by: dict[str, str] | None) -> None:
    """Set ``signed_by`` in the served forms of one event."""
    e = t.events.c
    row = tx.execute(select(e.served, e.served_public).where(e.event_id == event_id)).first()
    if row is None:
        return
    values = {}
    for column, text in (("served", row.served), ("served_public", row.served_public)):
        if text is not None:
            values[column] = orjson.dumps({**orjson.loads(text), "signed_by": signed_by}).decode()
    tx.execute(update(t.events).where(e.event_id == event_id).values(**values))
