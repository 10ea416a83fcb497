"""A product's evidence bundle: its history as stored in the log, proven against one signed checkpoint.

The read model says which events make up a piece's history (``consumers.provenance.history_views``);
everything the bundle asserts comes from the log itself: the stored bodies, their hashes, the tree's
inclusion proofs and the signed checkpoint. ``events.evidence.check_bundle`` checks it offline.

Restricted fields: a caller who may not see names, photo-ID hashes or coordinates gets the events
that carry them without their body (``body: null`` and ``withheld`` saying why), but with their
hash, signature and proof: the bundle still proves that such an event is in the log, not what it says.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence

import orjson

from events.catalogue import RESTRICTED_FIELDS
from events.evidence import FORMAT
from events.log import RecordedEvent
from events.signing import SigningKey
from services.transparency import StoredEvents, TransparencyLog

WITHHELD = "restricted fields (names, photo-ID hashes or coordinates) this key may not see: hash, signature and proof only"


class EvidenceBundler:
    """Builds bundles from the log (bodies, tree, checkpoints) and the registered signing keys."""

    def __init__(self, transparency: TransparencyLog, stored: StoredEvents,
                 signing_keys: Callable[[Iterable[str]], dict[str, SigningKey]]):
        self.transparency = transparency
        self.stored = stored
        self.signing_keys = signing_keys

    def bundle(self, product_id: str, history: Sequence[str], sees_restricted: bool) -> dict[str, Any]:
        """The bundle of ``product_id`` whose history is the events ``history`` (in the order to show)."""
        events = self._in_log(history)
        envelopes = {event.event_id: orjson.loads(event.body) for event in events}
        signed_with = {envelope["signature"]["key_id"] for envelope in envelopes.values() if "signature" in envelope}
        keys = self.signing_keys(signed_with)
        registrations = self._in_log(sorted({key.event_id for key in keys.values()}))
        indexes = self.transparency.tree.leaf_indexes_of(events + registrations)
        checkpoint = self.transparency.checkpoint_covering(max(indexes.values(), default=-1) + 1)
        proofs = self.transparency.inclusion_proofs(list(indexes.values()), checkpoint.tree_size)

        def entry(event: RecordedEvent, envelope: dict[str, Any]) -> dict[str, Any]:
            index = indexes[event.event_id]
            restricted = None if sees_restricted else RESTRICTED_FIELDS.get(event.type)
            withheld = restricted is not None and not restricted.isdisjoint(envelope.get("data", {}))
            return {"event_id": event.event_id, "type": event.type, "recorded_by": envelope["recorded_by"],
                    **event.server_fields(), "leaf_index": index, "signature": envelope.get("signature"),
                    "body": None if withheld else event.body.decode("utf-8"),
                    "withheld": WITHHELD if withheld else None, "proof": proofs[index]}

        registered = {event.event_id: event for event in registrations}
        return {
            "format": FORMAT,
            "product_id": product_id,
            "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "log_key": self.transparency.verifier_key(),
            "checkpoint": checkpoint.note,
            "tree_size": checkpoint.tree_size,
            "events": [entry(event, envelopes[event.event_id]) for event in events],
            "keys": [self._key(key, registered[key.event_id]) for key in sorted(keys.values(), key=lambda k: k.key_id)
                     if key.event_id in registered],
            "key_events": [entry(event, json.loads(event.body)) for event in registrations],
        }

    def _in_log(self, event_ids: Sequence[str]) -> list[RecordedEvent]:
        """The stored events of ``event_ids``, in that order (an id the log lacks has nothing to prove)."""
        found = self.stored.recorded(event_ids)
        return [found[event_id] for event_id in dict.fromkeys(event_ids) if event_id in found]

    @staticmethod
    def _key(key: SigningKey, registration: RecordedEvent) -> dict[str, Any]:
        """A key as its registration states it, with when it was registered and revoked (server times)."""
        data = json.loads(registration.body)["data"]
        answer = {"key_id": key.key_id, "organisation": key.organisation, "public_key": key.public_key,
                  "valid_from": data["valid_from"], "registered_at": registration.recorded_at,
                  "event_id": key.event_id}
        if key.revoked_at is not None:
            answer["revoked_at"] = key.revoked_at.isoformat()
        return answer
