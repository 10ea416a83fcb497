"""The ``impact`` section of a product's provenance: its origin sites' indicators, weighted by origin.

For each mine site the piece's gold came from, the indicators over the months its gold was
produced (the first to the last production month of its ancestry), as one period. The weighted
figures average the sites' values by their share of the piece's fine gold; a site whose value is
suppressed or missing is left out and the other weights renormalised (``coverage`` says how much of
the traced gold the figure stands for), so a hidden value can never be recovered from the average.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from consumers.impact.arithmetic import decimal, weighted_average
from consumers.impact.catalogue import INDICATORS
from consumers.impact.cells import ALL, render
from consumers.impact.views import ImpactView, Scope, TableRequest
from services.auth import Principal

#: the indicators the section shows, and the groups of each
SUMMARY: dict[str, tuple[str, ...]] = {
    "miners_registered": ("female", "male", ALL),
    "women_share_of_miners": (ALL,),
    "production_share_women_led_teams": (ALL,),
    "price_per_g": ("female", "male", ALL),
    "gender_gap_price_per_g": (ALL,),
    "income_per_seller": ("female", "male"),
    "gender_gap_income": (ALL,),
    "survey_income_median": ("female", "male"),
    "controls_own_income_share": ("female", "male"),
    "vsla_members": ("female", "male", ALL),
    "vsla_female_dominated_committees_share": (ALL,),
    "vsla_savings_per_member_month": (ALL,),
    "training_attendance": ("female", "male"),
    "leadership_women_share": (ALL,),
}
#: counts are shown per site but not averaged
NOT_WEIGHTED = frozenset({"miners_registered", "vsla_members", "training_attendance"})


def production_months(provenance: dict[str, Any]) -> tuple[str, str] | None:
    """The first and last month in which the piece's traced gold was produced."""
    months = sorted(node["created_at"][:7] for node in provenance.get("lineage", {}).get("nodes", [])
                    if node.get("site_id") and node.get("created_at"))
    return (months[0], months[-1]) if months else None


def impact_section(view: ImpactView, provenance: dict[str, Any], reveal: bool, currency: str = "USD") -> dict[str, Any]:
    """The ``impact`` section for a product's provenance answer."""
    origin = [entry for entry in provenance.get("origin", []) if entry.get("site_id")]
    months = production_months(provenance)
    section: dict[str, Any] = {
        "period": None, "currency": currency,
        "method": "Indicators of each origin site over the months its gold was produced; weighted figures "
                  "average the sites by their share of the piece's fine gold, leaving out suppressed values.",
        "traced_share": round(sum(entry["share"] for entry in origin), 6),
        "sites": [], "weighted": {},
    }
    if not origin or months is None:
        return {"impact": section}
    first, last = months
    section["period"] = {"from": first, "to": last}
    per_site: list[tuple[Decimal, dict[str, dict[str, Any]]]] = []
    for entry in origin:
        request = TableRequest(Scope(site_id=entry["site_id"]), first, last, "range", ("gender",), currency)
        cells, _ = view.cells(request, reveal)
        wanted = {}
        for cell in cells:
            groups = SUMMARY.get(cell.indicator)
            if groups and cell.gender in groups and cell.category == ALL:
                out = render(cell, reveal, ())
                wanted.setdefault(cell.indicator, {})[cell.gender] = {
                    key: value for key, value in out.items() if key not in ("period", "indicator", "category")}
        section["sites"].append({"site_id": entry["site_id"], "name": entry.get("name"), "share": entry["share"],
                                 "indicators": wanted})
        per_site.append((decimal(float(entry["share"])), wanted))
    traced = sum((weight for weight, _ in per_site), Decimal(0))
    for indicator, groups in SUMMARY.items():
        if indicator in NOT_WEIGHTED:
            continue
        unit = INDICATORS[indicator].unit
        for group in groups:
            pairs = []
            for weight, wanted in per_site:
                cell = wanted.get(indicator, {}).get(group, {})
                value = None if cell.get("suppressed") or cell.get("value") is None else Decimal(str(cell["value"]))
                pairs.append((value, weight))
            average, covered = weighted_average(pairs)
            section["weighted"].setdefault(indicator, {})[group] = {
                "value": None if average is None else (str(average.quantize(Decimal("0.01"))) if unit == "money"
                                                       else float(round(average, 4))),
                "coverage": float(round(covered / traced, 4)) if traced else 0.0,
            }
    return {"impact": section}


class ImpactSection:
    """The ``impact`` section as one of a product's provenance sections (``consumers.provenance.views``)."""

    def __init__(self, view: ImpactView):
        self.view = view

    def __call__(self, product_id: str, provenance: dict[str, Any], principal: Principal) -> dict[str, Any]:
        """The section as ``principal`` may see it: small cells suppressed unless an admin asks."""
        return impact_section(self.view, provenance, principal.is_admin)
