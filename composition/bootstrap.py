"""The composition root: choose the log and database from settings and wire everything together.

Only the command line, the tests and the benchmarks import this module.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from api.app import create_app
from api.context import AppContext
from composition.app_wiring import ReadViews, app_context, read_views
from composition.readiness import Readiness
from consumers.checks.projector import ChecksProjector
from consumers.diligence.projector import DiligenceProjector
from consumers.impact.projector import ImpactProjector
from consumers.projector import Projector
from consumers.provenance.projector import ProvenanceProjector
from consumers.runner import ProjectionRunner, ProjectorThreads
from consumers.runners import runner_for
from events.kafka_log import KafkaEventLog, bootstrap_servers
from events.log import EventLog
from events.sqlite_log import SqliteEventLog
from services.auth import ApiKeys
from services.statement_links import StatementLinks
from services.database import create_database_engine
from services.event_index import IndexedLog
from services.metrics import Metrics
from services.checkpointer import Checkpointer
from services.log_key import load_or_create_signer
from services.settings import Settings
from services.transparency import TransparencyLog

logger = logging.getLogger(__name__)


def all_projectors(settings: Settings | None = None) -> list[Projector]:
    """Every projector of the platform, by name order of registration."""
    checks = (ChecksProjector(settings.mass_tolerance, settings.transit_tolerance) if settings is not None
              else ChecksProjector())
    return [ProvenanceProjector(), checks, DiligenceProjector(), ImpactProjector()]


def open_log(settings: Settings) -> EventLog:
    """The event log the settings name."""
    url = settings.event_log_url
    if url.startswith("sqlite:///"):
        return SqliteEventLog(url.removeprefix("sqlite:///"))
    if url.startswith("kafka://"):
        return KafkaEventLog(bootstrap_servers(url), topic=settings.kafka_topic, partitions=settings.kafka_partitions,
                             transactional_prefix=settings.kafka_prefix)
    raise ValueError(f"ORETRAIL_EVENT_LOG: unsupported log {url!r} (use sqlite:///path or kafka://host:port)")


def open_transparency(log: EventLog, settings: Settings) -> TransparencyLog | None:
    """Checkpoints and proofs over the log's Merkle tree, signed with the configured key (a log with a tree)."""
    tree = getattr(log, "tree", None)
    if tree is None:
        return None
    signer = load_or_create_signer(settings.log_signing_key_path, settings.log_origin)
    return TransparencyLog(tree, signer, settings.log_origin)


def open_runner(log: EventLog, engine: Engine, projector: Projector, settings: Settings) -> ProjectionRunner:
    """The runner of a projector on this log, of the kind the log names (``consumers.runners``)."""
    return runner_for(log, engine, projector, settings.projector_batch, settings.kafka_prefix)


@dataclass
class Platform:
    """The wired platform: log, database, API keys, projectors and their runners, and the app over them.

    Readiness is asked of ``composition.readiness``; the app's views and blueprints are built by
    ``composition.app_wiring``.
    """

    settings: Settings
    log: EventLog
    engine: Engine
    keys: ApiKeys
    runners: dict[str, ProjectionRunner] = field(default_factory=dict)
    threads: ProjectorThreads | None = None
    metrics: Metrics | None = None
    #: the signed checkpoints and proofs of the log's Merkle tree (logs that keep one: SQLite)
    transparency: TransparencyLog | None = None
    checkpointer: Checkpointer | None = None

    def __post_init__(self) -> None:
        self.health = Readiness(self.log, self.engine, self.runners)

    def prepare(self) -> None:
        """Create the tables every part needs (idempotent)."""
        self.keys.create_tables()
        StatementLinks(self.engine).create_tables()
        if isinstance(self.log, IndexedLog):
            self.log.create_tables()
        for runner in self.runners.values():
            runner.prepare()

    def runner(self, name: str) -> ProjectionRunner:
        """The runner of projector ``name``; ValueError if there is none."""
        if name not in self.runners:
            raise ValueError(f"no projector {name!r}; known: {', '.join(sorted(self.runners))}")
        return self.runners[name]

    def catch_up(self) -> None:
        """Apply every projector up to the current end of the log (tests, demo, benchmarks)."""
        end = self.log.end()
        for runner in self.runners.values():
            runner.catch_up(end)

    def start_projectors(self) -> None:
        """Run every projector in a background thread (the embedded mode)."""
        self.threads = ProjectorThreads(list(self.runners.values()))
        self.threads.start()
        self.start_checkpointer()

    def start_checkpointer(self) -> None:
        """Sign checkpoints in a background thread while the log grows (the embedded mode)."""
        if self.transparency is not None and self.checkpointer is None:
            self.checkpointer = Checkpointer(self.transparency, self.settings.checkpoint_interval)
            self.checkpointer.start()

    def readiness(self) -> dict[str, Any]:
        """The ``/readyz`` report."""
        return self.health.report()

    def views(self) -> ReadViews:
        """Fresh views of every read model (one set per app)."""
        return read_views(self.engine, self.settings)

    def app_context(self, views: ReadViews | None = None) -> AppContext:
        """What the Flask app needs, over ``views`` (fresh ones by default)."""
        return app_context(self.settings, self.log, self.keys, self.metrics, self.readiness,
                           views if views is not None else self.views(), self.transparency)

    def create_app(self, views: ReadViews | None = None) -> Flask:
        """The Flask app over this platform (and over ``views``, fresh ones by default)."""
        return create_app(self.app_context(views))

    def close(self) -> None:
        """Stop threads, close the log, dispose of the engine."""
        if self.threads is not None:
            self.threads.stop()
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.log.close()
        self.engine.dispose()


def build_platform(settings: Settings, projectors: list[Projector] | None = None) -> Platform:
    """Wire the platform the settings describe and create its tables."""
    log = open_log(settings)
    engine = create_database_engine(settings.database_url)
    # a log that cannot look up event ids gets the capture-side index (best effort, see event_index)
    capture_log = log if log.detects_duplicates else IndexedLog(log, engine)
    platform = Platform(settings=settings, log=capture_log, engine=engine, keys=ApiKeys(engine))
    platform.transparency = open_transparency(log, settings)
    platform.metrics = Metrics(state=platform.readiness, multiprocess_dir=settings.prometheus_multiproc_dir)
    for projector in projectors if projectors is not None else all_projectors(settings):
        runner = open_runner(log, engine, projector, settings)
        runner.listeners.append(platform.metrics.batch_applied)
        platform.runners[projector.name] = runner
    platform.prepare()
    logger.info("log %s, read models on %s", settings.event_log_url, make_url(settings.database_url).render_as_string())
    return platform
