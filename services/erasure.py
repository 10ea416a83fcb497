"""Erasure of a person (crypto-shredding): destroy their data key, record ``person.erased``.

Both happen in capture (``services.personal_data``): the key is destroyed before the event is
appended, so an erasure whose recording fails has still erased, and running it again records it.
The event id is derived from the person id, so a person's erasure is recorded once: a second one
destroys nothing more and answers ``already_erased``.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from services.auth import Principal
from services.capture import CaptureService
from services.errors import Conflict

#: the namespace of erasure event ids (uuid5 of the person id)
ERASURES = uuid.UUID("6f1d2a4e-8a53-4c3e-9c41-2f0b7d8e5a11")
#: who records an erasure made from the command line (the platform's operator)
OPERATOR = Principal(key_id="cli", org_id="platform", role="admin")


def erasure_event(person_id: str, reason: str, recorded_by: str) -> dict[str, Any]:
    """The ``person.erased`` envelope of ``person_id`` (its event id is the same at every attempt)."""
    return {
        "event_id": str(uuid.uuid5(ERASURES, person_id)),
        "type": "person.erased",
        "occurred_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "recorded_by": recorded_by,
        "data": {"person_id": person_id, "reason": reason},
    }


def erase_person(capture: CaptureService, principal: Principal, person_id: str, reason: str) -> dict[str, Any]:
    """Destroy ``person_id``'s key and record ``person.erased`` by ``principal`` (an admin key: capture checks)."""
    event = erasure_event(person_id, reason, principal.org_id)
    try:
        result = capture.capture(principal, {"events": [event]})[0]
    except Conflict as exc:
        if event["event_id"] not in (exc.details or {}).get("event_ids", []):
            raise
        return {"person_id": person_id, "erased": True, "event_id": event["event_id"], "status": "already_erased",
                "position": None}
    return {"person_id": person_id, "erased": True, "event_id": result.event_id, "status": result.status,
            "position": result.position}
