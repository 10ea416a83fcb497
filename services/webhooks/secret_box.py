"""Webhook secrets at rest: encrypted with AES-256-GCM under a key kept in a file, not in the database.

The sender must sign with the secret itself (HMAC is symmetric), so it cannot be stored as a hash
like an API key. The key file is owner-only (0600), made on first start, and shared by the API and
the ``oretrail deliver`` processes; a copy of the database alone (a backup, a read replica, a SQL
injection) reveals no secret. Each secret is bound to its subscription id (the AEAD's associated
data), so a ciphertext moved to another row does not decrypt.
"""
from __future__ import annotations

import base64
import contextlib
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from events.private_files import FILE_MODE, private_folder

_VERSION = "v1:"


class SecretBox:
    """Encrypts and decrypts webhook secrets with one AES-256-GCM key."""

    def __init__(self, key: bytes):
        self._aead = AESGCM(key)

    @classmethod
    def load_or_create(cls, path: Path) -> "SecretBox":
        """The box of the key in ``path``, made there (0600) if absent; written whole then linked in,
        so two processes starting together agree on one key."""
        if not path.exists():
            private_folder(path.parent)
            draft = path.with_name(f".{path.name}.{os.getpid()}")
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(base64.b64encode(AESGCM.generate_key(bit_length=256)).decode() + "\n")
            try:
                with contextlib.suppress(FileExistsError):  # another process made it first: read it below
                    os.link(draft, path)
            finally:
                draft.unlink()
        return cls(base64.b64decode(path.read_text().strip()))

    def seal(self, secret: str, subscription_id: str) -> str:
        """``secret`` encrypted for the row of ``subscription_id``."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, secret.encode(), subscription_id.encode())
        return _VERSION + base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str, subscription_id: str) -> str:
        """The secret of ``subscription_id`` (``cryptography.exceptions.InvalidTag`` under another key)."""
        raw = base64.b64decode(sealed.removeprefix(_VERSION))
        return self._aead.decrypt(raw[:12], raw[12:], subscription_id.encode()).decode()
