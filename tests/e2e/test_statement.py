"""A miner's statement: the cooperative makes a card's link, the miner opens it with no key, in their
language, and reads about their own gold and money, and nothing about anybody else."""
from __future__ import annotations

import re

import pytest

from tests.conftest import bearer
from tests.impact_story import community
from tests.payout_story import database, deployment, deployment_kind, payment, policy  # noqa: F401 - fixtures

OTHER_MINERS = [f"w-{n}" for n in range(1, 6)] + [f"m-{n}" for n in range(6)] + [f"b-{n}" for n in range(3)]


@pytest.fixture
def admin_key(deployment):
    return deployment.keys.create("oretrail-admin", "admin")


@pytest.fixture
def buyer_key(deployment):
    return deployment.keys.create("atelier", "manufacturer")


@pytest.fixture
def paid(deployment, admin_key):
    """The community's story under a 2 % policy; w-0 paid 1.00 by mobile money, w-1 paid 2.17 in cash."""
    client = deployment.create_app().test_client()
    events = [policy("share-2026", "0.02")] + community()
    assert client.post("/v1/events", json={"events": events}, headers=bearer(admin_key)).status_code == 200
    coop = deployment.keys.create("coop-mambasa", "cooperative")
    payments = [payment("p-1", "w-0", "1.00"), payment("p-2", "w-1", "2.17", channel="cash")]
    assert client.post("/v1/events", json={"events": payments}, headers=bearer(coop)).status_code == 200
    deployment.catch_up()
    return client, coop


def new_link(client, key, miner_id="w-0"):
    response = client.post(f"/v1/miners/{miner_id}/statement-links", headers=bearer(key))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_cooperative_makes_a_link_and_the_miner_reads_their_statement_with_no_key(paid):
    client, coop = paid
    link = new_link(client, coop)
    assert link["url"].endswith(f"/m/{link['token']}") and link["qr_svg"].startswith("<svg")
    page = client.get(f"/m/{link['token']}?lang=en")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert "<script" not in html and len(html.encode()) < 8_000
    words = text_of(html)
    assert "You are named in 1 lot: 10 g of gold are yours." in words
    assert "10 February 2026: 10 g" in words
    assert "Countries: DR Congo, Switzerland and France" in words and "1 × piece of gold" in words
    assert "you sold 10 g at 72.00 USD a gram" in words
    assert "80.00 USD a gram of pure gold. The world price that day was 100.00 USD: you got 80% of it." in words
    assert "Owed to you: 2.50 EUR" in words and "Paid to you: 1.00 EUR" in words
    assert "Still to be paid: 1.50 EUR" in words
    assert "2 April 2026: 2.50 EUR owed" in words and "15 May 2026: 1.00 EUR paid by mobile money" in words


def test_the_statement_says_nothing_about_any_other_person(paid):
    client, coop = paid
    token = new_link(client, coop)["token"]
    for lang in ("en", "fr", "sw", "ln"):
        html = client.get(f"/m/{token}?lang={lang}").get_data(as_text=True)
        for other in OTHER_MINERS:  # no other miner's id, lot, price or payment
            assert not re.search(rf"\b{re.escape(other)}\b", html), (lang, other)
        assert "2.17" not in html and "2,17" not in html  # w-1's payment
        assert "at 80.00" not in html and "à 80,00" not in html  # the men's price per gram


def test_the_language_comes_from_the_switch_then_the_phone(paid):
    client, coop = paid
    token = new_link(client, coop)["token"]
    french = text_of(client.get(f"/m/{token}", headers={"Accept-Language": "fr-CD,fr;q=0.9"}).get_data(as_text=True))
    assert "Reste à payer : 1,50 EUR" in french and "10 février 2026" in french
    swahili = text_of(client.get(f"/m/{token}", headers={"Accept-Language": "sw"}).get_data(as_text=True))
    assert "Umelipwa: 1.00 EUR" in swahili and "pesa kwa simu" in swahili
    lingala = text_of(client.get(f"/m/{token}?lang=ln", headers={"Accept-Language": "fr"}).get_data(as_text=True))
    assert "Bafuti yo: 1,00 EUR" in lingala and 'lang="ln"' in client.get(f"/m/{token}?lang=ln").get_data(as_text=True)


def test_a_revoked_or_unknown_token_answers_the_same_404(paid):
    client, coop = paid
    link = new_link(client, coop)
    listed = client.get("/v1/miners/w-0/statement-links", headers=bearer(coop)).get_json()
    assert [row["link_id"] for row in listed["links"]] == [link["link_id"]]
    assert link["token"] not in str(listed)
    assert client.delete(f"/v1/miners/w-0/statement-links/{link['link_id']}", headers=bearer(coop)).status_code == 204
    revoked = client.get(f"/m/{link['token']}")
    unknown = client.get("/m/" + "x" * len(link["token"]))
    assert revoked.status_code == unknown.status_code == 404
    assert revoked.get_data() == unknown.get_data()
    assert client.delete(f"/v1/miners/w-0/statement-links/{link['link_id']}", headers=bearer(coop)).status_code == 404


def test_only_the_miners_cooperative_and_admins_make_links(paid, admin_key, buyer_key, deployment):
    client, coop = paid
    other = deployment.keys.create("coop-other", "cooperative")
    assert client.post("/v1/miners/w-0/statement-links", headers=bearer(other)).status_code == 403
    assert client.post("/v1/miners/w-0/statement-links", headers=bearer(buyer_key)).status_code == 403
    assert client.post("/v1/miners/w-0/statement-links").status_code == 401
    assert client.post("/v1/miners/nobody/statement-links", headers=bearer(coop)).status_code == 404
    link = new_link(client, admin_key, "m-3")
    assert client.delete(f"/v1/miners/m-3/statement-links/{link['link_id']}", headers=bearer(other)).status_code == 403
    assert client.get(f"/m/{link['token']}").status_code == 200
