"""The projector runner: read-model writes and checkpoint commit together; crashes lose and repeat nothing."""
from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from consumers import rebuild as rebuild_module
from consumers import tracking
from consumers.provenance.projector import ProvenanceProjector
from consumers.provenance.views import ProvenanceView
from consumers.runner import ProjectionRunner
from events.envelope import prepare
from composition.bootstrap import build_platform
from services.database import create_database_engine
from services.settings import Settings
from tests import factories as f
from tests.readmodel import dump_tables
from tests.waiting import wait_until


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it."""


class CrashingProjector(ProvenanceProjector):
    """The provenance projector that dies when it meets a chosen event."""

    def __init__(self, crash_on: str):
        self.crash_on = crash_on
        self.armed = True

    def gather(self, writes, event):
        if self.armed and event.event_id == self.crash_on:
            raise Crash()
        super().gather(writes, event)


def chain(n_lots=30):
    events = [f.site("site-a"), f.pit("pit-a", "site-a")]
    for i in range(n_lots):
        events.append(f.production(f"lot-{i}", "pit-a", 10.0 + i, 0.9))
        events.append(f.transfer(f"lot-{i}", "m-1", "coop-mambasa", 10.0 + i))
    events.append(f.merge("coop-1", {f"lot-{i}": 10.0 + i for i in range(n_lots)}))
    events.append(f.manufacture("ring-1", {"coop-1": 5.0}, mass_g=6.0))
    return events


def test_a_crash_inside_a_batch_loses_and_duplicates_nothing(platform, tmp_path):
    events = chain()
    platform.log.append([prepare(e) for e in events])
    victim = CrashingProjector(crash_on=events[25]["event_id"])
    runner = ProjectionRunner(platform.log, platform.engine, victim, batch_size=10)
    runner.prepare()
    with pytest.raises(Crash):
        runner.catch_up()
    assert runner.checkpoint().total == 20  # the two whole batches before the crash, not a part of the third
    victim.armed = False
    runner.catch_up()
    assert runner.checkpoint().total == len(events)

    fresh = create_database_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    reference = ProjectionRunner(platform.log, fresh, ProvenanceProjector(), batch_size=1000)
    reference.rebuild()
    assert dump_tables(platform.engine, ProvenanceProjector().metadata) == dump_tables(fresh, ProvenanceProjector().metadata)


def test_replaying_a_batch_twice_changes_nothing(platform):
    events = chain(5)
    platform.log.append([prepare(e) for e in events])
    runner = platform.runner("provenance")
    runner.catch_up()
    before = dump_tables(platform.engine, runner.projector.metadata)
    from services.database import write_transaction
    with write_transaction(platform.engine) as tx:  # as if a duplicate delivery reached the projector
        for recorded in platform.log.read(limit=100):
            runner.projector.apply(tx, recorded)
    assert dump_tables(platform.engine, runner.projector.metadata) == before


def test_a_poison_event_goes_to_the_dead_letters_and_the_rest_is_applied(platform):
    events = chain(3)
    platform.log.append([prepare(e) for e in events])

    class Poisoned(ProvenanceProjector):
        def gather(self, writes, event):
            if event.event_id == events[3]["event_id"]:
                raise ValueError("cannot apply this one")
            super().gather(writes, event)

    runner = ProjectionRunner(platform.log, platform.engine, Poisoned(), batch_size=100)
    runner.prepare()
    runner.catch_up()
    assert runner.checkpoint().total == len(events)
    with platform.engine.connect() as connection:
        letters = connection.execute(select(tracking.dead_letters)).mappings().all()
    assert [(l["event_id"], "cannot apply this one" in l["error"]) for l in letters] == [(events[3]["event_id"], True)]
    assert runner.dead_letter_count() == 1


def test_a_rebuild_committing_every_few_events_keeps_a_poison_event_aside_and_stages_the_rest(platform, tmp_path, monkeypatch):
    # the staging area commits every STAGING_COMMIT_EVENTS events (several batches a transaction)
    # and, on SQLite, keeps its rollback journal in memory: a poison event's savepoint must still
    # roll back only that event, in whichever transaction it falls
    monkeypatch.setattr(rebuild_module, "STAGING_COMMIT_EVENTS", 7)
    events = chain(12)
    platform.log.append([prepare(e) for e in events])
    poison = events[9]["event_id"]

    class Poisoned(ProvenanceProjector):
        def gather(self, writes, event):
            if event.event_id == poison:
                raise ValueError("cannot apply this one")
            super().gather(writes, event)

    runner = ProjectionRunner(platform.log, platform.engine, Poisoned(), batch_size=3)
    runner.prepare()
    assert runner.rebuild() == len(events)
    with platform.engine.connect() as connection:
        letters = connection.execute(select(tracking.dead_letters.c.event_id)).scalars().all()
    assert letters == [poison]

    # the same read model as applying the log batch by batch, one commit each
    assert_same_as_a_catch_up(platform, Poisoned(), tmp_path, batch_size=3)


def assert_same_as_a_catch_up(platform, projector, tmp_path, batch_size):
    """The platform's read model of ``projector`` equals a fresh SQLite one caught up batch by batch."""
    fresh = create_database_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    reference = ProjectionRunner(platform.log, fresh, projector, batch_size=batch_size)
    reference.prepare()
    reference.catch_up()
    metadata = projector.metadata
    assert dump_tables(platform.engine, metadata) == dump_tables(fresh, metadata)
    fresh.dispose()


