"""Corrections: an organisation retracts an event it attested; the read models count it for nothing,
whether the retraction comes after the event (the read model is rebuilt beside the live one) or
before it; the timeline shows both. Nobody retracts another organisation's event.

Through the API with a key per organisation, on the SQLite log with read models on SQLite and on
PostgreSQL, and end to end on Kafka.
"""
from __future__ import annotations

import pytest

from composition.bootstrap import build_platform
from events.attestation import Attestation
from events.envelope import prepare
from events.position import LogPosition
from services.settings import Settings
from tests import factories as f
from tests.conftest import bearer
from tests.e2e.test_authority_attacks import (RING, Organisations, fake_ring, fake_site, honest_story, open_findings,
                                              snapshot)
from tests.integration.test_kafka_projector import DRIVERS
from tests.waiting import wait_until


def wrong_sale() -> dict:
    """Atelier records a second sale of the ring by mistake, at ten times the price."""
    return f.event("product.sold", {"product_id": RING, "price": "4500.00", "currency": "EUR"}, recorded_by="atelier")


def retraction(event: dict, by: str, reason: str = "recorded twice by mistake") -> dict:
    return f.event("event.retracted", {"event_id": event["event_id"], "reason": reason}, recorded_by=by)


def without_timeline(state: dict) -> dict:
    return {key: value for key, value in state.items() if key != "timeline"}


def timeline(chain) -> dict[str, dict]:
    events = chain.get(f"/v1/products/{RING}/provenance?include=timeline").get_json()["timeline"]
    return {event["event_id"]: event for event in events}


def story(platform, client) -> Organisations:
    chain = Organisations(platform, client)
    chain.record(honest_story())
    platform.catch_up()
    return chain


