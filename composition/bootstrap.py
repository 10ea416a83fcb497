"""The composition root: choose the log and database from settings and wire everything together.

Only the command line, the tests and the benchmarks import this module.
"""
from __future__ import annotations

import logging
import threading
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
from consumers.checks.sourcing import SourcingSettings
from consumers.diligence.projector import DiligenceProjector
from consumers.impact.projector import ImpactProjector
from consumers.projector import Projector
from consumers.provenance.projector import ProvenanceProjector
from consumers.runner import ProjectionRunner, ProjectorThreads
from consumers.runners import runner_for
from consumers.webhooks.projector import WebhooksProjector
from events.kafka_log import KafkaEventLog, bootstrap_servers
from events.kafka_sequencer import KafkaSequencer, sequencer_id
from events.kafka_tree_topic import TreeTopic, tree_topic_name
from events.log import EventLog
from events.sqlite_log import SqliteEventLog
from services.auth import ApiKeys
from services.capture_activity import CaptureActivity
from services.statement_links import StatementLinks
from services.database import create_database_engine
from services.database_tree import DatabaseTree
from services.kafka_tree import SequencedEvents, TreeReplay
from services.epcis.capture_jobs import CaptureJobs
from services.event_index import IndexedLog
from services.hanging_transactions import HangingTransactionSweeper
from services.metrics import Metrics
from services.checkpointer import Checkpointer
from services.keystore import SqlKeyStore
from services.log_key import load_or_create_signer
from services.personal_data import PersonalData
from services.settings import Settings
from services.transparency import TransparencyLog
from services.feed import Feed
from services.webhooks.secret_box import SecretBox
from services.webhooks.sender import WebhookSender
from services.webhooks.store import SubscriptionStore

logger = logging.getLogger(__name__)


def all_projectors(settings: Settings | None = None, personal: PersonalData | None = None) -> list[Projector]:
    """Every projector of the platform, by name order of registration (``personal`` opens sealed birth years)."""
    checks = (ChecksProjector(settings.mass_tolerance, settings.transit_tolerance, SourcingSettings(
        settings.price_floor, settings.inspection_max_age_days, settings.workers_tolerance), personal)
              if settings is not None else ChecksProjector(personal=personal))
    return [ProvenanceProjector(), checks, DiligenceProjector(), ImpactProjector(personal), WebhooksProjector()]


def open_keystore(settings: Settings, engine: Engine) -> SqlKeyStore:
    """The key store of persons' data keys: a table of the read models' database unless ORETRAIL_KEYSTORE_URL moves it."""
    return SqlKeyStore(create_database_engine(settings.keystore_url) if settings.keystore_url else engine)


def open_log(settings: Settings) -> EventLog:
    """The event log the settings name."""
    url = settings.event_log_url
    if url.startswith("sqlite:///"):
        return SqliteEventLog(url.removeprefix("sqlite:///"))
    if url.startswith("kafka://"):
        log_class = KafkaEventLog
        if settings.kafka_driver == "confluent":  # imported only when chosen: confluent-kafka is an optional extra
            from events.kafka_confluent_log import ConfluentKafkaEventLog as log_class
        return log_class(bootstrap_servers(url), topic=settings.kafka_topic, partitions=settings.kafka_partitions,
                         transactional_prefix=settings.kafka_prefix)
    raise ValueError(f"ORETRAIL_EVENT_LOG: unsupported log {url!r} (use sqlite:///path or kafka://host:port)")


def open_transparency(log: EventLog, settings: Settings, engine: Engine) -> TransparencyLog | None:
    """Checkpoints and proofs over the log's Merkle tree, signed with the configured key: the SQLite
    log's own tree, or on Kafka the sequencer's, replayed into the read-model database."""
    if isinstance(log, KafkaEventLog):
        tree = DatabaseTree(engine)
        tree.create()
        events = SequencedEvents(log, tree)
    else:
        tree, events = getattr(log, "tree", None), log
        if tree is None:
            return None
    signer = load_or_create_signer(settings.log_signing_key_path, settings.log_origin)
    return TransparencyLog(tree, signer, settings.log_origin, events=events)


def open_tree_replay(log: EventLog, transparency: TransparencyLog | None) -> TreeReplay | None:
    """On Kafka, what copies the sequencer's tree topic into this node's tree."""
    if not isinstance(log, KafkaEventLog) or transparency is None:
        return None
    return TreeReplay(TreeTopic(log.servers, tree_topic_name(log.topic), log.timeout_ms), transparency.tree)


