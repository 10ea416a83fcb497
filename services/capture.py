"""Capture: authorise, validate every event of a batch, and append the batch all-or-nothing.

Every appended event carries ``attested_by``, the organisation, role and id of the key that
submitted it: taken from the authenticated :class:`Principal`, never from the envelope (an envelope
naming ``attested_by`` is refused like any unknown field).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from events.attestation import Attestation
from events.envelope import NewEvent, prepare, validation_errors
from events.fields import parse_timestamp
from events.signing import SigningKey, signature_problem
from events.log import AppendResult, EventLog, IdempotencyConflict, LogUnavailable
from services.auth import Principal
from services.capture_activity import CaptureActivity
from services.errors import Conflict, Forbidden, InvalidRequest, TooLarge, Unavailable
from services.personal_data import PersonalData
from services.rights import refusals


def attestation_of(principal: Principal) -> Attestation:
    """The ``attested_by`` of the events ``principal`` records: its key's organisation, role and id."""
    return Attestation(organisation=principal.org_id, role=principal.role, key_id=principal.key_id)


#: ``raisings(flag_ids)``: the event ids already raising each of these flag ids (a read model's view)
FlagRaisings = Callable[[Iterable[str]], Mapping[str, set[str]]]


#: ``attesters(event_ids)``: ``{event_id: (organisation, type)}`` of the events already projected
Attesters = Callable[[Iterable[str]], Mapping[str, tuple[str, str]]]


#: ``signing_keys(key_ids)``: ``{key_id: SigningKey}`` of the keys registered so far (a read model's view)
SigningKeys = Callable[[Iterable[str]], Mapping[str, SigningKey]]


def _no_keys(key_ids: Iterable[str]) -> Mapping[str, SigningKey]:
    return {}


def _no_raisings(flag_ids: Iterable[str]) -> Mapping[str, set[str]]:
    return {}


def _no_attesters(event_ids: Iterable[str]) -> Mapping[str, tuple[str, str]]:
    return {}


_KEY_EVENTS = frozenset({"organization.key_registered", "organization.key_revoked"})


