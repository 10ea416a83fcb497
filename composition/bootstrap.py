"""The composition root: choose the log and database from settings and wire everything together.

Only the command line, the tests and the benchmarks import this module.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from api import diligence as diligence_api
from api import findings as findings_api
from api import impact as impact_api
from api import docs, labels, landing, observability, public
from api import value as value_api
from api.app import create_app
from api.context import AppContext
from consumers.checks.projector import ChecksProjector
from consumers.checks.views import FindingsView
from consumers.diligence.projector import DiligenceProjector
from consumers.diligence.views import DiligenceView
from consumers.impact.ledger import PayoutsView
from consumers.impact.projector import ImpactProjector
from consumers.impact.section import impact_section
from consumers.impact.value_chain import ValueChainView
from consumers.impact.views import ImpactView
from consumers.projector import Projector
from consumers.provenance.projector import ProvenanceProjector
from consumers.provenance.public_view import PublicProvenanceView
from consumers.provenance.views import ProvenanceView
from consumers.runner import ProjectionRunner, ProjectorThreads
from consumers.runners import runner_for
from events.kafka_log import KafkaEventLog, bootstrap_servers
from events.log import EventLog
from events.sqlite_log import SqliteEventLog
from services.auth import ApiKeys
from services.capture import CaptureService
from services.database import create_database_engine
from services.event_index import IndexedLog
from services.metrics import MeteredCapture, Metrics
from services.settings import Settings

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


def open_runner(log: EventLog, engine: Engine, projector: Projector, settings: Settings) -> ProjectionRunner:
    """The runner of a projector on this log, of the kind the log names (``consumers.runners``)."""
    return runner_for(log, engine, projector, settings.projector_batch, settings.kafka_prefix)


@dataclass
class Platform:
    """The wired platform: log, database, projectors and their runners."""

    settings: Settings
    log: EventLog
    engine: Engine
    keys: ApiKeys
    runners: dict[str, ProjectionRunner] = field(default_factory=dict)
    threads: ProjectorThreads | None = None
    metrics: Metrics | None = None

    def prepare(self) -> None:
        """Create the tables every part needs (idempotent)."""
        self.keys.create_tables()
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

    def readiness(self) -> dict[str, Any]:
        """The ``/readyz`` report."""
        report: dict[str, Any] = {"status": "ready", "log": {}, "database": {}, "projectors": {}}
        try:
            end = self.log.end()
            # end_position: the end's total (on SQLite the last event's position); end_offsets: per partition
            report["log"] = {"reachable": True, "end_position": end.total, "end_offsets": end.as_json()}
        except Exception as exc:  # noqa: BLE001 - a readiness probe reports, it does not raise
            end = None
            report["status"] = "unavailable"
            report["log"] = {"reachable": False, "error": str(exc)}
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            report["database"] = {"reachable": True, "backend": self.engine.dialect.name}
            for name, runner in self.runners.items():
                progress = runner.progress(end) if end is not None else {"position": runner.checkpoint().total, "lag": None}
                report["projectors"][name] = {**progress, "dead_letters": runner.dead_letter_count()}
        except Exception as exc:  # noqa: BLE001
            report["status"] = "unavailable"
            report["database"] = {"reachable": False, "error": str(exc)}
        return report

    def app_context(self) -> AppContext:
        """What the Flask app needs."""
        provenance = ProvenanceView(self.engine)
        context = AppContext(
            settings=self.settings,
            keys=self.keys,
            capture=MeteredCapture(CaptureService(self.log, self.settings.max_events_per_request), self.metrics),
            provenance=provenance,
            readiness=self.readiness,
            blueprints=[observability.blueprint],
            extras={"metrics": self.metrics},
        )
        # the consumer's page behind the QR code, and label sheets for jewellers
        context.extras["public_provenance"] = PublicProvenanceView(self.engine, provenance)
        context.blueprints += [public.blueprint, labels.blueprint, landing.blueprint, docs.blueprint]
        # spot the liar: findings, and a product's due diligence (sections of its provenance and a record)
        context.extras["findings"] = FindingsView(self.engine)
        context.extras["diligence"] = DiligenceView(self.engine)
        context.blueprints += [findings_api.blueprint, diligence_api.blueprint]
        context.provenance_sections.append(
            diligence_api.provenance_section(context.extras["findings"], context.extras["diligence"]))
        impact = ImpactView(self.engine)
        context.extras.update(impact=impact, value_chain=ValueChainView(self.engine, self.settings.payout_share),
                              payouts=PayoutsView(self.engine, self.settings.payout_share))
        context.blueprints += [impact_api.blueprint, value_api.blueprint]
        context.provenance_sections.append(
            lambda product_id, provenance, principal: impact_section(impact, provenance, principal.is_admin))
        return context

    def create_app(self):
        """The Flask app over this platform."""
        return create_app(self.app_context())

    def close(self) -> None:
        """Stop threads, close the log, dispose of the engine."""
        if self.threads is not None:
            self.threads.stop()
        self.log.close()
        self.engine.dispose()


def build_platform(settings: Settings, projectors: list[Projector] | None = None) -> Platform:
    """Wire the platform the settings describe and create its tables."""
    log = open_log(settings)
    engine = create_database_engine(settings.database_url)
    # a log that cannot look up event ids gets the capture-side index (best effort, see event_index)
    capture_log = log if log.detects_duplicates else IndexedLog(log, engine)
    platform = Platform(settings=settings, log=capture_log, engine=engine, keys=ApiKeys(engine))
    platform.metrics = Metrics(state=platform.readiness, multiprocess_dir=settings.prometheus_multiproc_dir)
    for projector in projectors if projectors is not None else all_projectors(settings):
        runner = open_runner(log, engine, projector, settings)
        runner.listeners.append(platform.metrics.batch_applied)
        platform.runners[projector.name] = runner
    platform.prepare()
    logger.info("log %s, read models on %s", settings.event_log_url, make_url(settings.database_url).render_as_string())
    return platform
