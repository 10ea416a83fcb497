"""Sealed personal fields: the stored form of a field encrypted with its person's own data key.

A personal field (a miner's name, photo-ID hash, birth year) is replaced, before the event reaches
the log, by a JSON object::

    {"enc": "A256GCM", "kid": "<the data key's id>", "iv": "<base64url, 12 bytes>", "ct": "<base64url>"}

``ct`` is AES-256-GCM over the JSON of the value (so a birth year stays a number), with its
16-byte tag at the end; the associated data ``oretrail:v1:<person_id>:<field>`` binds it to its person
and field, so a ciphertext copied into another person's event, or another field, does not open.

The IV is synthetic: the first 12 bytes of HMAC-SHA-256, under a key derived from the data key, of
the event id, the field and the plaintext. A retried upload therefore stores the very same bytes
(same hash: the event id stays an idempotency key), and an IV is never used twice with one key for
two different plaintexts (GCM's one fatal misuse). The cost: one event's field reveals whether a
retry carried the same value, nothing else.

Which fields are personal, and whose they are, is :data:`PERSONAL_FIELDS`. Pure functions: the keys
come from a key store (``services.keystore``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Mapping

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


ALG = "A256GCM"
KEY_BYTES = 32
IV_BYTES = 12
SEALED_KEYS = frozenset({"enc", "kid", "iv", "ct"})


@dataclass(frozen=True)
class PersonalFields:
    """The personal fields of one event type and the field naming the person they belong to."""

    person_field: str
    fields: tuple[str, ...]


#: the personal fields of each event type, encrypted at capture with the data key of the person named
#: by ``person_field``. Leaders (``leadership.recorded``) and respondents (``survey.completed``) are
#: pseudonymous by contract: their events carry no identifying field today, so nothing of theirs is
#: listed; a new identifying field is one more entry here.
PERSONAL_FIELDS: dict[str, PersonalFields] = {
    "miner.registered": PersonalFields("miner_id", ("name", "photo_id_sha256", "birth_year")),
}


class SealError(ValueError):
    """A sealed field that does not open with the key given (tampered, moved or the wrong key)."""


def is_sealed(value: Any) -> bool:
    """Whether ``value`` is a sealed field (the stored form above)."""
    return isinstance(value, Mapping) and value.keys() == SEALED_KEYS and value.get("enc") == ALG


def associated_data(person_id: str, field: str) -> bytes:
    """What binds a ciphertext to its person and field (authenticated, not encrypted)."""
    return f"oretrail:v1:{person_id}:{field}".encode()


class Sealer:
    """Seals the fields of one person with their data key (the cipher and IV key made once, for all their fields)."""

    def __init__(self, key: bytes, kid: str):
        self.kid = kid
        self._aead = AESGCM(key)
        self._iv_key = hmac.digest(key, b"oretrail:v1:iv", hashlib.sha256)

    def seal(self, person_id: str, field: str, event_id: str, value: Any) -> dict[str, str]:
        """The sealed form of ``value``, the ``field`` of ``person_id`` in event ``event_id``."""
        plaintext = orjson.dumps(value)  # deterministic for the scalars sealed here, and the cheapest
        iv = hmac.digest(self._iv_key, b"\x00".join((event_id.encode(), field.encode(), plaintext)),
                         hashlib.sha256)[:IV_BYTES]
        ciphertext = self._aead.encrypt(iv, plaintext, associated_data(person_id, field))
        return {"enc": ALG, "kid": self.kid, "iv": _b64(iv), "ct": _b64(ciphertext)}


def seal(key: bytes, kid: str, person_id: str, field: str, event_id: str, value: Any) -> dict[str, str]:
    """The sealed form of ``value``, the ``field`` of ``person_id`` in event ``event_id``."""
    return Sealer(key, kid).seal(person_id, field, event_id, value)


def open_sealed(key: bytes, person_id: str, field: str, sealed: Mapping[str, str]) -> Any:
    """The value sealed in ``sealed``; :class:`SealError` if it does not open with ``key`` for this person and field."""
    try:
        plaintext = AESGCM(key).decrypt(_unb64(sealed["iv"]), _unb64(sealed["ct"]), associated_data(person_id, field))
    except (InvalidTag, ValueError) as exc:
        raise SealError(f"the {field} of {person_id} does not open with key {sealed.get('kid')}") from exc
    return orjson.loads(plaintext)


def sealed_kids(event_type: str, data: Mapping[str, Any]) -> set[str]:
    """The key ids the sealed fields of one event's ``data`` name."""
    spec = PERSONAL_FIELDS.get(event_type)
    if spec is None:
        return set()
    return {data[name]["kid"] for name in spec.fields if is_sealed(data.get(name))}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
