"""Impact and market events: surveys, savings groups, trainings, leadership, reference prices, payouts."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, validates_schema

from events.catalogue.base import DataSchema
from events.catalogue.vocabulary import AGE_BANDS, GENDERS, TRAINING_KINDS, WORK_ROLES
from events.fields import Count, Currency, Date, Flag, Identifier, Money, OneOf, Period, Text

#: a savings group or a training session counts people: a bound keeps typos (an extra zero) out
MAX_GROUP = 100_000


class SurveyCompleted(DataSchema):
    """A household survey answered by a pseudonymous respondent."""

    stream_field = "respondent_id"
    respondent_id = Identifier(required=True)
    site_id = Identifier(required=True)
    gender = OneOf(GENDERS, required=True)
    age_band = OneOf(AGE_BANDS, required=True)
    work_role = OneOf(WORK_ROLES, required=True)
    income_month = Money(required=True)
    currency = Currency(required=True)
    controls_own_income = Flag(required=True)
    savings = Money()


class VslaRegistered(DataSchema):
    """A village savings and loan association, its members and committee by gender."""

    stream_field = "group_id"
    group_id = Identifier(required=True)
    site_id = Identifier(required=True)
    members_female = Count(required=True, maximum=MAX_GROUP)
    members_male = Count(required=True, maximum=MAX_GROUP)
    committee_female = Count(required=True, maximum=MAX_GROUP)
    committee_male = Count(required=True, maximum=MAX_GROUP)

    @validates_schema
    def _consistent(self, data, **kwargs):
        errors: dict[str, list[str]] = {}
        if data["members_female"] + data["members_male"] == 0:
            errors["members_female"] = ["A savings group has at least one member."]
        for gender in ("female", "male"):
            if data[f"committee_{gender}"] > data[f"members_{gender}"]:
                errors[f"committee_{gender}"] = [f"More committee seats than {gender} members."]
        if errors:
            raise ValidationError(errors)


class VslaReported(DataSchema):
    """A savings group's report for one month."""

    stream_field = "group_id"
    group_id = Identifier(required=True)
    period = Period(required=True)
    savings = Money(required=True)
    loans = Money(required=True)
    currency = Currency(required=True)
    solidarity_assists = Count(required=True, maximum=MAX_GROUP)


class TrainingHeld(DataSchema):
    """A training session and its attendance by gender."""

    stream_field = "site_id"
    site_id = Identifier(required=True)
    kind = OneOf(TRAINING_KINDS, required=True)
    attendees_female = Count(required=True, maximum=MAX_GROUP)
    attendees_male = Count(required=True, maximum=MAX_GROUP)

    @validates_schema
    def _consistent(self, data, **kwargs):
        if data["attendees_female"] + data["attendees_male"] == 0:
            raise ValidationError({"attendees_female": ["A training has at least one attendee."]})


class LeadershipRecorded(DataSchema):
    """A (pseudonymous) person holding a position of leadership."""

    stream_field = "person_id"
    person_id = Identifier(required=True)
    gender = OneOf(GENDERS, required=True)
    position = Text(required=True, max_length=200)
    organisation_id = Identifier(required=True)
    #: optional extension: the mine site where the position is held (a team, a Peace Hub)
    site_id = Identifier()


class MarketPriceRecorded(DataSchema):
    """A reference price of fine gold on a day (e.g. the LBMA fix), entered by an admin."""

    stream_field = "date"
    date = Date(required=True)
    price_per_g_fine = Money(required=True)
    currency = Currency(required=True)


#: how a payout reaches a miner
PAYMENT_CHANNELS = ("mobile_money", "cash", "bank", "savings_group")
#: ``applies_to`` of a payout policy that holds for every cooperative without one of its own
EVERY_COOPERATIVE = "all"


class PayoutPolicySet(DataSchema):
    """A decision on the share of a sale owed back to the miners, from a day on, for one cooperative or all.

    The minutes of the meeting that decided it go in the envelope's ``evidence`` (their hash).
    """

    stream_field = "policy_id"
    policy_id = Identifier(required=True)
    share = Money(required=True, metadata={"description": "the share of a sale's price, a decimal from 0 to 1"})
    applies_to = Identifier(required=True, metadata={"description": "a cooperative's org_id, or `all`"})
    effective_from = Date(required=True)
    decided_by = Text(required=True, max_length=500)

    @validates_schema
    def _share(self, data, **kwargs):
        if Decimal(data["share"]) > 1:
            raise ValidationError({"share": ["A share is from 0 to 1 (0.01 is one percent)."]})


class PayoutPaid(DataSchema):
    """Money paid to a miner against what the sales of their gold owe them, by their cooperative."""

    stream_field = "payment_id"
    payment_id = Identifier(required=True)
    miner_id = Identifier(required=True)
    amount = Money(required=True)
    currency = Currency(required=True)
    channel = OneOf(PAYMENT_CHANNELS, required=True)
    reference = Text(required=True, max_length=200)

    @validates_schema
    def _positive(self, data, **kwargs):
        if Decimal(data["amount"]) == 0:
            raise ValidationError({"amount": ["A payment is more than zero."]})


SCHEMAS = {
    "survey.completed": SurveyCompleted,
    "vsla.registered": VslaRegistered,
    "vsla.reported": VslaReported,
    "training.held": TrainingHeld,
    "leadership.recorded": LeadershipRecorded,
    "market.price_recorded": MarketPriceRecorded,
    "payout.policy_set": PayoutPolicySet,
    "payout.paid": PayoutPaid,
}
