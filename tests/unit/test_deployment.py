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
