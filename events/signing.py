"""Signed attestations: an organisation signs the hash of its own events with its Ed25519 key.

An envelope may carry ``signature``: ``{"key_id", "alg": "Ed25519", "value"}``, where ``value`` is the
standard base64 of the Ed25519 signature over the 32 raw bytes of the event's ``hash`` (the hash of
the envelope *without* ``signature``, see ``events.canonical``). The key is one the organisation
registered with ``organization.key_registered`` (base64 of its 32 raw public bytes).

A key signs for the organisation that registered it, from ``valid_from`` on, until it is revoked;
both are judged at the moment the platform receives the signed event (its ``recorded_at``): a
back-dated step signed today with today's key is the organisation attesting today what happened
then. The same rule decides at capture (the moment is now) and in the read models (the moment is
the event's ``recorded_at``), so a key revoked later leaves earlier signatures standing.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from events.canonical import canonical_json, hashed_part

ALG = "Ed25519"


@dataclass(frozen=True)
class SigningKey:
    """A registered public key: whose it is, from when it signs, and when it was revoked (if it was).

    ``registered_at`` and ``revoked_at`` are the server's ``recorded_at`` of the registration and of
    the first revocation by the key's organisation.
    """

    organisation: str
    key_id: str
    public_key: str
    valid_from: datetime
    registered_at: datetime
    revoked_at: datetime | None = None
    #: the ``organization.key_registered`` event that registered it (a retried upload of it is no conflict)
    event_id: str = ""


def new_private_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """``key`` as an unencrypted PKCS#8 PEM file (what ``oretrail keygen`` writes, mode 0600)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    """The Ed25519 private key of a PKCS#8 PEM file; ValueError for anything else."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("Not an Ed25519 private key.")
    return key


def public_key_b64(key: Ed25519PrivateKey) -> str:
    """The ``public_key`` of ``organization.key_registered``: base64 of the 32 raw public bytes."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def event_hash(envelope: Mapping[str, Any]) -> str:
    """The ``hash`` the platform will give ``envelope`` (hex SHA-256 of its canonical form without
    ``signature`` and the server's fields): what a signature covers."""
    return hashlib.sha256(canonical_json(hashed_part(envelope))).hexdigest()


def sign_envelope(envelope: Mapping[str, Any], key: Ed25519PrivateKey, key_id: str) -> dict[str, Any]:
    """``envelope`` with its ``signature`` by ``key`` (any previous signature replaced)."""
    value = key.sign(bytes.fromhex(event_hash(envelope)))
    return {**envelope, "signature": {"key_id": key_id, "alg": ALG, "value": base64.b64encode(value).decode()}}


def verify(public_key: str, hash_hex: str, value: str) -> bool:
    """Whether ``value`` (base64) is a valid Ed25519 signature by ``public_key`` (base64) of ``hash_hex``."""
    try:
        verifier = Ed25519PublicKey.from_public_bytes(decode_b64(public_key))
        verifier.verify(decode_b64(value), bytes.fromhex(hash_hex))
    except (InvalidSignature, ValueError):
        return False
    return True


def decode_b64(text: str) -> bytes:
    """Strict standard base64 (padding required, no other characters); ValueError otherwise."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"Not standard base64: {exc}") from None


def signature_problem(signature: Mapping[str, Any], hash_hex: str, recorded_by: str, key: SigningKey | None,
                      at: datetime) -> tuple[str, str] | None:
    """Why ``signature`` does not make an event of ``recorded_by`` (received ``at``) signed by its
    organisation: ``(field of signature, message)``, or None when it does.

    ``key`` is the registered key named by ``signature["key_id"]`` (None: no such key).
    """
    key_id = signature["key_id"]
    if key is None or key.registered_at > at:
        return "key_id", f"Unknown signing key {key_id!r}: register it first (organization.key_registered)."
    if key.organisation != recorded_by:
        return "key_id", f"Key {key_id!r} belongs to {key.organisation!r}, not to {recorded_by!r} (recorded_by)."
    if key.revoked_at is not None and key.revoked_at < at:
        return "key_id", f"Key {key_id!r} was revoked."
    if key.valid_from > at:
        return "key_id", f"Key {key_id!r} is valid only from {key.valid_from.isoformat()}."
    if not verify(key.public_key, hash_hex, signature["value"]):
        return "value", "Not a valid Ed25519 signature of the event's hash by this key."
    return None
