"""Metrics and logs: what an operator sees of captures, refusals, requests and projectors."""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bench.common import free_port
from composition.bootstrap import build_platform
from services.logs import JsonFormatter
from services.settings import Settings
from tests import factories as f
from tests.conftest import bearer
from tests.waiting import wait_until


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """``{(sample name, sorted labels): value}`` of a Prometheus exposition."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return samples(response.get_data(as_text=True))


def test_metrics_count_captures_by_type_and_outcome_and_refusals_by_code(client, admin_key):
    sites = [f.site("site-a"), f.site("site-b")]
    client.post("/v1/events", json={"events": sites}, headers=bearer(admin_key))
    client.post("/v1/events", json={"events": sites + [f.pit("pit-a", "site-a")]}, headers=bearer(admin_key))
    client.post("/v1/events", json={"events": sites})  # no key
    client.post("/v1/events", json={"events": [{"type": "lot.stolen"}]}, headers=bearer(admin_key))
    client.post("/v1/events", data=b"{not json", headers={**bearer(admin_key), "Content-Type": "application/json"})
    metrics = scrape(client)
    captured = ("oretrail_events_captured_total", )
    assert metrics[captured + ((("status", "accepted"), ("type", "site.registered")),)] == 2
    assert metrics[captured + ((("status", "duplicate"), ("type", "site.registered")),)] == 2
    assert metrics[captured + ((("status", "accepted"), ("type", "pit.registered")),)] == 1
    assert metrics[("oretrail_capture_rejections_total", (("code", "unauthenticated"),))] == 1
    assert metrics[("oretrail_capture_rejections_total", (("code", "invalid"),))] == 2
    latency = ("oretrail_http_request_duration_seconds_count",
               (("endpoint", "/v1/events"), ("method", "POST"), ("status", "200")))
    assert metrics[latency] == 2


def test_metrics_show_projector_lag_throughput_and_dead_letters(client, admin_key, platform):
    events = [f.site("site-a"), f.pit("pit-a", "site-a"), f.production("lot-1", "pit-a", 10.0)]
    client.post("/v1/events", json={"events": events}, headers=bearer(admin_key))
    before = scrape(client)
    assert before[("oretrail_projector_lag_events", (("projector", "provenance"),))] == 3
    assert before[("oretrail_log_end_position", ())] == 3
    assert before[("oretrail_up", ())] == 1
    platform.catch_up()
    after = scrape(client)
    assert after[("oretrail_projector_lag_events", (("projector", "provenance"),))] == 0
    assert after[("oretrail_projector_position", (("projector", "provenance"),))] == 3
    assert after[("oretrail_projector_events_total", (("projector", "provenance"),))] == 3
    assert after[("oretrail_projector_dead_letters", (("projector", "provenance"),))] == 0
    assert after[("oretrail_projector_batch_duration_seconds_count", (("projector", "provenance"),))] == 1


def test_the_request_log_has_method_path_status_duration_and_key_id_but_never_the_key(client, admin_key):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    request_log = logging.getLogger("oretrail.request")
    request_log.addHandler(handler)
    request_log.setLevel(logging.INFO)
    try:
        client.post("/v1/events?trace=1", json={"events": [f.site("site-a")]}, headers=bearer(admin_key))
        client.get("/v1/products/nope/provenance", headers=bearer("ot_wrong_key"))
    finally:
        request_log.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("POST", "/v1/events", 200), ("GET", "/v1/products/nope/provenance", 401)]
    assert lines[0]["key_id"] == admin_key.split("_")[1] and lines[1]["key_id"] is None
    assert all(line["duration_ms"] >= 0 and line["logger"] == "oretrail.request" for line in lines)
    assert admin_key not in stream.getvalue() and "ot_wrong_key" not in stream.getvalue()


def test_gunicorn_workers_share_metrics_and_log_json_lines(tmp_path, database_url):
    """Two gunicorn workers: /metrics sums both (PROMETHEUS_MULTIPROC_DIR); every log line is JSON."""
    env = {"ORETRAIL_DATA_DIR": str(tmp_path / "data"), "ORETRAIL_DATABASE_URL": database_url}
    platform = build_platform(Settings.from_env(env))
    key = platform.keys.create("oretrail-admin", "admin")
    platform.close()
    (tmp_path / "prometheus").mkdir()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--logger-class", "services.logs.GunicornLogger", "--no-control-socket", "composition.wsgi:create_app()"],
        env={**os.environ, **env, "ORETRAIL_LOG_FORMAT": "json", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus")},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + "/healthz", process)
        batches = 12
        for number in range(batches):  # a new connection each time: the workers share them out
            response = requests.post(base + "/v1/events", json={"events": [f.site(f"site-{number}")]},
                                     headers=bearer(key), timeout=10)
            assert response.status_code == 200
        for _ in range(4):  # whichever worker answers, it counts every worker's captures
            metrics = samples(requests.get(base + "/metrics", timeout=10).text)
            assert metrics[("oretrail_events_captured_total", (("status", "accepted"), ("type", "site.registered")))] == batches
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert len(list((tmp_path / "prometheus").glob("*.db"))) >= 2  # one file per worker at least
    lines = [line for line in output.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    loggers = {entry["logger"] for entry in entries}
    assert "gunicorn.error" in loggers and "oretrail.request" in loggers
    assert key not in output


@pytest.mark.parametrize("database", ["sqlite"])
def test_a_projector_process_serves_its_metrics(tmp_path, database_url):
    env = {"ORETRAIL_DATA_DIR": str(tmp_path / "data"), "ORETRAIL_DATABASE_URL": database_url}
    platform = build_platform(Settings.from_env(env))
    from events.envelope import prepare
    platform.log.append([prepare(e) for e in (f.site("site-a"), f.pit("pit-a", "site-a"))])
    platform.close()
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "composition.cli", "project", "provenance"],
                               env={**os.environ, **env, "ORETRAIL_METRICS_PORT": str(port)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def projector_metrics():
            assert process.poll() is None, "the projector process died"
            try:
                found = samples(requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text)
            except requests.RequestException:
                return None
            return found if found.get(("oretrail_projector_events_total", (("projector", "provenance"),))) == 2 else None

        metrics = wait_until(projector_metrics, 30, "the projector's metrics", interval=0.1)
        assert metrics[("oretrail_projector_lag_events", (("projector", "provenance"),))] == 0
    finally:
        process.kill()
        process.wait(10)


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn did not start: {process.stdout.read()}")
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_until(answers, timeout, "gunicorn to start", interval=0.1)
