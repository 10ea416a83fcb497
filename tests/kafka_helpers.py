"""Helpers of the Kafka tests: processes to start and stop, a reference read model built from scratch."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import requests

from bench.common import free_port
from consumers.provenance.tables import metadata as provenance_tables
from composition.bootstrap import build_platform
from services.settings import Settings
from tests.databases import database_url_for
from tests.readmodel import dump_tables
from tests.waiting import wait_until  # noqa: F401 - the Kafka tests import it from here


def fresh_read_model(env: dict[str, str], folder: Path) -> dict:
    """The provenance tables replayed from the whole topic into a new database of the same
    backend (a fresh rebuild), to compare with the read model under test."""
    folder.mkdir(parents=True, exist_ok=True)
    backend = "postgresql" if env.get("ORETRAIL_DATABASE_URL", "").startswith("postgresql") else "sqlite"
    with database_url_for(backend, folder) as url:
        settings = Settings.from_env({**env, "ORETRAIL_DATA_DIR": str(folder), "ORETRAIL_DATABASE_URL": url,
                                      "ORETRAIL_KAFKA_PREFIX": "reference-" + uuid.uuid4().hex[:8]})
        platform = build_platform(settings)
        try:
            platform.catch_up()
            return dump_tables(platform.engine, provenance_tables)
        finally:
            platform.close()


@contextmanager
def group_members(platforms: Sequence[Any], projector: str = "provenance") -> Iterator[None]:
    """Each platform's runner of ``projector`` following the topic in a thread of its own (members of
    one consumer group) for the time of the ``with``; stopped and joined after it."""
    stop = threading.Event()
    members = [threading.Thread(target=platform.runners[projector].run_forever, args=(stop,), daemon=True)
               for platform in platforms]
    for member in members:
        member.start()
    try:
        yield
    finally:
        stop.set()
        for member in members:
            member.join(30)


def without_server_fields(value: Any) -> Any:
    """An API answer without ``position``, ``recorded_at`` and the key id of ``attested_by`` (they differ
    between two deployments: two logs, each with keys of its own)."""
    if isinstance(value, dict):
        return {key: without_server_fields(item) for key, item in value.items()
                if key not in ("position", "recorded_at", "key_id")}
    if isinstance(value, list):
        return [without_server_fields(item) for item in value]
    return value


ROOT = Path(__file__).resolve().parents[1]


def oretrail_process(env: dict[str, str], args: list[str], output: Path) -> subprocess.Popen:
    """Start ``oretrail ARGS`` with ``env`` on top of this process's environment, output to a file."""
    with open(output, "ab") as sink:
        return subprocess.Popen([sys.executable, "-m", "composition.cli", *args], env={**os.environ, **env}, cwd=ROOT,
                                stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


@contextmanager
def api_process(env: dict[str, str], output: Path, threads: int = 4) -> Iterator[str]:
    """The API under gunicorn (``composition.wsgi:create_app()``, no projectors); yields its base URL."""
    port = free_port()
    with open(output, "ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads",
             str(threads), "--worker-class", "gthread", "--timeout", "120", "--no-control-socket", "composition.wsgi:create_app()"],
            env={**os.environ, **env}, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the API exited with {process.returncode}: {output.read_text()[-2000:]}")
            try:
                return requests.get(base + "/healthz", timeout=2).status_code == 200
            except (requests.ConnectionError, requests.Timeout):
                return False
        wait_until(healthy, 60, "the API to start")
        yield base
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    """Terminate a process we started, and kill it if it does not stop in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