def test_a_rebuild_into_postgresql_reads_the_log_ahead_in_a_thread_and_builds_the_same_model(platform, tmp_path):
    # on PostgreSQL the replay's pages are read by a thread of their own while the server applies a
    # batch; on SQLite by the rebuilding thread itself. Either way: every event, in order, once
    events = chain(20)
    platform.log.append([prepare(e) for e in events])
    readers: set[int] = set()

    class Replaying(ProjectionRunner):
        def replay(self, until):
            readers.add(threading.get_ident())
            yield from super().replay(until)

    runner = Replaying(platform.log, platform.engine, ProvenanceProjector(), batch_size=4)
    runner.prepare()
    assert runner.rebuild() == len(events)
    assert len(readers) == 1
    assert (readers != {threading.get_ident()}) == (platform.engine.dialect.name == "postgresql")
    assert "replay-provenance" not in {thread.name for thread in threading.enumerate()}  # stopped with the rebuild
    assert runner.checkpoint() == platform.log.end()
    assert_same_as_a_catch_up(platform, ProvenanceProjector(), tmp_path, batch_size=4)


def test_a_rebuild_that_fails_midway_stops_its_reading_thread(platform):
    events = chain(20)
    platform.log.append([prepare(e) for e in events])

    class Failing(ProvenanceProjector):
        def gather(self, writes, event):
            if event.event_id == events[10]["event_id"]:
                raise Crash()  # not an Exception: nothing keeps it aside as a poison event
            super().gather(writes, event)

    runner = ProjectionRunner(platform.log, platform.engine, Failing(), batch_size=4)
    runner.prepare()
    with pytest.raises(Crash):
        runner.rebuild()
    assert "replay-provenance" not in {thread.name for thread in threading.enumerate()}


def test_the_cyclic_collector_is_paused_while_a_batch_is_applied_and_runs_again_after(platform):
    platform.log.append([prepare(e) for e in chain(2)])
    seen: list[bool] = []

    class Watching(ProvenanceProjector):
        def apply_batch(self, tx, events):
            seen.append(gc.isenabled())
            super().apply_batch(tx, events)

    assert gc.isenabled()
    runner = ProjectionRunner(platform.log, platform.engine, Watching(), batch_size=3)
    runner.prepare()
    runner.catch_up()
    assert len(seen) >= 2 and set(seen) == {False}
    assert gc.isenabled()


def test_two_runners_of_one_projector_never_apply_the_same_batch(platform):
    events = chain(40)
    platform.log.append([prepare(e) for e in events])
    applied: list[str] = []

    class Counting(ProvenanceProjector):
        def gather(self, writes, event):
            applied.append(event.event_id)
            super().gather(writes, event)

    runners = [ProjectionRunner(platform.log, platform.engine, Counting(), batch_size=5) for _ in range(2)]
    runners[0].prepare()
    start = threading.Barrier(len(runners))
    errors: list[BaseException] = []

    def work(runner):
        start.wait()
        try:
            runner.catch_up()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(runner,)) for runner in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert runners[0].checkpoint().total == len(events)
    assert sorted(Counter(applied).values()) == [1] * len(events)  # each event applied once, by one of them
    assert runners[0].dead_letter_count() == 0