def test_a_retracted_sale_counts_for_nothing_and_the_timeline_shows_both(platform, client):
    chain = story(platform, client)
    before = snapshot(chain)
    mistake = wrong_sale()
    chain.record([mistake])
    platform.catch_up()
    assert snapshot(chain)["payouts"] != before["payouts"]  # the mistake was counted

    correction = retraction(mistake, "atelier")
    chain.record([correction])
    platform.catch_up()  # the read models that counted the sale are rebuilt beside the live ones
    assert without_timeline(snapshot(chain)) == without_timeline(before)
    shown = timeline(chain)
    assert shown[mistake["event_id"]]["retracted_by_event"] == correction["event_id"]
    assert shown[correction["event_id"]]["data"]["event_id"] == mistake["event_id"]
    assert "retracted_by_event" not in shown[before["timeline"][0]]
    page = client.get(f"/p/{RING}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "4,500" not in page and "4500" not in page


def test_a_retraction_recorded_before_its_event_drops_the_event_when_it_arrives(platform, client):
    chain = story(platform, client)
    before = snapshot(chain)
    mistake = wrong_sale()
    chain.record([retraction(mistake, "atelier", reason="the shop's system will resend yesterday's sale")])
    platform.catch_up()
    chain.record([mistake])
    platform.catch_up()
    assert without_timeline(snapshot(chain)) == without_timeline(before)
    assert timeline(chain)[mistake["event_id"]]["retracted_by_event"]


def test_nobody_retracts_another_organisations_event(platform, client):
    chain = story(platform, client)
    before = snapshot(chain)
    sale = before["timeline"][-1]
    end = platform.log.end()
    response = client.post("/v1/events", json={"events": [retraction({"event_id": sale}, "shop-x")]},
                           headers=bearer(chain.keys["shop-x"]))
    assert response.status_code == 403
    assert response.get_json()["error"]["details"] == {
        "events.0.data.event_id": ["rule retraction: only atelier, which attested this event, may retract it."]}
    assert platform.log.end() == end

    # a retraction racing its event's projection reaches the log: the read models refuse it
    raced = retraction({"event_id": sale}, "shop-x")
    platform.log.append([prepare(raced, Attestation("shop-x", "retailer", "k-shop"))])
    platform.catch_up()
    assert without_timeline(snapshot(chain)) == without_timeline(before)
    shown = timeline(chain)
    assert "retracted_by_event" not in shown[sale] and raced["event_id"] in shown


def test_a_retraction_of_a_retraction_is_refused(platform, client):
    chain = story(platform, client)
    mistake = wrong_sale()
    correction = retraction(mistake, "atelier")
    chain.record([mistake, correction])
    platform.catch_up()
    response = client.post("/v1/events", json={"events": [retraction(correction, "atelier")]},
                           headers=bearer(chain.keys["atelier"]))
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == {"events.0.data.event_id": ["A retraction cannot be retracted."]}


def test_on_kafka_a_retraction_takes_back_an_event_already_projected(kafka_settings):
    platform = build_platform(kafka_settings)
    try:
        chain = story(platform, platform.create_app().test_client())
        before = snapshot(chain)
        mistake = wrong_sale()
        chain.record([mistake])
        platform.catch_up()
        assert snapshot(chain)["payouts"] != before["payouts"]
        chain.record([retraction(mistake, "atelier")])
        platform.catch_up()
        assert without_timeline(snapshot(chain)) == without_timeline(before)
        assert timeline(chain)[mistake["event_id"]]["retracted_by_event"]
    finally:
        platform.close()


def test_an_undo_is_not_lost_when_the_projector_stops_before_its_rebuild(settings):
    """The batch that meets the retraction stores its claim as ``undo``; a process that stops before
    rebuilding finds it on start and rebuilds then."""
    first = build_platform(settings)
    chain = story(first, first.create_app().test_client())
    before = snapshot(chain)
    mistake = wrong_sale()
    chain.record([mistake])
    first.catch_up()
    chain.record([retraction(mistake, "atelier")])
    for runner in first.runners.values():
        runner.run_batch()  # the batch holding the retraction is committed; the rebuild would be next
    first.close()

    again = build_platform(settings)
    try:
        chain.client = again.create_app().test_client()
        again.catch_up()
        assert without_timeline(snapshot(chain)) == without_timeline(before)
    finally:
        again.close()


@pytest.mark.parametrize("driver", DRIVERS)
def test_on_kafka_a_running_projector_undoes_a_retracted_event(kafka_env, driver):
    """The projector processes on Kafka run ``run_forever`` as group members: a retraction of an event
    they applied makes them leave the group, rebuild beside, and join again (on either Kafka client)."""
    platform = build_platform(Settings.from_env({**kafka_env, "ORETRAIL_KAFKA_DRIVER": driver}))
    try:
        chain = story(platform, platform.create_app().test_client())
        before = snapshot(chain)
        platform.start_projectors()
        mistake = wrong_sale()
        chain.record([mistake])
        wait_until(lambda: snapshot(chain)["payouts"] != before["payouts"], 60, "the mistaken sale to be counted")
        chain.record([retraction(mistake, "atelier")])
        wait_until(lambda: without_timeline(snapshot(chain)) == without_timeline(before), 60,
                   "the retracted sale to count for nothing")
    finally:
        platform.close()


def origin_names(chain) -> list[tuple]:
    provenance = chain.get(f"/v1/products/{RING}/provenance").get_json()
    return [(o.get("name"), o.get("country"), o.get("region")) for o in provenance["origin"]]


def logged(platform, event_type: str, recorded_by: str) -> dict:
    """The envelope of the first event of ``event_type`` by ``recorded_by`` in the log."""
    for recorded in platform.log.page(LogPosition.start(), 10_000).events:
        envelope = recorded.envelope
        if envelope["type"] == event_type and envelope["recorded_by"] == recorded_by:
            return envelope
    raise AssertionError(f"no {event_type} by {recorded_by}")


def test_a_site_corrected_by_its_owner_is_not_taken_over_by_a_squatter(platform, client):
    """A squatter's registration of the site was refused; the owner then corrects its own (retracts it
    and registers again): the retracted registration still holds the site for its owner."""
    chain = story(platform, client)
    chain.record([fake_site()])
    platform.catch_up()
    corrected = f.event("site.registered", {"site_id": "site-mabanga", "name": "Mabanga", "country": "CD",
                                            "region": "Ituri", "mineral": "gold", "licence": "PE-2026-114"})
    chain.record([retraction(logged(platform, "site.registered", "coop-mambasa"), "coop-mambasa",
                             reason="licence missing"), corrected])
    platform.catch_up()
    assert origin_names(chain) == [("Mabanga", "CD", "Ituri")]
    assert open_findings(chain, "conflicting_claim", "site-mabanga")


def test_a_ring_corrected_by_its_maker_is_not_taken_over_by_a_squatter(platform, client):
    """A back-dated fake making of the ring was refused; atelier retracts its making (the mass was wrong)
    and records it again: the ring stays atelier's."""
    chain = story(platform, client)
    chain.record([fake_ring()])
    platform.catch_up()
    making = logged(platform, "product.manufactured", "atelier")
    redo = f.event("product.manufactured", {**making["data"], "mass_g": 4.1}, recorded_by="atelier")
    chain.record([retraction(making, "atelier", reason="mass was 4.1 g"), redo])
    platform.catch_up()
    product = chain.get(f"/v1/products/{RING}/provenance").get_json()["product"]
    assert (product["manufactured_by"], product["description"], product["mass_g"]) == (
        "atelier", "Ituri gold ring, 18 ct", 4.1)
    assert open_findings(chain, "conflicting_claim", RING)
