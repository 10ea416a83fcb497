"""Data files only their owner may read: the log and the read models hold names and photo-ID hashes.

The modes are set explicitly rather than through the process umask: the umask is the WSGI server's
(gunicorn leaves it as it found it) and would also make every other file the process writes private.
SQLite gives the ``-wal``, ``-shm`` and ``-journal`` files it creates the mode of their database
file, so a database file created 0600 keeps its companions 0600 as well.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
#: the files SQLite keeps beside a database
COMPANIONS = ("-wal", "-shm", "-journal")


def private_folder(path: Path | str) -> Path:
    """Create the folder ``path`` (with its parents) owner-only, 0700; an existing folder is left as it is.

    An existing folder may be shared on purpose (a volume, a home folder); the files in it are
    private whatever the folder's mode.
    """
    folder = Path(path)
    if not folder.is_dir():
        folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode passes through the umask
    return folder


def private_database_file(path: Path | str) -> Path:
    """Create the SQLite file ``path`` owner-only (0600) before SQLite opens it, in a private folder.

    A database (or a companion) left readable by others by an older version is made owner-only.
    """
    database = Path(path)
    private_folder(database.parent)
    os.close(os.open(database, os.O_CREAT | os.O_RDWR, FILE_MODE))
    for candidate in (database, *(database.with_name(database.name + suffix) for suffix in COMPANIONS)):
        _owner_only(candidate)
    return database


def _owner_only(path: Path) -> None:
    """Take away group and other permissions from ``path`` if it exists and this process owns it."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    if status.st_mode & 0o077 and status.st_uid == os.geteuid():
        os.chmod(path, stat.S_IMODE(status.st_mode) & 0o700)
