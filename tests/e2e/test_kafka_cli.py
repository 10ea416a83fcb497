"""The command line on a Kafka log: rebuild with a progress bar, status with the lag."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from events.envelope import prepare
from composition.bootstrap import build_platform
from services.settings import Settings
from tests.integration.test_kafka_projector import many_chains
from tests.kafka_helpers import ROOT


def oretrail(env, *args):
    return subprocess.run([sys.executable, "-m", "composition.cli", *args], env={**os.environ, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_rebuild_replays_the_topic_and_status_then_reports_no_lag(kafka_env):
    platform = build_platform(Settings.from_env(kafka_env))
    for chain in many_chains(8):
        platform.log.append([prepare(envelope) for envelope in chain])
    platform.close()
    status = oretrail(kafka_env, "status")
    assert json.loads(status.stdout)["projectors"]["provenance"]["lag"] >= 40
    rebuilt = oretrail(kafka_env, "rebuild", "provenance")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt provenance from 40 events" in rebuilt.stdout
    report = json.loads(oretrail(kafka_env, "status").stdout)
    assert report["status"] == "ready"
    assert report["projectors"]["provenance"]["lag"] == 0
    assert set(report["projectors"]["provenance"]["partitions_lag"]) == {str(p) for p in range(6)}
