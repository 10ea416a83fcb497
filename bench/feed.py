"""Issue 13's benchmark of the integration API, on the embedded default (SQLite log and read models).

- feed read: walk ``GET /v1/events`` (pages of 1,000, a manufacturer's key, so restricted fields are
  checked on every event) over 50,000 events, in process through the Flask test client, against a bare
  SELECT of the same rows in pages of 1,000 with sqlite3 in the same run;
- webhook delivery: ``oretrail serve`` (every projector and the sender in process) captures events at
  500 events/s over HTTP for 20 s while a local receiver verifies each delivery's signature with the
  ``standardwebhooks`` library; latency is the time from the start of the capture request that held an
  event to its delivery's arrival, both on this process's monotonic clock.
"""
from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import requests
from standardwebhooks import Webhook

from bench.chains import EventFactory, bulk_stream
from bench.common import ROOT, admin_key, latency_summary, served
from composition.bootstrap import build_platform
from events.envelope import prepare
from services.settings import Settings

NAME = "feed"
FEED_EVENTS = int(os.environ.get("BENCH_FEED_EVENTS", "50000"))
RATE = int(os.environ.get("BENCH_WEBHOOK_RATE", "500"))
SECONDS = int(os.environ.get("BENCH_WEBHOOK_SECONDS", "20"))
PAGE = 1000
TICK = 0.1  # one capture batch every 100 ms


def run() -> dict:
    """Both measurements; figures in events/s and milliseconds."""
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-") as scratch:
        figures = {"load_average_at_start": round(os.getloadavg()[0], 2),
                   "feed_read": measure_feed(Path(scratch) / "feed"),
                   "webhook_delivery": measure_webhooks(Path(scratch) / "hooks")}
        figures["load_average_at_end"] = round(os.getloadavg()[0], 2)
    figures["targets"] = {"feed_events_per_s": ">= 20000", "webhook_p99_ms_at_500_events_per_s": "<= 2000"}
    return figures


def measure_feed(data_dir: Path) -> dict:
    """The feed walked through the API against a bare SELECT of the same pages."""
    platform = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(data_dir)}), projectors=[])
    try:
        events = bulk_stream(EventFactory("feed"), FEED_EVENTS, "feed")
        for start in range(0, len(events), 1000):
            platform.log.append([prepare(envelope) for envelope in events[start:start + 1000]])
        key = platform.keys.create("atelier", "manufacturer")
        client = platform.create_app().test_client()
        headers = {"Authorization": f"Bearer {key}"}
        bare, feed = [], []
        for _ in range(3):  # alternate, best of three each: the machine is shared
            bare.append(_bare_select(data_dir / "events.db"))
            feed.append(_walk(client, headers, len(events)))
    finally:
        platform.close()
    feed_rate, bare_rate = len(events) / min(feed), len(events) / min(bare)
    return {"events": len(events), "page": PAGE, "feed_seconds": round(min(feed), 3),
            "feed_events_per_s": round(feed_rate), "bare_select_seconds": round(min(bare), 3),
            "bare_select_events_per_s": round(bare_rate), "ratio_to_bare_select": round(feed_rate / bare_rate, 3),
            "feed_runs_s": [round(s, 3) for s in feed], "bare_runs_s": [round(s, 3) for s in bare]}


def _bare_select(path: Path) -> float:
    """The log's rows with sqlite3, in pages of 1,000 by position: the reference."""
    connection = sqlite3.connect(path)
    try:
        started = time.perf_counter()
        last, count = 0, 0
        while True:
            rows = connection.execute(
                "SELECT position, event_id, type, stream_id, recorded_at, hash, body, attested_by FROM events"
                " WHERE position > ? ORDER BY position LIMIT ?", (last, PAGE)).fetchall()
            if not rows:
                return time.perf_counter() - started
            last, count = rows[-1][0], count + len(rows)
    finally:
        connection.close()


def _walk(client, headers: dict, expected: int) -> float:
    started = time.perf_counter()
    after, seen = None, 0
    while True:
        query = {"limit": PAGE, **({"after": after} if after else {})}
        answer = client.get("/v1/events", query_string=query, headers=headers)
        page = orjson.loads(answer.data)
        seen += len(page["events"])
        after = page["next"]
        if page["caught_up"]:
            break
    elapsed = time.perf_counter() - started
    if seen != expected:
        raise RuntimeError(f"the feed gave {seen} events, not {expected}")
    return elapsed


class _Receiver:
    """A local webhook endpoint: verifies each signature and notes when each event arrived."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.arrived: dict[str, float] = {}
        self.bad = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["content-length"]))
                now = time.monotonic()
                try:
                    payload = Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                    with receiver.lock:
                        receiver.arrived.setdefault(payload["data"]["event_id"], now)
                except Exception:  # noqa: BLE001 - counted, and the run reports it
                    receiver.bad += 1
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args):
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def measure_webhooks(data_dir: Path, sender_process: bool = False) -> dict:
    """Capture at ``RATE`` events/s for ``SECONDS`` s; the latency of each event's delivery.

    ``sender_process``: the deliveries are sent by an ``oretrail deliver`` process beside the server
    (``ORETRAIL_WEBHOOKS_SENDER=false``) rather than by a thread of it.
    """
    key = admin_key(data_dir)
    headers = {"Authorization": f"Bearer {key}"}
    receiver = _Receiver()
    events = bulk_stream(EventFactory("hooks"), RATE * SECONDS, "hooks")
    per_tick = max(1, int(RATE * TICK))
    sent: dict[str, float] = {}
    env = {"ORETRAIL_DATA_DIR": str(data_dir), "ORETRAIL_WEBHOOKS_ALLOW_PRIVATE": "true",
           "ORETRAIL_WEBHOOKS_SENDER": "false" if sender_process else "true"}
    deliver = None
    try:
        with served(env) as base, requests.Session() as session:
            if sender_process:
                deliver = subprocess.Popen([sys.executable, "-m", "composition.cli", "deliver"], cwd=ROOT,
                                           env={**os.environ, **env, "ORETRAIL_LOG_LEVEL": "WARNING"})
                time.sleep(5)  # its start-up (imports, tables) is not part of the delivery latency
            created = session.post(f"{base}/v1/subscriptions", json={"url": receiver.url}, headers=headers)
            created.raise_for_status()
            receiver.secret = created.json()["secret"]
            started = time.monotonic()
            for tick, start in enumerate(range(0, len(events), per_tick)):
                delay = started + tick * TICK - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                batch = events[start:start + per_tick]
                now = time.monotonic()
                for event in batch:
                    sent[event["event_id"]] = now
                session.post(f"{base}/v1/events", json={"events": batch}, headers=headers).raise_for_status()
            capture_s = time.monotonic() - started
            deadline = time.monotonic() + 120
            while len(receiver.arrived) < len(sent) and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        receiver.server.shutdown()
        if deliver is not None:
            deliver.terminate()
            deliver.wait(30)
    latencies = [receiver.arrived[event_id] - at for event_id, at in sent.items() if event_id in receiver.arrived]
    return {"events": len(sent), "delivered": len(latencies), "bad_signatures": receiver.bad,
            "capture_events_per_s": round(len(sent) / capture_s), **latency_summary(latencies),
            "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
            "median_s": round(statistics.median(latencies), 3) if latencies else None}
