"""What the impact dashboard shows: charts and headline figures from suppressed indicator tables.

The page is public, so it is always built from what a non-admin key would see: suppressed cells
are gaps in the charts and "suppressed" in the figures, never numbers.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from api.charts import Series, bar_chart, line_chart
from consumers.impact.views import ImpactView, TableRequest
from events.catalogue.vocabulary import TRAINING_KINDS, WORK_ROLES

WOMEN, MEN, ALL_PEOPLE = "female", "male", "all"


class _Cells:
    """Rendered cells, looked up by indicator, period, gender and category."""

    def __init__(self, cells: list[dict[str, Any]]):
        self.index = {(c["indicator"], c["period"], c.get("gender", "all"), c.get("category")): c for c in cells}

    def value(self, indicator: str, period: str, gender: str = "all", category: str | None = None) -> float | None:
        cell = self.index.get((indicator, period, gender, category))
        if cell is None or cell.get("suppressed") or cell.get("value") is None:
            return None
        return float(cell["value"])

    def shown(self, indicator: str, period: str, gender: str = "all", category: str | None = None) -> str:
        cell = self.index.get((indicator, period, gender, category))
        if cell is None or cell.get("value") is None and not cell.get("suppressed"):
            return "no data"
        return "suppressed" if cell.get("suppressed") else str(cell["value"])


def _chart(chart_id: str, title: str, caption: str, kind: str, labels: list[str], series: list[Series],
           **options: Any) -> dict[str, Any]:
    draw = line_chart if kind == "line" else bar_chart
    return {"id": chart_id, "title": title, "caption": caption, "svg": draw(title, labels, series, **options),
            "legend": [(row.name, row.css_class) for row in series]}


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _percent(value: float) -> str:
    return f"{value * 100:.0f} %"


def dashboard_context(view: ImpactView, table: TableRequest) -> dict[str, Any]:
    """Charts, figures and pickers for the page (only suppressed, gender-disaggregated cells)."""
    table = replace(table, by=("gender",))
    series_cells = view.table(table, reveal=False)["cells"]
    periods = list(dict.fromkeys(cell["period"] for cell in series_cells))
    over_time = _Cells(series_cells)
    whole = replace(table, granularity="range")
    span_table = view.table(whole, reveal=False)
    span = _Cells(span_table["cells"])
    label = f"{whole.first}..{whole.last}"
    currency = table.currency

    def over(indicator: str, gender: str = "all") -> list[float | None]:
        return [over_time.value(indicator, period, gender) for period in periods]

    charts = [
        _chart("price", f"Price per gram received by miners ({currency})",
               "Money received over grams sold to the first buyer, women and men.", "line", periods, [
             Series("Women", over("price_per_g", WOMEN), "women"), Series("Men", over("price_per_g", MEN), "men")],
             fmt=_money),
        _chart("gaps", "Gender gaps: how much less women get than men",
               "(men - women) / men, in price per gram and in income per seller; 0 is parity.", "line", periods, [
             Series("Price per gram", over("gender_gap_price_per_g"), "women"),
             Series("Income per seller", over("gender_gap_income"), "men")], fmt=_percent),
        _chart("savings", f"Savings per member per month ({currency})",
               "Savings reported by the village savings and loan associations over their member-months.", "line", periods, [
             Series("All members", over("vsla_savings_per_member_month"), "all")], fmt=_money),
        _chart("women-shares", "Women's place: share of miners, of leadership, of production",
               "Women among registered miners and among leaders; production from women-led teams.", "line", periods, [
             Series("Miners", over("women_share_of_miners"), "men"),
             Series("Leadership positions", over("leadership_women_share"), "women"),
             Series("Production, women-led teams", over("production_share_women_led_teams"), "all")],
             fmt=_percent, top=1.0),
        _chart("roles", "Who does which work (miners registered at the end)",
               "Registered miners by work role.", "bar", [role.replace("_", " ") for role in WORK_ROLES], [
             Series("Women", [span.value("miners_registered", label, WOMEN, role) for role in WORK_ROLES], "women"),
             Series("Men", [span.value("miners_registered", label, MEN, role) for role in WORK_ROLES], "men")]),
        _chart("trainings", "Training attendance by kind",
               "Attendance over the whole period.", "bar", list(TRAINING_KINDS), [
             Series("Women", [span.value("training_attendance", label, WOMEN, kind) for kind in TRAINING_KINDS], "women"),
             Series("Men", [span.value("training_attendance", label, MEN, kind) for kind in TRAINING_KINDS], "men")]),
        _chart("surveys", f"Household surveys: median monthly income and savings ({currency})",
               "Each respondent's latest survey in the period.", "bar", ["income", "savings"], [
             Series("Women", [span.value("survey_income_median", label, WOMEN),
                              span.value("survey_savings_median", label, WOMEN)], "women"),
             Series("Men", [span.value("survey_income_median", label, MEN),
                            span.value("survey_savings_median", label, MEN)], "men")], fmt=_money),
        _chart("groups", "Savings groups: members and committee seats",
               "At the end of the period.", "bar", ["members", "committee seats"], [
             Series("Women", [span.value("vsla_members", label, WOMEN), span.value("vsla_committee_seats", label, WOMEN)],
                    "women"),
             Series("Men", [span.value("vsla_members", label, MEN), span.value("vsla_committee_seats", label, MEN)],
                    "men")]),
    ]
    figures = [
        ("Miners registered", f"{span.shown('miners_registered', label, WOMEN)} women, "
                              f"{span.shown('miners_registered', label, MEN)} men"),
        ("Price gap per gram", _shown_percent(span, "gender_gap_price_per_g", label)),
        ("Income gap per seller", _shown_percent(span, "gender_gap_income", label)),
        ("Control their own income", f"women {_shown_percent(span, 'controls_own_income_share', label, WOMEN)}, "
                                     f"men {_shown_percent(span, 'controls_own_income_share', label, MEN)}"),
        ("Savings per member per month", f"{span.shown('vsla_savings_per_member_month', label)} {currency}"),
        ("Mixed groups with a female-dominated committee",
         _shown_percent(span, "vsla_female_dominated_committees_share", label)),
        ("Solidarity-fund assistance", f"{span.shown('vsla_solidarity_assists', label)} members"),
        ("Women in leadership", _shown_percent(span, "leadership_women_share", label)),
    ]
    return {"charts": charts, "figures": figures, "table": table, "periods": periods,
            "scopes": view.scopes(), "sites_in_scope": span_table["scope"]["sites"]}


def _shown_percent(cells: _Cells, indicator: str, period: str, gender: str = "all") -> str:
    value = cells.value(indicator, period, gender)
    return _percent(value) if value is not None else cells.shown(indicator, period, gender)
