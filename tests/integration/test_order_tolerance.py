"""Order tolerance: any interleaving of streams that keeps each stream's own order gives the same read model."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from consumers.provenance.projector import ProvenanceProjector
from consumers.provenance.views import ProvenanceView
from events import signing
from events.attestation import Attestation
from events.envelope import prepare
from events.log import RecordedEvent
from services.database import create_database_engine
from tests import factories as f
from tests.databases import fresh_postgres_database, postgres_server_url
from tests.readmodel import dump_tables


#: the refiner's signing key (fixed, so every run signs alike)
REFINER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def busy_chain() -> list[dict]:
    """Two sites, productions, transfers, a merge, a split, an assay, refining with outside gold, two pieces,
    a piece passed on to a shop; and attacks by other organisations that must change nothing."""
    # the refiner signs its refining with a key it registered first (and revokes after: the signature stands)
    events = [f.key_registered("refiner-x", "refiner-x-1", signing.public_key_b64(REFINER_KEY)),
              f.site("site-a"), f.site("site-b"), f.pit("pit-a", "site-a"), f.pit("pit-b", "site-b"),
              f.miner("m-1", "site-a"), f.miner("m-2", "site-b", gender="male")]
    for i in range(4):
        events.append(f.production(f"lot-{i}", "pit-a" if i % 2 else "pit-b", 10.0 + i, 0.85 + i / 100, miners=(f"m-{1 + i % 2}",)))
        events.append(f.transfer(f"lot-{i}", f"m-{1 + i % 2}", "coop-mambasa", 10.0 + i))
    events += [
        f.merge("coop-1", {f"lot-{i}": 10.0 + i for i in range(4)}),
        f.assay("coop-1", 0.87),
        f.hand_over("coop-1", "coop-mambasa", "exporter", 46.0),
        f.split("coop-1", {"coop-1a": 30.0, "coop-1b": 16.0}, recorded_by="exporter"),
        f.hand_over("coop-1a", "exporter", "refiner-x", 30.0),
        f.hand_over("outside-1", "recycler", "refiner-x", 20.0),
        signing.sign_envelope(f.refine({"coop-1a": 30.0, "outside-1": 20.0},
                                       {"bar-1": (20.0, 0.9999), "bar-2": (20.0, 0.9999)}), REFINER_KEY, "refiner-x-1"),
        f.hand_over("bar-1", "refiner-x", "atelier", 20.0),
        f.hand_over("bar-2", "refiner-x", "atelier", 20.0),
        f.hand_over("coop-1b", "exporter", "atelier", 16.0),
        AUDITOR_ASSAY,
        f.manufacture("ring-1", {"bar-1": 3.0}, mass_g=4.0),
        f.manufacture("pendant-1", {"bar-2": 1.5, "coop-1b": 1.0}, mass_g=3.0),
        f.event("product.sold", {"product_id": "ring-1", "price": "450.00", "currency": "EUR"}, recorded_by="atelier"),
        f.hand_over("pendant-1", "atelier", "shop-y", 3.0),
        f.event("product.sold", {"product_id": "pendant-1", "price": "390.00", "currency": "EUR"}, recorded_by="shop-y"),
        f.key_revoked("refiner-x", "refiner-x-1"),
        # attacks, recorded later by the server's clock (however they are dated), by other organisations
        *ATTACKS,
    ]
    return events


#: an auditor's key assays a lot the auditor never held: an independent measurement, it counts
AUDITOR_ASSAY = f.assay("coop-1b", 0.86, recorded_by="audit-co", at=f.BASE_TIME + timedelta(days=1))
#: the keys that recorded events (by event id) where the role matters; the others have no attestation
ATTESTED = {AUDITOR_ASSAY["event_id"]: Attestation("audit-co", "auditor", "key-audit-co")}
#: a rival refiner assays the ring's lot at 0.20, a lot it never held (refused, whenever it arrives)
RIVAL_ASSAY = f.assay("coop-1a", 0.20, recorded_by="refiner-rival", at=f.BASE_TIME + timedelta(days=1))

#: a second cooperative re-registers a site elsewhere, makes a fake ring back-dated to 2020 and
#: sells a piece it never held; a thief hands over a bar it never had; a rival assays a lot it never had
ATTACKS = [
    f.event("site.registered", {"site_id": "site-a", "name": "Bahnhofstrasse", "country": "CH", "region": "Zurich",
                                "mineral": "gold"}, recorded_by="coop-other"),
    f.event("product.manufactured", {"product_id": "ring-1", "inputs": [{"lot_id": "scrap-9", "mass_g": 3.0}],
                                     "mass_g": 4.0, "fineness": 0.375, "description": "Brass ring, gold-plated"},
            recorded_by="coop-other", at=datetime(2020, 1, 1, tzinfo=timezone.utc)),
    f.event("product.sold", {"product_id": "ring-1", "price": "999999.00", "currency": "EUR"}, recorded_by="shop-x"),
    f.transfer("bar-1", "refiner-x", "thief", 20.0, recorded_by="thief"),
    RIVAL_ASSAY,
]


CHAIN = busy_chain()
RECORDED_AT = {envelope["event_id"]: f"2026-03-02T00:{index // 60:02d}:{index % 60:02d}Z"
               for index, envelope in enumerate(CHAIN)}
STREAMS: dict[str, list[dict]] = defaultdict(list)
for envelope in CHAIN:
    STREAMS[prepare(envelope).stream_id].append(envelope)
LABELS = [stream for stream, events in STREAMS.items() for _ in events]


def project(order: list[dict], engine=None, batch_size: int = 1):
    """Apply ``order`` into fresh tables (of ``engine`` if given, else a new in-memory SQLite database),
    in batches of ``batch_size`` as the runner does."""
    engine = engine or create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    projector = ProvenanceProjector()
    projector.metadata.drop_all(engine)
    projector.metadata.create_all(engine)
    with engine.begin() as tx:
        recorded = [_recorded(position, envelope) for position, envelope in enumerate(order, start=1)]
        for start in range(0, len(recorded), batch_size):
            projector.apply_batch(tx, recorded[start:start + batch_size])
    return engine


def _recorded(position: int, envelope: dict) -> RecordedEvent:
    new = prepare(envelope)
    # the server's clock stamps an event once, when it is captured: a property of the event, not of the
    # order a projector later reads it in (here: its place in the story, so the attacks come last)
    return RecordedEvent(position, new.event_id, new.type, new.stream_id, RECORDED_AT[new.event_id], new.hash, new.body,
                         attested_by=ATTESTED.get(new.event_id))


def strip_positions(value):
    if isinstance(value, dict):
        return {k: strip_positions(v) for k, v in value.items() if k != "position"}
    if isinstance(value, list):
        return [strip_positions(v) for v in value]
    return value


REFERENCE = project(CHAIN)
#: columns that depend on arrival order (positions) or repeat them (the served JSON)
IGNORED = frozenset({"position", "served", "served_public"})
REFERENCE_TABLES = dump_tables(REFERENCE, ProvenanceProjector().metadata, IGNORED)
REFERENCE_VIEWS = {p: strip_positions(ProvenanceView(REFERENCE).product_provenance(p)) for p in ("ring-1", "pendant-1")}


@pytest.fixture(scope="module")
def postgres_engine():
    """One PostgreSQL database for the module; each example recreates the tables in it."""
    with fresh_postgres_database(postgres_server_url()) as url:
        engine = create_database_engine(url)
        yield engine
        engine.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(LABELS), st.integers(min_value=1, max_value=len(LABELS)))
def test_any_interleaving_of_streams_gives_the_same_read_model(interleaving, batch_size):
    check_interleaving(interleaving, None, batch_size)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(LABELS), st.integers(min_value=1, max_value=len(LABELS)))
def test_any_interleaving_gives_the_same_read_model_on_postgresql(postgres_engine, interleaving, batch_size):
    check_interleaving(interleaving, postgres_engine, batch_size)


def check_interleaving(interleaving, engine, batch_size=1):
    cursors = {stream: iter(events) for stream, events in STREAMS.items()}
    order = [next(cursors[stream]) for stream in interleaving]
    engine = project(order, engine, batch_size)
    assert dump_tables(engine, ProvenanceProjector().metadata, IGNORED) == REFERENCE_TABLES
    view = ProvenanceView(engine)
    for product, expected in REFERENCE_VIEWS.items():
        assert strip_positions(view.product_provenance(product)) == expected


def test_a_duplicate_delivered_in_the_same_batch_changes_nothing():
    engine = project(CHAIN[:10] + CHAIN[5:10] + CHAIN[10:], batch_size=len(CHAIN) + 5)
    assert dump_tables(engine, ProvenanceProjector().metadata, IGNORED) == REFERENCE_TABLES


def test_the_reference_itself_is_sound():
    ring = REFERENCE_VIEWS["ring-1"]
    shares = {entry["site_id"]: entry["share"] for entry in ring["origin"]}
    assert None in shares and "site-a" in shares and "site-b" in shares
    assert abs(sum(shares.values()) - 1) < 1e-6
    assert len(ring["timeline"]) > 10
    # the refining is signed by the refiner (verified in every order: its key may come after it on Kafka)
    signers = {event["type"]: event.get("signed_by") for event in ring["timeline"]}
    assert signers["lot.refined"] == {"organisation": "refiner-x", "key_id": "refiner-x-1"}
    assert signers["product.manufactured"] is None


def test_the_attacks_in_the_reference_change_nothing():
    ring, pendant = REFERENCE_VIEWS["ring-1"], REFERENCE_VIEWS["pendant-1"]
    [site_a] = [entry for entry in ring["origin"] if entry["site_id"] == "site-a"]
    assert site_a["country"] == "CD" and site_a["region"] == "Ituri"
    assert ring["product"]["manufactured_by"] == "atelier" and ring["product"]["fineness"] == 0.75
    assert [sale["recorded_by"] for sale in ring["product"]["sales"]] == ["atelier"]
    assert [sale["recorded_by"] for sale in pendant["product"]["sales"]] == ["shop-y"]
    assert pendant["product"]["holder_id"] == "shop-y"
    attacks = {envelope["event_id"] for envelope in ATTACKS}
    assert not attacks & {event["event_id"] for event in ring["timeline"]}
    assert "scrap-9" not in {node["id"] for node in ring["lineage"]["nodes"]}
    # the rival's assay of coop-1a counts for nothing (its fineness is coop-1's assay); the auditor's counts
    fineness = {node["id"]: (node["fineness"], node["fineness_source"])
                for view in (ring, pendant) for node in view["lineage"]["nodes"]}
    assert fineness["coop-1a"] == (0.87, "derived") and fineness["coop-1b"] == (0.86, "assay")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(LABELS), st.integers(min_value=1, max_value=len(CHAIN)), st.data())
def test_applying_in_batches_with_duplicates_gives_the_same_read_model(interleaving, batch_size, data):
    cursors = {stream: iter(events) for stream, events in STREAMS.items()}
    order = [next(cursors[stream]) for stream in interleaving]
    repeated = data.draw(st.lists(st.integers(min_value=0, max_value=len(order) - 1), max_size=5))
    for index in sorted(repeated, reverse=True):  # a client retry that reached the log twice
        order.insert(data.draw(st.integers(min_value=index, max_value=len(order))), order[index])
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    projector = ProvenanceProjector()
    projector.metadata.create_all(engine)
    recorded = [_recorded(position, envelope) for position, envelope in enumerate(order, start=1)]
    with engine.begin() as tx:
        for start in range(0, len(recorded), batch_size):
            projector.apply_batch(tx, recorded[start:start + batch_size])
    assert dump_tables(engine, projector.metadata, IGNORED) == REFERENCE_TABLES
