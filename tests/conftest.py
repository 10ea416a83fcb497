"""Fixtures: a fresh embedded platform (SQLite log and read models) per test, and its HTTP client."""
from __future__ import annotations

import pytest

from services.bootstrap import build_platform
from services.settings import Settings
from tests.kafka_fixtures import kafka_env, kafka_servers, kafka_settings, own_broker  # noqa: F401 - fixtures


@pytest.fixture
def settings(tmp_path):
    return Settings.from_env({"ORETRAIL_DATA_DIR": str(tmp_path / "data")})


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
