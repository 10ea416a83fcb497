"""The impact indicators: name, unit, whether cells add up, and what each one means."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Indicator:
    """One indicator of the impact tables."""

    name: str
    unit: str  # people, count, grams, money, ratio
    description: str
    #: False for medians and comparisons (gaps, shares of women): no total recovers them
    additive: bool = True


def _catalogue(*indicators: Indicator) -> dict[str, Indicator]:
    return {indicator.name: indicator for indicator in indicators}


INDICATORS = _catalogue(
    Indicator("miners_registered", "people",
              "Miners registered by the end of the period, by work role (category; null: all roles). "
              "Age band from the birth year."),
    Indicator("women_share_of_miners", "ratio",
              "Women among the miners registered by the end of the period.", additive=False),
    Indicator("production_g", "grams",
              "Grams produced in the period; a lot's mass is split equally among the miners named on it."),
    Indicator("production_g_per_miner", "grams", "Grams produced per miner who produced in the period."),
    Indicator("production_share_women_led_teams", "ratio",
              "Share of the grams produced by women-led teams: the miners of a lot, led by a woman "
              "team lead, or (with no team lead among them) with more women than men.", additive=False),
    Indicator("sales_g_per_seller", "grams", "Grams a miner sold (lot.transferred from a miner), per seller."),
    Indicator("income_per_seller", "money",
              "Money received for gold per seller: grams sold times the price per gram, per seller paid."),
    Indicator("price_per_g", "money",
              "Price per gram actually received by miners: money received over grams sold (priced sales)."),
    Indicator("gender_gap_price_per_g", "ratio",
              "(men's price per gram - women's) / men's: 0.1 means women got 10 % less per gram.",
              additive=False),
    Indicator("gender_gap_income", "ratio", "(men's income per seller - women's) / men's.", additive=False),
    Indicator("survey_income_median", "money",
              "Median monthly income stated in household surveys (a respondent's latest survey of the period).",
              additive=False),
    Indicator("gender_gap_survey_income", "ratio", "(men's median survey income - women's) / men's.",
              additive=False),
    Indicator("controls_own_income_share", "ratio", "Share of respondents who control their own income."),
    Indicator("survey_savings_median", "money", "Median savings stated by the respondents who answered.",
              additive=False),
    Indicator("vsla_members", "people", "Members of savings groups (VSLA) at the end of the period."),
    Indicator("vsla_committee_seats", "people", "Seats on savings groups' management committees."),
    Indicator("vsla_female_dominated_committees_share", "ratio",
              "Share of mixed savings groups whose committee has more women than men.", additive=False),
    Indicator("vsla_savings", "money", "Savings reported by the groups for the months of the period."),
    Indicator("vsla_loans", "money", "Loans reported by the groups for the months of the period."),
    Indicator("vsla_savings_per_member_month", "money",
              "Savings per member per month: the savings reported over the member-months of the reports."),
    Indicator("vsla_solidarity_assists", "count", "Members assisted by the groups' solidarity funds."),
    Indicator("training_attendance", "people",
              "Attendance at trainings held in the period, by kind (category; null: all kinds)."),
    Indicator("leadership_positions", "people",
              "Leadership positions held by the end of the period (people recorded in a position)."),
    Indicator("leadership_women_share", "ratio", "Women's share of the leadership positions.", additive=False),
)
