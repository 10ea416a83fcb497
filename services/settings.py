"""Settings: the one place that reads the environment. Every variable is listed in ``SETTINGS``."""
from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import urlsplit

#: every environment variable Oretrail reads, with what it is for (the README documents the same list)
SETTINGS: dict[str, str] = {
    "ORETRAIL_DATA_DIR": "folder of the embedded log and read models (default ./var)",
    "ORETRAIL_EVENT_LOG": "the log: sqlite:///path (default: events.db in the data dir) or kafka://host:port",
    "ORETRAIL_DATABASE_URL": "read models and API keys, a SQLAlchemy URL (default: SQLite readmodels.db in the data dir)",
    "ORETRAIL_HOST": "address to serve on (default 127.0.0.1)",
    "PORT": "port to serve on (default 8000)",
    "ORETRAIL_PUBLIC_BASE_URL": "public base URL of the consumer pages and QR codes (default http://localhost:PORT)",
    "ORETRAIL_MAX_EVENTS_PER_REQUEST": "events in one POST /v1/events (default 1000)",
    "ORETRAIL_MAX_REQUEST_BYTES": "bytes in one request body (default 5 MB)",
    "ORETRAIL_ANSWER_CACHE_MB": "megabytes of provenance answers an API process keeps per state of the read models (default 64; 0: none)",
    "ORETRAIL_PROJECTOR_BATCH": "events a projector applies in one transaction at most (default 2000)",
    "ORETRAIL_CAPTURE_FIRST": "seconds a projector running in the API's process (`oretrail serve`) may put off its next "
                              "batch while capture requests keep arriving, so capture gets the interpreter first "
                              "(default 2; 0: never)",
    "ORETRAIL_LOG_LEVEL": "logging level (default INFO)",
    "ORETRAIL_LOG_FORMAT": "text (default) or json: one JSON object a line",
    "ORETRAIL_MASS_TOLERANCE": "gain allowed by the mass-balance checks before a finding, a fraction (default 0.005)",
    "ORETRAIL_TRANSIT_TOLERANCE": "difference allowed between grams sent and received, a fraction (default 0.005)",
    "ORETRAIL_KAFKA_TOPIC": "the Kafka topic of the log (default oretrail.events)",
    "ORETRAIL_KAFKA_PARTITIONS": "partitions of the Kafka topic when Oretrail creates it (default 6)",
    "ORETRAIL_KAFKA_DRIVER": "Kafka log: the client library that appends and reads, kafka-python (default) or confluent "
                             "(confluent-kafka, the extra oretrail[confluent]); projectors and the sequencer use kafka-python",
    "ORETRAIL_KAFKA_CLOSE_HANGING_AFTER": "Kafka log: seconds a partition's readers may stand still behind a transaction no "
                                          "coordinator will close (a hanging transaction) before an API process closes "
                                          "it as capture answered its client (default 60; 0: never, only report it in "
                                          "/readyz)",
    "ORETRAIL_KAFKA_PREFIX": "Kafka log: prefix of consumer groups (PREFIX.NAME) and transactional ids (default oretrail)",
    "ORETRAIL_METRICS_PORT": "port of the Prometheus /metrics server of an `oretrail project` process (default: none)",
    "PROMETHEUS_MULTIPROC_DIR": "an empty folder shared by gunicorn's workers: /metrics then sums every worker (default: none)",
    "ORETRAIL_LOG_SIGNING_KEY": "file of the log's checkpoint signing key (default: log-signing.key in the data dir, made on first start)",
    "ORETRAIL_LOG_ORIGIN": "the log's name on its checkpoints and key (default: the public base URL's host + /log)",
    "ORETRAIL_CHECKPOINT_INTERVAL": "seconds between checkpoints signed while new events arrive (default 10)",
    "ORETRAIL_KEYSTORE_URL": "persons' data keys (personal data, erasure), a SQLAlchemy URL (default: the database of ORETRAIL_DATABASE_URL)",
    "ORETRAIL_WEBHOOKS_ALLOW_PRIVATE": "true: webhook URLs may point to loopback, link-local or private addresses "
                                       "(tests, local development; default false)",
    "ORETRAIL_WEBHOOKS_SECRET_KEY": "file of the key that encrypts webhook secrets at rest (default: "
                                    "webhooks-secrets.key in the data dir, made on first start); share it between "
                                    "the API and `oretrail deliver`",
    "ORETRAIL_WEBHOOKS_TIMEOUT": "seconds a webhook receiver has to answer one delivery (default 10)",
    "ORETRAIL_WEBHOOKS_BACKOFF": "seconds before the first retry of a failed delivery, doubled each time, "
                                 "with jitter, at most an hour (default 5)",
    "ORETRAIL_WEBHOOKS_RETRY_FOR": "seconds a delivery is retried before it fails and its subscription is "
                                   "disabled (default 90000: 25 hours)",
    "ORETRAIL_WEBHOOKS_WORKERS": "deliveries a sender sends at once (default 8)",
    "ORETRAIL_WEBHOOKS_SENDER": "true (default): `oretrail serve` sends webhooks in a thread; false when "
                                "`oretrail deliver` processes do",
    "ORETRAIL_PRICE_FLOOR": "share of the reference price (per gram of fine gold) below which a purchase is a finding, 0 to 1 (default 0.7)",
    "ORETRAIL_INSPECTION_MAX_AGE_DAYS": "production at a pit with no inspection within this many days is a finding (default 365)",
    "ORETRAIL_WORKERS_TOLERANCE": "how many more miners than an inspection saw a pit's month may name, as a fraction (default 0.2)",
    "ORETRAIL_PAYOUT_SHARE": "share of a product's sale price owed back to its miners, 0 to 1, when no payout policy is in force (default 0.01)",
    "ORETRAIL_PAYOUT_OVERDUE_DAYS": "days after a sale before an unpaid obligation under a payout policy raises payout_overdue on the cooperative (default 90)",
}


