"""What only the embedded log does: one total order of positions from 1, an append-only table, no
position burnt by a failed batch. What every log does is in ``test_log_contract.py``."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from events.attestation import Attestation
from events.envelope import prepare
from events.log import IdempotencyConflict
from events.position import LogPosition
from events.sqlite_log import SqliteEventLog
from tests import factories as f


@pytest.fixture
def log(tmp_path):
    log = SqliteEventLog(tmp_path / "events.db")
    yield log
    log.close()


def batch(*envelopes):
    return [prepare(envelope) for envelope in envelopes]


def test_positions_strictly_increase_from_one(log):
    results = log.append(batch(f.site("a"), f.site("b"), f.site("c")))
    assert [r.position for r in results] == [1, 2, 3]
    assert [r.status for r in results] == ["accepted"] * 3
    assert log.end_position() == 3
    assert log.end() == LogPosition({0: 3})
    assert [e.position for e in log.read(LogPosition({0: 1}), 10)] == [2, 3]


def test_a_batch_mixing_new_and_known_events_answers_each_its_stored_position(log):
    a, b, c = f.site("a"), f.site("b"), f.site("c")
    log.append(batch(a))
    results = log.append(batch(b, a, c, b))
    assert [(r.event_id, r.status, r.position) for r in results] == [
        (b["event_id"], "accepted", 2), (a["event_id"], "duplicate", 1),
        (c["event_id"], "accepted", 3), (b["event_id"], "duplicate", 2)]
    stored = {event.event_id: event.position for event in log.read(LogPosition.start(), 10)}
    assert stored == {a["event_id"]: 1, b["event_id"]: 2, c["event_id"]: 3}
    assert log.tree.size() == 3


def test_a_failed_batch_leaves_no_trace_and_burns_no_position(log):
    good = f.site("a")
    log.append(batch(good))
    conflict = {**good, "data": {**good["data"], "region": "Sud-Kivu"}}
    with pytest.raises(IdempotencyConflict):
        log.append(batch(f.site("b"), f.site("c"), conflict))
    assert log.append(batch(f.site("d")))[0].position == 2


def test_the_table_refuses_updates_and_deletes(log, tmp_path):
    log.append(batch(f.site("a")))
    raw = sqlite3.connect(tmp_path / "events.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE events SET body = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM events")
    raw.close()


def test_concurrent_writers_get_distinct_gapless_positions(tmp_path):
    path = tmp_path / "events.db"
    errors = []

    def writer(prefix):
        log = SqliteEventLog(path)
        try:
            for n in range(20):
                log.append(batch(*(f.site(f"{prefix}-{n}-{k}") for k in range(5))))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            log.close()

    threads = [threading.Thread(target=writer, args=(name,)) for name in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    log = SqliteEventLog(path)
    positions = [event.position for event in log.read(limit=10_000)]
    assert positions == list(range(1, 401))


#: the events table as the first release made it, before ``attested_by``
OLD_SCHEMA = """
CREATE TABLE events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    stream_id   TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    hash        TEXT NOT NULL,
    body        BLOB NOT NULL
);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
"""


def test_an_older_log_gains_attested_by_and_its_events_read_as_null(tmp_path):
    path = tmp_path / "events.db"
    old_event = prepare(f.site("old"))
    raw = sqlite3.connect(path)
    raw.executescript(OLD_SCHEMA)
    raw.execute("INSERT INTO events (event_id, type, stream_id, recorded_by, recorded_at, hash, body)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", (old_event.event_id, old_event.type, old_event.stream_id,
                                                 old_event.recorded_by, "2026-01-01T00:00:00Z", old_event.hash,
                                                 old_event.body))
    raw.commit()
    raw.close()

    coop = Attestation(organisation="coop-mambasa", role="cooperative", key_id="0a1b2c3d")
    for _ in range(2):  # the migration runs on every open and changes nothing the second time
        log = SqliteEventLog(path)
        if log.end_position() == 1:
            log.append([prepare(f.site("new"), coop)])
        read = log.read()
        log.close()
        assert [event.as_dict()["attested_by"] for event in read] == [None, coop.as_dict()]
        assert read[0].position == 1 and read[0].hash == old_event.hash
    raw = sqlite3.connect(path)
    columns = [row[1] for row in raw.execute("PRAGMA table_info(events)")]
    raw.close()
    assert columns.count("attested_by") == 1