def ring_chain(name: str) -> list[dict]:
    """A small supply chain from a pit of its own to the ring ``ring-NAME``."""
    return [f.site(f"site-{name}"), f.pit(f"pit-{name}", f"site-{name}"),
            f.production(f"lot-{name}", f"pit-{name}", 50.0, 0.9),
            f.hand_over(f"lot-{name}", "coop-mambasa", "atelier", 50.0),
            f.manufacture(f"ring-{name}", {f"lot-{name}": 5.0}, mass_g=6.0)]


def test_a_new_projector_version_rebuilds_beside_the_live_model_and_switches_when_caught_up(platform):
    platform.log.append([prepare(e) for e in ring_chain("old")])
    platform.runner("provenance").catch_up()
    platform.log.append([prepare(e) for e in ring_chain("new")])  # not applied by the old version
    view = ProvenanceView(platform.engine)
    shown: list[tuple[bool, bool]] = []

    def visible() -> tuple[bool, bool]:
        return (view.product_provenance("ring-old") is not None, view.product_provenance("ring-new") is not None)

    class NextVersion(ProvenanceProjector):
        version = ProvenanceProjector.version + 1

        def apply_batch(self, tx, events):
            shown.append(visible())  # what the API reads while the new model fills
            super().apply_batch(tx, events)

    runner = ProjectionRunner(platform.log, platform.engine, NextVersion(), batch_size=3)
    runner.prepare()
    assert runner.stale and visible() == (True, False)  # the old model is still served, not dropped
    runner.catch_up()
    assert len(shown) >= 3 and set(shown) == {(True, False)}
    assert visible() == (True, True) and not runner.stale
    assert runner.checkpoint() == platform.log.end()
    with platform.engine.connect() as connection:
        assert connection.execute(select(tracking.checkpoints.c.version)
                                  .where(tracking.checkpoints.c.projector == "provenance")).scalar() == NextVersion.version


def test_kill_9_of_a_projector_process_then_restart_equals_a_fresh_rebuild(tmp_path, database_url):
    data = tmp_path / "data"
    env = {**os.environ, "ORETRAIL_DATA_DIR": str(data), "ORETRAIL_PROJECTOR_BATCH": "7",
           "ORETRAIL_DATABASE_URL": database_url}
    settings = Settings.from_env(env)
    platform = build_platform(settings)
    events = chain(150)
    platform.log.append([prepare(e) for e in events[:200]])
    command = [sys.executable, "-m", "composition.cli", "project", "provenance"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runner = platform.runner("provenance")
    try:
        wait_until(lambda: runner.checkpoint().total >= 35, 60, "the projector to apply a few batches")
        platform.log.append([prepare(e) for e in events[200:]])
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        assert runner.checkpoint().total < len(events)
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: runner.checkpoint().total == len(events), 120, "the restarted projector to catch up")
    finally:
        process.kill()
        process.wait(10)
    fresh = create_database_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    ProjectionRunner(platform.log, fresh, ProvenanceProjector()).rebuild()
    metadata = ProvenanceProjector().metadata
    assert dump_tables(platform.engine, metadata) == dump_tables(fresh, metadata)
    platform.close()


def test_sigterm_stops_a_projector_process_cleanly_after_its_batch(tmp_path):
    env = {**os.environ, "ORETRAIL_DATA_DIR": str(tmp_path / "data"), "ORETRAIL_PROJECTOR_BATCH": "10"}
    platform = build_platform(Settings.from_env(env))
    events = chain(40)
    platform.log.append([prepare(e) for e in events])
    process = subprocess.Popen([sys.executable, "-m", "composition.cli", "project", "provenance"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runner = platform.runner("provenance")
    try:
        wait_until(lambda: runner.checkpoint().total == len(events), 60, "the projector to catch up")
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0  # it left on its own, not killed by the signal
    finally:
        process.kill()
        process.wait(10)
        platform.close()
