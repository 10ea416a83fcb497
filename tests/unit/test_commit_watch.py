"""A value read from SQLite again only after a commit: what lets readers skip re-reading the projectors' positions."""
from __future__ import annotations

import threading

from sqlalchemy import text

from consumers.commit_watch import CommitWatch
from services.database import create_database_engine


def test_the_value_is_read_again_after_each_commit_of_another_connection_and_only_then(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path / 'models.db'}")
    reads = []
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE positions (position INTEGER)"))

        def count() -> int:
            reads.append(1)
            with engine.connect() as connection:  # a read commits nothing
                return connection.execute(text("SELECT count(*) FROM positions")).scalar()

        watch = CommitWatch.of(engine, count)
        assert (watch.get(), watch.get(), len(reads)) == (0, 0, 1)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO positions VALUES (1)"))
        assert (watch.get(), watch.get(), len(reads)) == (1, 1, 2)
        elsewhere = []
        thread = threading.Thread(target=lambda: elsewhere.append(watch.get()))  # a thread reads for itself
        thread.start()
        thread.join()
        assert elsewhere == [1] and len(reads) == 3
        watch.close()
        assert watch.get() == 1 and len(reads) == 4  # a closed watch reads again on a new connection
        watch.close()
    finally:
        engine.dispose()


def test_there_is_no_commit_counter_in_memory():
    engine = create_database_engine("sqlite:///:memory:")
    assert CommitWatch.of(engine, lambda: 0) is None
    engine.dispose()
