"""The read-model database helpers behave alike on SQLite and PostgreSQL."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select

from services.database import (
    READ_MODEL_CHECKPOINT_PAGES, READ_MODEL_PAGE_BYTES, create_database_engine, read_snapshot, serialise, wal_copier, write_transaction,
)
from tests.databases import fresh_postgres_database, postgres_server_url

metadata = MetaData()
counter = Table("counter", metadata, Column("id", Integer, primary_key=True))


def test_a_read_snapshot_does_not_see_what_commits_after_its_first_query(database_url):
    engine = create_database_engine(database_url)
    metadata.create_all(engine)
    with read_snapshot(engine) as reader:
        assert reader.execute(select(func.count()).select_from(counter)).scalar() == 0
        with write_transaction(engine) as tx:
            tx.execute(insert(counter).values(id=1))
        assert reader.execute(select(func.count()).select_from(counter)).scalar() == 0  # the same snapshot
    with read_snapshot(engine) as reader:
        assert reader.execute(select(func.count()).select_from(counter)).scalar() == 1
    engine.dispose()


def test_serialised_writers_read_what_the_previous_one_committed(database_url):
    engine = create_database_engine(database_url)
    metadata.create_all(engine)
    start = threading.Barrier(4)

    def next_id() -> None:
        start.wait()
        for _ in range(10):
            with write_transaction(engine) as tx:
                serialise(tx, "counter")
                current = tx.execute(select(func.coalesce(func.max(counter.c.id), 0))).scalar()
                tx.execute(insert(counter).values(id=current + 1))  # a duplicate key if two read the same max

    threads = [threading.Thread(target=next_id) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with engine.connect() as connection:
        assert connection.execute(select(counter.c.id).order_by(counter.c.id)).scalars().all() == list(range(1, 41))
    engine.dispose()


def test_a_new_sqlite_read_model_has_pages_of_8_kib_a_wal_cap_of_about_160_mb_and_keeps_64_mib_of_it(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path / 'readmodels.db'}")
    try:
        metadata.create_all(engine)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA page_size").scalar() == READ_MODEL_PAGE_BYTES == 8192
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == READ_MODEL_CHECKPOINT_PAGES
            assert connection.exec_driver_sql("PRAGMA journal_size_limit").scalar() == 64 * 1024 * 1024
        assert READ_MODEL_CHECKPOINT_PAGES * READ_MODEL_PAGE_BYTES == 163_840_000  # about 160 MB
    finally:
        engine.dispose()


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_read_model_file_made_before_keeps_its_page_size(tmp_path, journal):
    path = tmp_path / "readmodels.db"
    made_before = sqlite3.connect(path, isolation_level=None)
    made_before.execute(f"PRAGMA journal_mode={journal}")
    made_before.execute("CREATE TABLE earlier (x)")
    made_before.close()
    engine = create_database_engine(f"sqlite:///{path}")
    try:
        metadata.create_all(engine)
        with write_transaction(engine) as tx:
            tx.execute(insert(counter).values(id=1))
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA page_size").scalar() == 4096  # SQLite's default
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("SELECT count(*) FROM earlier").scalar() == 0
            assert connection.execute(select(func.count()).select_from(counter)).scalar() == 1
    finally:
        engine.dispose()


def test_a_write_transaction_has_its_wal_copied_into_the_database_file_by_another_thread(tmp_path):
    path = tmp_path / "readmodels.db"
    engine = create_database_engine(f"sqlite:///{path}")
    copier = wal_copier(engine)
    assert copier is not None
    metadata.create_all(engine)
    seen_at_signal: list[int] = []
    copied_by: list[str] = []
    signal, copy = copier.committed, copier._copy

    def committed() -> None:  # the writer tells the copier only once its rows are committed
        fresh = sqlite3.connect(path)
        seen_at_signal.append(fresh.execute("SELECT count(*) FROM counter").fetchone()[0])
        fresh.close()
        signal()

    copier.committed = committed  # type: ignore[method-assign]
    copier._copy = lambda: (copied_by.append(threading.current_thread().name), copy())  # type: ignore[method-assign]
    try:
        assert copier.wait(10)
        before = copier.copies
        copier._last_start = float("-inf")  # the next commit may start a copy at once
        with write_transaction(engine) as tx:
            tx.execute(insert(counter), [{"id": number} for number in range(1, 5001)])
        assert seen_at_signal == [5000]
        assert copier.wait(10)
        assert copier.copies == before + 1 and copier.failures == 0
        assert copied_by[-1] == "sqlite-wal-copy" != threading.current_thread().name
        busy, frames, copied = copier.last_result
        assert busy == 0 and frames > 0 and copied == frames
        # the rows are in the database file itself now: read it ignoring the WAL
        file_only = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        assert file_only.execute("SELECT count(*) FROM counter").fetchone()[0] == 5000
        file_only.close()
        # a transaction that changed nothing (an idle projector's poll) starts no copy
        copier._last_start = float("-inf")
        with write_transaction(engine) as tx:
            tx.execute(select(func.count()).select_from(counter))
        assert copier.wait(10) and copier.copies == before + 1
    finally:
        engine.dispose()
    assert copier._closed  # disposed of: no copy starts any more
    copier._last_start = float("-inf")
    copier.committed()
    assert copier.wait(10) and copier.copies == before + 1


def test_postgresql_and_in_memory_sqlite_have_no_wal_copier(database_url):
    engine = create_database_engine(database_url if database_url.startswith("postgresql") else "sqlite://")
    assert wal_copier(engine) is None
    engine.dispose()


def test_postgresql_sessions_start_without_jit_unless_the_url_asks_for_it():
    """No JIT compilation for the projectors' short queries; a URL's own ``options`` still win, and a
    staging engine's search path is kept beside it."""
    with fresh_postgres_database(postgres_server_url()) as url:
        engines = {"default": create_database_engine(url),
                   "asked": create_database_engine(f"{url}?options=-cjit%3Don"),
                   "staging": create_database_engine(url, server_options="-csearch_path=elsewhere")}
        try:
            shown = {}
            for name, engine in engines.items():
                with engine.connect() as connection:
                    shown[name] = (connection.exec_driver_sql("SHOW jit").scalar(),
                                   connection.exec_driver_sql("SHOW search_path").scalar())
        finally:
            for engine in engines.values():
                engine.dispose()
    assert shown["default"][0] == "off" and shown["asked"][0] == "on"
    assert shown["staging"] == ("off", "elsewhere")
