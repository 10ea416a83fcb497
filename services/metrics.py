"""Prometheus metrics: what the platform counts, and their exposition.

Three kinds of figures:
- counters and histograms of this process (events captured, capture rejections, request
  latency, events each projector applied and how long its batches took);
- figures read from the platform's state at scrape time, the same in whatever process serves
  them: each projector's position, lag and dead letters, and the log's end position;
- under gunicorn with several workers, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder shared
  by the workers (before they start): prometheus_client then keeps each process's counters in files
  there and every scrape sums them, whichever worker answers.
"""
from __future__ import annotations

import collections
import logging
from typing import Any, Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from events.log import AppendResult
from services.auth import Principal

logger = logging.getLogger(__name__)

#: request latency buckets, in seconds: capture of a batch takes milliseconds to a second or two
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The platform's metrics, in a registry of their own (so several platforms can live in one process)."""

    def __init__(self, state: Callable[[], dict[str, Any]] | None = None, multiprocess_dir: str | None = None):
        self.registry = CollectorRegistry()
        self.events_captured = Counter(
            "oretrail_events_captured", "Events received by POST /v1/events, by type and outcome (accepted or duplicate)",
            ["type", "status"], registry=self.registry)
        self.capture_rejections = Counter(
            "oretrail_capture_rejections", "Batches POST /v1/events refused, by error code (nothing of them was recorded)",
            ["code"], registry=self.registry)
        self.request_seconds = Histogram(
            "oretrail_http_request_duration_seconds", "Time to answer an HTTP request, by route, method and status",
            ["endpoint", "method", "status"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.projector_events = Counter(
            "oretrail_projector_events", "Events a projector went past in this process (applied, or not its type)",
            ["projector"], registry=self.registry)
        self.projector_batch_seconds = Histogram(
            "oretrail_projector_batch_duration_seconds", "Time a projector took to apply and commit one batch",
            ["projector"], registry=self.registry)
        self.hanging_transactions_closed = Counter(
            "oretrail_log_hanging_transactions_closed", "Hanging Kafka transactions this process closed, by marker "
            "(each had held a partition's readers back; services.hanging_transactions)", ["marker"],
            registry=self.registry)
        if multiprocess_dir:
            self.scrape_registry = CollectorRegistry()
            MultiProcessCollector(self.scrape_registry, path=multiprocess_dir)
        else:
            self.scrape_registry = self.registry
        if state is not None:
            self.scrape_registry.register(StateCollector(state))

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus's text format, and its content type."""
        return generate_latest(self.scrape_registry), CONTENT_TYPE_LATEST

    # -- what the parts report ----------------------------------------------------------------
    def captured(self, types: Iterable[str], results: Iterable[AppendResult]) -> None:
        """Count the events of an accepted batch by type and outcome."""
        for (event_type, status), count in collections.Counter(
                (event_type, result.status) for event_type, result in zip(types, results)).items():
            self.events_captured.labels(event_type, status).inc(count)

    def rejected(self, code: str) -> None:
        """Count a refused batch by its error code."""
        self.capture_rejections.labels(code).inc()

    def request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Record one answered request."""
        self.request_seconds.labels(endpoint, method, str(status)).observe(seconds)

    def hanging_transaction_closed(self, _transaction: Any, marker: str) -> None:
        """Count a hanging Kafka transaction this process closed with ``marker`` (commit or abort)."""
        self.hanging_transactions_closed.labels(marker).inc()

    def batch_applied(self, projector: str, count: int, seconds: float) -> None:
        """Record a committed batch of a projector."""
        self.projector_events.labels(projector).inc(count)
        self.projector_batch_seconds.labels(projector).observe(seconds)


class StateCollector(Collector):
    """Gauges read from the readiness report at each scrape: log end, projector position, lag and dead letters."""

    def __init__(self, state: Callable[[], dict[str, Any]]):
        self.state = state

    def describe(self):
        """Nothing up front: the gauges' labels come from the state."""
        return []

    def collect(self):
        """The gauges now; a backend that cannot be reached shows as ``oretrail_up 0``."""
        try:
            report = self.state()
        except Exception:  # noqa: BLE001 - a scrape reports, it does not fail
            logger.exception("metrics: could not read the platform's state")
            report = {"status": "unavailable", "log": {}, "projectors": {}}
        up = GaugeMetricFamily("oretrail_up", "1 if the log and the read-model database are reachable")
        up.add_metric([], 1.0 if report.get("status") == "ready" else 0.0)
        yield up
        end = report.get("log", {}).get("end_position")
        if end is not None:
            yield GaugeMetricFamily("oretrail_log_end_position", "Position of the last event in the log", value=end)
        held = (report.get("log") or {}).get("held_back")
        if held is not None:
            yield GaugeMetricFamily("oretrail_log_partitions_held_back",
                                    "Kafka partitions whose readers a transaction nobody closes has held back "
                                    "for a minute or more (their later events are invisible to the projectors)",
                                    value=len(held))
        position = GaugeMetricFamily("oretrail_projector_position", "Position of the last event a projector applied",
                                     labels=["projector"])
        lag = GaugeMetricFamily("oretrail_projector_lag_events", "Events in the log a projector has not applied yet",
                                labels=["projector"])
        dead = GaugeMetricFamily("oretrail_projector_dead_letters", "Events a projector could not apply",
                                 labels=["projector"])
        for name, figures in sorted(report.get("projectors", {}).items()):
            if figures.get("position") is not None:
                position.add_metric([name], figures["position"])
            if figures.get("lag") is not None:
                lag.add_metric([name], figures["lag"])
            if figures.get("dead_letters") is not None:
                dead.add_metric([name], figures["dead_letters"])
        yield from (position, lag, dead)


class MeteredCapture:
    """The capture service, counting the events it records by type and outcome.

    Refusals are counted where the HTTP answer is made (``api.observability``), so that those
    refused before capture (no key, a body that is not JSON, too many bytes) count too.
    """

    def __init__(self, capture, metrics: Metrics):
        self.inner = capture
        self.metrics = metrics

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def capture(self, principal: Principal, payload: Any) -> list[AppendResult]:
        """Capture as the inner service does, then count each event by type and outcome."""
        results = self.inner.capture(principal, payload)
        self.metrics.captured((event["type"] for event in payload["events"]), results)
        return results


def serve_metrics(metrics: Metrics, port: int, host: str = "0.0.0.0") -> None:
    """Serve ``metrics`` at ``http://host:port/metrics`` from a daemon thread (projector processes)."""
    start_http_server(port, addr=host, registry=metrics.scrape_registry)
    logger.info("metrics on http://%s:%d/metrics", host, port)
