"""Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) and the content hash of an event.

Anyone can recompute an event's ``hash``: take the event as the API returns it, drop the fields
the server adds (``recorded_at``, ``position``, ``hash``, ``attested_by``, ``signed_by``,
``retracted_by_event``) and the organisation's ``signature`` (it signs the hash, so it cannot be
part of it), canonicalise, SHA-256, hex. The stored body keeps the signature, so anyone can check it.

``rfc8785`` (Trail of Bits) is the reference implementation we rely on. It is pure Python and
was the largest cost of capture, so values whose canonical form provably equals a sorted, compact
encoding take a fast path: keys all ASCII (so code-point order is UTF-16 order), and every float
either integral below 2**53 (written as an integer, as ECMAScript does) or with magnitude in
[1e-4, 1e16), where the shortest round-trip digits are ECMAScript's Number-to-String in the same
fixed notation. ``orjson`` writes that path (strings as RFC 8785 does: UTF-8, only the quote, the
backslash and control characters escaped, lowercase hex); the standard library's sorted, compact
``json.dumps``, which writes the same bytes ten times slower, takes over for what orjson refuses
(a lone surrogate: the same error as before). Anything else goes to ``rfc8785``. Property tests
check the paths agree.
"""
from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Mapping

import orjson
import rfc8785

SERVER_FIELDS = ("recorded_at", "position", "hash", "attested_by")
#: fields the read models add to a served event (never submitted, never hashed)
SERVED_FIELDS = ("signed_by", "retracted_by_event")
#: what is not hashed: the server's and the read models' fields, and the signature over the hash
UNHASHED_FIELDS = (*SERVER_FIELDS, *SERVED_FIELDS, "signature")
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False)
_SAFE_INTEGER = 2**53


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value."""
    simple = _simplify(value)
    if simple is _UNSAFE:
        return rfc8785.dumps(value)
    try:
        return orjson.dumps(simple, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # a lone surrogate, nesting deeper than orjson's 255 levels
        return _ENCODER.encode(simple).encode("utf-8")


def content_hash(envelope: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of an event envelope, without the server's fields and its signature."""
    return hashlib.sha256(canonical_json(hashed_part(envelope))).hexdigest()


def submitted_part(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope as the client submitted it (without the server's fields)."""
    return {key: value for key, value in envelope.items() if key not in SERVER_FIELDS}


def hashed_part(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The part of the envelope its ``hash`` covers: the submitted envelope without ``signature``."""
    return {key: value for key, value in envelope.items() if key not in UNHASHED_FIELDS}


#: the mark of a value the fast path cannot prove canonical
_UNSAFE = object()


def _simplify(value: Any) -> Any:
    """``value`` with integral floats as ints, or ``_UNSAFE`` if the fast path cannot be proven equal."""
    kind = type(value)  # the exact JSON types first: an ABC check per value was a tenth of capture
    if kind is str or value is None or kind is bool:
        return value
    if kind is dict:
        return _simplify_mapping(value)
    if kind is list:
        return _simplify_items(value)
    if isinstance(value, str) or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -_SAFE_INTEGER < value < _SAFE_INTEGER else _UNSAFE
    if isinstance(value, float):
        if not math.isfinite(value):
            return _UNSAFE
        if value.is_integer():
            return int(value) if abs(value) < _SAFE_INTEGER else _UNSAFE
        return value if 1e-4 <= abs(value) < 1e16 else _UNSAFE
    if isinstance(value, Mapping):
        return _simplify_mapping(value)
    if isinstance(value, (list, tuple)):
        return _simplify_items(value)
    return _UNSAFE


def _simplify_mapping(value: Mapping) -> Any:
    simple = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.isascii():
            return _UNSAFE
        converted = _simplify(item)
        if converted is _UNSAFE:
            return _UNSAFE
        simple[key] = converted
    return simple


def _simplify_items(value: list | tuple) -> Any:
    items = []
    for item in value:
        converted = _simplify(item)
        if converted is _UNSAFE:
            return _UNSAFE
        items.append(converted)
    return items
