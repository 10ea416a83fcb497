"""The data folder and every SQLite file in it (with -wal, -shm, -journal) are readable by their owner only."""
from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from composition.bootstrap import build_platform
from events.private_files import private_database_file
from services.settings import Settings
from tests import factories as f
from tests.conftest import bearer

pytestmark = pytest.mark.integration


@pytest.fixture
def usual_umask():
    """Run the test under the common umask 022, which alone would leave new files 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_platform_keeps_its_folder_0700_and_every_file_0600(tmp_path, usual_umask):
    data = tmp_path / "fresh" / "data"
    platform = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(data)}))
    try:
        key = platform.keys.create("oretrail-admin", "admin")
        client = platform.create_app().test_client()
        assert client.post("/v1/events", json={"events": f.two_site_ring_chain()}, headers=bearer(key)).status_code == 200
        platform.catch_up()
        files = {path.name: mode(path) for path in data.iterdir()}  # while open: the -wal and -shm files exist
    finally:
        platform.close()
    assert mode(data) == 0o700
    assert {"events.db", "events.db-wal", "events.db-shm", "readmodels.db", "readmodels.db-wal"} <= set(files)
    assert {name: oct(bits) for name, bits in files.items() if bits & 0o077} == {}


def test_a_rollback_journal_takes_the_mode_of_its_database(tmp_path, usual_umask):
    database = private_database_file(tmp_path / "db" / "any.db")
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=DELETE")
        connection.execute("CREATE TABLE t (x)")
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO t VALUES (1)")
        journal = database.with_name("any.db-journal")
        assert journal.exists() and mode(journal) == 0o600
        connection.execute("COMMIT")
    finally:
        connection.close()
    assert mode(database) == 0o600 and mode(database.parent) == 0o700


def test_files_left_readable_by_an_older_version_are_made_private(tmp_path, usual_umask):
    data = tmp_path / "data"
    data.mkdir()  # a folder the operator made: its mode is theirs
    names = ("events.db", "events.db-wal", "events.db-shm")
    for name in names:
        (data / name).write_bytes(b"")
        os.chmod(data / name, 0o644)
    private_database_file(data / "events.db")
    assert {name: mode(data / name) for name in names} == dict.fromkeys(names, 0o600)
    assert mode(data) == 0o755
