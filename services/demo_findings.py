"""The demo's planted problems: a third mine site, Makala, whose cooperative tells one lie of each kind the
sourcing checks look for, so the findings dashboard (``GET /v1/findings``) has something to show.

Nothing of Makala reaches the demo's pieces: its lots stay with its cooperative (one goes to the
exporter and is exported on its own), so the honest site's rings and pendants stay clear.

The problems, one each (the pit's workers are also counted by an inspection that saw two of them):
- ``child_labour_suspected``: a miner born in 2012 digs at pit 1;
- ``price_below_reference``: a miner is paid USD 5 a gram when the reference is about USD 100;
- ``foreign_cooperative``: a member of Nyota cooperative sells to Makala's;
- ``pit_outside_site``: a miner registered at Mabanga is named at a Makala pit;
- ``unverified_miner``: a miner registered with no photo ID;
- ``capacity_unknown``: pit 2 never had a capacity stated;
- ``stale_inspection``: pit 3 was never inspected;
- ``workers_mismatch``: five different miners at pit 1 in a month its inspection saw two working;
- ``cooperative_over_capacity``: the cooperative buys 90 g in a month from pit 4, which gives 50 g a month
  (45 g of it produced the month before);
- ``royalties_unrecorded``: the exporter exports a Makala lot with no royalties.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, Callable

PLANTED_COOPERATIVE = "coop-makala"
OTHER_COOPERATIVE = "coop-nyota"
PLANTED_SITE = "site-makala"


def _miner(miner_id: str, name: str, cooperative: str, site: str, birth_year: int, photo: bool) -> dict[str, Any]:
    data = {"miner_id": miner_id, "cooperative_id": cooperative, "site_id": site, "gender": "male",
            "birth_year": birth_year, "work_role": "digger", "name": name}
    if photo:
        data["photo_id_sha256"] = hashlib.sha256(f"photo-id-{miner_id}".encode()).hexdigest()
    return data


def planted_problems(event: Callable[..., dict[str, Any]], start: datetime, exporter: str, ngo: str,
                     honest_site: str) -> list[dict[str, Any]]:
    """The Makala batch: its registrations, inspections, productions, purchases and one export.

    ``event(type, when, recorded_by, data)`` makes an envelope (``DemoChain.event``); ``start`` is a
    few days into a calendar month of the demo (a reference price is in force then, and its purchases
    fall in that month; pit 4's second lot in the next).
    """
    coop = PLANTED_COOPERATIVE
    events = [
        event("organization.registered", start, "admin", {"org_id": coop, "name": "Coopérative aurifère de Makala",
                                                          "role": "cooperative", "country": "CD"}),
        event("organization.registered", start, "admin", {"org_id": OTHER_COOPERATIVE, "name": "Coopérative Nyota",
                                                          "role": "cooperative", "country": "CD"}),
        event("site.registered", start, "admin", {"site_id": PLANTED_SITE, "name": "Makala", "country": "CD",
                                                  "region": "Ituri", "mineral": "gold", "licence": "ZEA-MAKALA-2021"}),
    ]
    capacities = {1: 200.0, 2: None, 3: 150.0, 4: 50.0}
    for number, capacity in capacities.items():
        pit = {"pit_id": f"makala-pit-{number}", "site_id": PLANTED_SITE}
        if capacity is not None:
            pit["capacity_g_per_month"] = capacity
        events.append(event("pit.registered", start, coop, pit))
    for number in (1, 2, 4):  # pit 3 is never inspected
        inspection = {"pit_id": f"makala-pit-{number}", "status": "active", "children_present": False,
                      "armed_presence": False, "mercury_use": False}
        if number == 1:
            inspection["workers_observed"] = 2
        events.append(event("pit.inspected", start + timedelta(hours=2), ngo, inspection))
    registered = start + timedelta(hours=1)
    miners = {
        "makala-m1": _miner("makala-m1", "Kahindo Mumbere", coop, PLANTED_SITE, 1988, True),
        "makala-m2": _miner("makala-m2", "Baraka Ngongo", coop, PLANTED_SITE, 1979, True),
        "makala-m3": _miner("makala-m3", "Petit Kambale", coop, PLANTED_SITE, 2012, True),  # a child
        "makala-m4": _miner("makala-m4", "Sadiki Lubamba", coop, PLANTED_SITE, 1992, False),  # no photo ID
        "makala-m5": _miner("makala-m5", "Jospin Mateso", coop, honest_site, 1985, True),  # registered at another site
        "makala-m6": _miner("makala-m6", "Heri Bahati", OTHER_COOPERATIVE, PLANTED_SITE, 1990, True),  # another cooperative's
    }
    events += [event("miner.registered", registered, coop, data) for data in miners.values()]
    day = start + timedelta(days=2)
    lots = [  # lot, pit, miners, grams, fineness, produced and bought (days after ``day``), price a gram (or None)
        ("MAK-CHILD", 1, ["makala-m3"], 6.2, 0.86, 0, 0, None),
        ("MAK-PITTANCE", 1, ["makala-m1", "makala-m2"], 8.4, 0.87, 0, 0, "5.00"),
        ("MAK-NO-ID", 1, ["makala-m4"], 5.1, 0.85, 1, 1, None),
        ("MAK-ELSEWHERE", 1, ["makala-m5"], 4.8, 0.88, 1, 1, None),
        ("MAK-NYOTA", 1, ["makala-m6"], 7.3, 0.86, 2, 2, None),
        ("MAK-NO-CAPACITY", 2, ["makala-m1"], 9.0, 0.86, 2, 2, None),
        ("MAK-UNINSPECTED", 3, ["makala-m2"], 10.5, 0.87, 3, 3, None),
        # 45 g a month from pit 4 (50 g a month), but two months' gold bought in one month
        ("MAK-LAST-MONTH", 4, ["makala-m1"], 45.0, 0.86, 0, 26, None),
        ("MAK-THIS-MONTH", 4, ["makala-m2"], 45.0, 0.86, 25, 26, None),
    ]
    for lot_id, pit, producers, grams, fineness, produced, bought, price in lots:
        events.append(event("production.recorded", day + timedelta(days=produced), coop, {
            "lot_id": lot_id, "pit_id": f"makala-pit-{pit}", "miner_ids": producers, "mass_g": grams,
            "fineness": fineness}))
        bought_on = day + timedelta(days=bought)
        purchase = {"lot_id": lot_id, "from_id": producers[0], "to_id": coop, "mass_g": grams}
        if price is not None:
            purchase.update(price_per_g=price, currency="USD")
        events.append(event("lot.transferred", bought_on + timedelta(hours=1), coop, purchase))
    shipped = day + timedelta(days=6)
    events += [
        event("lot.transferred", shipped, coop, {"lot_id": "MAK-UNINSPECTED", "from_id": coop, "to_id": exporter,
                                                 "mass_g": 10.5}),
        event("lot.received", shipped + timedelta(hours=4), exporter, {"lot_id": "MAK-UNINSPECTED", "mass_g": 10.5}),
        event("lot.exported", shipped + timedelta(days=1), exporter, {
            "lot_id": "MAK-UNINSPECTED", "export_permit": f"CEEC-{shipped:%Y}-0502", "destination_country": "AE"}),
    ]
    return events
