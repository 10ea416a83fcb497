"""docker-compose.yml and the Dockerfile run real commands with real settings (Docker cannot run here)."""
from __future__ import annotations

import importlib
import inspect
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from gunicorn.config import Config as GunicornConfig

from composition.bootstrap import all_projectors
from composition.cli import build_parser
from services.settings import SETTINGS, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
#: Oretrail's own services: those built from the Dockerfile
OURS = {name: service for name, service in SERVICES.items() if "build" in service}
#: variables read by the libraries Oretrail uses rather than by Oretrail's settings
WELL_KNOWN = frozenset({"PROMETHEUS_MULTIPROC_DIR"})


def argv_of(service: dict) -> list[str]:
    """The command a service runs: its entrypoint, then its command."""
    parts: list[str] = []
    for key in ("entrypoint", "command"):
        value = service.get(key) or []
        parts += shlex.split(value) if isinstance(value, str) else [str(item) for item in value]
    return parts


def check_command(argv: list[str]) -> None:
    """Fail unless ``argv`` is a valid ``oretrail`` command or gunicorn serving a real app factory."""
    program, arguments = argv[0], argv[1:]
    if program == "oretrail":
        try:
            build_parser().parse_args(arguments)
        except SystemExit:
            pytest.fail(f"not a valid oretrail command: {shlex.join(argv)}")
    elif program == "gunicorn":
        try:
            options = GunicornConfig().parser().parse_args(arguments)
        except SystemExit:
            pytest.fail(f"not a valid gunicorn command: {shlex.join(argv)}")
        assert len(options.args) == 1, f"gunicorn needs exactly one app: {shlex.join(argv)}"
        check_app_factory(options.args[0])
        if options.logger_class:
            module, _, name = options.logger_class.rpartition(".")
            assert inspect.isclass(getattr(importlib.import_module(module), name))
    else:
        pytest.fail(f"runs neither oretrail nor gunicorn: {shlex.join(argv)}")


def check_app_factory(spec: str) -> None:
    """``module:factory()`` names an importable factory that takes no argument (it is not called here)."""
    match = re.fullmatch(r"([\w.]+):(\w+)\(\)", spec)
    assert match, f"expected module:factory(), got {spec!r}"
    factory = getattr(importlib.import_module(match[1]), match[2])
    assert callable(factory)
    inspect.signature(factory).bind()  # callable with no arguments


@pytest.mark.parametrize("name", sorted(OURS))
def test_every_service_runs_a_real_command(name):
    check_command(argv_of(OURS[name]))


@pytest.mark.parametrize("name", sorted(OURS))
def test_every_variable_a_service_sets_is_a_real_setting_with_a_usable_value(name):
    environment = OURS[name].get("environment") or {}
    assert isinstance(environment, dict), "use the mapping form of environment"
    unknown = sorted(set(environment) - set(SETTINGS) - WELL_KNOWN)
    assert unknown == [], f"{name} sets variables Oretrail does not read: {unknown}"
    Settings.from_env({key: str(value) for key, value in environment.items()})  # raises on a bad value


def test_the_distributed_deployment_uses_kafka_and_postgresql():
    environment = OURS["api"]["environment"]
    assert environment["ORETRAIL_EVENT_LOG"] == "kafka://kafka:9092"
    assert environment["ORETRAIL_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    assert "controller" in SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    assert argv_of(OURS["api"])[0] == "gunicorn"


def test_every_projector_has_a_scalable_service_of_its_own():
    for projector in all_projectors():
        services = [name for name, service in OURS.items() if argv_of(service) == ["oretrail", "project", projector.name]]
        assert len(services) == 1, f"no service runs `oretrail project {projector.name}`"
        assert "ports" not in OURS[services[0]], "a published port would stop `docker compose up --scale`"


def test_dependencies_name_real_services():
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on") or {}:
            assert dependency in SERVICES and dependency != name, (name, dependency)


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in SETTINGS if f"`{name}`" not in readme]
    assert missing == []


def test_the_dockerfile_copies_what_exists_and_runs_a_real_command():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    for line in lines:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is missing"
    packages = [line.split()[1] for line in lines if line.startswith("COPY ") and (ROOT / line.split()[1]).is_dir()]
    assert {"events", "services", "api", "consumers", "composition"} <= set(packages)
    command = next(line for line in lines if line.startswith("CMD "))
    check_command(json.loads(command.removeprefix("CMD ")))


HA = yaml.safe_load((ROOT / "docker-compose.ha.yml").read_text())
BROKERS = ("kafka", "kafka-2", "kafka-3")


def kafka_version_of_the_tests() -> str:
    """The Kafka version scripts/kafka-local runs the tests against."""
    return re.search(r'KAFKA_VERSION="\$\{ORETRAIL_KAFKA_VERSION:-([\d.]+)\}"', (ROOT / "scripts/kafka-local").read_text())[1]


def test_the_compose_files_run_the_kafka_version_the_tests_use():
    version = kafka_version_of_the_tests()
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{version}"
    for broker in BROKERS[1:]:
        assert HA["services"][broker]["image"] == f"apache/kafka:{version}"


def test_qr_codes_point_to_a_configured_public_address():
    for name in ("api", "cli"):
        assert OURS[name]["environment"]["ORETRAIL_PUBLIC_BASE_URL"].startswith("http")


def test_the_ha_file_runs_three_brokers_with_three_replicas_and_two_in_sync():
    brokers = {name: HA["services"][name]["environment"] for name in BROKERS}
    assert sorted(env["KAFKA_NODE_ID"] for env in brokers.values()) == ["1", "2", "3"]
    for name, env in brokers.items():
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3" and env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
        assert env["CLUSTER_ID"] == brokers["kafka"]["CLUSTER_ID"]  # one cluster
    for name in BROKERS[1:]:
        volume = HA["services"][name]["volumes"][0].split(":")[0]
        assert volume in HA["volumes"]


def test_the_ha_file_points_every_oretrail_service_at_the_three_brokers():
    from events.kafka_log import bootstrap_servers

    overridden = set(HA["services"]) - set(BROKERS)
    assert overridden == set(OURS), "the HA file must override exactly Oretrail's services"
    for name in OURS:
        environment = {**OURS[name]["environment"], **HA["services"][name]["environment"]}
        settings = Settings.from_env({key: str(value) for key, value in environment.items()})
        assert sorted(bootstrap_servers(settings.event_log_url)) == ["kafka-2:9092", "kafka-3:9092", "kafka:9092"]


def test_no_gunicorn_shares_the_default_control_socket(monkeypatch):
    commands = [argv_of(service) for service in OURS.values()]
    commands.append(json.loads(next(line for line in (ROOT / "Dockerfile").read_text().splitlines()
                                    if line.startswith("CMD ")).removeprefix("CMD ")))
    for argv in commands:
        if argv[0] == "gunicorn":
            assert GunicornConfig().parser().parse_args(argv[1:]).control_socket_disable, shlex.join(argv)

    from composition import server

    configured = []
    monkeypatch.setattr(server.EmbeddedServer, "run", lambda self: configured.append(self.cfg))
    server.serve(Settings.from_env({}), "127.0.0.1", 0)
    assert configured[0].control_socket_disable is True


def test_the_readme_lists_every_compose_service_and_the_kafka_version():
    readme = (ROOT / "README.md").read_text()
    for name in list(SERVICES) + list(BROKERS):
        assert f"`{name}`" in readme, f"the README does not name the service {name}"
    assert f"apache/kafka:{kafka_version_of_the_tests()}" in readme
    assert "docker-compose.ha.yml" in readme
