"""Tables of the checks read model: the facts the rules need (one row per event) and the findings.

The fact tables are this projector's own (projectors advance at different speeds, so it never
reads another's). Fact rows are keyed by ``event_id``; registrations by their id: the owner's latest,
recomputed from ``chk_registry_claims``. Custody steps that do not count are in
``chk_custody_refused`` and left out of the facts the rules read. So the tables are the same for any
arrival order. ``chk_findings`` holds every
finding ever raised: ``open`` while the facts prove it, ``withdrawn`` once later facts resolve it.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

from consumers.lineage.custody import CustodyLedger, custody_tables
from consumers.lineage.ownership import registry_claims_table

from consumers.sql import Key

metadata = MetaData()
ID = Key(160)
EVENT = Key(36)
SORT = Key(80)

events = Table(
    "chk_events", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("type", String(40), nullable=False),
    Column("sort_key", SORT, nullable=False),
    #: the organisation that recorded it: a finding concerns the organisations that recorded its proof
    Column("recorded_by", ID, index=True),
)

organisations = Table(
    "chk_organisations", metadata,
    Column("org_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("country", String(2), nullable=False),
    Column("event_id", EVENT, nullable=False),
    Column("gs1_company_prefixes", Text),  # JSON list of digit strings (NULL: none declared)
)

miners = Table(
    "chk_miners", metadata,
    Column("miner_id", ID, primary_key=True),
    Column("cooperative_id", ID, nullable=False),
    Column("site_id", ID, nullable=False),
    Column("event_id", EVENT, nullable=False),
    Column("birth_year", Integer),
    #: whether the registration carries a photo-ID hash (never the hash itself)
    Column("photo_id", Boolean, nullable=False, default=False),
)

pits = Table(
    "chk_pits", metadata,
    Column("pit_id", ID, primary_key=True),
    Column("site_id", ID, nullable=False),
    Column("event_id", EVENT, nullable=False),
)

capacities = Table(
    "chk_capacities", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("pit_id", ID, nullable=False, index=True),
    Column("sort_key", SORT, nullable=False),
    Column("month", String(7), nullable=False),
    Column("capacity_g", Float, nullable=False),
)

inspections = Table(
    "chk_inspections", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("pit_id", ID, nullable=False, index=True),
    Column("sort_key", SORT, nullable=False),
    Column("status", String(16), nullable=False),
    Column("month", String(7), nullable=False),
    Column("workers_observed", Integer),
)

productions = Table(
    "chk_productions", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("lot_id", ID, nullable=False),
    Column("pit_id", ID, nullable=False),
    Column("mass_g", Float, nullable=False),
    Column("mass_mg", BigInteger, nullable=False),  # summed exactly, in any order
    Column("month", String(7), nullable=False),
    Column("sort_key", SORT, nullable=False),
    Column("recorded_by", ID, nullable=False),
    Index("chk_productions_pit", "pit_id", "month", "sort_key"),
    Index("chk_productions_lot", "lot_id"),
)

production_miners = Table(
    "chk_production_miners", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("miner_id", ID, primary_key=True),
    Column("month", String(7), nullable=False),
    Column("sort_key", SORT, nullable=False),  # the production's: a miner's month in the order it happened
    Index("chk_production_miners_miner", "miner_id", "month", "sort_key"),
)

#: what each pit produced in each month: ``chk_productions`` summed as it is written (rows are never
#: removed: a retracted production rebuilds the read model), so a month's rules need not add it up again
pit_months = Table(
    "chk_pit_months", metadata,
    Column("pit_id", ID, primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("mass_mg", BigInteger, nullable=False),
    Column("productions", Integer, nullable=False),
)

#: what each miner is credited with in each month, by pit (every lot they are named on, whole)
miner_months = Table(
    "chk_miner_months", metadata,
    Column("miner_id", ID, primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("pit_id", ID, primary_key=True),
    Column("mass_mg", BigInteger, nullable=False),
    Column("productions", Integer, nullable=False),
)

#: lots and products coming into being (an output of a production or a transformation)
creations = Table(
    "chk_creations", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("lot_id", ID, primary_key=True),
    Column("type", String(40), nullable=False),
    Column("sort_key", SORT, nullable=False),
    Column("recorded_by", ID, nullable=False),
    Column("mass_g", Float, nullable=False),
    Column("fineness", Float),
    Column("gtin", String(14)),  # of a product
    Index("chk_creations_lot", "lot_id"),
)

#: grams of a lot taken into a transformation (for a split: the sum of its outputs)
consumptions = Table(
    "chk_consumptions", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("lot_id", ID, primary_key=True),
    Column("type", String(40), nullable=False),
    Column("sort_key", SORT, nullable=False),
    Column("recorded_by", ID, nullable=False),
    Column("mass_g", Float, nullable=False),
    Index("chk_consumptions_lot", "lot_id"),
)

#: hand-overs and creations their author retracted (the runner drops them: they count for nothing), kept to
#: see whether others had relied on them (``retracted_after_use``): one row per lot handed over or made
retracted_steps = Table(
    "chk_retracted_steps", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("lot_id", ID, primary_key=True),
    Column("retraction_id", EVENT, nullable=False, index=True),
    Column("type", String(40), nullable=False),
    Column("recorded_by", ID, nullable=False),
    Column("attester", ID, nullable=False),  # whose key attested it: the one organisation that may retract it
    Column("recorded_at", Key(40), nullable=False),
    Column("to_id", ID),  # of a hand-over: its receiver
    Column("inputs", Text),  # of a creation: the lots it consumed (JSON, sorted)
    Column("sort_key", SORT, nullable=False),
    Index("chk_retracted_steps_lot", "lot_id"),
)

#: every retraction met, valid or not, with when the server recorded it: a step recorded before a valid one
#: relied on the event it took back (``retracted_after_use``)
retractions = Table(
    "chk_retractions", metadata,
    Column("retraction_id", EVENT, primary_key=True),
    Column("target_id", EVENT, nullable=False, index=True),
    Column("attester", ID, nullable=False),
    Column("recorded_at", Key(40), nullable=False),
)

transfers = Table(
    "chk_transfers", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("lot_id", ID, nullable=False, index=True),
    Column("from_id", ID, nullable=False, index=True),
    Column("to_id", ID, nullable=False),
    Column("mass_g", Float, nullable=False),
    Column("mass_mg", BigInteger, nullable=False),  # rounded once, in Python: the same sums on every backend
    Column("sort_key", SORT, nullable=False),
    Column("price_per_g", String(40)),  # decimal string, as stated
    Column("currency", String(3)),
    Column("day", String(10), nullable=False),  # the field's local date
    Column("month", String(7), nullable=False),
    #: a buyer's purchases (by ``to_id`` alone too), a month's in the order they happened: a capacity
    #: proof reads the first of them only
    Index("chk_transfers_buyer", "to_id", "month", "sort_key", "event_id"),
)

#: reference prices of fine gold (``market.price_recorded``)
prices = Table(
    "chk_prices", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("date", String(10), nullable=False),
    Column("sort_key", SORT, nullable=False),
    Column("price_per_g_fine", String(40), nullable=False),
    Column("currency", String(3), nullable=False, index=True),
)

receipts = Table(
    "chk_receipts", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("lot_id", ID, nullable=False, index=True),
    Column("mass_g", Float, nullable=False),
    Column("recorded_by", ID, nullable=False),
    Column("sort_key", SORT, nullable=False),
)

#: assays and exports of a lot
lot_stamps = Table(
    "chk_lot_stamps", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("lot_id", ID, nullable=False, index=True),
    Column("type", String(40), nullable=False),
    Column("sort_key", SORT, nullable=False),
    Column("fineness", Float),  # of an assay
    Column("royalties", Boolean, nullable=False, default=False),  # of an export: royalties_paid stated
)

#: the mass balance of each transformation (recomputed with its findings)
balances = Table(
    "chk_balances", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("type", String(40), nullable=False),
    Column("recorded_by", ID, nullable=False),
    Column("input_g", Float),
    Column("output_g", Float, nullable=False),
    Column("fine_in_g", Float),
    Column("fine_out_g", Float),
    Column("basis", String(16)),
    Column("recovery", Float),
)

#: every custody step claimed (kept as evidence) and those that do not count
custody = custody_tables(metadata, "chk")
#: every registration claimed (kept as evidence); the registration rows above are the owners' latest
registry_claims = registry_claims_table(metadata, "chk")


#: every raising of a flag id (reported, or an inspection's automatic risk), whoever recorded it
flag_raisings = Table(
    "chk_flag_raisings", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("flag_id", ID, primary_key=True),
    Column("subject_id", ID, nullable=False),
    Column("raised_by", ID, nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("sort_key", SORT, nullable=False),
    Index("chk_flag_raisings_flag", "flag_id"),
)

#: every ``risk.resolved``, with the role of the key that recorded it (NULL before attestation existed)
flag_resolutions = Table(
    "chk_flag_resolutions", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("flag_id", ID, nullable=False, index=True),
    Column("recorded_by", ID, nullable=False),
    Column("attested_role", String(16)),
    Column("resolution", String(16), nullable=False),
    Column("sort_key", SORT, nullable=False),
)


def ledger() -> CustodyLedger:
    """The custody ledger of the checks (claims and refusals; the checks keep no node table)."""
    return CustodyLedger(custody)


findings = Table(
    "chk_findings", metadata,
    Column("finding_id", String(32), primary_key=True),
    #: the unit of recomputation that raised it (``lot:ID``, ``tx:EVENT``, ``prod:EVENT``, ...)
    Column("scope", String(200), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("subject_id", ID, nullable=False, index=True),
    Column("key", String(200), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("status", String(10), nullable=False),
    Column("message", Text, nullable=False),
    Column("proof", Text, nullable=False),  # JSON list of event ids
    Column("detail", Text, nullable=False),  # JSON object
    #: when it happened: the latest field time (UTC, ``moment_of`` a sort key) among its proof events
    Column("at", String(40), index=True),
    Index("chk_findings_kind", "kind", "status"),
)

#: the events that prove each finding (``proof`` as rows): the findings of a site or an organisation
finding_proof = Table(
    "chk_finding_proof", metadata,
    Column("finding_id", String(32), primary_key=True),
    Column("event_id", EVENT, primary_key=True, index=True),
)

#: the lots and products a finding taints (a product inherits the findings of its ancestry)
finding_links = Table(
    "chk_finding_links", metadata,
    Column("node_id", ID, primary_key=True),
    Column("finding_id", String(32), primary_key=True),
)
