"""Payouts told as a story: a policy decides the share, a sale owes it for ever, the cooperative pays
its miners by mobile money, and the ledger says what is owed, paid and outstanding, to the cent."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.conftest import bearer
from tests.impact_story import community
from tests.payout_story import (  # noqa: F401 - fixtures
    database, deployment, deployment_kind, payment, policy, second_ring)

LEDGER = "/v1/payouts?cooperative_id=coop-mambasa"


def post(client, key, events):
    response = client.post("/v1/events", json={"events": events}, headers=bearer(key))
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def admin_key(deployment):
    return deployment.keys.create("oretrail-admin", "admin")


@pytest.fixture
def decided(deployment, admin_key):
    """A 2 % policy for all, decided before the ring was sold; then the community's story."""
    client = deployment.create_app().test_client()
    post(client, admin_key, [policy("share-2026", "0.02")])
    post(client, admin_key, community())
    deployment.catch_up()
    return client


def ledger(client, key, query=""):
    response = client.get(LEDGER + query, headers=bearer(key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def miner(body, miner_id, currency="EUR"):
    [entry] = [row for row in body["by_miner"] if row["miner_id"] == miner_id and row["currency"] == currency]
    return entry


def test_a_sale_owes_the_share_of_the_policy_in_force_on_its_day(decided, admin_key):
    body = ledger(decided, admin_key)
    [sale] = body["sales"]
    assert (sale["payout"], sale["policy_id"], sale["share"]) == ("30.00", "share-2026", "0.02")
    assert {row["amount_due"] for row in body["by_miner"]} == {"2.50"}
    assert body["payout_share"] == "0.01"  # the setting: only a default
    assert [p["policy_id"] for p in body["policies"]] == ["share-2026"]
    assert body["policies"][0]["evidence"][0]["kind"] == "minutes"


def test_a_later_policy_never_changes_a_past_obligation(decided, admin_key, deployment):
    # back-dated to before the sale, recorded after it: the sale keeps the policy it was made under
    post(decided, admin_key, [policy("share-raised", "0.05", effective_from="2026-01-01"),
                              policy("mambasa-own", "0.03", applies_to="coop-mambasa", effective_from="2026-05-01")])
    post(decided, admin_key, second_ring("1000.00"))
    deployment.catch_up()
    body = ledger(decided, admin_key)
    sales = {sale["product_id"]: sale for sale in body["sales"]}
    assert (sales["ring-1"]["payout"], sales["ring-1"]["policy_id"]) == ("30.00", "share-2026")
    # the cooperative's own policy is more specific than the one for all
    assert (sales["ring-2"]["payout"], sales["ring-2"]["policy_id"], sales["ring-2"]["share"]) == \
        ("30.00", "mambasa-own", "0.03")
    assert body["totals"][0]["amount_due"] == "60.00"
    assert miner(body, "w-0")["by_period"] == {"2026-04": "2.50", "2026-05": "2.50"}


def test_payments_are_counted_and_the_outstanding_is_exact(decided, admin_key, deployment):
    coop = deployment.keys.create("coop-mambasa", "cooperative")
    post(decided, coop, [payment("p-1", "w-0", "1.00"), payment("p-2", "w-0", "0.50", channel="cash"),
                         payment("p-3", "m-0", "2.50")])
    deployment.catch_up()
    body = ledger(decided, coop)
    w0 = miner(body, "w-0")
    assert (w0["amount_due"], w0["amount_paid"], w0["outstanding"], w0["payments"]) == ("2.50", "1.50", "1.00", 2)
    assert miner(body, "m-0")["outstanding"] == "0.00"
    assert body["totals"] == [{"currency": "EUR", "amount_due": "30.00", "amount_paid": "4.00", "outstanding": "26.00"}]
    assert {p["payment_id"]: p["channel"] for p in body["payments"]} == {"p-1": "mobile_money", "p-2": "cash",
                                                                        "p-3": "mobile_money"}
    assert sum(Decimal(row["outstanding"]) for row in body["by_miner"]) == Decimal("26.00")


def test_only_the_miners_cooperative_pays_and_another_may_not(decided, admin_key, deployment):
    exporter = deployment.keys.create("exporter-x", "exporter")
    refused = decided.post("/v1/events", json={"events": [payment("x-1", "w-1", "9.00", recorded_by="exporter-x")]},
                           headers=bearer(exporter))
    assert refused.status_code == 403 and "payouts.payments" in str(refused.get_json())
    post(decided, admin_key, [payment("o-1", "w-1", "9.00", recorded_by="coop-other")])
    deployment.catch_up()
    assert miner(ledger(decided, admin_key), "w-1")["amount_paid"] == "0.00"
    found = decided.get("/v1/findings?kind=payout_unauthorised", headers=bearer(admin_key)).get_json()
    assert [(item["subject_id"], item["detail"]["recorded_by"]) for item in found["findings"]] == [("w-1", "coop-other")]


def test_paying_more_than_is_owed_raises_payout_overpaid(decided, admin_key, deployment):
    post(decided, admin_key, [payment("p-9", "m-1", "4.00")])
    deployment.catch_up()
    found = decided.get("/v1/findings?kind=payout_overpaid", headers=bearer(admin_key)).get_json()
    [finding] = found["findings"]
    assert finding["subject_id"] == "m-1" and finding["status"] == "open"
    assert finding["detail"] == {"currency": "EUR", "amount_due": "2.50", "amount_paid": "4.00", "excess": "1.50"}
    assert miner(ledger(decided, admin_key), "m-1")["outstanding"] == "-1.50"
    everything = decided.get("/v1/findings?limit=1000", headers=bearer(admin_key)).get_json()
    assert finding["finding_id"] in {item["finding_id"] for item in everything["findings"]}
    assert everything["total"] == len(everything["findings"])


def overdue(deployment, admin_key, today):
    views = deployment.views()
    views.payout_findings.today = lambda: today
    client = deployment.create_app(views).test_client()
    return client.get("/v1/findings?kind=payout_overdue", headers=bearer(admin_key)).get_json()["findings"]


def test_obligations_unpaid_after_ninety_days_raise_payout_overdue_on_the_cooperative(decided, admin_key, deployment):
    post(decided, admin_key, [payment(f"p-{miner_id}", miner_id, "2.50") for miner_id in ("w-0", "w-1", "w-2")])
    deployment.catch_up()
    assert overdue(deployment, admin_key, date(2026, 6, 30)) == []  # 89 days after the sale of 2 April
    [finding] = overdue(deployment, admin_key, date(2026, 7, 2))
    assert finding["subject_id"] == "coop-mambasa" and finding["severity"] == "high"
    assert (finding["detail"]["amount_overdue"], finding["detail"]["miners"]) == ("22.50", 9)
    assert finding["detail"]["oldest_sale"] == "2026-04-02"
    post(decided, admin_key, [payment(f"q-{row}", row, "2.50") for row in
                              [f"w-{n}" for n in range(3, 6)] + [f"m-{n}" for n in range(6)]])
    deployment.catch_up()
    assert overdue(deployment, admin_key, date(2026, 7, 2)) == []
