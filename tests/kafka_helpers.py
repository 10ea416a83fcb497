"""Helpers of the Kafka tests: wait on a condition, a reference read model built from scratch."""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any, Callable

from consumers.provenance.tables import metadata as provenance_tables
from services.bootstrap import build_platform
from services.settings import Settings
from tests.readmodel import dump_tables


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``condition`` until it is truthy (its value) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def fresh_read_model(env: dict[str, str], folder: Path) -> dict:
    """The provenance tables replayed from the whole topic into a new database (a fresh rebuild)."""
    settings = Settings.from_env({**env, "ORETRAIL_DATA_DIR": str(folder),
                                  "ORETRAIL_KAFKA_PREFIX": "reference-" + uuid.uuid4().hex[:8]})
    platform = build_platform(settings)
    try:
        platform.catch_up()
        return dump_tables(platform.engine, provenance_tables)
    finally:
        platform.close()


def without_server_fields(value: Any) -> Any:
    """An API answer without ``position`` and ``recorded_at`` (they differ between two logs)."""
    if isinstance(value, dict):
        return {key: without_server_fields(item) for key, item in value.items() if key not in ("position", "recorded_at")}
    if isinstance(value, list):
        return [without_server_fields(item) for item in value]
    return value