def open_sequencer(log: EventLog, settings: Settings) -> KafkaSequencer:
    """The Kafka log's sequencer (one per log: a second one fences the first)."""
    if not isinstance(log, KafkaEventLog):
        raise ValueError("only a Kafka log needs a sequencer (the SQLite log's order is its positions)")
    return KafkaSequencer(log, tree_topic_name(log.topic), sequencer_id(settings.kafka_prefix, log.topic))


def open_runner(log: EventLog, engine: Engine, projector: Projector, settings: Settings) -> ProjectionRunner:
    """The runner of a projector on this log, of the kind the log names (``consumers.runners``)."""
    return runner_for(log, engine, projector, settings.projector_batch, settings.kafka_prefix)


def open_sender(settings: Settings, engine: Engine) -> WebhookSender:
    """The webhook sender over the outbox in ``engine`` (a thread when embedded, ``oretrail deliver`` otherwise)."""
    return WebhookSender(engine, SecretBox.load_or_create(settings.webhooks_secret_key_path),
                         timeout=settings.webhooks_timeout, backoff_base=settings.webhooks_backoff,
                         retry_for=settings.webhooks_retry_for, workers=settings.webhooks_workers,
                         allow_private=settings.webhooks_allow_private)


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
    #: persons' data keys, and what seals, opens and shreds personal fields with them (``services.personal_data``)
    keystore: SqlKeyStore
    personal: PersonalData
    runners: dict[str, ProjectionRunner] = field(default_factory=dict)
    threads: ProjectorThreads | None = None
    metrics: Metrics | None = None
    #: the signed checkpoints and proofs of the log's Merkle tree (SQLite's own; Kafka's, replayed here)
    transparency: TransparencyLog | None = None
    checkpointer: Checkpointer | None = None
    #: on Kafka: what copies the sequencer's leaf order into this node's tree, and the sequencer if it runs here
    tree_replay: TreeReplay | None = None
    sequencer: KafkaSequencer | None = None
    #: on Kafka, in a process that captures: what closes the hanging transactions of the log (``start_sweeper``)
    sweeper: HangingTransactionSweeper | None = None
    _background: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    #: the webhook subscriptions and their outbox; the sender of the embedded mode (``start_projectors``)
    webhooks: SubscriptionStore | None = None
    sender: WebhookSender | None = None
    #: the capture requests of this process, which its projector threads let go first (``start_projectors``)
    capture_activity: CaptureActivity = field(default_factory=lambda: CaptureActivity(longest_s=0))

    def __post_init__(self) -> None:
        log = self.log_itself
        self.health = Readiness(self.log, self.engine, self.runners,
                                partitions=log if isinstance(log, KafkaEventLog) else None)

    def prepare(self) -> None:
        """Create the tables every part needs (idempotent)."""
        self.keys.create_tables()
        self.keystore.create_tables()
        CaptureJobs(self.engine).create_tables()
        StatementLinks(self.engine).create_tables()
        if isinstance(self.log, IndexedLog):
            self.log.create_tables()
        if self.webhooks is not None:  # before the runners: the webhooks projector writes its outbox
            self.webhooks.create_tables()
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
        if self.tree_replay is not None:
            self.tree_replay.catch_up()

    def start_projectors(self) -> None:
        """Run every projector in a background thread (the embedded mode), each letting this
        process's capture requests go first (``ORETRAIL_CAPTURE_FIRST``)."""
        self.threads = ProjectorThreads(list(self.runners.values()), self.capture_activity.wait_for_lull)
        self.threads.start()
        if isinstance(self.log_itself, KafkaEventLog):
            self.start_sequencer()
        self.start_sweeper()
        self.start_checkpointer()
        if self.settings.webhooks_sender:
            self.start_sender()

    def start_sender(self) -> WebhookSender:
        """Send webhooks in a background thread, woken by each batch the webhooks projector commits."""
        if self.sender is None:
            self.sender = open_sender(self.settings, self.engine)
            if "webhooks" in self.runners:
                self.runners["webhooks"].listeners.append(
                    lambda name, count, _seconds: self.sender.wake() if count else None)
            self.sender.start()
        return self.sender

    @property
    def log_itself(self) -> EventLog:
        """The log under the capture-side index, if any."""
        return self.log.log if isinstance(self.log, IndexedLog) else self.log

    def start_sequencer(self) -> KafkaSequencer:
        """Run the Kafka log's sequencer in a background thread (see ``events.kafka_sequencer``)."""
        if self.sequencer is None:
            self.sequencer = open_sequencer(self.log_itself, self.settings)
            self._run_in_background(self.sequencer.run_forever, "sequencer")
        return self.sequencer

    def start_sweeper(self) -> HangingTransactionSweeper | None:
        """On Kafka, close in a background thread the hanging transactions that hold the log's readers
        back, by what capture answered (``services.hanging_transactions``;
        ``ORETRAIL_KAFKA_CLOSE_HANGING_AFTER``, 0: never). The processes that capture run it; on any
        other log, or when it is turned off, nothing."""
        log = self.log_itself
        if (self.sweeper is None and isinstance(log, KafkaEventLog) and isinstance(self.log, IndexedLog)
                and self.settings.kafka_close_hanging_after > 0):
            self.sweeper = HangingTransactionSweeper(
                log, self.log.answered, after_s=self.settings.kafka_close_hanging_after,
                interval_s=min(10.0, self.settings.kafka_close_hanging_after / 2),
                on_close=self.metrics.hanging_transaction_closed if self.metrics is not None else None)
            self._run_in_background(self.sweeper.run_forever, "kafka-hanging-transactions")
        return self.sweeper

    def _run_in_background(self, target, name: str) -> None:
        thread = threading.Thread(target=target, args=(self._stop,), name=name, daemon=True)
        thread.start()
        self._background.append(thread)

    def start_checkpointer(self) -> None:
        """Sign checkpoints in a background thread while the log grows (on Kafka, with the tree topic
        replayed into this node's tree by another)."""
        if self.tree_replay is not None and not any(thread.name == "tree-replay" for thread in self._background):
            self._run_in_background(self.tree_replay.run_forever, "tree-replay")
        if self.transparency is not None and self.checkpointer is None:
            self.checkpointer = Checkpointer(self.transparency, self.settings.checkpoint_interval)
            self.checkpointer.start()

    def readiness(self) -> dict[str, Any]:
        """The ``/readyz`` report."""
        return self.health.report()

    def views(self) -> ReadViews:
        """Fresh views of every read model (one set per app)."""
        return read_views(self.engine, self.settings, self.personal)

    def app_context(self, views: ReadViews | None = None) -> AppContext:
        """What the Flask app needs, over ``views`` (fresh ones by default)."""
        return app_context(self.settings, self.log, self.keys, self.metrics, self.readiness,
                           views if views is not None else self.views(), self.transparency, self.webhooks,
                           self.personal, self.capture_activity)

    def create_app(self, views: ReadViews | None = None) -> Flask:
        """The Flask app over this platform (and over ``views``, fresh ones by default)."""
        return create_app(self.app_context(views))

    def close(self) -> None:
        """Stop threads, close the log, dispose of the engine."""
        if self.threads is not None:
            self.threads.stop()
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self._stop.set()
        for thread in self._background:
            thread.join(30)
        if self.sender is not None:
            self.sender.stop()
        self.log.close()
        self.engine.dispose()
        self.keystore.engine.dispose()


