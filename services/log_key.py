"""The log's checkpoint signing key: read from its file, or made there (owner-only) on first start."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from events.private_files import FILE_MODE, private_folder
from events.signed_note import NoteSigner


def load_or_create_signer(path: Path, name: str) -> NoteSigner:
    """The signer key in ``path`` (Go ``note`` format, ``PRIVATE+KEY+...``), made 0600 with ``name`` if absent.

    Linking a complete file in place makes two processes starting together agree: the loser of
    the race reads the winner's key. A key made under another name is kept: the name is part of
    the key id that verifiers already trust, so a change of origin is a key rotation (README,
    "Tamper evidence").
    """
    if not path.exists():
        private_folder(path.parent)
        signer = NoteSigner.generate(name)
        # written whole under a name of its own, then linked in: a process losing the race to create
        # the key never reads a half-written file, only the winner's complete one
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(signer.encoded() + "\n")
        try:
            with contextlib.suppress(FileExistsError):  # another process made it first: read it below
                os.link(draft, path)
                return signer
        finally:
            draft.unlink()
    return NoteSigner.parse(path.read_text())
