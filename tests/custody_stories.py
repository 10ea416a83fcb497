"""Supply-chain stories for the checks: one honest chain, and the same chain with one lie told in it.

``honest_chain()`` is complete and consistent: registered organisations (a cooperative and an
exporter in the DRC, a refiner in Switzerland, an atelier in France), a pit inspected active, two
registered miners, purchases, a merge, an assay, an export with its permit, transfers weighed on
arrival, a refining with a 0.4 % loss and a ring. Each ``lie_*`` function returns the same story
with one lie in it, and the ids of the events that prove it.
"""
from __future__ import annotations

from datetime import timedelta

from tests import factories as f

FINE_IN = 99.9 * 0.87
BAR_G = round(FINE_IN * 0.996 / 0.9999, 2)


class Story:
    """Events by name, in the order they happened."""

    def __init__(self):
        self.named: dict[str, dict] = {}

    def add(self, name: str, event: dict) -> dict:
        self.named[name] = event
        return event

    def __getitem__(self, name: str) -> dict:
        return self.named[name]

    def id(self, name: str) -> str:
        return self.named[name]["event_id"]

    @property
    def events(self) -> list[dict]:
        return list(self.named.values())

    def replace(self, name: str, event: dict) -> None:
        """Tell one step differently (same place in the story, same time)."""
        event["occurred_at"] = self.named[name]["occurred_at"]
        self.named[name] = event

    def drop(self, name: str) -> None:
        del self.named[name]


def honest_chain(capacity: float = 300.0) -> Story:
    s = Story()
    s.add("coop", f.organisation("coop-mambasa", "cooperative", "CD"))
    s.add("exporter", f.organisation("exporter", "exporter", "CD"))
    s.add("refiner", f.organisation("refiner-x", "refiner", "CH"))
    s.add("atelier", f.organisation("atelier", "manufacturer", "FR", gs1_company_prefixes=["376012345"]))
    s.add("site", f.site("site-a"))
    s.add("pit", f.pit("pit-a", "site-a", capacity=capacity))
    s.add("inspection", f.event("pit.inspected", {"pit_id": "pit-a", "status": "active"}))
    s.add("m1", f.miner("m-1", "site-a", photo_id_sha256="a1" * 32))
    s.add("m2", f.miner("m-2", "site-a", gender="male", photo_id_sha256="b2" * 32))
    s.add("prod1", f.production("lot-1", "pit-a", 40.0, 0.85, miners=("m-1",)))
    s.add("buy1", f.transfer("lot-1", "m-1", "coop-mambasa", 40.0))
    s.add("prod2", f.production("lot-2", "pit-a", 60.0, 0.88, miners=("m-2",)))
    s.add("buy2", f.transfer("lot-2", "m-2", "coop-mambasa", 60.0))
    s.add("merge", f.merge("coop-1", {"lot-1": 40.0, "lot-2": 60.0}))
    s.add("assay", f.assay("coop-1", 0.87))
    s.add("sell", f.transfer("coop-1", "coop-mambasa", "exporter", 100.0))
    s.add("arrive", f.event("lot.received", {"lot_id": "coop-1", "mass_g": 99.9}, recorded_by="exporter"))
    s.add("export", f.event("lot.exported", {"lot_id": "coop-1", "export_permit": "CEEC-2026-1",
                                             "destination_country": "CH", "royalties_paid": "304.70",
                                             "currency": "USD"}, recorded_by="exporter"))
    s.add("ship", f.transfer("coop-1", "exporter", "refiner-x", 99.9, recorded_by="exporter"))
    s.add("at_refiner", f.event("lot.received", {"lot_id": "coop-1", "mass_g": 99.9}, recorded_by="refiner-x"))
    s.add("refine", f.refine({"coop-1": 99.9}, {"bar-1": (BAR_G, 0.9999)}))
    s.add("bar_out", f.transfer("bar-1", "refiner-x", "atelier", BAR_G, recorded_by="refiner-x"))
    s.add("bar_in", f.event("lot.received", {"lot_id": "bar-1", "mass_g": BAR_G}, recorded_by="atelier"))
    s.add("ring", f.manufacture("ring-1", {"bar-1": 7.5}, mass_g=10.0, fineness=0.75))
    return s


def lie_double_use() -> tuple[Story, str, list[str]]:
    """The cooperative merges lot-1 a second time into another lot."""
    s = honest_chain()
    s.add("merge_again", f.merge("coop-2", {"lot-1": 40.0}))
    return s, "double_use", [s.id("merge"), s.id("merge_again")]


