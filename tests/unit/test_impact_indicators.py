"""Indicators from facts, on small stories computed by hand (no database)."""
from __future__ import annotations

from decimal import Decimal as D

from consumers.impact.facts import (
    Facts, Leadership, Miner, MinerSale, Periods, ProductionShare, Survey, Team, Training, VslaRegistration,
    VslaReport,
)
from consumers.impact.indicators import compute, women_led


def cells_of(facts: Facts, first="2026-01", last="2026-02", granularity="month", by=("gender",)):
    return {(c.period, c.indicator, c.category, c.gender, c.age_band): c for c in compute(
        facts, Periods.between(first, last, granularity), by)}


def cell(cells, period, indicator, gender="all", category="all", band="all"):
    return cells[(period, indicator, category, gender, band)]


def miner(miner_id, gender, role="digger", born=1990, month="2025-12"):
    return Miner(miner_id, gender, born, role, month)


def test_periods_by_month_year_and_range():
    assert Periods.between("2025-11", "2026-02").labels == ("2025-11", "2025-12", "2026-01", "2026-02")
    years = Periods.between("2025-11", "2026-02", "year")
    assert years.labels == ("2025", "2026") and years.end_month == {"2025": "2025-12", "2026": "2026-02"}
    assert Periods.between("2025-11", "2026-02", "range").labels == ("2025-11..2026-02",)


def test_miners_registered_by_the_end_of_each_period_by_role_gender_and_age():
    facts = Facts(miners={
        "w1": miner("w1", "female", "processor", 2000), "w2": miner("w2", "female", "processor", 1980),
        "m1": miner("m1", "male", month="2026-02"), "u1": miner("u1", "undisclosed"),
    })
    cells = cells_of(facts, by=("gender", "age_band"))
    assert cell(cells, "2026-01", "miners_registered").value == 3  # m1 joins in February
    assert cell(cells, "2026-02", "miners_registered").value == 4
    assert cell(cells, "2026-02", "miners_registered", "female", "processor").value == 2
    assert cell(cells, "2026-02", "miners_registered", "female", band="25_34").value == 1  # born 2000, 26 in 2026
    assert cell(cells, "2026-02", "miners_registered", "female", band="45_54").value == 1
    assert cell(cells, "2026-02", "miners_registered", "other").value == 0  # full breakdown, even empty cells
    assert cell(cells, "2026-02", "women_share_of_miners").value == D("0.5")


def test_price_per_gram_is_money_over_grams_and_the_gap_compares_women_with_men():
    facts = Facts(miners={m: miner(m, g) for m, g in (("w1", "female"), ("w2", "female"), ("m1", "male"))})
    facts.sales = [
        MinerSale("w1", "2026-01", 10.0, D("80.00")),  # 800
        MinerSale("w2", "2026-01", 30.0, D("60.00")),  # 1800 -> women: 2600 / 40 g = 65.00
        MinerSale("m1", "2026-01", 20.0, D("100.00")),  # men: 100.00
        MinerSale("m1", "2026-01", 5.0, None),  # sold, not paid: grams count, price does not
    ]
    cells = cells_of(facts)
    assert cell(cells, "2026-01", "price_per_g", "female").value == D("65")
    assert cell(cells, "2026-01", "price_per_g", "male").value == D("100")
    assert cell(cells, "2026-01", "gender_gap_price_per_g").value == D("0.35")  # (100 - 65) / 100
    assert cell(cells, "2026-01", "income_per_seller", "female").value == D("1300")  # 2600 over 2 sellers
    assert cell(cells, "2026-01", "gender_gap_income").value == D("0.35")  # (2000 - 1300) / 2000
    assert cell(cells, "2026-01", "gender_gap_income").n == 1  # computed from the smaller group
    assert cell(cells, "2026-01", "sales_g_per_seller", "male").value == D("25")


def test_production_is_split_equally_among_a_lots_miners_and_women_led_teams_are_counted():
    facts = Facts(miners={"w1": miner("w1", "female", "team_lead"), "m1": miner("m1", "male"),
                          "m2": miner("m2", "male"), "w2": miner("w2", "female")})
    # lot-1: 12 g by w1 (team lead) and m1; lot-2: 8 g by m1 and m2; lot-3: 8 g by w2 alone
    facts.productions = [ProductionShare("w1", "2026-01", 6.0), ProductionShare("m1", "2026-01", 10.0),
                         ProductionShare("m2", "2026-01", 4.0), ProductionShare("w2", "2026-01", 8.0)]
    facts.teams = [Team("2026-01", 12.0, members=2, women=1, leads=1, women_leads=1),
                   Team("2026-01", 8.0, members=2, women=0),
                   Team("2026-01", 8.0, members=1, women=1)]  # a woman alone: most of the team are women
    cells = cells_of(facts)
    assert cell(cells, "2026-01", "production_g", "male").value == 14.0
    assert cell(cells, "2026-01", "production_g_per_miner", "male").value == 7.0
    assert cell(cells, "2026-01", "production_share_women_led_teams").value == D("20") / D("28")
    assert cell(cells, "2026-01", "production_share_women_led_teams").n == 4
    assert women_led(Team("2026-01", 5.0, members=2, women=1)) is False  # no lead, no majority
    assert women_led(Team("2026-01", 5.0, members=3, women=2, leads=1)) is False  # a man leads


