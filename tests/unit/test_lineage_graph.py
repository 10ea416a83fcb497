"""What each custody event says of the lineage graph, without a database: the stories every projector reads."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from consumers.lineage.graph import (
    Edge, Node, Quantity, Reference, earliest_creation, lineage_facts, refining_node_id, replaces_creation, sort_key,
)
from tests import factories as f


def test_a_production_creates_its_lot_at_its_pit_and_names_nothing_else():
    produced = f.production("lot-1", "pit-a", 12.5, fineness=0.86, miners=("m-1", "m-2"), recorded_by="coop-mambasa")

    facts = lineage_facts(produced)

    assert facts.created == (Node("lot-1", "lot", 12.5, fineness=0.86, pit_id="pit-a"),)
    assert facts.edges == () and facts.consumed == () and facts.referenced == ()
    assert facts.origin.event_id == produced["event_id"]
    assert facts.origin.recorded_by == "coop-mambasa" and facts.origin.occurred_at == produced["occurred_at"]
    assert facts.origin.sort_key == sort_key(produced["occurred_at"], produced["event_id"])


def test_a_transfer_names_its_lot_as_a_placeholder_and_creates_nothing():
    for moved in (f.transfer("lot-1", "m-1", "coop-mambasa", 12.5), f.assay("lot-1", 0.9),
                  f.event("lot.received", {"lot_id": "lot-1", "mass_g": 12.4}),
                  f.event("lot.exported", {"lot_id": "lot-1", "export_permit": "P-1", "destination_country": "CH"})):
        facts = lineage_facts(moved)

        assert facts.referenced == (Reference("lot-1", "lot"),), moved["type"]
        assert facts.created == () and facts.edges == () and facts.consumed == ()
        assert facts.subjects == ["lot-1"]


def test_a_merge_creates_a_lot_weighing_its_inputs_and_draws_an_edge_from_each():
    facts = lineage_facts(f.merge("coop-1", {"lot-1": 10.0, "lot-2": 0.1 + 0.2}))

    assert facts.created == (Node("coop-1", "lot", 10.3),)  # rounded to the microgram: 0.1 + 0.2 is not 0.3
    assert facts.edges == (Edge("lot-1", "coop-1", 10.0), Edge("lot-2", "coop-1", 0.1 + 0.2))
    assert facts.consumed == (Quantity("lot-1", 10.0), Quantity("lot-2", 0.1 + 0.2))
    assert facts.referenced == (Reference("lot-1"), Reference("lot-2"))
    assert facts.subjects == ["coop-1", "lot-1", "lot-2"]


def test_a_split_consumes_the_grams_of_its_outputs_from_one_lot():
    facts = lineage_facts(f.split("coop-1", {"coop-1a": 30.0, "coop-1b": 16.0}))

    assert facts.created == (Node("coop-1a", "lot", 30.0), Node("coop-1b", "lot", 16.0))
    assert facts.edges == (Edge("coop-1", "coop-1a", 30.0), Edge("coop-1", "coop-1b", 16.0))
    assert facts.consumed == (Quantity("coop-1", 46.0),)
    assert facts.referenced == (Reference("coop-1"),)


def test_a_refining_flows_through_a_node_of_its_own():
    refined = f.refine({"coop-1a": 30.0, "scrap-1": 20.0}, {"bar-1": (20.0, 0.9999), "bar-2": (19.5, 0.9995)})
    hub = refining_node_id(refined["event_id"])

    facts = lineage_facts(refined)

    assert facts.created == (Node(hub, "refining", 50.0), Node("bar-1", "lot", 20.0, fineness=0.9999),
                             Node("bar-2", "lot", 19.5, fineness=0.9995))
    assert facts.edges == (Edge("coop-1a", hub, 30.0), Edge("scrap-1", hub, 20.0),
                           Edge(hub, "bar-1", 20.0), Edge(hub, "bar-2", 19.5))
    assert facts.consumed == (Quantity("coop-1a", 30.0), Quantity("scrap-1", 20.0))
    assert facts.referenced == (Reference("coop-1a"), Reference("scrap-1"))
    assert hub == f"refining/{refined['event_id']}"


def test_a_manufacture_creates_a_product_with_its_metal_and_labels():
    facts = lineage_facts(f.manufacture("ring-1", {"bar-1": 3.0, "bar-2": 0.5}, mass_g=4.0, fineness=0.75))

    assert facts.created == (Node("ring-1", "product", 4.0, fineness=0.75, gtin="03760123450010", serial="000001"),)
    assert facts.edges == (Edge("bar-1", "ring-1", 3.0), Edge("bar-2", "ring-1", 0.5))
    assert facts.consumed == (Quantity("bar-1", 3.0), Quantity("bar-2", 0.5))
    assert facts.referenced == (Reference("bar-1"), Reference("bar-2"))


def test_a_sale_before_the_manufacture_leaves_a_product_placeholder():
    facts = lineage_facts(f.event("product.sold", {"product_id": "ring-1", "price": "450.00", "currency": "EUR"}))

    assert facts.referenced == (Reference("ring-1", "product"),)
    assert facts.created == ()


def test_events_that_are_not_about_custody_say_nothing_of_the_graph():
    for registered in (f.site("site-a"), f.pit("pit-a", "site-a"), f.miner("m-1", "site-a")):
        facts = lineage_facts(registered)

        assert (facts.created, facts.edges, facts.consumed, facts.referenced) == ((), (), (), ())
        assert facts.subjects == []


def test_the_earliest_of_two_creations_of_one_lot_wins_whatever_arrives_first():
    early = f.production("lot-1", "pit-a", 10.0, at=datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc))
    # a later claim, stated in another zone: the order is by the instant, not by the text
    late = f.production("lot-1", "pit-b", 99.0, at=datetime(2026, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=2))))
    late_sort = lineage_facts(late).origin.sort_key
    early_sort = lineage_facts(early).origin.sort_key

    assert late_sort < early_sort  # 08:30 UTC happened before 09:00 UTC
    assert replaces_creation(late_sort, early_sort) and not replaces_creation(early_sort, late_sort)
    assert replaces_creation(early_sort, None)  # any creation fills a placeholder

    @dataclass(frozen=True)
    class Claim:
        sort_key: str
        pit_id: str

    claims = [Claim(early_sort, "pit-a"), Claim(late_sort, "pit-b")]
    assert earliest_creation(claims).pit_id == "pit-b"
    assert earliest_creation(reversed(claims)).pit_id == "pit-b"
    assert earliest_creation([]) is None
    rows = [{"created_sort": early_sort}, {"created_sort": late_sort}]
    assert earliest_creation(rows, sort_of=lambda row: row["created_sort"]) == {"created_sort": late_sort}


def test_sort_keys_order_by_instant_then_by_event_id():
    same_moment = "2026-03-02T10:15:00+01:00"

    assert sort_key(same_moment, "a") < sort_key(same_moment, "b")
    assert sort_key("2026-03-02T09:15:00+00:00", "z") == sort_key(same_moment, "z")
