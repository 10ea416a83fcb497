"""Payout entitlements through the lineage, and the SVG charts, without a database."""
from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

from api.charts import Series, bar_chart, line_chart, nice_ceiling
from consumers.impact.payouts import UNTRACED, allocate, entitlements
from consumers.provenance.lineage import EdgeFacts, NodeFacts, compute_lineage


def test_a_piece_owes_each_lot_its_fine_gold_share_split_equally_among_the_lots_miners():
    # lot-a: 100 g at 0.9 (90 fine), lot-b: 75 g at 0.8 (60 fine), 50 g of recycled gold at 0.6 (30 fine)
    nodes = {
        "lot-a": NodeFacts("lot-a", mass_g=100, stated_fineness=0.9, site_id="lot-a", is_production=True),
        "lot-b": NodeFacts("lot-b", mass_g=75, stated_fineness=0.8, site_id="lot-b", is_production=True),
        "scrap": NodeFacts("scrap", mass_g=50, stated_fineness=0.6),
        "ring": NodeFacts("ring", kind="product", mass_g=225, stated_fineness=0.8),
    }
    edges = [EdgeFacts("lot-a", "ring", 100), EdgeFacts("lot-b", "ring", 75), EdgeFacts("scrap", "ring", 50)]
    composition = compute_lineage(nodes, edges).composition["ring"]
    shares = entitlements(composition, {"lot-a": ["w1", "m1"], "lot-b": ["w2"]}, fine_g=180.0)
    weights = {recipient: entry.weight for recipient, entry in shares.items()}
    expected = {"w1": 0.25, "m1": 0.25, "w2": 1 / 3, UNTRACED: 1 / 6}  # 45, 45, 60 and 30 of 180 fine grams
    assert {k: round(float(v), 9) for k, v in weights.items()} == {k: round(v, 9) for k, v in expected.items()}
    assert shares["w2"].lots == ["lot-b"] and round(shares["w1"].fine_g, 6) == 45.0
    pool, lines = allocate(D("455.00"), D("0.01"), weights)
    assert pool == D("4.55") and sum(lines.values()) == pool
    assert lines == {"m1": D("1.14"), "w1": D("1.14"), "w2": D("1.51"), UNTRACED: D("0.76")}


def test_a_sale_with_nothing_traced_owes_its_whole_payout_to_the_untraced_line():
    assert allocate(D("100.00"), D("0.02"), {}) == (D("2.00"), {UNTRACED: D("2.00")})
    assert allocate(D("100.00"), D("0.02"), {"m1": Fraction(1)}) == (D("2.00"), {"m1": D("2.00")})


def test_nice_ceilings_for_chart_axes():
    assert [nice_ceiling(v) for v in (0, 0.8, 3.1, 7, 42, 101)] == [1.0, 1.0, 5, 10, 50, 200]


def test_a_line_chart_breaks_at_a_suppressed_value_and_labels_every_point():
    svg = line_chart("Price", ["2026-01", "2026-02", "2026-03", "2026-04"],
                     [Series("Women", [60.0, None, 64.0, 66.0], "women"), Series("Men", [70.0, 71.0, 72.0, 73.0], "men")])
    assert svg.startswith("<svg") and 'data-points="7"' in svg
    assert svg.count('class="point women"') == 3 and svg.count('class="line women"') == 1  # one run of two points
    assert 'data-value="64.0"' in svg and "<title>Women, 2026-03: 64</title>" in svg


def test_a_bar_chart_marks_a_suppressed_bar_and_escapes_its_labels():
    svg = bar_chart("Roles <all>", ["digger", "pit owner"], [Series("Women", [12.0, None], "women")])
    assert svg.count('class="bar women"') == 1 and 'class="gap-mark"' in svg
    assert "Roles &lt;all&gt;" in svg and "<all>" not in svg


def test_a_negative_value_extends_the_axis_below_zero_and_stays_inside_the_chart():
    svg = line_chart("Gap", ["a", "b"], [Series("Gap", [0.3, -0.4], "women")])
    ticks = [part.split("<")[0] for part in svg.split('text-anchor="end">')[1:]]
    assert ticks == ["-0.4", "-0.2", "0", "0.2", "0.4"]  # steps of 0.2 through zero
    ys = [float(part.split('"')[0]) for part in svg.split('cy="')[1:]]
    assert all(16 <= y <= 260 - 44 for y in ys)
