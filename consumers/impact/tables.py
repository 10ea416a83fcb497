"""Tables of the impact read model (``imp_*``), independent of the provenance read model.

As in provenance, each row is either a fact stated by one event (keyed by its ``event_id``) or a
registration (keyed by its id: its owner's latest registration, recomputed from
``imp_registry_claims``). Custody steps that do not count (``imp_custody_refused``) are left out
of every ancestry, sale and transfer the views read. Indicators are computed at query
time from these facts, so the tables are the same for any arrival order of events of different
streams. The one derived table, ``imp_payout_weights``, is recomputed whenever an event changes
the lineage of a sold product, and so converges to the same rows whatever the order.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Subquery, Table, Text

from consumers.lineage.custody import CustodyLedger, custody_tables
from consumers.lineage.ownership import registry_claims_table

metadata = MetaData()
ID = String(160)
EVENT = String(36)
SORT = String(80)  # occurred_at in UTC + event_id: a total order
MONTH = String(7)  # YYYY-MM of occurred_at in the field's own time zone
MONEY = String(32)  # a decimal string, never a float

events = Table(
    "imp_events", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("type", String(40), nullable=False),
)

# -- registrations ---------------------------------------------------------------------------
organisations = Table(
    "imp_organisations", metadata,
    Column("org_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
)

sites = Table(
    "imp_sites", metadata,
    Column("site_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("region", String(200), nullable=False),
)

miners = Table(
    "imp_miners", metadata,
    Column("miner_id", ID, primary_key=True),
    Column("cooperative_id", ID, nullable=False),
    Column("site_id", ID, nullable=False),
    Column("gender", String(16), nullable=False),
    Column("birth_year", Integer),  # opened from its sealed form; NULL once the miner is erased
    Column("work_role", String(16), nullable=False),
    Column("first_month", MONTH, nullable=False),  # of the earliest registration
    Column("first_sort", SORT, nullable=False),
    Index("imp_miners_cooperative_cover", "cooperative_id", "miner_id", "gender", "work_role"),
    Index("imp_miners_site_cover", "site_id", "miner_id", "gender", "work_role"),
)

# -- custody ---------------------------------------------------------------------------------
nodes = Table(
    "imp_nodes", metadata,
    Column("node_id", ID, primary_key=True),
    Column("kind", String(16), nullable=False),  # lot, product, refining
    Column("created_event_id", EVENT),  # NULL: referenced, not yet created
    Column("created_sort", SORT),
    Column("created_type", String(40)),
    Column("created_by", ID),
    Column("mass_g", Float),
    Column("declared_fineness", Float),
)

edges = Table(
    "imp_edges", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("parent_id", ID, primary_key=True),
    Column("child_id", ID, primary_key=True),
    Column("mass_g", Float, nullable=False),
    Index("imp_edges_child", "child_id"),
    Index("imp_edges_parent", "parent_id"),
)

assays = Table(
    "imp_assays", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("lot_id", ID, nullable=False, index=True),
    Column("fineness", Float, nullable=False),
    Column("sort_key", SORT, nullable=False),
)

production_shares = Table(
    "imp_production_shares", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("miner_id", ID, primary_key=True),
    Column("lot_id", ID, nullable=False, index=True),
    Column("month", MONTH, nullable=False),
    Column("mass_g", Float, nullable=False),  # the lot's grams over its number of miners
    # covering: the indicator queries read shares by miner and month from the index alone
    Index("imp_production_shares_miner", "miner_id", "month", "mass_g", "event_id"),
)

transfers = Table(
    "imp_transfers", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("lot_id", ID, nullable=False, index=True),
    Column("from_id", ID, nullable=False),
    Column("to_id", ID, nullable=False),
    Column("mass_g", Float, nullable=False),
    Column("price_per_g", MONEY),
    Column("currency", String(3)),
    Column("occurred_at", String(40), nullable=False),
    Column("month", MONTH, nullable=False),
    Column("sort_key", SORT, nullable=False),
    Index("imp_transfers_from", "from_id", "month", "mass_g", "price_per_g", "currency"),
)

sales = Table(
    "imp_sales", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("product_id", ID, nullable=False, index=True),
    Column("price", MONEY),
    Column("currency", String(3)),
    Column("recorded_by", ID, nullable=False),
    Column("occurred_at", String(40), nullable=False),
    Column("month", MONTH, nullable=False),
    Column("sort_key", SORT, nullable=False),
    Column("recorded_at", String(40), nullable=False),  # the server's clock: which policies were decided before
)

# -- payouts ---------------------------------------------------------------------------------
#: every payout policy decided (``payout.policy_set``); ``applies_to`` is a cooperative or ``all``
payout_policies = Table(
    "imp_payout_policies", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("policy_id", ID, nullable=False),
    Column("share", MONEY, nullable=False),
    Column("applies_to", ID, nullable=False, index=True),
    Column("effective_from", String(10), nullable=False),
    Column("decided_by", Text, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON list of the envelope's evidence (minutes of the meeting)
    Column("recorded_at", String(40), nullable=False),
)

#: the policy in force for a sale, fixed per scope (a cooperative with a policy of its own, or ``all``):
#: the latest effective on the sale's day among those recorded before the sale was, so a later
#: decision never changes what a past sale owes
sale_policies = Table(
    "imp_sale_policies", metadata,
    Column("sale_event_id", EVENT, primary_key=True),
    Column("applies_to", ID, primary_key=True),
    Column("policy_event_id", EVENT, nullable=False),
    Column("policy_id", ID, nullable=False),
    Column("share", MONEY, nullable=False),
)

#: every payment recorded (``payout.paid``); whether it counts (the miner's cooperative paid) is read at query time
payments = Table(
    "imp_payments", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("payment_id", ID, nullable=False),
    Column("miner_id", ID, nullable=False, index=True),
    Column("amount", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("reference", String(200), nullable=False),
    Column("recorded_by", ID, nullable=False),
    Column("occurred_at", String(40), nullable=False),
    Column("month", MONTH, nullable=False),
    Column("sort_key", SORT, nullable=False),
)

#: who is owed what share of a sale: the fine-gold share of each production lot in the product,
#: split equally among the lot's miners (``untraced`` for gold with no production record)
payout_weights = Table(
    "imp_payout_weights", metadata,
    Column("sale_event_id", EVENT, primary_key=True),
    Column("recipient_id", ID, primary_key=True),
    Column("weight", String(48), nullable=False),  # an exact decimal fraction of the sale, as text
    Column("fine_g", Float, nullable=False),
    Column("lots", Text, nullable=False),  # JSON list of the production lots behind the weight
    Index("imp_payout_weights_recipient", "recipient_id"),
)

prices = Table(
    "imp_prices", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("date", String(10), nullable=False),
    Column("price_per_g_fine", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("sort_key", SORT, nullable=False),
    Index("imp_prices_lookup", "currency", "date"),
)

# -- community -------------------------------------------------------------------------------
surveys = Table(
    "imp_surveys", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("respondent_id", ID, nullable=False),
    Column("site_id", ID, nullable=False),
    Column("gender", String(16), nullable=False),
    Column("age_band", String(16), nullable=False),
    Column("work_role", String(16), nullable=False),
    Column("income_month", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("controls_own_income", Boolean, nullable=False),
    Column("savings", MONEY),
    Column("month", MONTH, nullable=False),
    Column("sort_key", SORT, nullable=False),
    Index("imp_surveys_site", "site_id", "month"),
)

vsla_registrations = Table(
    "imp_vsla_registrations", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("group_id", ID, nullable=False, index=True),
    Column("site_id", ID, nullable=False, index=True),
    Column("members_female", Integer, nullable=False),
    Column("members_male", Integer, nullable=False),
    Column("committee_female", Integer, nullable=False),
    Column("committee_male", Integer, nullable=False),
    Column("month", MONTH, nullable=False),
    Column("sort_key", SORT, nullable=False),
)

vsla_reports = Table(
    "imp_vsla_reports", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("group_id", ID, nullable=False, index=True),
    Column("period", MONTH, nullable=False),
    Column("savings", MONEY, nullable=False),
    Column("loans", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("solidarity_assists", Integer, nullable=False),
    Column("sort_key", SORT, nullable=False),
)

trainings = Table(
    "imp_trainings", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("site_id", ID, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("attendees_female", Integer, nullable=False),
    Column("attendees_male", Integer, nullable=False),
    Column("month", MONTH, nullable=False),
    Index("imp_trainings_site", "site_id", "month"),
)

leadership = Table(
    "imp_leadership", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("person_id", ID, nullable=False),
    Column("gender", String(16), nullable=False),
    Column("position", String(200), nullable=False),
    Column("organisation_id", ID, nullable=False),
    Column("site_id", ID),
    Column("month", MONTH, nullable=False),
    Column("sort_key", SORT, nullable=False),
)

#: every custody step claimed (kept as evidence) and those that do not count
custody = custody_tables(metadata, "imp")
#: every registration claimed (kept as evidence); the registration rows above are the owners' latest
registry_claims = registry_claims_table(metadata, "imp")


def ledger() -> CustodyLedger:
    """The custody ledger of the impact model (its nodes, edges, claims and refusals)."""
    return CustodyLedger(custody, nodes, edges)


def counted_edges() -> Subquery:
    """The lineage edges that count (not those of a refused event)."""
    return ledger().counted_edges("imp_counted_edges")


def refused_events():
    """A ``SELECT`` of the ids of the events that do not count."""
    return ledger().refused_events()
