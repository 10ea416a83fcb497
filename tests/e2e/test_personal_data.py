"""Personal data: a miner's name is sealed before the log, shown only to those who may read it, and erased for good."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.log_audit import audit_log
from tests import factories as f
from tests.conftest import bearer

NAME = "Zawadi Mbalamwezi Kisanga"
PHOTO = "c0" * 32


def story() -> list[dict]:
    """The two-site ring, its miner named, with a second miner and a priced sale (so something is owed)."""
    events = []
    for event in f.two_site_ring_chain():
        if event["type"] == "miner.registered":
            event = {**event, "data": {**event["data"], "name": NAME, "photo_id_sha256": PHOTO}}
        events.append(event)
    events.insert(5, f.miner("m-2", "site-b", gender="male", name="Baraka Tumaini"))
    events[6]["data"]["miner_ids"] = ["m-1"]
    events[7]["data"]["miner_ids"] = ["m-2"]
    events.append(f.event("product.sold", {"product_id": "ring-1", "price": "900.00", "currency": "USD"},
                          recorded_by="atelier"))
    return events


@pytest.fixture
def keys(platform):
    return {"admin": platform.keys.create("oretrail-admin", "admin"),
            "coop": platform.keys.create("coop-mambasa", "cooperative"),
            "other_coop": platform.keys.create("coop-kamituga", "cooperative"),
            "buyer": platform.keys.create("atelier", "manufacturer"),
            "auditor": platform.keys.create("rcm", "auditor")}


@pytest.fixture
def recorded(platform, client, keys):
    events = story()
    response = client.post("/v1/events", json={"events": events}, headers=bearer(keys["admin"]))
    assert response.status_code == 200, response.get_data(as_text=True)
    platform.catch_up()
    return events


def get(client, path, key):
    response = client.get(path, headers=bearer(key))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def log_files(settings) -> list[Path]:
    return sorted(settings.data_dir.glob("events.db*"))


def test_the_name_never_reaches_the_log_file(recorded, settings, platform):
    files = log_files(settings)
    assert files, "the SQLite log should be on disk"
    for path in files:
        content = path.read_bytes()
        assert NAME.encode() not in content and PHOTO.encode() not in content, path
    # but the stored events are there, their personal fields sealed
    stored = [event for event in platform.log.read(limit=100) if event.type == "miner.registered"]
    assert len(stored) == 2
    assert all(event.envelope["data"]["name"]["enc"] == "A256GCM" for event in stored)
    assert all(set(event.envelope["data"]["birth_year"]) == {"enc", "kid", "iv", "ct"} for event in stored)


def test_personal_fields_go_to_the_cooperative_admins_and_auditors_only(recorded, client, keys):
    for who in ("coop", "admin", "auditor"):
        page = get(client, "/v1/miners?cooperative_id=coop-mambasa", keys[who])
        by_id = {miner["miner_id"]: miner for miner in page["miners"]}
        assert by_id["m-1"]["name"] == NAME and by_id["m-1"]["photo_id_sha256"] == PHOTO
        assert by_id["m-1"]["birth_year"] == 1990 and by_id["m-1"]["erased"] is False
    for who in ("buyer", "other_coop"):
        page = get(client, "/v1/miners?cooperative_id=coop-mambasa", keys[who])
        assert {miner["miner_id"] for miner in page["miners"]} == {"m-1", "m-2"}
        for miner in page["miners"]:
            assert not {"name", "photo_id_sha256", "birth_year"} & miner.keys()
            assert miner["gender"] and miner["site"]["site_id"]


def test_a_miners_record_has_site_pits_lots_and_what_is_owed(recorded, client, keys):
    miner = get(client, "/v1/miners/m-1", keys["coop"])
    assert miner["site"] == {"site_id": "site-a", "name": "Site-A", "region": "Ituri", "country": "CD"}
    assert miner["pits"] == ["pit-a"]
    assert [(lot["lot_id"], lot["mass_g"], lot["miners"]) for lot in miner["lots"]] == [("lot-a", 100.0, 1)]
    assert len(miner["payouts"]) == 1 and miner["payouts"][0]["currency"] == "USD"
    assert float(miner["payouts"][0]["amount_due"]) > 0
    assert client.get("/v1/miners/nobody", headers=bearer(keys["coop"])).status_code == 404
    assert client.get("/v1/miners/m-1").status_code == 401
    assert client.get("/v1/miners", headers=bearer(keys["coop"])).status_code == 422


def test_a_retried_registration_is_a_duplicate(recorded, client, keys):
    again = client.post("/v1/events", json={"events": recorded[:8]}, headers=bearer(keys["admin"]))
    assert again.status_code == 200
    assert {result["status"] for result in again.get_json()["results"]} == {"duplicate"}


def answers(client, key) -> dict:
    """Everything that must not change when a person is erased (personal fields aside)."""
    provenance = get(client, "/v1/products/ring-1/provenance", key)
    for event in provenance["timeline"]:
        event["data"].pop("signed_by", None)
    return {
        "provenance": provenance,
        "lot": get(client, "/v1/lots/lot-a", key),
        "findings": get(client, "/v1/findings", key),
        "impact": get(client, "/v1/impact?by=gender", key),
        "ledger": get(client, "/v1/miners/m-2", key),
        "m1": {k: v for k, v in get(client, "/v1/miners/m-1", key).items()
               if k not in ("name", "photo_id_sha256", "birth_year", "erased")},
    }


def test_erasure_shreds_the_key_and_changes_nothing_else(recorded, platform, client, keys):
    before = answers(client, keys["admin"])
    denied = client.post("/v1/persons/m-1/erasure", json={"reason": "asked by the miner"}, headers=bearer(keys["coop"]))
    assert denied.status_code == 403
    erased = client.post("/v1/persons/m-1/erasure", json={"reason": "asked by the miner, 2026-12-04"},
                         headers=bearer(keys["admin"]))
    assert erased.status_code == 200, erased.get_data(as_text=True)
    assert erased.get_json()["status"] == "accepted"
    platform.catch_up()
    again = client.post("/v1/persons/m-1/erasure", json={"reason": "twice"}, headers=bearer(keys["admin"]))
    assert again.status_code == 200 and again.get_json()["status"] == "already_erased"

    def shows_erased() -> None:
        for who in ("coop", "admin", "auditor", "buyer"):
            miner = get(client, "/v1/miners/m-1", keys[who])
            assert miner["erased"] is True and not {"name", "photo_id_sha256", "birth_year"} & miner.keys()
        # the other miner keeps their name
        assert get(client, "/v1/miners/m-2", keys["coop"])["name"] == "Baraka Tumaini"
        after = answers(client, keys["admin"])
        assert {k: v for k, v in after.items() if k != "provenance"} == {k: v for k, v in before.items()
                                                                         if k != "provenance"}
        assert after["provenance"]["origin"] == before["provenance"]["origin"]
        assert after["provenance"]["lineage"] == before["provenance"]["lineage"]
        assert after["provenance"]["flags"] == before["provenance"]["flags"]

    shows_erased()
    for name in ("provenance", "impact"):
        platform.runner(name).rebuild()
    shows_erased()
    # the erased person's personal data is refused from now on
    refused = client.post("/v1/events", json={"events": [f.miner("m-1", "site-a", name="Someone")]},
                          headers=bearer(keys["admin"]))
    assert refused.status_code == 409
    # and the log still verifies: hashes cover what is stored
    transparency = platform.transparency
    report = audit_log(platform.log, transparency.tree, transparency.signer.verifier(), transparency.origin)
    assert report.ok, report.problems


def test_oretrail_erase_on_the_command_line(recorded, platform, client, keys, settings):
    env = {**os.environ, "ORETRAIL_DATA_DIR": str(settings.data_dir), "ORETRAIL_DATABASE_URL": settings.database_url}
    done = subprocess.run([sys.executable, "-m", "composition.cli", "erase", "--person", "m-2",
                           "--reason", "left the cooperative, asked to be forgotten"],
                          env=env, cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "m-2: key destroyed" in done.stdout
    platform.catch_up()
    miner = get(client, "/v1/miners/m-2", keys["coop"])
    assert miner["erased"] is True and "name" not in miner
    assert get(client, "/v1/miners/m-1", keys["coop"])["name"] == NAME
