"""What the impact dashboard shows: charts and headline figures from suppressed indicator tables.

The page is public, so it is always built from what a non-admin key would see: suppressed cells
are gaps in the charts and "suppressed" in the figures, never numbers. Its words are the
``dashboard`` gettext domain (``api.i18n``), in English and French.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping
from urllib.parse import urlencode

from api.charts import Series, bar_chart, line_chart
from api.i18n import DOMAINS, LANGUAGE_NAMES, Translator, negotiate
from consumers.impact.views import ImpactView, TableRequest
from events.catalogue.vocabulary import TRAINING_KINDS, WORK_ROLES

WOMEN, MEN, ALL_PEOPLE = "female", "male", "all"


def language_context(query_lang: str | None, accept_language: Any, args: Mapping[str, str]) -> dict[str, Any]:
    """The page's language (``?lang=``, else ``Accept-Language``), its words and the language switch."""
    offered = DOMAINS["dashboard"]
    lang = negotiate(query_lang, None, accept_language, offered)

    def switch_query(code: str) -> str:
        return urlencode({**{key: value for key, value in args.items() if key != "lang"}, "lang": code})

    return {"lang": lang, "t": Translator(lang, "dashboard"), "switch_query": switch_query,
            "languages": [(code, LANGUAGE_NAMES[code]) for code in offered]}


class _Cells:
    """Rendered cells, looked up by indicator, period, gender and category."""

    def __init__(self, cells: list[dict[str, Any]], t: Translator):
        self.t = t
        self.index = {(c["indicator"], c["period"], c.get("gender", "all"), c.get("category")): c for c in cells}

    def value(self, indicator: str, period: str, gender: str = "all", category: str | None = None) -> float | None:
        cell = self.index.get((indicator, period, gender, category))
        if cell is None or cell.get("suppressed") or cell.get("value") is None:
            return None
        return float(cell["value"])

    def shown(self, indicator: str, period: str, gender: str = "all", category: str | None = None) -> str:
        cell = self.index.get((indicator, period, gender, category))
        if cell is None or cell.get("value") is None and not cell.get("suppressed"):
            return self.t("value.no_data")
        return self.t("value.suppressed") if cell.get("suppressed") else str(cell["value"])


def _chart(chart_id: str, title: str, caption: str, kind: str, labels: list[str], series: list[Series],
           **options: Any) -> dict[str, Any]:
    draw = line_chart if kind == "line" else bar_chart
    return {"id": chart_id, "title": title, "caption": caption, "svg": draw(title, labels, series, **options),
            "legend": [(row.name, row.css_class) for row in series]}


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _percent(value: float) -> str:
    return f"{value * 100:.0f} %"


