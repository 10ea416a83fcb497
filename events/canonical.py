"""Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) and the content hash of an event.

Anyone can recompute an event's ``hash``: take the event as the API returns it, drop the fields
the server adds (``recorded_at``, ``position``, ``hash``), canonicalise, SHA-256, hex.
"""
from __future__ import annotations

import hashlib
from typing import Any, Mapping

import rfc8785

SERVER_FIELDS = ("recorded_at", "position", "hash")


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value."""
    return rfc8785.dumps(value)


def content_hash(envelope: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of an event envelope, without the server's fields."""
    submitted = {key: value for key, value in envelope.items() if key not in SERVER_FIELDS}
    return hashlib.sha256(canonical_json(submitted)).hexdigest()
