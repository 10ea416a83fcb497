"""Query and response schemas of the impact, value-chain and payouts routes (for validation and OpenAPI)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from consumers.impact.views import GRANULARITIES, months_between
from events.catalogue.vocabulary import GENDERS
from events.fields import Currency, Identifier, Period

MAX_MONTHS = 120
BY_CHOICES = ("gender", "age_band", "gender,age_band", "age_band,gender", "none")


class ImpactQuery(Schema):
    """Query of ``GET /v1/impact`` and ``GET /impact``."""

    class Meta:
        unknown = RAISE

    site_id = Identifier(metadata={"description": "one mine site"})
    cooperative_id = Identifier(metadata={"description": "one cooperative (its miners, and its sites' groups, "
                                                         "trainings and surveys)"})
    from_ = Period(data_key="from", metadata={"description": "first month, YYYY-MM (default: 23 months before `to`)"})
    to = Period(metadata={"description": "last month, YYYY-MM (default: the latest month with data)"})
    period = fields.String(load_default="month", validate=validate.OneOf(GRANULARITIES),
                           metadata={"description": "month, year, or range (the whole span as one period)"})
    by = fields.String(load_default="gender", validate=validate.OneOf(BY_CHOICES),
                       metadata={"description": "breakdown: gender, age_band, gender,age_band or none"})
    currency = Currency(load_default="USD", metadata={"description": "money indicators in this currency"})
    format = fields.String(validate=validate.OneOf(("json", "csv")),
                           metadata={"description": "csv for text/csv (or send Accept: text/csv)"})

    @validates_schema
    def _span(self, data, **kwargs):
        first, last = data.get("from_"), data.get("to")
        if first and last:
            if first > last:
                raise ValidationError({"from": ["Must not be after `to`."]})
            if len(months_between(first, last)) > MAX_MONTHS:
                raise ValidationError({"to": [f"At most {MAX_MONTHS} months from `from`."]})


class PayoutsQuery(Schema):
    """Query of ``GET /v1/payouts``."""

    class Meta:
        unknown = RAISE

    cooperative_id = Identifier(required=True)
    from_ = Period(data_key="from", metadata={"description": "first month of sale, YYYY-MM"})
    to = Period(metadata={"description": "last month of sale, YYYY-MM"})


class ImpactCell(Schema):
    """One number: a value with the people behind it (`n`), or `suppressed: true` in their place."""

    period = fields.String(required=True, metadata={"description": "YYYY-MM, YYYY, or FROM..TO"})
    indicator = fields.String(required=True)
    category = fields.String(allow_none=True, metadata={"description": "work role or training kind; null: all"})
    gender = fields.String(metadata={"enum": [*GENDERS, "all"]})
    age_band = fields.String()
    value = fields.Raw(allow_none=True, metadata={"description": "people and counts: integer; grams: number; "
                                                                 "money: decimal string; ratios: number"})
    n = fields.Integer(metadata={"description": "distinct people the cell is computed from"})
    suppressed = fields.Boolean(metadata={"description": "fewer than 5 people: no value is given"})
    below_threshold = fields.Boolean(metadata={"description": "admin keys only: would be suppressed for others"})


class ImpactTable(Schema):
    """``GET /v1/impact``."""

    scope = fields.Dict(required=True)
    from_ = fields.String(data_key="from", required=True)
    to = fields.String(required=True)
    period = fields.String(required=True)
    by = fields.List(fields.String(), required=True)
    currency = fields.String(required=True)
    min_cell_size = fields.Integer(required=True)
    suppression = fields.String(required=True)
    indicators = fields.Dict(required=True, metadata={"description": "unit and meaning of each indicator"})
    notes = fields.Dict()
    cells = fields.List(fields.Nested(ImpactCell), required=True)


class ValueStage(Schema):
    """Transfers of one kind along the path (who sold to whom, in one currency)."""

    class Meta:
        include = {"from": fields.String(required=True)}

    to = fields.String(required=True)
    currency = fields.String(allow_none=True)
    transfers = fields.Integer()
    priced_transfers = fields.Integer()
    first_at = fields.String()
    last_at = fields.String()
    sellers = fields.Integer(allow_none=True)
    grams = fields.Float()
    fine_g_priced = fields.Float()
    price_per_g_fine = fields.String(allow_none=True)
    reference_per_g_fine = fields.String(allow_none=True)
    ratio_to_reference = fields.Float(allow_none=True)
    below_reference_floor = fields.Integer(allow_none=True, metadata={
        "description": "transfers of the stage an open price_below_reference finding names (null when suppressed)"})
    suppressed = fields.Boolean()


class ValueChain(Schema):
    """``GET /v1/products/{id}/value-chain``."""

    product_id = fields.String(required=True)
    fine_g = fields.Float()
    stages = fields.List(fields.Nested(ValueStage), required=True)
    final = fields.Dict(allow_none=True)
    share_to_miners = fields.Dict(required=True)
    method = fields.String()


class PayoutTotal(Schema):
    """What the cooperative's miners are owed in one currency (``by_period``: in one month of sale too;
    ``by_gender``: to the miners of one gender)."""

    currency = fields.String(required=True)
    amount_due = fields.String(required=True, metadata={"description": "decimal string, to the cent"})
    period = fields.String(metadata={"description": "YYYY-MM of the sales (by_period)"})
    gender = fields.String(metadata={"description": "the miners' gender (by_gender)"})
    amount_paid = fields.String(metadata={"description": "paid by the cooperative (totals), decimal string"})
    outstanding = fields.String(metadata={"description": "amount_due - amount_paid (totals); negative: paid more"})


class MinerPayout(Schema):
    """What one miner is owed in one currency, and was paid."""

    miner_id = fields.String(required=True)
    gender = fields.String(required=True)
    currency = fields.String(required=True)
    amount_due = fields.String(required=True)
    amount_paid = fields.String(metadata={"description": "paid by the miner's cooperative, decimal string"})
    outstanding = fields.String(metadata={"description": "amount_due - amount_paid; negative: paid more than owed"})
    payments = fields.Integer(metadata={"description": "how many payments"})
    last_paid_at = fields.String(allow_none=True, metadata={"description": "field time of the latest payment"})
    fine_g = fields.Float(required=True, metadata={"description": "fine grams of the miner's gold in the pieces sold"})
    sales = fields.Integer(required=True)
    by_period = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                            metadata={"description": "amount due by month of sale (YYYY-MM)"})


class SalePayout(Schema):
    """One sale and how its payout was split."""

    sale_event_id = fields.String(required=True)
    product_id = fields.String(required=True)
    sold_at = fields.String(required=True)
    price = fields.String(required=True)
    currency = fields.String(required=True)
    payout = fields.String(required=True, metadata={"description": "the sale's whole payout"})
    to_cooperative = fields.String(required=True, metadata={"description": "the part owed to this cooperative's miners"})
    untraced = fields.String(required=True, metadata={"description": "the part of gold traced to no miner"})
    to_others = fields.String(required=True, metadata={"description": "the part owed to other cooperatives' miners"})
    recipients = fields.Integer(required=True)
    policy_id = fields.String(allow_none=True, metadata={
        "description": "the payout policy in force for this cooperative's miners on the day of the sale "
                       "(null: none was, the default share applies)"})
    share = fields.String(metadata={"description": "the share of the price owed to this cooperative's miners"})


class PayoutPolicy(Schema):
    """A decided payout policy (``payout.policy_set``)."""

    policy_id = fields.String(required=True)
    share = fields.String(required=True)
    applies_to = fields.String(required=True, metadata={"description": "the cooperative, or `all`"})
    effective_from = fields.String(required=True)
    decided_by = fields.String(required=True)
    evidence = fields.List(fields.Dict(), required=True, metadata={"description": "the envelope's evidence"})
    recorded_at = fields.String(required=True)
    event_id = fields.String(required=True)


class Payment(Schema):
    """A payment to a miner that counts (recorded by the miner's cooperative)."""

    payment_id = fields.String(required=True)
    miner_id = fields.String(required=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    channel = fields.String(required=True, metadata={"enum": ["mobile_money", "cash", "bank", "savings_group"]})
    reference = fields.String(required=True)
    paid_at = fields.String(required=True)
    event_id = fields.String(required=True)


class Payouts(Schema):
    """``GET /v1/payouts``."""

    cooperative_id = fields.String(required=True)
    payout_share = fields.String(required=True, metadata={
        "description": "the default share (ORETRAIL_PAYOUT_SHARE), used only where no policy was in force"})
    from_ = fields.String(data_key="from", allow_none=True, required=True,
                          metadata={"description": "first month of sale asked for (null: from the first sale)"})
    to = fields.String(allow_none=True, required=True,
                       metadata={"description": "last month of sale asked for (null: up to the latest sale)"})
    rounding = fields.String()
    totals = fields.List(fields.Nested(PayoutTotal))
    by_period = fields.List(fields.Nested(PayoutTotal))
    by_gender = fields.List(fields.Nested(PayoutTotal))
    by_miner = fields.List(fields.Nested(MinerPayout))
    sales = fields.List(fields.Nested(SalePayout))
    policies = fields.List(fields.Nested(PayoutPolicy), metadata={
        "description": "the policies decided for this cooperative and for all, in the order they take effect"})
    payments = fields.List(fields.Nested(Payment), metadata={"description": "the payments of the period"})