def dashboard_context(view: ImpactView, table: TableRequest, lang: str = "en") -> dict[str, Any]:
    """Charts, figures and pickers for the page in ``lang`` (only suppressed, gender-disaggregated cells)."""
    t = Translator(lang, "dashboard")
    table = replace(table, by=("gender",))
    series_cells = view.table(table, reveal=False)["cells"]
    periods = list(dict.fromkeys(cell["period"] for cell in series_cells))
    over_time = _Cells(series_cells, t)
    whole = replace(table, granularity="range")
    span_table = view.table(whole, reveal=False)
    span = _Cells(span_table["cells"], t)
    label = f"{whole.first}..{whole.last}"
    currency = table.currency

    def over(indicator: str, gender: str = "all") -> list[float | None]:
        return [over_time.value(indicator, period, gender) for period in periods]

    women, men = t("series.women"), t("series.men")
    charts = [
        _chart("price", t("chart.price.title", currency=currency), t("chart.price.caption"), "line", periods, [
             Series(women, over("price_per_g", WOMEN), "women"), Series(men, over("price_per_g", MEN), "men")],
             fmt=_money),
        _chart("gaps", t("chart.gaps.title"), t("chart.gaps.caption"), "line", periods, [
             Series(t("series.price_per_g"), over("gender_gap_price_per_g"), "women"),
             Series(t("series.income_per_seller"), over("gender_gap_income"), "men")], fmt=_percent),
        _chart("savings", t("chart.savings.title", currency=currency), t("chart.savings.caption"), "line", periods, [
             Series(t("series.all_members"), over("vsla_savings_per_member_month"), "all")], fmt=_money),
        _chart("women-shares", t("chart.women.title"), t("chart.women.caption"), "line", periods, [
             Series(t("series.miners"), over("women_share_of_miners"), "men"),
             Series(t("series.leadership"), over("leadership_women_share"), "women"),
             Series(t("series.women_led"), over("production_share_women_led_teams"), "all")],
             fmt=_percent, top=1.0),
        _chart("roles", t("chart.roles.title"), t("chart.roles.caption"), "bar",
               [t(f"role.{role}") for role in WORK_ROLES], [
             Series(women, [span.value("miners_registered", label, WOMEN, role) for role in WORK_ROLES], "women"),
             Series(men, [span.value("miners_registered", label, MEN, role) for role in WORK_ROLES], "men")]),
        _chart("trainings", t("chart.trainings.title"), t("chart.trainings.caption"), "bar",
               [t(f"training.{kind}") for kind in TRAINING_KINDS], [
             Series(women, [span.value("training_attendance", label, WOMEN, kind) for kind in TRAINING_KINDS], "women"),
             Series(men, [span.value("training_attendance", label, MEN, kind) for kind in TRAINING_KINDS], "men")]),
        _chart("surveys", t("chart.surveys.title", currency=currency), t("chart.surveys.caption"), "bar",
               [t("category.income"), t("category.savings")], [
             Series(women, [span.value("survey_income_median", label, WOMEN),
                            span.value("survey_savings_median", label, WOMEN)], "women"),
             Series(men, [span.value("survey_income_median", label, MEN),
                          span.value("survey_savings_median", label, MEN)], "men")], fmt=_money),
        _chart("groups", t("chart.groups.title"), t("chart.groups.caption"), "bar",
               [t("category.members"), t("category.committee_seats")], [
             Series(women, [span.value("vsla_members", label, WOMEN), span.value("vsla_committee_seats", label, WOMEN)],
                    "women"),
             Series(men, [span.value("vsla_members", label, MEN), span.value("vsla_committee_seats", label, MEN)],
                    "men")]),
    ]
    figures = [
        (t("figure.miners"), t("figure.miners.value", women=span.shown("miners_registered", label, WOMEN),
                                men=span.shown("miners_registered", label, MEN))),
        (t("figure.price_gap"), _shown_percent(span, "gender_gap_price_per_g", label)),
        (t("figure.income_gap"), _shown_percent(span, "gender_gap_income", label)),
        (t("figure.control"), t("figure.control.value",
                                women=_shown_percent(span, "controls_own_income_share", label, WOMEN),
                                men=_shown_percent(span, "controls_own_income_share", label, MEN))),
        (t("figure.savings"), t("figure.money.value", value=span.shown("vsla_savings_per_member_month", label),
                                currency=currency)),
        (t("figure.female_committees"), _shown_percent(span, "vsla_female_dominated_committees_share", label)),
        (t("figure.solidarity"), t("figure.members.value", value=span.shown("vsla_solidarity_assists", label))),
        (t("figure.leadership"), _shown_percent(span, "leadership_women_share", label)),
    ]
    return {"charts": charts, "figures": figures, "table": table, "periods": periods,
            "scopes": view.scopes(), "sites_in_scope": span_table["scope"]["sites"]}


def _shown_percent(cells: _Cells, indicator: str, period: str, gender: str = "all") -> str:
    value = cells.value(indicator, period, gender)
    return _percent(value) if value is not None else cells.shown(indicator, period, gender)