@dataclass(frozen=True)
class Settings:
    """Everything configurable, read once from the environment by :meth:`from_env`."""

    data_dir: Path
    event_log_url: str
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = "http://localhost:8000"
    max_events_per_request: int = 1000
    max_request_bytes: int = 5 * 1024 * 1024
    answer_cache_mb: int = 64
    projector_batch: int = 2000
    #: seconds an in-process projector may defer its next batch to capture requests (``services.capture_activity``)
    capture_first: float = 2.0
    log_level: str = "INFO"
    log_format: str = "text"
    mass_tolerance: float = 0.005
    transit_tolerance: float = 0.005
    metrics_port: int | None = None
    prometheus_multiproc_dir: str | None = None
    payout_share: Decimal = Decimal("0.01")
    payout_overdue_days: int = 90
    kafka_topic: str = "oretrail.events"
    kafka_partitions: int = 6
    kafka_prefix: str = "oretrail"
    #: the Kafka log's client library: ``kafka-python`` or ``confluent`` (``events.kafka_confluent_log``)
    kafka_driver: str = "kafka-python"
    #: seconds a hanging transaction may hold a partition's readers back before it is closed (0: never)
    kafka_close_hanging_after: float = 60.0
    #: the checkpoint signing key's file (``None``: ``log-signing.key`` in the data dir)
    log_signing_key: Path | None = None
    #: the log's origin line and key name (``None``: the public base URL's host + ``/log``)
    log_origin_setting: str | None = None
    checkpoint_interval: float = 10.0
    #: webhooks (``services.webhooks``): URLs to private addresses allowed (tests, local development)
    webhooks_allow_private: bool = False
    #: the file of the key that encrypts webhook secrets (``None``: ``webhooks-secrets.key`` in the data dir)
    webhooks_secret_key: Path | None = None
    webhooks_timeout: float = 10.0
    webhooks_backoff: float = 5.0
    webhooks_retry_for: float = 90_000.0
    webhooks_workers: int = 8
    webhooks_sender: bool = True
    price_floor: Decimal = Decimal("0.7")
    inspection_max_age_days: int = 365
    workers_tolerance: float = 0.2
    #: where persons' data keys live (``None``: a table of the read models' database)
    keystore_url: str | None = None

    @property
    def log_origin(self) -> str:
        """The log's origin: unique to this deployment, a schema-less URL by C2SP's convention."""
        if self.log_origin_setting:
            return self.log_origin_setting
        parts = urlsplit(self.public_base_url)
        return f"{parts.netloc or 'localhost'}{parts.path.rstrip('/')}/log"

    @property
    def log_signing_key_path(self) -> Path:
        """Where the checkpoint signing key is read from (and made, the first time)."""
        return self.log_signing_key or self.data_dir / "log-signing.key"

    @property
    def webhooks_secret_key_path(self) -> Path:
        """Where the key encrypting webhook secrets is read from (and made, the first time)."""
        return self.webhooks_secret_key or self.data_dir / "webhooks-secrets.key"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Build settings from ``environ`` (default: the process environment)."""
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("ORETRAIL_DATA_DIR", "./var")).resolve()
        port = _integer(env, "PORT", 8000)
        return cls(
            data_dir=data_dir,
            event_log_url=env.get("ORETRAIL_EVENT_LOG") or f"sqlite:///{data_dir / 'events.db'}",
            database_url=env.get("ORETRAIL_DATABASE_URL") or f"sqlite:///{data_dir / 'readmodels.db'}",
            host=env.get("ORETRAIL_HOST", "127.0.0.1"),
            port=port,
            public_base_url=(env.get("ORETRAIL_PUBLIC_BASE_URL") or f"http://localhost:{port}").rstrip("/"),
            max_events_per_request=_integer(env, "ORETRAIL_MAX_EVENTS_PER_REQUEST", 1000),
            max_request_bytes=_integer(env, "ORETRAIL_MAX_REQUEST_BYTES", 5 * 1024 * 1024),
            answer_cache_mb=_integer(env, "ORETRAIL_ANSWER_CACHE_MB", 64, minimum=0),
            projector_batch=_integer(env, "ORETRAIL_PROJECTOR_BATCH", 2000),
            capture_first=_float(env, "ORETRAIL_CAPTURE_FIRST", 2.0, lambda value: 0 <= value <= 60, "a number of seconds",
                                 "be from 0 to 60"),
            log_level=env.get("ORETRAIL_LOG_LEVEL", "INFO").upper(),
            log_format=_choice(env, "ORETRAIL_LOG_FORMAT", ("text", "json")),
            mass_tolerance=_fraction(env, "ORETRAIL_MASS_TOLERANCE", 0.005),
            transit_tolerance=_fraction(env, "ORETRAIL_TRANSIT_TOLERANCE", 0.005),
            metrics_port=_integer(env, "ORETRAIL_METRICS_PORT", None),
            prometheus_multiproc_dir=env.get("PROMETHEUS_MULTIPROC_DIR") or None,
            payout_share=_share(env, "ORETRAIL_PAYOUT_SHARE", Decimal("0.01")),
            payout_overdue_days=_integer(env, "ORETRAIL_PAYOUT_OVERDUE_DAYS", 90),
            kafka_topic=env.get("ORETRAIL_KAFKA_TOPIC") or "oretrail.events",
            kafka_partitions=_integer(env, "ORETRAIL_KAFKA_PARTITIONS", 6),
            kafka_prefix=env.get("ORETRAIL_KAFKA_PREFIX") or "oretrail",
            kafka_driver=_choice(env, "ORETRAIL_KAFKA_DRIVER", ("kafka-python", "confluent")),
            kafka_close_hanging_after=_float(env, "ORETRAIL_KAFKA_CLOSE_HANGING_AFTER", 60.0,
                                             lambda value: value == 0 or 1 <= value <= 86_400, "a number of seconds",
                                             "be 0 (never) or from 1 to 86400"),
            log_signing_key=Path(env["ORETRAIL_LOG_SIGNING_KEY"]) if env.get("ORETRAIL_LOG_SIGNING_KEY") else None,
            log_origin_setting=env.get("ORETRAIL_LOG_ORIGIN") or None,
            checkpoint_interval=_seconds(env, "ORETRAIL_CHECKPOINT_INTERVAL", 10.0),
            webhooks_allow_private=_boolean(env, "ORETRAIL_WEBHOOKS_ALLOW_PRIVATE", False),
            webhooks_secret_key=(Path(env["ORETRAIL_WEBHOOKS_SECRET_KEY"]) if env.get("ORETRAIL_WEBHOOKS_SECRET_KEY")
                                 else None),
            webhooks_timeout=_seconds(env, "ORETRAIL_WEBHOOKS_TIMEOUT", 10.0),
            webhooks_backoff=_seconds(env, "ORETRAIL_WEBHOOKS_BACKOFF", 5.0),
            webhooks_retry_for=_float(env, "ORETRAIL_WEBHOOKS_RETRY_FOR", 90_000.0, lambda value: value > 0,
                                      "a number of seconds", "be positive"),
            webhooks_workers=_integer(env, "ORETRAIL_WEBHOOKS_WORKERS", 8),
            webhooks_sender=_boolean(env, "ORETRAIL_WEBHOOKS_SENDER", True),
            price_floor=_share(env, "ORETRAIL_PRICE_FLOOR", Decimal("0.7")),
            inspection_max_age_days=_integer(env, "ORETRAIL_INSPECTION_MAX_AGE_DAYS", 365),
            workers_tolerance=_float(env, "ORETRAIL_WORKERS_TOLERANCE", 0.2, lambda value: 0 <= value <= 10, "a number",
                                     "be a fraction between 0 and 10"),
            keystore_url=env.get("ORETRAIL_KEYSTORE_URL") or None,
        )


class SettingsError(ValueError):
    """An environment variable holds a value Oretrail cannot use."""


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = env.get(name) or choices[0]
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise SettingsError(f"{name} must be true or false, not {env.get(name)!r}")


def _integer(env: Mapping[str, str], name: str, default: int | None, minimum: int = 1) -> int | None:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be positive, not {value}" if minimum == 1 else f"{name} must be at least {minimum}, not {value}")
    return value


def _share(env: Mapping[str, str], name: str, default: Decimal) -> Decimal:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise SettingsError(f"{name} must be a decimal number such as 0.01, not {raw!r}") from None
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(1):
        raise SettingsError(f"{name} must lie between 0 and 1 (0.01 is 1 %), not {raw!r}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, within: Callable[[float], bool], unit: str,
           bounds: str) -> float:
    """The number ``name`` (``default`` when unset), refused unless ``within`` it."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {unit}, not {raw!r}") from None
    if not within(value):
        raise SettingsError(f"{name} must {bounds}, not {raw!r}")
    return value


def _fraction(env: Mapping[str, str], name: str, default: float) -> float:
    return _float(env, name, default, lambda value: 0 <= value < 1, "a number", "be a fraction in [0, 1)")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    return _float(env, name, default, lambda value: 0 < value <= 3600, "a number of seconds",
                  "lie between 0 and 3600 seconds")
