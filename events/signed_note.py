"""C2SP ``signed-note`` with Ed25519, byte for byte as Go's ``golang.org/x/mod/sumdb/note``.

- key hash: the first 4 bytes (big-endian) of SHA-256(name || "\\n" || 0x01 || public key);
- verifier key: ``<name>+<key hash, 8 hex digits>+<base64(0x01 || public key)>``;
- signer key (kept secret): ``PRIVATE+KEY+<name>+<key hash>+<base64(0x01 || seed)>``;
- a signed note: the text (ending in a newline), a blank line, then one line per signature:
  ``— <name> <base64(key hash || Ed25519 signature of the text)>``.

Ed25519 itself is the ``cryptography`` package's.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # em dash, space


class NoteError(ValueError):
    """A key or note that is malformed, or a signature that does not verify."""


def key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte key id of an Ed25519 public key under ``name``."""
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public_key).digest()[:4]


def valid_name(name: str) -> bool:
    """A key name: non-empty, no Unicode space, no plus."""
    return bool(name) and "+" not in name and not any(character.isspace() for character in name)


@dataclass(frozen=True)
class NoteVerifier:
    """A verifier key: a name and an Ed25519 public key."""

    name: str
    public_key: bytes

    @property
    def key_hash(self) -> bytes:
        """The 4-byte key id."""
        return key_hash(self.name, self.public_key)

    def encoded(self) -> str:
        """``<name>+<hex key id>+<base64(0x01 || key)>``."""
        return f"{self.name}+{self.key_hash.hex()}+{base64.b64encode(ALG_ED25519 + self.public_key).decode()}"

    @classmethod
    def parse(cls, text: str) -> "NoteVerifier":
        """Read a verifier key; NoteError if malformed or if its key id does not match its key."""
        name, _, rest = text.strip().partition("+")
        hash_hex, _, key64 = rest.partition("+")
        try:
            key = base64.b64decode(key64, validate=True)
            expected = bytes.fromhex(hash_hex)
        except ValueError:
            raise NoteError("malformed verifier key") from None
        if not valid_name(name) or len(hash_hex) != 8 or len(key) != 33 or key[:1] != ALG_ED25519:
            raise NoteError("malformed verifier key (expected an Ed25519 key)")
        verifier = cls(name, key[1:])
        if verifier.key_hash != expected:
            raise NoteError("the verifier key's id does not match its key")
        return verifier

    def verify(self, note: str) -> str:
        """The text of ``note`` if it carries a valid signature by this key; NoteError otherwise."""
        text, signatures = split_note(note)
        for name, signature in signatures:
            if name == self.name and signature[:4] == self.key_hash:
                try:
                    Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature[4:], text.encode())
                except InvalidSignature:
                    raise NoteError(f"invalid signature by {self.name}+{self.key_hash.hex()}") from None
                return text
        raise NoteError(f"the note has no signature by {self.name}+{self.key_hash.hex()}")


@dataclass(frozen=True)
class NoteSigner:
    """A signer key: a name and an Ed25519 private key (its 32-byte seed)."""

    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> "NoteSigner":
        """A fresh key named ``name``."""
        if not valid_name(name):
            raise NoteError(f"a key name may hold neither spaces nor '+': {name!r}")
        return cls(name, Ed25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def parse(cls, text: str) -> "NoteSigner":
        """Read ``PRIVATE+KEY+<name>+<hash>+<key>``; NoteError if malformed or if the hash does not match."""
        parts = text.strip().split("+", 4)  # base64 may hold "+" too
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("malformed signer key (expected PRIVATE+KEY+name+hash+key)")
        _, _, name, hash_hex, key64 = parts
        try:
            key = base64.b64decode(key64, validate=True)
        except ValueError:
            raise NoteError("malformed signer key") from None
        if not valid_name(name) or len(key) != 33 or key[:1] != ALG_ED25519:
            raise NoteError("malformed signer key (expected an Ed25519 key)")
        signer = cls(name, key[1:])
        if signer.verifier().key_hash.hex() != hash_hex:
            raise NoteError("the signer key's id does not match its key")
        return signer

    def encoded(self) -> str:
        """``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`` (secret)."""
        return (f"PRIVATE+KEY+{self.name}+{self.verifier().key_hash.hex()}+"
                f"{base64.b64encode(ALG_ED25519 + self.seed).decode()}")

    def verifier(self) -> NoteVerifier:
        """The matching verifier key."""
        public = Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return NoteVerifier(self.name, public)

    def sign(self, text: str) -> str:
        """The signed note of ``text`` (which must end in a newline)."""
        if not text.endswith("\n"):
            raise NoteError("a note's text ends in a newline")
        signature = Ed25519PrivateKey.from_private_bytes(self.seed).sign(text.encode())
        line = base64.b64encode(self.verifier().key_hash + signature).decode()
        return f"{text}\n{SIGNATURE_PREFIX}{self.name} {line}\n"


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """A note's text and its signatures ``(name, key hash || signature)``; NoteError if malformed."""
    text, separator, block = note.rpartition("\n\n")
    if not separator or not block.endswith("\n"):
        raise NoteError("malformed note: no signature block")
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("malformed signature line")
        name, _, value = line[len(SIGNATURE_PREFIX):].partition(" ")
        try:
            signature = base64.b64decode(value, validate=True)
        except ValueError:
            raise NoteError("malformed signature") from None
        if not valid_name(name) or len(signature) < 5:
            raise NoteError("malformed signature line")
        signatures.append((name, signature))
    return text + "\n", signatures
