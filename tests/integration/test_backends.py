"""One log, two read-model databases: SQLite and PostgreSQL give the same read model and the same answers."""
from __future__ import annotations

import pytest

from composition.bootstrap import build_platform
from services.settings import Settings
from tests import factories as f
from tests.conftest import bearer
from tests.databases import fresh_postgres_database, postgres_server_url
from tests.readmodel import dump_tables


def mixed_case_chain() -> list[dict]:
    """Identifiers whose byte order differs from a locale's order (``B`` < ``a`` byte-wise, not in en-US)."""
    return [
        f.site("Site-B"), f.site("site-a"), f.pit("Pit-B", "Site-B"), f.pit("pit-a", "site-a"),
        f.miner("m-1", "site-a", name="Esther Lokana"),
        f.production("lot-a", "pit-a", 100.0, 0.9), f.production("Lot-B", "Pit-B", 75.0, 0.8),
        f.production("LOT-c", "pit-a", 20.0),  # no fineness: its merge is weighted by gross grams
        f.transfer("lot-a", "m-1", "coop-mambasa", 100.0), f.transfer("Lot-B", "m-1", "Coop-Z", 75.0),
        f.hand_over("Lot-B", "Coop-Z", "coop-mambasa", 75.0),  # each step by the lot's holder then
        f.merge("coop-1", {"lot-a": 100.0, "Lot-B": 75.0, "LOT-c": 20.0}),
        f.assay("coop-1", 0.857),
        f.split("coop-1", {"Part-2": 95.0, "part-1": 100.0}),
        f.hand_over("part-1", "coop-mambasa", "refiner-x", 100.0), f.hand_over("Part-2", "coop-mambasa", "atelier", 95.0),
        f.refine({"part-1": 100.0, "Outside-9": 5.0}, {"bar-1": (90.0, 0.999), "Bar-2": (14.0, 0.999)}),
        f.hand_over("bar-1", "refiner-x", "atelier", 90.0), f.hand_over("Bar-2", "refiner-x", "atelier", 14.0),
        f.manufacture("ring-1", {"bar-1": 7.5, "Bar-2": 2.0, "Part-2": 1.0}, mass_g=12.0),
        f.event("product.sold", {"product_id": "ring-1", "price": "450.00", "currency": "EUR"}, recorded_by="atelier"),
    ]


@pytest.fixture
def two_platforms(tmp_path):
    """A platform on SQLite and one on PostgreSQL, sharing one log."""
    server = postgres_server_url()
    data = str(tmp_path / "data")
    with fresh_postgres_database(server) as url:
        on_sqlite = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": data}))
        on_postgres = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": data, "ORETRAIL_DATABASE_URL": url}))
        try:
            yield on_sqlite, on_postgres
        finally:
            on_postgres.close()
            on_sqlite.close()


def test_the_same_log_gives_the_same_read_model_and_answers_on_both(two_platforms):
    on_sqlite, on_postgres = two_platforms
    admin = on_sqlite.keys.create("oretrail-admin", "admin")
    response = on_sqlite.create_app().test_client().post(
        "/v1/events", json={"events": mixed_case_chain()}, headers=bearer(admin))
    assert response.status_code == 200
    for platform in two_platforms:
        platform.catch_up()
    metadata = on_sqlite.runner("provenance").projector.metadata
    assert dump_tables(on_postgres.engine, metadata) == dump_tables(on_sqlite.engine, metadata)

    answers = []
    for platform in two_platforms:
        client = platform.create_app().test_client()
        key = bearer(platform.keys.create("oretrail-admin", "admin"))
        answers.append([client.get(path, headers=key).get_json() for path in (
            "/v1/products/ring-1/provenance", "/v1/lots/coop-1", "/v1/lots/Lot-B", "/v1/lots/part-1/events")])
    assert answers[1] == answers[0]
    edges = [(edge["to"], edge["from"], edge["event_id"]) for edge in answers[1][0]["lineage"]["edges"]]
    assert edges == sorted(edges)  # byte order (Python's), whatever the database's locale
    assert edges[0][0] == "Bar-2"
