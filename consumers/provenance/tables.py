"""Tables of the provenance read model.

Each row is a fact stated by one event (keyed by its ``event_id``). Registrations and custody steps
are kept as claims (``prov_registry_claims``, ``prov_custody_claims``); the effective registry rows,
the creation columns and holder of each node and the refused steps are recomputed from the set of
claims at the end of every batch (``consumers.lineage``). Derived values (fineness of a merged lot,
origin shares) are computed at query time, so the tables are the same for any arrival order of
events of different streams.
"""
from __future__ import annotations

from functools import cache

from sqlalchemy import BigInteger, Column, Float, Index, Integer, MetaData, String, Subquery, Table, Text

from consumers.lineage.custody import CustodyLedger, custody_tables
from consumers.lineage.ownership import registry_claims_table
from consumers.sql import Key

metadata = MetaData()
#: identifiers, sort keys and times are compared byte by byte on every backend (see ``Key``)
ID = Key(160)

events = Table(
    "prov_events", metadata,
    Column("event_id", Key(36), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("type", Key(40), nullable=False),
    Column("sort_key", Key(80), nullable=False),  # occurred_at in UTC + event_id: a total order
    Column("recorded_at", Key(40), nullable=False),
    Column("hash", String(64), nullable=False),
    # the event as the API serves it (envelope + recorded_at, position, hash), ready-made JSON
    Column("served", Text, nullable=False),
    # the same without restricted fields, for readers who may not see them (NULL: nothing to hide)
    Column("served_public", Text),
)

event_subjects = Table(
    "prov_event_subjects", metadata,
    Column("subject_id", ID, primary_key=True),
    Column("event_id", Key(36), primary_key=True),
    Index("prov_event_subjects_event", "event_id"),  # a retraction joins the timelines of the event it names
)

#: each ``event.retracted`` and the event it names (it joins that event's timelines)
retractions = Table(
    "prov_retractions", metadata,
    Column("retraction_id", Key(36), primary_key=True),
    Column("target_id", Key(36), nullable=False, index=True),
)

#: every ``organization.key_registered`` (a claim: the earliest of a key_id counts, see ``signatures``)
signing_keys = Table(
    "prov_signing_keys", metadata,
    Column("event_id", Key(36), primary_key=True),
    Column("key_id", ID, nullable=False, index=True),
    Column("organisation_id", ID, nullable=False),
    Column("public_key", String(44), nullable=False),  # base64 of the 32 raw Ed25519 public key bytes
    Column("valid_from", Key(40), nullable=False),  # RFC 3339 as registered
    Column("recorded_at", Key(40), nullable=False),
)

#: every ``organization.key_revoked``; the first by the key's organisation revokes it
key_revocations = Table(
    "prov_key_revocations", metadata,
    Column("event_id", Key(36), primary_key=True),
    Column("key_id", ID, nullable=False, index=True),
    Column("organisation_id", ID, nullable=False),
    Column("recorded_at", Key(40), nullable=False),
)

#: each signed event's signature, and whether it proves that its organisation signed it
event_signatures = Table(
    "prov_event_signatures", metadata,
    Column("event_id", Key(36), primary_key=True),
    Column("key_id", ID, nullable=False, index=True),
    Column("recorded_by", ID, nullable=False),
    Column("value", String(88), nullable=False),  # base64 of the 64-byte Ed25519 signature
    Column("hash", String(64), nullable=False),
    Column("recorded_at", Key(40), nullable=False),
    # the key_id when the signature verifies against a registered, valid, unrevoked key of
    # ``recorded_by`` (served as ``signed_by``); NULL while it does not (e.g. its key not seen yet)
    Column("signed_with", ID),
)

nodes = Table(
    "prov_nodes", metadata,
    Column("node_id", ID, primary_key=True),
    Column("kind", String(16), nullable=False),  # lot, product, refining
    Column("created_event_id", Key(36)),  # NULL: a placeholder, referenced before it was created
    Column("created_sort", Key(80)),
    Column("created_type", Key(40)),
    Column("created_by", ID),
    Column("created_at", Key(40)),
    Column("created_recorded_at", Key(40)),  # server time of the counted creation
    Column("mass_g", Float),
    Column("declared_fineness", Float),
    Column("pit_id", ID),
    Column("gtin", String(14)),
    Column("serial", String(20)),
    Column("description", Text),
    # who holds it after the last counted transfer (recomputed from the custody claims)
    Column("holder_id", ID),
    # the latest counted assay by (occurred_at, event_id): recomputed with custody (``consumers.provenance.assays``)
    Column("assay_fineness", Float),
    Column("assay_sort", Key(80)),
)

edges = Table(
    "prov_edges", metadata,
    Column("event_id", Key(36), primary_key=True),
    Column("parent_id", ID, primary_key=True),
    Column("child_id", ID, primary_key=True),
    Column("mass_g", Float, nullable=False),
    Index("prov_edges_child", "child_id"),
    Index("prov_edges_parent", "parent_id"),
)

assays = Table(
    "prov_assays", metadata,
    Column("event_id", Key(36), primary_key=True),
    Column("lot_id", ID, nullable=False, index=True),
    Column("fineness", Float, nullable=False),
    Column("method", String(100)),
    Column("sort_key", Key(80), nullable=False),
)

transfers = Table(
    "prov_transfers", metadata,
    Column("event_id", Key(36), primary_key=True),
    Column("lot_id", ID, nullable=False, index=True),
    Column("from_id", ID, nullable=False),
    Column("to_id", ID, nullable=False),
    Column("mass_g", Float, nullable=False),
    Column("price_per_g", String(32)),
    Column("currency", String(3)),
    Column("occurred_at", Key(40), nullable=False),
    Column("sort_key", Key(80), nullable=False),
)

receipts = Table(
    "prov_receipts", metadata,
    Column("event_id", Key(36), primary_key=True),
    Column("lot_id", ID, nullable=False, index=True),
    Column("mass_g", Float, nullable=False),
    Column("recorded_by", ID, nullable=False),
    Column("occurred_at", Key(40), nullable=False),
    Column("sort_key", Key(80), nullable=False),
)

exports = Table(
    "prov_exports", metadata,
    Column("event_id", Key(36), primary_key=True),
    Column("lot_id", ID, nullable=False, index=True),
    Column("export_permit", String(200), nullable=False),
    Column("destination_country", String(2), nullable=False),
    Column("recorded_by", ID, nullable=False),
    Column("occurred_at", Key(40), nullable=False),
)

production_miners = Table(
    "prov_production_miners", metadata,
    Column("event_id", Key(36), primary_key=True),
    Column("miner_id", ID, primary_key=True),
    Column("lot_id", ID, nullable=False, index=True),
)

sales = Table(
    "prov_sales", metadata,
    Column("event_id", Key(36), primary_key=True),
    Column("product_id", ID, nullable=False, index=True),
    Column("price", String(32)),
    Column("currency", String(3)),
    Column("recorded_by", ID, nullable=False),
    Column("occurred_at", Key(40), nullable=False),
    Column("sort_key", Key(80), nullable=False),
)

organisations = Table(
    "prov_organisations", metadata,
    Column("org_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("country", String(2), nullable=False),
    Column("gs1_company_prefixes", Text),  # JSON list of digit strings (NULL: none declared)
)

sites = Table(
    "prov_sites", metadata,
    Column("site_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("region", String(200), nullable=False),
    Column("mineral", String(50), nullable=False),
    Column("latitude", Float),  # restricted
    Column("longitude", Float),  # restricted
    Column("licence", String(200)),
)

pits = Table(
    "prov_pits", metadata,
    Column("pit_id", ID, primary_key=True),
    Column("site_id", ID, nullable=False),
    Column("capacity_g_per_month", Float),
)

miners = Table(
    "prov_miners", metadata,
    Column("miner_id", ID, primary_key=True),
    Column("cooperative_id", ID, nullable=False),
    Column("site_id", ID, nullable=False),
    Column("gender", String(16), nullable=False),
    Column("work_role", String(16), nullable=False),
    # JSON: the personal fields of the latest registration as stored, sealed (``events.sealed``):
    # name, photo-ID hash, birth year; opened at query time for those who may read them
    Column("personal", Text),
)

#: each person erased (``person.erased``): the first erasure of them projected
erasures = Table(
    "prov_erasures", metadata,
    Column("person_id", ID, primary_key=True),
    Column("event_id", Key(36), nullable=False),
    Column("recorded_at", Key(40), nullable=False),
)

#: every custody step claimed (kept as evidence) and those that do not count
custody = custody_tables(metadata, "prov")
#: every registration claimed (kept as evidence); the rows above are the owners' latest
registry_claims = registry_claims_table(metadata, "prov")


@cache  # stateless: built once
def ledger() -> CustodyLedger:
    """The custody ledger of the provenance model (its nodes, edges, claims and refusals)."""
    return CustodyLedger(custody, nodes, edges)


def counted_edges() -> Subquery:
    """The lineage edges that count (not those of a refused event)."""
    return ledger().counted_edges("prov_counted_edges")


def refused_events():
    """A ``SELECT`` of the ids of the events that do not count."""
    return ledger().refused_events()
