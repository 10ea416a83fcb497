"""Capture: authorise, validate every event of a batch, and append the batch all-or-nothing.

Every appended event carries ``attested_by``, the organisation, role and id of the key that
submitted it: taken from the authenticated :class:`Principal`, never from the envelope (an envelope
naming ``attested_by`` is refused like any unknown field).
"""
from __future__ import annotations

from typing import Any, Mapping

from events.attestation import Attestation
from events.envelope import NewEvent, prepare, validation_errors
from events.log import AppendResult, EventLog, IdempotencyConflict, LogUnavailable
from services.auth import Principal
from services.errors import Conflict, Forbidden, InvalidRequest, TooLarge, Unavailable
from services.rights import refusals


def attestation_of(principal: Principal) -> Attestation:
    """The ``attested_by`` of the events ``principal`` records: its key's organisation, role and id."""
    return Attestation(organisation=principal.org_id, role=principal.role, key_id=principal.key_id)


class CaptureService:
    """Turns a submitted batch into appended events, or into one clear error and nothing appended."""

    def __init__(self, log: EventLog, max_events: int = 1000):
        self.log = log
        self.max_events = max_events

    def capture(self, principal: Principal, payload: Any) -> list[AppendResult]:
        """Validate and append ``{"events": [...]}`` for ``principal``.

        Raises InvalidRequest (422), TooLarge (413), Forbidden (403), Conflict (409) or
        Unavailable (503); in every case nothing of the batch is appended.
        """
        raw_events = self._events_of(payload)
        errors: dict[str, list[str]] = {}
        for index, raw in enumerate(raw_events):
            for path, messages in validation_errors(raw).items():
                errors[f"events.{index}" + (f".{path}" if path else "")] = messages
        if errors:
            raise InvalidRequest(f"{len(errors)} field(s) are invalid; nothing was recorded.", errors)
        self._authorise(principal, raw_events)
        attested_by = attestation_of(principal)
        batch: list[NewEvent] = [prepare(raw, attested_by) for raw in raw_events]
        try:
            return self.log.append(batch)
        except IdempotencyConflict as exc:
            raise Conflict(
                "An event_id was already used for a different event; nothing was recorded.",
                {"event_ids": exc.event_ids},
            ) from exc
        except LogUnavailable as exc:
            raise Unavailable(f"The event log is unavailable; nothing was recorded: {exc}", exc.retry_after) from exc

    def _events_of(self, payload: Any) -> list[Any]:
        if not isinstance(payload, Mapping):
            raise InvalidRequest("The body must be a JSON object {\"events\": [...]}.", {"": ["Not a JSON object."]})
        unknown = sorted(set(payload) - {"events"})
        if unknown:
            raise InvalidRequest("Unknown fields in the body.", {key: ["Unknown field."] for key in unknown})
        raw_events = payload.get("events")
        if not isinstance(raw_events, list) or not raw_events:
            raise InvalidRequest("events must be a non-empty list.", {"events": ["Must be a non-empty list."]})
        if len(raw_events) > self.max_events:
            raise TooLarge(
                f"At most {self.max_events} events a request; this one has {len(raw_events)}.",
                {"events": [f"Longer than {self.max_events}."]},
            )
        return raw_events

    @staticmethod
    def _authorise(principal: Principal, raw_events: list[Mapping[str, Any]]) -> None:
        denied = refusals(principal.role, principal.org_id, raw_events)
        if denied:
            raise Forbidden("This key may not record some of these events (see the rights table); "
                            "nothing was recorded.", denied)