def test_survey_medians_use_each_respondents_latest_survey_of_the_period():
    def survey(respondent, month, key, gender, income, controls=True, savings=None):
        return Survey(respondent, month, key, gender, "25_34", D(income), controls, None if savings is None else D(savings))
    facts = Facts(surveys=[
        survey("r1", "2026-01", "a", "female", "30"), survey("r1", "2026-02", "b", "female", "50", savings="12"),
        survey("r2", "2026-01", "c", "female", "40", controls=False), survey("r3", "2026-02", "d", "female", "70"),
        survey("r4", "2026-01", "e", "male", "90", savings="20"), survey("r5", "2026-02", "f", "male", "110"),
    ])
    year = cells_of(facts, "2026-01", "2026-02", "year")
    # women's latest answers in 2026: r1 50, r2 40, r3 70 -> median 50; men 90 and 110 -> 100
    assert cell(year, "2026", "survey_income_median", "female").value == D("50")
    assert cell(year, "2026", "survey_income_median", "male").value == D("100")
    assert cell(year, "2026", "gender_gap_survey_income").value == D("0.5")
    assert cell(year, "2026", "controls_own_income_share", "female").value == D(2) / D(3)
    assert cell(year, "2026", "survey_savings_median").value == D("16")  # 12 and 20
    months = cells_of(facts)
    assert cell(months, "2026-01", "survey_income_median", "female").value == D("35")  # r1 30, r2 40


def test_savings_per_member_per_month_is_savings_over_member_months():
    facts = Facts(vsla_registrations=[
        VslaRegistration("g-a", "2026-01", "1", 15, 5, 3, 2),
        VslaRegistration("g-b", "2026-01", "2", 10, 0, 4, 0),
        VslaRegistration("g-c", "2026-01", "3", 4, 8, 1, 4),
    ], vsla_reports=[
        VslaReport("g-a", "2026-01", "4", D("86.00"), D("0"), 1),
        VslaReport("g-a", "2026-02", "5", D("90.00"), D("40.00"), 0),
        VslaReport("g-b", "2026-02", "6", D("40.00"), D("10.00"), 2),
        VslaReport("g-b", "2026-02", "7", D("43.00"), D("10.00"), 2),  # a correction: the later report counts
    ])
    cells = cells_of(facts, "2026-01", "2026-02", "range")
    label = "2026-01..2026-02"
    # (86 + 90 + 43) / (20 + 20 + 10) member-months
    assert cell(cells, label, "vsla_savings_per_member_month").value == D("4.38")
    assert cell(cells, label, "vsla_savings").value == D("219.00")
    assert cell(cells, label, "vsla_solidarity_assists").value == 3
    assert cell(cells, label, "vsla_members", "female").value == 29
    assert cell(cells, label, "vsla_committee_seats", "male").value == 6
    # mixed groups: g-a (committee 3 women, 2 men) and g-c (1, 4): one of two is female-dominated
    assert cell(cells, label, "vsla_female_dominated_committees_share").value == D("0.5")


def test_trainings_and_leadership_by_gender():
    facts = Facts(trainings=[Training("2026-01", "literacy", 14, 3), Training("2026-02", "safety", 4, 12)])
    facts.leadership = [
        Leadership("p1", "male", "board member", "coop", "2026-01", "1"),
        Leadership("p2", "female", "board member", "coop", "2026-02", "2"),
        Leadership("p2", "female", "peace hub mediator", "hub", "2026-02", "3"),  # one woman, two positions
    ]
    cells = cells_of(facts)
    assert cell(cells, "2026-01", "training_attendance", "female", "literacy").value == 14
    assert cell(cells, "2026-02", "training_attendance", "male").value == 12
    assert cell(cells, "2026-01", "leadership_positions").value == 1
    assert cell(cells, "2026-02", "leadership_positions", "female").value == 2
    assert cell(cells, "2026-02", "leadership_positions", "female").n == 1  # one person
    assert cell(cells, "2026-02", "leadership_women_share").value == D(2) / D(3)
