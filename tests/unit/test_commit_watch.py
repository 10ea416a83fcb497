"""The SQLite commit counter that lets readers skip re-reading the projectors' positions."""
from __future__ import annotations

from sqlalchemy import text

from consumers.commit_watch import CommitWatch
from services.database import create_database_engine


def test_the_counter_moves_with_each_commit_of_another_connection_and_only_then(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path / 'models.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE positions (position INTEGER)"))
        watch = CommitWatch.of(engine)
        quiet = watch.version()
        with engine.connect() as connection:  # a read commits nothing
            connection.execute(text("SELECT count(*) FROM positions")).scalar()
        assert watch.version() == quiet
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO positions VALUES (1)"))
        moved = watch.version()
        assert moved != quiet and watch.version() == moved
        watch.close()
    finally:
        engine.dispose()


def test_there_is_no_counter_to_watch_in_memory():
    engine = create_database_engine("sqlite:///:memory:")
    assert CommitWatch.of(engine) is None
    engine.dispose()
