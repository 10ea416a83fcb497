"""An evidence bundle checked offline: a product's events, each proven in the signed log, and their signatures.

A bundle (``GET /v1/products/{id}/evidence``, format :data:`FORMAT`) holds a signed checkpoint (a
C2SP signed note), the log's verifier key, the events of a piece's history and the registrations of
the keys that signed them, each with its RFC 9162 inclusion proof against that checkpoint, and the
public keys. :func:`check_bundle` needs nothing else: no database, no server. It stops at the first
thing wrong and names it (:class:`EvidenceError`), in this order: the log key (against the one the
verifier trusts, if given), the checkpoint's signature, then entry by entry its body against its
hash, its hash against the checkpoint's root, its signature against the bundled key, and last each
key against the registration that recorded it.

An entry whose body was withheld (restricted fields the caller may not see) is still proven: its
hash is in the log, and its signature (which covers the hash) is checked; only what the body says
cannot be read.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from events import merkle
from events.canonical import content_hash
from events.checkpoint import Checkpoint
from events.fields import parse_timestamp
from events.signed_note import NoteError, NoteVerifier
from events.signing import SigningKey, signature_problem

FORMAT = "oretrail-evidence/1"
KEY_REGISTERED = "organization.key_registered"


class EvidenceError(ValueError):
    """The first thing wrong with a bundle, in words that name it."""


@dataclass(frozen=True)
class BundleSummary:
    """What a bundle that checks out proves: how many events, at which tree size, how many signed or withheld."""

    product_id: str
    tree_size: int
    events: int
    signed: int
    withheld: int
    keys: int


def check_bundle(bundle: Mapping[str, Any], trusted_key: str | None = None) -> BundleSummary:
    """Check every signature, hash and proof of ``bundle``; its summary, or EvidenceError naming the first problem.

    ``trusted_key`` is the log's verifier key as the verifier obtained it elsewhere (the operator's
    web site, a contract): the bundle's own key must be that one, or the bundle proves only that
    someone signed it.
    """
    if not isinstance(bundle, Mapping) or bundle.get("format") != FORMAT:
        raise EvidenceError(f"not an evidence bundle (format {FORMAT!r} expected)")
    verifier = _log_key(bundle, trusted_key)
    checkpoint = _checkpoint(bundle, verifier)
    keys = _keys(bundle.get("keys"))
    entries = _list(bundle, "events")
    key_entries = _list(bundle, "key_events")
    for entry in entries + key_entries:
        _check_entry(entry, checkpoint, keys)
    _check_key_registrations(keys, key_entries)
    return BundleSummary(
        product_id=str(bundle.get("product_id")), tree_size=checkpoint.tree_size, events=len(entries),
        signed=sum(1 for entry in entries if entry.get("signature")),
        withheld=sum(1 for entry in entries if entry.get("body") is None), keys=len(keys))


def _log_key(bundle: Mapping[str, Any], trusted_key: str | None) -> NoteVerifier:
    try:
        verifier = NoteVerifier.parse(str(bundle.get("log_key", "")))
    except NoteError as exc:
        raise EvidenceError(f"log key: {exc}") from None
    if trusted_key is not None:
        try:
            trusted = NoteVerifier.parse(trusted_key)
        except NoteError as exc:
            raise EvidenceError(f"--key: {exc}") from None
        if trusted != verifier:
            raise EvidenceError(f"log key: the bundle's key {verifier.encoded()} is not the key you trust "
                                f"({trusted.encoded()})")
    return verifier


def _checkpoint(bundle: Mapping[str, Any], verifier: NoteVerifier) -> Checkpoint:
    try:
        text = verifier.verify(str(bundle.get("checkpoint", "")))
        checkpoint = Checkpoint.parse(text)
    except (NoteError, ValueError) as exc:
        raise EvidenceError(f"checkpoint: {exc}") from None
    if checkpoint.origin != verifier.name:
        raise EvidenceError(f"checkpoint: its origin {checkpoint.origin!r} is not the log key's name {verifier.name!r}")
    return checkpoint


def _list(bundle: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = bundle.get(name)
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise EvidenceError(f"{name}: a list of entries expected")
    return value


def _keys(value: Any) -> dict[str, SigningKey]:
    if not isinstance(value, list):
        raise EvidenceError("keys: a list expected")
    keys: dict[str, SigningKey] = {}
    for item in value:
        try:
            keys[item["key_id"]] = SigningKey(
                item["organisation"], item["key_id"], item["public_key"], parse_timestamp(item["valid_from"]),
                parse_timestamp(item["registered_at"]),
                parse_timestamp(item["revoked_at"]) if item.get("revoked_at") else None, item["event_id"])
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise EvidenceError(f"keys: malformed key {item!r} ({exc})") from None
    return keys


def _check_entry(entry: Mapping[str, Any], checkpoint: Checkpoint, keys: Mapping[str, SigningKey]) -> None:
    """One event: its body against its hash, its hash against the root, its signature against its key."""
    name = f"event {entry.get('event_id')!r} (leaf {entry.get('leaf_index')})"
    hash_hex = entry.get("hash")
    if not isinstance(hash_hex, str) or len(hash_hex) != 64:
        raise EvidenceError(f"{name}: hash: 64 hex digits expected")
    try:
        leaf_data = bytes.fromhex(hash_hex)
    except ValueError:
        raise EvidenceError(f"{name}: hash: 64 hex digits expected") from None
    body = entry.get("body")
    if body is not None:
        _check_body(name, entry, body, hash_hex)
    index, proof = entry.get("leaf_index"), entry.get("proof")
    if not isinstance(index, int) or not isinstance(proof, list):
        raise EvidenceError(f"{name}: leaf_index and proof expected")
    if index >= checkpoint.tree_size:
        raise EvidenceError(f"{name}: proof: its leaf lies beyond the checkpoint's tree size {checkpoint.tree_size}")
    if not merkle.verify_inclusion(merkle.leaf_hash(leaf_data), index, checkpoint.tree_size, _hashes(name, proof),
                                   checkpoint.root):
        raise EvidenceError(f"{name}: proof: the inclusion proof does not lead to the checkpoint's root "
                            f"(tree size {checkpoint.tree_size})")
    signature = entry.get("signature")
    if signature is not None:
        _check_signature(name, entry, signature, hash_hex, keys)


def _check_body(name: str, entry: Mapping[str, Any], body: Any, hash_hex: str) -> None:
    try:
        envelope = json.loads(body)
    except (TypeError, ValueError):
        raise EvidenceError(f"{name}: body: not JSON") from None
    if not isinstance(envelope, dict):
        raise EvidenceError(f"{name}: body: not an event envelope")
    if content_hash(envelope) != hash_hex:
        raise EvidenceError(f"{name}: body: it does not hash to the event's hash {hash_hex}")
    for field in ("event_id", "type", "recorded_by", "signature"):
        if envelope.get(field) != entry.get(field):
            raise EvidenceError(f"{name}: {field}: differs from the body's")


def _hashes(name: str, proof: Sequence[Any]) -> list[bytes]:
    try:
        return [base64.b64decode(value, validate=True) for value in proof]
    except (binascii.Error, TypeError, ValueError):
        raise EvidenceError(f"{name}: proof: hashes in standard base64 expected") from None


def _check_signature(name: str, entry: Mapping[str, Any], signature: Any, hash_hex: str,
                     keys: Mapping[str, SigningKey]) -> None:
    if not isinstance(signature, Mapping) or not isinstance(signature.get("key_id"), str) \
            or not isinstance(signature.get("value"), str):
        raise EvidenceError(f"{name}: signature: malformed")
    key_id = signature["key_id"]
    if key_id not in keys:
        raise EvidenceError(f"{name}: signature: key {key_id!r} is not in the bundle's keys")
    try:
        at = parse_timestamp(entry["recorded_at"])
    except (AttributeError, KeyError, TypeError, ValueError):
        raise EvidenceError(f"{name}: recorded_at: a timestamp expected") from None
    problem = signature_problem(signature, hash_hex, str(entry.get("recorded_by")), keys[key_id], at)
    if problem is not None:
        raise EvidenceError(f"{name}: signature: {problem[1]}")


def _check_key_registrations(keys: Mapping[str, SigningKey], key_entries: Sequence[Mapping[str, Any]]) -> None:
    """Each key must be what its registration (a proven entry of ``key_events``) says."""
    registrations = {entry.get("event_id"): entry for entry in key_entries}
    for key in keys.values():
        entry = registrations.get(key.event_id)
        if entry is None or entry.get("body") is None:
            raise EvidenceError(f"key {key.key_id!r}: its registration {key.event_id!r} is not in key_events")
        envelope = json.loads(entry["body"])  # its hash was checked against it already
        data = envelope.get("data", {})
        said = (envelope.get("type"), data.get("key_id"), data.get("organisation_id"), data.get("public_key"))
        if said != (KEY_REGISTERED, key.key_id, key.organisation, key.public_key) \
                or _moment(data.get("valid_from")) != key.valid_from:
            raise EvidenceError(f"key {key.key_id!r}: differs from its registration {key.event_id!r}")
        if _moment(entry.get("recorded_at")) != key.registered_at:
            raise EvidenceError(f"key {key.key_id!r}: registered_at differs from its registration's recorded_at")


def _moment(value: Any) -> Any:
    """A timestamp's moment, or None when it is not one."""
    try:
        return parse_timestamp(value)
    except (AttributeError, TypeError, ValueError):
        return None
