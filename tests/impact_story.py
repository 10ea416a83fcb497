"""A small community, told through events: two sites, women and men miners, purchases, surveys,
a savings group, trainings, leadership, reference prices and a sold ring. Small enough to compute
by hand, with one site (site-b) too small to show anything but suppressed cells."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests import factories as f

KINSHASA = timezone(timedelta(hours=1))


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=KINSHASA)


def community() -> list[dict]:
    """The events of the story (in an order the API accepts; admin records them all)."""
    events = [f.organisation("coop-mambasa"), f.organisation("exporter-x", "exporter"),
              f.organisation("refiner-x", "refiner", "CH"), f.organisation("atelier", "manufacturer", "FR"),
              f.site("site-a"), f.site("site-b"), f.pit("pit-a", "site-a"), f.pit("pit-b", "site-b")]
    women = [f"w-{n}" for n in range(6)]
    men = [f"m-{n}" for n in range(6)]
    for miner_id in women + men:
        events.append(f.event("miner.registered", {
            "miner_id": miner_id, "cooperative_id": "coop-mambasa", "site_id": "site-a",
            "gender": "female" if miner_id in women else "male", "birth_year": 1992, "work_role": "digger"},
            at=at("2026-01-05")))
    for number in range(3):  # site-b: three miners, never enough for a number
        events.append(f.event("miner.registered", {
            "miner_id": f"b-{number}", "cooperative_id": "coop-mambasa", "site_id": "site-b", "gender": "female",
            "birth_year": 1990, "work_role": "processor"}, at=at("2026-01-05")))
    for day, price_usd, price_eur in (("2026-02-01", "100.00", "92.00"), ("2026-04-01", "110.00", "100.00")):
        for price, currency in ((price_usd, "USD"), (price_eur, "EUR")):
            events.append(f.event("market.price_recorded", {"date": day, "price_per_g_fine": price,
                                                            "currency": currency}, recorded_by="admin", at=at(day)))
    lots = {}
    for number, miner_id in enumerate(women + men):
        lot_id = f"lot-{miner_id}"
        price = "72.00" if miner_id in women else "80.00"  # per gram at 0.9: 80 and 88.89 per fine gram
        events.append(f.production(lot_id, "pit-a", 10.0, 0.9, miners=(miner_id,), at=at("2026-02-10", 8 + number % 6)))
        events.append(f.event("lot.transferred", {"lot_id": lot_id, "from_id": miner_id, "to_id": "coop-mambasa",
                                                  "mass_g": 10.0, "price_per_g": price, "currency": "USD"},
                              at=at("2026-02-11", 8 + number % 6)))
        lots[lot_id] = 10.0
    for number in range(3):
        events.append(f.production(f"lot-b-{number}", "pit-b", 5.0, 0.9, miners=(f"b-{number}",), at=at("2026-02-12")))
        events.append(f.event("lot.transferred", {"lot_id": f"lot-b-{number}", "from_id": f"b-{number}",
                                                  "to_id": "coop-mambasa", "mass_g": 5.0, "price_per_g": "60.00",
                                                  "currency": "USD"}, at=at("2026-02-12", 11)))
    events += [
        f.merge("coop-1", lots, at=at("2026-02-20")),
        f.event("lot.transferred", {"lot_id": "coop-1", "from_id": "coop-mambasa", "to_id": "exporter-x",
                                    "mass_g": 120.0, "price_per_g": "90.00", "currency": "USD"}, at=at("2026-02-21")),
        # each holder hands the gold on (an unpriced hand-over is no stage of the value chain)
        f.transfer("coop-1", "exporter-x", "refiner-x", 120.0, recorded_by="exporter-x", at=at("2026-03-01")),
        f.refine({"coop-1": 120.0}, {"bar-1": (108.0, 0.9999)}, at=at("2026-03-10")),
        f.transfer("bar-1", "refiner-x", "atelier", 108.0, recorded_by="refiner-x", at=at("2026-03-12")),
        f.manufacture("ring-1", {"bar-1": 7.5}, mass_g=10.0, fineness=0.75, at=at("2026-03-20")),
        f.event("product.sold", {"product_id": "ring-1", "price": "1500.00", "currency": "EUR"},
                recorded_by="atelier", at=at("2026-04-02")),
    ]
    for number in range(10):  # surveys: five women, five men, at site-a
        woman = number < 5
        events.append(f.event("survey.completed", {
            "respondent_id": f"hh-{number}", "site_id": "site-a", "gender": "female" if woman else "male",
            "age_band": "25_34", "work_role": "processor" if woman else "digger",
            "income_month": f"{(40 + 5 * number) if woman else (60 + 5 * number)}.00", "currency": "USD",
            "controls_own_income": not woman or number % 2 == 0}, at=at("2026-02-15")))
    events += [
        f.event("vsla.registered", {"group_id": "vsla-1", "site_id": "site-a", "members_female": 18,
                                    "members_male": 7, "committee_female": 4, "committee_male": 1}, at=at("2026-01-10")),
        f.event("vsla.reported", {"group_id": "vsla-1", "period": "2026-02", "savings": "107.50", "loans": "50.00",
                                  "currency": "USD", "solidarity_assists": 2}, at=at("2026-02-27")),
        f.event("training.held", {"site_id": "site-a", "kind": "literacy", "attendees_female": 16,
                                  "attendees_male": 4}, at=at("2026-02-05")),
    ]
    for number in range(12):
        events.append(f.event("leadership.recorded", {
            "person_id": f"p-{number}", "gender": "female" if number < 5 else "male", "position": "team lead",
            "organisation_id": "coop-mambasa", "site_id": "site-a"}, at=at("2026-01-20")))
    return events


def record(client, key: str, platform) -> None:
    """Record the story through the capture API and let the projectors catch up."""
    events = community()
    response = client.post("/v1/events", json={"events": events}, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.get_json()
    platform.catch_up()
