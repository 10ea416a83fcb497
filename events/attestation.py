"""Who recorded an event: ``attested_by``, the organisation, role and key id of the submitting API key.

A server field like ``recorded_at``: taken from the authenticated key, never from the client, and
not part of the submitted envelope, so not part of the event's ``hash``. Events logged before the
field existed have none (``attested_by: null``).
"""
from __future__ import annotations

import functools
import json

import orjson
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Attestation:
    """The API key that recorded an event: its organisation, its role and its public id."""

    organisation: str
    role: str
    key_id: str

    def as_dict(self) -> dict[str, str]:
        """The form the API shows: ``{"organisation", "role", "key_id"}``."""
        return {"organisation": self.organisation, "role": self.role, "key_id": self.key_id}

    def to_json(self) -> str:
        """The stored form (compact JSON with sorted keys)."""
        # every event of a request carries the same attestation: its text is made once
        return _stored_form(self.organisation, self.role, self.key_id)

    @classmethod
    def from_json(cls, text: str | bytes | None) -> Attestation | None:
        """The attestation stored as ``text``; None where an event has none (logged before the field)."""
        if text is None:
            return None
        fields: dict[str, Any] = orjson.loads(text)
        return cls(organisation=fields["organisation"], role=fields["role"], key_id=fields["key_id"])


def attested_dict(attestation: Attestation | None) -> dict[str, str] | None:
    """``attestation`` as the API shows it, ``None`` for an event without one."""
    return attestation.as_dict() if attestation is not None else None


@functools.lru_cache(maxsize=1024)
def _stored_form(organisation: str, role: str, key_id: str) -> str:
    return json.dumps({"organisation": organisation, "role": role, "key_id": key_id},
                      sort_keys=True, separators=(",", ":"))
