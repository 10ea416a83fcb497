"""The impact API told as a story: a small community's indicators, what a buyer may see of them,
a ring's value chain and the payout its sale owes its miners."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from composition.bootstrap import build_platform
from services.settings import Settings, SettingsError
from tests.conftest import bearer
from tests.impact_story import record

SITE_A = "/v1/impact?site_id=site-a&from=2026-01&to=2026-04&period=range"
SPAN = "2026-01..2026-04"


@pytest.fixture
def story(client, admin_key, platform):
    record(client, admin_key, platform)
    return client


def cells(body, indicator, **where):
    found = [c for c in body["cells"] if c["indicator"] == indicator
             and all(c.get(key) == value for key, value in where.items())]
    assert found, (indicator, where)
    return found


def one(body, indicator, gender="all", category=None):
    [cell] = cells(body, indicator, gender=gender, category=category)
    return cell


def assert_no_small_cell(cells_out):
    for cell in cells_out:
        if cell.get("suppressed"):
            assert "value" not in cell and "n" not in cell, cell
        else:
            assert cell["n"] >= 5, cell


def test_a_buyer_sees_the_gender_gap_in_price_and_never_a_cell_of_fewer_than_five(story, buyer_key):
    body = story.get(SITE_A, headers=bearer(buyer_key)).get_json()
    assert body["scope"] == {"site_id": "site-a", "cooperative_id": None, "sites": ["site-a"]}
    assert one(body, "price_per_g", "female")["value"] == "72.00"
    assert one(body, "price_per_g", "male")["value"] == "80.00"
    assert one(body, "gender_gap_price_per_g")["value"] == 0.1  # (80 - 72) / 80
    assert one(body, "income_per_seller", "female") == {
        "period": SPAN, "indicator": "income_per_seller", "category": None, "gender": "female", "value": "720.00", "n": 6}
    assert one(body, "survey_income_median", "female")["value"] == "50.00"
    assert one(body, "survey_income_median", "male")["value"] == "95.00"
    assert one(body, "controls_own_income_share", "female")["value"] == 0.6
    assert one(body, "vsla_savings_per_member_month")["value"] == "4.30"  # 107.50 over 25 member-months
    assert one(body, "leadership_women_share")["value"] == 0.4167
    assert one(body, "training_attendance", "male")["suppressed"] is True  # four men
    assert one(body, "training_attendance", "female")["suppressed"] is True  # else 20 - 16 tells the men's 4
    assert one(body, "training_attendance")["value"] == 20
    assert_no_small_cell(body["cells"])


def test_a_site_of_three_miners_shows_nothing_to_a_buyer_and_everything_to_an_admin(story, buyer_key, admin_key):
    query = "/v1/impact?site_id=site-b&from=2026-01&to=2026-04&period=month&by=gender,age_band"
    buyer = story.get(query, headers=bearer(buyer_key)).get_json()
    assert_no_small_cell(buyer["cells"])
    assert all(cell.get("suppressed") for cell in buyer["cells"] if cell["indicator"] == "price_per_g")
    admin = story.get(query, headers=bearer(admin_key)).get_json()
    cell = [c for c in admin["cells"] if c["indicator"] == "price_per_g" and c["period"] == "2026-02"
            and c["gender"] == "female" and c["age_band"] == "all"][0]
    assert cell == {"period": "2026-02", "indicator": "price_per_g", "category": None, "gender": "female",
                    "age_band": "all", "value": "60.00", "n": 3, "below_threshold": True}


@pytest.mark.parametrize("query", [
    "period=month", "period=year&by=gender,age_band", "cooperative_id=coop-mambasa&period=range&by=age_band",
    "cooperative_id=coop-mambasa&site_id=site-b&by=none",
])
def test_no_table_a_buyer_can_ask_for_has_a_small_cell(story, buyer_key, query):
    body = story.get(f"/v1/impact?from=2026-01&to=2026-04&{query}", headers=bearer(buyer_key)).get_json()
    assert body["cells"]
    assert_no_small_cell(body["cells"])


def test_the_same_cells_come_as_csv_by_parameter_or_by_accept(story, buyer_key):
    by_format = story.get(SITE_A + "&format=csv", headers=bearer(buyer_key))
    by_accept = story.get(SITE_A, headers={**bearer(buyer_key), "Accept": "text/csv"})
    assert by_format.mimetype == by_accept.mimetype == "text/csv"
    assert by_format.data == by_accept.data
    rows = list(csv.DictReader(io.StringIO(by_format.get_data(as_text=True))))
    assert list(rows[0]) == ["period", "indicator", "category", "gender", "age_band", "value", "n", "suppressed"]
    price = [r for r in rows if r["indicator"] == "price_per_g" and r["gender"] == "male"][0]
    assert (price["value"], price["n"], price["suppressed"]) == ("80.00", "6", "false")
    hidden = [r for r in rows if r["suppressed"] == "true"]
    assert hidden and all(r["value"] == "" and r["n"] == "" for r in hidden)
    assert len(rows) == len(story.get(SITE_A, headers=bearer(buyer_key)).get_json()["cells"])


@pytest.mark.parametrize("query, field", [
    ("from=2026-05&to=2026-01", "from"), ("from=2026-13", "from"), ("by=colour", "by"), ("period=week", "period"),
    ("colour=gold", "colour"), ("site_id=bad id", "site_id"), ("currency=XYZ", "currency"),
    ("from=2010-01&to=2026-01", "to"), ("format=xml", "format"),
])
def test_a_bad_query_is_a_422_naming_the_parameter(story, buyer_key, query, field):
    response = story.get(f"/v1/impact?{query}", headers=bearer(buyer_key))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]


def test_the_impact_api_needs_a_key(story):
    assert story.get("/v1/impact").status_code == 401
    assert story.get("/v1/products/ring-1/value-chain").status_code == 401
    assert story.get("/v1/payouts?cooperative_id=coop-mambasa").status_code == 401


def test_a_rings_provenance_carries_the_impact_of_the_sites_its_gold_came_from(story, buyer_key):
    impact = story.get("/v1/products/ring-1/provenance", headers=bearer(buyer_key)).get_json()["impact"]
    assert impact["period"] == {"from": "2026-02", "to": "2026-02"}
    assert impact["traced_share"] == 1.0
    [site] = impact["sites"]
    assert site["site_id"] == "site-a" and site["share"] == 1.0
    assert site["indicators"]["price_per_g"]["female"] == {"value": "72.00", "n": 6}
    assert impact["weighted"]["price_per_g"]["female"] == {"value": "72.00", "coverage": 1.0}
    assert impact["weighted"]["gender_gap_price_per_g"]["all"] == {"value": 0.1, "coverage": 1.0}
    assert_no_small_cell([{**cell, "period": "", "indicator": name}
                          for name, groups in site["indicators"].items() for cell in groups.values()])


def test_the_value_chain_puts_each_step_next_to_the_reference_price(story, buyer_key):
    body = story.get("/v1/products/ring-1/value-chain", headers=bearer(buyer_key)).get_json()
    stages = {(stage["from"], stage["to"]): stage for stage in body["stages"]}
    miners = stages[("miner", "cooperative")]
    # 6 x 10 g at 72 + 6 x 10 g at 80 = 9,120 USD for 108 fine grams
    assert (miners["price_per_g_fine"], miners["reference_per_g_fine"], miners["ratio_to_reference"]) == \
        ("84.44", "100.00", 0.8444)
    assert miners["transfers"] == 12 and miners["sellers"] == 12
    exporter = stages[("cooperative", "exporter")]
    assert (exporter["price_per_g_fine"], exporter["ratio_to_reference"]) == ("100.00", 1.0)
    assert body["final"]["price_per_g_fine"] == "200.00"  # 1,500 EUR for 7.5 fine grams
    share = body["share_to_miners"]
    # 200 EUR is 220 USD at the day's references (110 USD / 100 EUR): 84.444 / 220
    assert share["value"] == 0.3838 and share["with_payout"] == 0.3938
    assert share["converted"]["rate"] == 1.1
    assert "reference price" in body["method"]
    assert story.get("/v1/products/nothing/value-chain", headers=bearer(buyer_key)).status_code == 404


def test_a_sale_owes_its_miners_one_percent_and_the_lines_add_up_to_the_cent(story, admin_key, platform):
    coop_key = platform.keys.create("coop-mambasa", "cooperative")
    ledger = story.get("/v1/payouts?cooperative_id=coop-mambasa", headers=bearer(coop_key)).get_json()
    assert ledger["payout_share"] == "0.01"
    [sale] = ledger["sales"]
    assert (sale["payout"], sale["to_cooperative"], sale["untraced"]) == ("15.00", "15.00", "0.00")
    assert {entry["amount_due"] for entry in ledger["by_miner"]} == {"1.25"}  # 12 equal lots
    assert sum(Decimal(entry["amount_due"]) for entry in ledger["by_miner"]) == Decimal("15.00")
    assert ledger["totals"] == [{"currency": "EUR", "amount_due": "15.00", "amount_paid": "0.00", "outstanding": "15.00"}]
    assert ledger["by_period"] == [{"period": "2026-04", "currency": "EUR", "amount_due": "15.00"}]
    assert {row["gender"]: row["amount_due"] for row in ledger["by_gender"]} == {"female": "7.50", "male": "7.50"}
    assert "largest remainder" in ledger["rounding"] or "largest remainders" in ledger["rounding"]


def test_only_the_cooperative_auditors_and_admins_read_its_ledger(story, buyer_key, platform):
    assert story.get("/v1/payouts?cooperative_id=coop-mambasa", headers=bearer(buyer_key)).status_code == 403
    auditor = platform.keys.create("audit-co", "auditor")
    assert story.get("/v1/payouts?cooperative_id=coop-mambasa", headers=bearer(auditor)).status_code == 200
    response = story.get("/v1/payouts", headers=bearer(auditor))
    assert response.status_code == 422 and "cooperative_id" in response.get_json()["error"]["details"]


def test_the_payout_share_is_a_setting(tmp_path):
    settings = Settings.from_env({"ORETRAIL_DATA_DIR": str(tmp_path), "ORETRAIL_PAYOUT_SHARE": "0.025"})
    platform = build_platform(settings)
    try:
        client = platform.create_app().test_client()
        key = platform.keys.create("oretrail-admin", "admin")
        record(client, key, platform)
        ledger = client.get("/v1/payouts?cooperative_id=coop-mambasa", headers=bearer(key)).get_json()
        assert ledger["sales"][0]["payout"] == "37.50"
    finally:
        platform.close()


@pytest.mark.parametrize("raw", ["1.5", "-0.01", "one percent", "NaN"])
def test_a_payout_share_outside_zero_to_one_is_refused(raw):
    with pytest.raises(SettingsError):
        Settings.from_env({"ORETRAIL_PAYOUT_SHARE": raw})


def test_the_public_dashboard_draws_charts_and_hides_small_groups(story):
    page = story.get("/impact?site_id=site-b&from=2026-01&to=2026-04")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert html.count('<svg class="chart"') == 8
    assert "suppressed women, suppressed men" in html  # three miners at site-b
    assert 'data-value="60.0"' not in html  # their price per gram is nowhere on the page
    bad = story.get("/impact?from=2026-13")
    assert bad.status_code == 422 and "from" in bad.get_data(as_text=True)


def test_a_cached_table_follows_new_events(story, buyer_key, admin_key, platform):
    before = one(story.get(SITE_A, headers=bearer(buyer_key)).get_json(), "vsla_savings")["value"]
    assert before == "107.50"
    report = {"event_id": "9b2f3c1e-6a1d-4f3e-8c55-2d7e1f0a9b31", "type": "vsla.reported",
              "occurred_at": "2026-03-28T09:00:00+01:00", "recorded_by": "coop-mambasa",
              "data": {"group_id": "vsla-1", "period": "2026-03", "savings": "110.00", "loans": "0.00",
                       "currency": "USD", "solidarity_assists": 0}}
    assert story.post("/v1/events", json={"events": [report]}, headers=bearer(admin_key)).status_code == 200
    platform.catch_up()
    after = one(story.get(SITE_A, headers=bearer(buyer_key)).get_json(), "vsla_savings")["value"]
    assert after == "217.50"


def test_a_piece_from_fewer_than_five_miners_hides_what_they_were_paid_from_a_buyer(story, buyer_key, admin_key,
                                                                                       platform):
    from tests import factories as f
    from tests.impact_story import at
    events = [
        f.merge("coop-b", {"lot-b-0": 5.0, "lot-b-1": 5.0}, at=at("2026-02-20")),
        f.hand_over("coop-b", "coop-mambasa", "atelier", 10.0, at=at("2026-02-25")),
        f.manufacture("pendant-b", {"coop-b": 2.0}, mass_g=2.4, fineness=0.75, at=at("2026-03-01")),
        f.event("product.sold", {"product_id": "pendant-b", "price": "400.00", "currency": "USD"},
                recorded_by="atelier", at=at("2026-04-03")),
    ]
    assert story.post("/v1/events", json={"events": events}, headers=bearer(admin_key)).status_code == 200
    platform.catch_up()
    buyer = story.get("/v1/products/pendant-b/value-chain", headers=bearer(buyer_key)).get_json()
    [miners] = [stage for stage in buyer["stages"] if stage["from"] == "miner"]
    assert miners["suppressed"] is True and miners["price_per_g_fine"] is None and miners["sellers"] is None
    assert buyer["share_to_miners"]["value"] is None and "suppressed" in buyer["share_to_miners"]["reason"]
    provenance = story.get("/v1/products/pendant-b/provenance", headers=bearer(buyer_key)).get_json()["impact"]
    assert provenance["sites"][0]["indicators"]["price_per_g"]["female"] == {"suppressed": True}
    admin = story.get("/v1/products/pendant-b/value-chain", headers=bearer(admin_key)).get_json()
    [miners] = [stage for stage in admin["stages"] if stage["from"] == "miner"]
    assert miners["price_per_g_fine"] == "66.67" and miners["sellers"] == 2  # 60.00 a gram at 0.9