def lie_overdrawn() -> tuple[Story, str, list[str]]:
    """The atelier makes a second piece from more gold than the bar has left."""
    s = honest_chain()
    s.add("big_ring", f.manufacture("ring-2", {"bar-1": 80.0}, mass_g=106.0, fineness=0.75))
    return s, "double_use", [s.id("refine"), s.id("ring"), s.id("big_ring")]


def lie_mass_gain() -> tuple[Story, str, list[str]]:
    """The refiner puts out a heavier bar than the gold it took in."""
    s = honest_chain()
    s.replace("refine", f.refine({"coop-1": 99.9}, {"bar-1": (95.0, 0.9999)}))
    return s, "mass_gain", [s.id("refine")]


def lie_transit() -> tuple[Story, str, list[str]]:
    """The exporter weighs in a gram more than the cooperative sent."""
    s = honest_chain()
    s.replace("arrive", f.event("lot.received", {"lot_id": "coop-1", "mass_g": 101.0}, recorded_by="exporter"))
    return s, "transit_discrepancy", [s.id("sell"), s.id("arrive")]


def lie_inactive_pit() -> tuple[Story, str, list[str]]:
    """Gold recorded at a pit the last inspection found abandoned."""
    s = honest_chain()
    s.replace("inspection", f.event("pit.inspected", {"pit_id": "pit-a", "status": "abandoned"}))
    return s, "inactive_pit", [s.id("inspection"), s.id("prod1")]


def lie_over_capacity() -> tuple[Story, str, list[str]]:
    """The pit is registered for 80 g a month and 100 g come out of it in one month."""
    s = honest_chain(capacity=80.0)
    return s, "over_capacity", [s.id("pit"), s.id("prod1"), s.id("prod2")]


def lie_miner_over_capacity() -> tuple[Story, str, list[str]]:
    """Miner m-1 is credited in one month with more than any of their pits can yield."""
    s = honest_chain()
    s.add("pit_b", f.pit("pit-b", "site-a", capacity=300.0))
    s.add("prod3", f.production("lot-3", "pit-b", 250.0, 0.85, miners=("m-1",)))
    s.add("prod4", f.production("lot-4", "pit-a", 230.0, 0.85, miners=("m-1",)))
    return s, "over_capacity", [s.id("pit"), s.id("pit_b"), s.id("prod1"), s.id("prod3"), s.id("prod4")]


def lie_unknown_miner() -> tuple[Story, str, list[str]]:
    """Gold sold in the name of a miner nobody registered."""
    s = honest_chain()
    s.drop("m2")
    return s, "unknown_actor", [s.id("prod2")]


def lie_unknown_party() -> tuple[Story, str, list[str]]:
    """The exporter ships to a trader nobody registered."""
    s = honest_chain()
    s.drop("refiner")
    return s, "unknown_actor", [s.id("ship")]


def lie_custody_break() -> tuple[Story, str, list[str]]:
    """The cooperative, which holds the lot, records it handed to the exporter by a trader who never had it:
    a hand-over is missing from an honest holder's record."""
    s = honest_chain()
    s.drop("sell")
    s.add("sell", f.transfer("coop-1", "trader-z", "exporter", 100.0))
    return s, "custody_break", [s.id("merge"), s.id("sell")]


def lie_ships_what_it_never_bought() -> tuple[Story, str, list[str]]:
    """The exporter ships a lot the cooperative never sold it: its step counts for nothing."""
    s = honest_chain()
    s.drop("sell")
    s.drop("arrive")
    return s, "not_holder", [s.id("ship")]


def lie_consumed_without_receipt() -> tuple[Story, str, list[str]]:
    """The atelier makes a ring from a bar it never received."""
    s = honest_chain()
    s.drop("bar_out")
    s.drop("bar_in")
    return s, "not_holder", [s.id("ring")]


def lie_time_order() -> tuple[Story, str, list[str]]:
    """The bar is said to be handed to the atelier a day before it was refined."""
    s = honest_chain()
    s.drop("bar_out")
    s.add("bar_out", f.transfer("bar-1", "refiner-x", "atelier", BAR_G, recorded_by="refiner-x",
                                at=f.BASE_TIME - timedelta(days=1)))
    return s, "time_order", [s.id("refine"), s.id("bar_out")]


def lie_export_without_permit() -> tuple[Story, str, list[str]]:
    """The gold leaves the DRC for Switzerland with no export permit."""
    s = honest_chain()
    s.drop("export")
    return s, "export_without_permit", [s.id("ship")]


LIES = [lie_double_use, lie_overdrawn, lie_mass_gain, lie_transit, lie_inactive_pit, lie_over_capacity,
        lie_miner_over_capacity, lie_unknown_miner, lie_unknown_party, lie_custody_break,
        lie_ships_what_it_never_bought, lie_consumed_without_receipt, lie_time_order, lie_export_without_permit]
