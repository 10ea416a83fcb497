"""Impact and market events: surveys, savings groups, trainings, leadership, reference prices."""
from __future__ import annotations

from events.catalogue.base import DataSchema
from events.catalogue.registry import GENDERS, WORK_ROLES
from events.fields import Count, Currency, Date, Flag, Identifier, Money, OneOf, Period, Text

AGE_BANDS = ("under_18", "18_24", "25_34", "35_44", "45_54", "55_plus")
TRAINING_KINDS = ("literacy", "business", "dialogue", "safety", "other")


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
    members_female = Count(required=True)
    members_male = Count(required=True)
    committee_female = Count(required=True)
    committee_male = Count(required=True)


class VslaReported(DataSchema):
    """A savings group's report for one month."""

    stream_field = "group_id"
    group_id = Identifier(required=True)
    period = Period(required=True)
    savings = Money(required=True)
    loans = Money(required=True)
    currency = Currency(required=True)
    solidarity_assists = Count(required=True)


class TrainingHeld(DataSchema):
    """A training session and its attendance by gender."""

    stream_field = "site_id"
    site_id = Identifier(required=True)
    kind = OneOf(TRAINING_KINDS, required=True)
    attendees_female = Count(required=True)
    attendees_male = Count(required=True)


class LeadershipRecorded(DataSchema):
    """A (pseudonymous) person holding a position of leadership."""

    stream_field = "person_id"
    person_id = Identifier(required=True)
    gender = OneOf(GENDERS, required=True)
    position = Text(required=True, max_length=200)
    organisation_id = Identifier(required=True)


class MarketPriceRecorded(DataSchema):
    """A reference price of fine gold on a day (e.g. the LBMA fix), entered by an admin."""

    stream_field = "date"
    date = Date(required=True)
    price_per_g_fine = Money(required=True)
    currency = Currency(required=True)


SCHEMAS = {
    "survey.completed": SurveyCompleted,
    "vsla.registered": VslaRegistered,
    "vsla.reported": VslaReported,
    "training.held": TrainingHeld,
    "leadership.recorded": LeadershipRecorded,
    "market.price_recorded": MarketPriceRecorded,
}
