"""Fixtures: a fresh platform (SQLite log; read models on SQLite and on PostgreSQL) per test, and its HTTP client."""
from __future__ import annotations

import pytest

from composition.bootstrap import build_platform
from services.settings import Settings
from tests.databases import BACKENDS, database_url_for
from tests.kafka_fixtures import kafka_env, kafka_servers, kafka_settings, own_broker  # noqa: F401 - fixtures


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
