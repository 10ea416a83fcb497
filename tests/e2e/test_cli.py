"""The oretrail command: keys, demo, rebuild, openapi."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services import auth
from composition.bootstrap import build_platform
from services.settings import Settings
from tests.databases import BACKENDS, database_url_for
from tests.readmodel import dump_tables


def oretrail(where, *args):
    """Run the command with ``where``: a data folder, or a dict of settings."""
    settings = where if isinstance(where, dict) else {"ORETRAIL_DATA_DIR": str(where)}
    env = {**os.environ, **settings}
    return subprocess.run([sys.executable, "-m", "composition.cli", *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo")
    with database_url_for(request.param, data_dir) as url:
        env = {"ORETRAIL_DATA_DIR": str(data_dir), "ORETRAIL_DATABASE_URL": url}
        result = oretrail(env, "demo")
        assert result.returncode == 0, result.stderr
        yield env, result.stdout


def test_keys_create_prints_a_working_key_stored_only_as_a_hash(tmp_path, database_url):
    env = {"ORETRAIL_DATA_DIR": str(tmp_path), "ORETRAIL_DATABASE_URL": database_url}
    result = oretrail(env, "keys", "create", "--org", "atelier", "--role", "manufacturer")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("ot_")
    platform = build_platform(Settings.from_env(env))
    assert platform.keys.authenticate(key).org_id == "atelier"
    stored = dump_tables(platform.engine, auth.metadata)
    assert stored["api_keys"] and key not in repr(stored)
    if database_url.startswith("sqlite:///"):
        assert key.encode() not in Path(database_url.removeprefix("sqlite:///")).read_bytes()
    platform.close()


def test_keys_create_refuses_an_unknown_role(tmp_path):
    result = oretrail(tmp_path, "keys", "create", "--org", "atelier", "--role", "emperor")
    assert result.returncode == 2
    assert "role" in result.stderr


def test_demo_records_a_realistic_chain_and_prints_a_provenance_url(seeded):
    env, stdout = seeded
    assert "/v1/products/LUMEN-RING-0001/provenance" in stdout
    platform = build_platform(Settings.from_env(env))
    keys = json.loads((Path(env["ORETRAIL_DATA_DIR"]) / "demo-keys.json").read_text())
    client = platform.create_app().test_client()
    body = client.get("/v1/products/LUMEN-RING-0001/provenance", headers={"Authorization": f"Bearer {keys['manufacturer']}"}).get_json()
    sites = {entry["site_id"] for entry in body["origin"]}
    assert {"site-mabanga", "site-nizi", None} == sites  # two Ituri sites and the recycled gold, untraced
    assert len(body["lineage"]["nodes"]) > 100
    platform.close()


def test_demo_seeds_once(seeded):
    env, _ = seeded
    platform = build_platform(Settings.from_env(env))
    before = platform.log.end_position()
    platform.close()
    assert "already seeded" in oretrail(env, "demo").stdout
    platform = build_platform(Settings.from_env(env))
    assert platform.log.end_position() == before
    platform.close()


def test_rebuild_replays_the_log_into_an_identical_read_model(seeded):
    env, _ = seeded
    platform = build_platform(Settings.from_env(env))
    metadata = platform.runner("provenance").projector.metadata
    before = dump_tables(platform.engine, metadata)
    platform.close()
    result = oretrail(env, "rebuild", "provenance")
    assert result.returncode == 0, result.stderr
    assert "rebuilt provenance from" in result.stdout
    platform = build_platform(Settings.from_env(env))
    assert dump_tables(platform.engine, metadata) == before
    platform.close()


def test_rebuild_of_an_unknown_read_model_is_a_clear_error(tmp_path):
    result = oretrail(tmp_path, "rebuild", "nothing")
    assert result.returncode == 2 and "no projector 'nothing'" in result.stderr


def test_migrate_creates_every_table_and_can_run_again(tmp_path, database_url):
    env = {"ORETRAIL_DATA_DIR": str(tmp_path), "ORETRAIL_DATABASE_URL": database_url}
    for _ in range(2):
        result = oretrail(env, "migrate")
        assert result.returncode == 0, result.stderr
    from sqlalchemy import inspect

    from services.database import create_database_engine
    engine = create_database_engine(database_url)
    assert {"api_keys", "projector_checkpoints", "prov_nodes", "prov_events"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_a_bad_setting_is_a_clear_error(tmp_path):
    result = oretrail({"ORETRAIL_DATA_DIR": str(tmp_path), "ORETRAIL_LOG_FORMAT": "xml"}, "status")
    assert result.returncode == 2 and "ORETRAIL_LOG_FORMAT" in result.stderr
