"""Fixtures: a fresh platform (SQLite log; read models on SQLite and on PostgreSQL) per test, and its HTTP client."""
from __future__ import annotations

import logging

import flask
import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from composition.bootstrap import build_platform
from services.settings import Settings
from tests.answers import Answer, AnswerChecker, checking_client_class, checking_send
from tests.databases import BACKENDS, database_url_for, fresh_postgres_database, postgres_server_url
from tests.kafka_fixtures import kafka_env, kafka_servers, kafka_settings, own_broker  # noqa: F401 - fixtures


def pytest_unconfigure(config):
    """After the summary: the background threads of Kafka clients a failed test could not close go on
    logging to streams pytest has closed; keep their "Logging error" tracebacks out of the output's tail,
    where the summary of the run has to be read."""
    logging.raiseExceptions = False


@pytest.fixture(autouse=True)
def _cli_logging_undone():
    """A test that runs the command line in process (``composition.cli``) points the root logger at the
    stderr pytest captured for it, closed after the test: a later test's log line then prints a "Logging
    error" traceback into that test's own captured stderr (a test reading its stderr failed when it ran
    after such a test). The handler the command line installed is removed after each test, and the level
    restored."""
    root = logging.getLogger()
    level, before = root.level, set(root.handlers)
    yield
    for handler in root.handlers[:]:
        if handler not in before and type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def answer_checker():
    """The checker of answers against openapi.yaml, shared by the session (it reads the document once)."""
    return AnswerChecker()


@pytest.fixture(autouse=True)
def checked_answers(answer_checker, monkeypatch) -> list[Answer]:
    """Every test's answers, from the Flask test client and from requests, are checked against openapi.yaml;
    the list of the answers this test got is there for tests of the checking itself."""
    answers: list[Answer] = []
    monkeypatch.setattr(flask.Flask, "test_client_class", checking_client_class(answer_checker))
    monkeypatch.setattr(requests.Session, "send", checking_send(answer_checker, requests.Session.send))
    answer_checker.listeners.append(answers.append)
    yield answers
    answer_checker.listeners.remove(answers.append)


@pytest.fixture(params=BACKENDS)
def database(request):
    """The read-model backend of this run of the test: every read-model test runs on each."""
    return request.param


@pytest.fixture
def database_url(database, tmp_path):
    """A fresh, empty read-model database of the chosen backend."""
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    with database_url_for(database, folder) as url:
        yield url


@pytest.fixture
def settings(tmp_path, database_url):
    return Settings.from_env({"ORETRAIL_DATA_DIR": str(tmp_path / "data"), "ORETRAIL_DATABASE_URL": database_url})


@pytest.fixture
def platform(settings):
    platform = build_platform(settings)
    yield platform
    platform.close()


@pytest.fixture
def app(platform):
    return platform.create_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin_key(platform):
    return platform.keys.create("oretrail-admin", "admin")


@pytest.fixture
def buyer_key(platform):
    return platform.keys.create("atelier", "manufacturer")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(params=BACKENDS)
def read_models(request):
    """A fresh read-model engine on each backend (None: the checks harness's in-memory SQLite)."""
    if request.param == "sqlite":
        yield None
        return
    with fresh_postgres_database(postgres_server_url()) as url:
        engine = create_engine(url, poolclass=NullPool)
        yield engine
        engine.dispose()
