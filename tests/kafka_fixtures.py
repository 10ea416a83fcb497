"""Fixtures for the tests against a real Kafka broker (never a mock).

``scripts/test`` starts one broker with ``scripts/kafka-local start`` and exports its address as
``ORETRAIL_TEST_KAFKA``. Without it the Kafka tests are skipped, except in CI (``CI`` set), where a
missing broker fails them. Every test gets a fresh topic and a fresh group/transactional prefix.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from services.settings import Settings
from tests.databases import database_url_for
from tests.waiting import skip_or_fail, wait_until

ROOT = Path(__file__).resolve().parents[1]


def kafka_address() -> str:
    """The test broker's address; skips the test without one, or fails it in CI."""
    address = os.environ.get("ORETRAIL_TEST_KAFKA", "").strip()
    if not address:
        message = "no Kafka broker: run the suite with scripts/test (ORETRAIL_TEST_KAFKA is not set)"
        skip_or_fail(message)
    return address


def kafka_environment(address: str, data_dir: Path, partitions: int = 6) -> dict[str, str]:
    """The environment of an Oretrail process on a fresh topic, group prefix and read-model file."""
    token = uuid.uuid4().hex[:10]
    return {
        "ORETRAIL_DATA_DIR": str(data_dir),
        "ORETRAIL_EVENT_LOG": f"kafka://{address}",
        "ORETRAIL_KAFKA_TOPIC": f"test.{token}",
        "ORETRAIL_KAFKA_PARTITIONS": str(partitions),
        "ORETRAIL_KAFKA_PREFIX": f"test-{token}",
        "ORETRAIL_PROJECTOR_BATCH": "50",
    }


@pytest.fixture
def kafka_servers() -> str:
    """The bootstrap address of the test broker."""
    return kafka_address()


@pytest.fixture
def kafka_env(kafka_servers, tmp_path, database) -> dict[str, str]:
    """Environment variables of a fresh Kafka deployment: topic, groups, and read models of its
    own on the test's backend (SQLite, PostgreSQL), apart from the ``platform`` fixture's."""
    folder = tmp_path / "kafka"
    folder.mkdir(exist_ok=True)
    with database_url_for(database, folder) as url:
        yield {**kafka_environment(kafka_servers, folder), "ORETRAIL_DATABASE_URL": url}


@pytest.fixture
def kafka_settings(kafka_env) -> Settings:
    """Settings of a fresh Kafka deployment."""
    return Settings.from_env(kafka_env)


class Broker:
    """A broker of our own, started by ``scripts/kafka-local`` in a folder of the test, that the
    test can kill and start again with the same data (the same command, port and log dirs)."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.env = {**os.environ, "ORETRAIL_KAFKA_DIR": str(run_dir)}
        self.address = ""
        self.command: list[str] = []

    def start_fresh(self) -> str:
        """Format and start the broker; its address."""
        done = subprocess.run([str(ROOT / "scripts" / "kafka-local"), "start"], env=self.env, capture_output=True,
                              text=True, timeout=300, check=True)
        self.address = done.stdout.strip().splitlines()[-1]
        self.command = (Path(f"/proc/{self.pid()}/cmdline").read_bytes().rstrip(b"\0").decode().split("\0"))
        return self.address

    def pid(self) -> int:
        """The broker's process id."""
        return int((self.run_dir / "kafka.pid").read_text().strip())

    def crash(self, timeout: float = 60) -> None:
        """Kill the broker (SIGKILL: a crash, no shutdown) and wait until it is gone.

        Not SIGTERM: a single Kafka 4.4 broker stopped with SIGTERM while transactions complete
        can lose the COMMIT marker of a transaction its coordinator has already recorded as
        complete (seen in this test: ``__transaction_state`` says CompleteCommit, the partition's
        log ends before the marker, and the producer's next transaction, aborted after the
        restart, then aborts those records too). After a SIGKILL the broker recovers its logs and
        finishes every prepared commit, as Kafka promises.
        """
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not Path(f"/proc/{pid}").exists() or _state(pid) == "Z", timeout, f"broker {pid} to die")

    def restart(self, timeout: float = 90) -> None:
        """Start the stopped broker again on its old data, port and configuration."""
        with open(self.run_dir / "kafka.log", "ab") as log:
            process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        (self.run_dir / "kafka.pid").write_text(f"{process.pid}\n")
        host, port = self.address.rsplit(":", 1)

        def listening() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the broker did not come back (exit {process.poll()})")
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                return True
            except OSError:
                return False

        wait_until(listening, timeout, "the broker to come back", interval=0.2)

    def remove(self) -> None:
        """Stop the broker and delete its folder (``scripts/kafka-local stop``), keeping its log beside
        it (``kafka-broker.log``: what the broker said of the test's crashes, for a failure's diagnosis)."""
        log = self.run_dir / "kafka.log"
        if log.exists():
            shutil.copyfile(log, self.run_dir.parent / "kafka-broker.log")
        subprocess.run([str(ROOT / "scripts" / "kafka-local"), "stop"], env=self.env, capture_output=True, timeout=120)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


@pytest.fixture
def own_broker(tmp_path):
    """A broker for this test alone, which it may stop and restart (needs ``scripts/kafka-local``)."""
    kafka_address()  # the same rule: skipped outside CI, failed in CI when Kafka is not provided
    broker = Broker(tmp_path / "kafka")
    try:
        broker.start_fresh()
        yield broker
    finally:
        broker.remove()
