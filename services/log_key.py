"""The log's checkpoint signing key: read from its file, or made there (owner-only) on first start."""
from __future__ import annotations

import os
from pathlib import Path

from events.private_files import FILE_MODE, private_folder
from events.signed_note import NoteSigner


def load_or_create_signer(path: Path, name: str) -> NoteSigner:
    """The signer key in ``path`` (Go ``note`` format, ``PRIVATE+KEY+...``), made 0600 with ``name`` if absent.

    ``O_EXCL`` makes two processes starting together agree: the loser of the race reads the
    winner's key. A key made under another name is kept: the name is part of the key id that
    verifiers already trust, so a change of origin is a key rotation (README, "Tamper evidence").
    """
    if not path.exists():
        private_folder(path.parent)
        signer = NoteSigner.generate(name)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(signer.encoded() + "\n")
            return signer
    return NoteSigner.parse(path.read_text())