def build_platform(settings: Settings, projectors: list[Projector] | None = None) -> Platform:
    """Wire the platform the settings describe and create its tables."""
    log = open_log(settings)
    engine = create_database_engine(settings.database_url)
    # a log that cannot look up event ids gets the capture-side index (best effort, see event_index)
    capture_log = log if log.detects_duplicates else IndexedLog(log, engine)
    keystore = open_keystore(settings, engine)
    personal = PersonalData(keystore)
    platform = Platform(settings=settings, log=capture_log, engine=engine, keys=ApiKeys(engine), keystore=keystore,
                        personal=personal, capture_activity=CaptureActivity(longest_s=settings.capture_first))
    platform.transparency = open_transparency(log, settings, engine)
    platform.tree_replay = open_tree_replay(log, platform.transparency)
    platform.webhooks = SubscriptionStore(engine, SecretBox.load_or_create(settings.webhooks_secret_key_path),
                                          Feed(capture_log), settings.webhooks_allow_private)
    platform.metrics = Metrics(state=platform.readiness, multiprocess_dir=settings.prometheus_multiproc_dir)
    for projector in projectors if projectors is not None else all_projectors(settings, personal):
        if isinstance(projector, WebhooksProjector):  # a rebuild's replay enqueues into the live outbox
            projector.outbox_engine = engine
        runner = open_runner(log, engine, projector, settings)
        runner.listeners.append(platform.metrics.batch_applied)
        platform.runners[projector.name] = runner
    platform.prepare()
    logger.info("log %s, read models on %s", settings.event_log_url, make_url(settings.database_url).render_as_string())
    return platform