class CaptureService:
    """Turns a submitted batch into appended events, or into one clear error and nothing appended.

    ``flag_raisings`` lets capture answer 409 to a ``risk.flagged`` reusing a flag id: it reads the
    due-diligence read model, so a reuse racing the first raising's projection can still be
    appended; the read models then count only the first raising (by the server's clock) and raise
    a finding on the reuse. ``attesters`` lets it answer 403 to a retraction of another
    organisation's event (and 422 to a retraction of a retraction) when the event has been
    projected; one racing its event is decided by the read models the same way.

    ``signing_keys`` lets it check each ``signature``: the key must be registered (in the read model,
    or earlier in the same batch), belong to the event's ``recorded_by``, be valid and not revoked
    now, and have signed the event's hash; otherwise 422 and nothing is recorded. A key registered
    but not yet projected is unknown: the client retries (the answer says so).

    ``personal`` seals personal fields with each person's key before anything is appended (and
    shreds the key of a person a ``person.erased`` names); without it events are stored as sent.
    """

    def __init__(self, log: EventLog, max_events: int = 1000, flag_raisings: FlagRaisings = _no_raisings,
                 attesters: Attesters = _no_attesters, signing_keys: SigningKeys = _no_keys,
                 personal: PersonalData | None = None, activity: CaptureActivity | None = None):
        """``activity``: where capture marks its requests, so projectors in the same process let it go first."""
        self.log = log
        self.activity = activity if activity is not None else CaptureActivity(longest_s=0)
        self.personal = personal
        self.max_events = max_events
        self.flag_raisings = flag_raisings
        self.attesters = attesters
        self.signing_keys = signing_keys

    def capture(self, principal: Principal, payload: Any) -> list[AppendResult]:
        """Validate and append ``{"events": [...]}`` for ``principal``.

        Raises InvalidRequest (422), TooLarge (413), Forbidden (403), Conflict (409) or
        Unavailable (503); in every case nothing of the batch is appended.
        """
        with self.activity.capturing():
            return self._capture(principal, payload)

    def _capture(self, principal: Principal, payload: Any) -> list[AppendResult]:
        raw_events = self._events_of(payload)
        errors: dict[str, list[str]] = {}
        now = datetime.now(timezone.utc)  # one moment for the batch: no event may lie ahead of it
        for index, raw in enumerate(raw_events):
            for path, messages in validation_errors(raw, now).items():
                errors[f"events.{index}" + (f".{path}" if path else "")] = messages
        if errors:
            raise InvalidRequest(f"{len(errors)} field(s) are invalid; nothing was recorded.", errors)
        self._authorise(principal, raw_events)
        self._refuse_reused_flags(raw_events)
        self._refuse_foreign_retractions(principal, raw_events)
        attested_by = attestation_of(principal)
        stored = self.personal.seal(raw_events) if self.personal is not None else raw_events
        batch: list[NewEvent] = [prepare(raw, attested_by) for raw in stored]
        self._check_signatures(raw_events, self._as_sent(raw_events, stored, batch, attested_by))
        if self.personal is not None:
            self.personal.shred(raw_events)
        try:
            return self.log.append(batch)
        except IdempotencyConflict as exc:
            raise Conflict(
                "An event_id was already used for a different event; nothing was recorded.",
                {"event_ids": exc.event_ids},
            ) from exc
        except LogUnavailable as exc:
            raise Unavailable(f"The event log is unavailable; nothing was recorded: {exc}", exc.retry_after) from exc

    @staticmethod
    def _as_sent(raw_events: list[Any], stored: list[Any], batch: list[NewEvent],
                 attested_by: Attestation) -> list[NewEvent]:
        """The batch as its signatures see it: a signed event whose personal fields were sealed is
        checked over what its organisation signed, the event as sent."""
        return [prepare(raw, attested_by) if sealed is not raw and "signature" in raw else event
                for raw, sealed, event in zip(raw_events, stored, batch)]

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

    def _refuse_reused_flags(self, raw_events: list[Mapping[str, Any]]) -> None:
        """409 when a ``risk.flagged`` names a flag id another event already raised (or another of the batch)."""
        raisings = {index: raw for index, raw in enumerate(raw_events) if raw["type"] == "risk.flagged"}
        if not raisings:
            return
        known = self.flag_raisings({raw["data"]["flag_id"] for raw in raisings.values()})
        seen: dict[str, str] = {}
        reused: dict[str, list[str]] = {}
        for index, raw in raisings.items():
            flag_id, event_id = raw["data"]["flag_id"], raw["event_id"]
            others = (known.get(flag_id, set()) | ({seen[flag_id]} if flag_id in seen else set())) - {event_id}
            if others:
                reused[f"events.{index}.data.flag_id"] = [
                    f"flag {flag_id!r} was already raised (event {min(others)}); a new risk needs a new flag_id."]
            seen.setdefault(flag_id, event_id)
        if reused:
            raise Conflict("A flag_id was already used; nothing was recorded.", reused)

    def _refuse_foreign_retractions(self, principal: Principal, raw_events: list[Mapping[str, Any]]) -> None:
        """403 for a retraction of an event another organisation attested; 422 for one of a retraction."""
        retractions = {index: raw for index, raw in enumerate(raw_events) if raw["type"] == "event.retracted"}
        if not retractions:
            return
        known = dict(self.attesters({raw["data"]["event_id"] for raw in retractions.values()}))
        # the batch's own events are attested by this key
        known.update({raw["event_id"]: (principal.org_id, raw["type"]) for raw in raw_events})
        denied: dict[str, list[str]] = {}
        invalid: dict[str, list[str]] = {}
        for index, raw in retractions.items():
            seen = known.get(raw["data"]["event_id"])
            if seen is None:
                continue
            organisation, event_type = seen
            if event_type == "event.retracted":
                invalid[f"events.{index}.data.event_id"] = ["A retraction cannot be retracted."]
            elif organisation != principal.org_id:
                denied[f"events.{index}.data.event_id"] = [
                    f"rule retraction: only {organisation}, which attested this event, may retract it."]
        if invalid:
            raise InvalidRequest("A retraction names a retraction; nothing was recorded.", invalid)
        if denied:
            raise Forbidden("This key may not retract some of these events (see the rights table); "
                            "nothing was recorded.", denied)

    def _check_signatures(self, raw_events: list[Mapping[str, Any]], batch: list[NewEvent]) -> None:
        """422 for a signature that does not prove its organisation signed the event, and for a key
        registration or revocation that cannot stand (a key_id taken, an unknown or another's key).

        Judged now, in the batch's order: a key registered earlier in the batch signs the events after
        it; one revoked earlier in the batch signs none after it.
        """
        named = {raw["signature"]["key_id"] for raw in raw_events if "signature" in raw}
        named |= {raw["data"]["key_id"] for raw in raw_events if raw["type"] in _KEY_EVENTS}
        if not named:
            return
        now = datetime.now(timezone.utc)
        keys = dict(self.signing_keys(named))
        revoked_in_batch: set[str] = set()
        errors: dict[str, list[str]] = {}
        for index, (raw, event) in enumerate(zip(raw_events, batch)):
            data = raw["data"]
            if raw["type"] == "organization.key_registered":
                if data["key_id"] in keys and keys[data["key_id"]].event_id != raw["event_id"]:
                    errors[f"events.{index}.data.key_id"] = [
                        f"Key id {data['key_id']!r} is already registered; a new key needs a new key_id."]
                elif data["key_id"] not in keys:
                    keys[data["key_id"]] = SigningKey(data["organisation_id"], data["key_id"], data["public_key"],
                                                      parse_timestamp(data["valid_from"]), registered_at=now,
                                                      event_id=raw["event_id"])
            elif raw["type"] == "organization.key_revoked":
                key = keys.get(data["key_id"])
                if key is None or key.organisation != data["organisation_id"]:
                    errors[f"events.{index}.data.key_id"] = [
                        f"No key {data['key_id']!r} of {data['organisation_id']!r} is registered."]
                else:
                    keys[data["key_id"]] = replace(key, revoked_at=key.revoked_at or now)
                    revoked_in_batch.add(data["key_id"])
            if "signature" in raw:
                signature = raw["signature"]
                problem = (("key_id", f"Key {signature['key_id']!r} was revoked earlier in this batch.")
                           if signature["key_id"] in revoked_in_batch
                           else signature_problem(signature, event.hash, raw["recorded_by"],
                                                  keys.get(signature["key_id"]), now))
                if problem is not None:
                    errors[f"events.{index}.signature.{problem[0]}"] = [problem[1]]
        if errors:
            raise InvalidRequest(f"{len(errors)} signature(s) or signing key(s) are invalid; nothing was recorded.",
                                 errors)

    @staticmethod
    def _authorise(principal: Principal, raw_events: list[Mapping[str, Any]]) -> None:
        denied = refusals(principal.role, principal.org_id, raw_events)
        if denied:
            raise Forbidden("This key may not record some of these events (see the rights table); "
                            "nothing was recorded.", denied)
