"""Who may say what about a lot or a piece: ownership by the server's clock, custody by field time."""
from __future__ import annotations

import json

from hypothesis import given, strategies as st

from consumers.authority import Claim, Step, custody, ownership


def at(day: int, hour: int = 8) -> str:
    """A sort key / recorded_at stamp on day ``day`` of 2026 (lexicographic order is time order)."""
    return f"2026-03-{day:02d}T{hour:02d}:00:00.000000Z"


def ring_story() -> list[Step]:
    """An honest chain: the maker creates the ring, hands it to the retailer, who sells it."""
    return [
        Step("make", "create", "atelier", at(1), recorded_at=at(1, 9)),
        Step("to-shop", "transfer", "atelier", at(2), recorded_at=at(2, 9), to_id="shop"),
        Step("sale", "consume", "shop", at(5), recorded_at=at(5, 9)),
    ]


def test_an_honest_chain_counts_every_step():
    verdict = custody(ring_story())
    assert verdict.creator == "atelier" and verdict.holder == "shop"
    assert verdict.not_holder == {} and verdict.conflicting == frozenset()


def test_a_back_dated_creation_by_another_organisation_takes_nothing_over():
    fake = Step("fake-make", "create", "coop-other", "2020-01-01T00:00:00.000000Z", recorded_at=at(20))
    verdict = custody([*ring_story(), fake])
    assert verdict.creator == "atelier"
    assert verdict.conflicting == {"fake-make"}
    assert not verdict.counts("fake-make") and verdict.counts("sale")


def test_a_sale_by_someone_who_never_held_the_piece_does_not_count():
    fake_sale = Step("fake-sale", "consume", "other-shop", at(3), recorded_at=at(20))
    verdict = custody([*ring_story(), fake_sale])
    assert verdict.not_holder == {"fake-sale": "shop"}
    assert verdict.holder == "shop"


def test_a_transfer_by_a_non_holder_moves_nothing():
    steal = Step("steal", "transfer", "thief", at(3), recorded_at=at(3, 10), to_id="thief")
    verdict = custody([*ring_story(), steal])
    assert verdict.not_holder == {"steal": "shop"} and verdict.holder == "shop"


def test_gold_from_outside_is_held_by_whoever_recorded_it_first_not_by_a_back_dated_claim():
    honest = Step("in", "transfer", "recycler", at(2), recorded_at=at(2, 9), to_id="refiner")
    refine = Step("refine", "consume", "refiner", at(4), recorded_at=at(4, 9))
    backdated = Step("grab", "transfer", "attacker", at(1), recorded_at=at(9), to_id="attacker")
    verdict = custody([honest, refine, backdated])
    assert verdict.not_holder == {"grab": "recycler"}
    assert verdict.counts("in") and verdict.counts("refine")


def test_the_creator_may_record_a_step_dated_just_before_its_creation():
    early = Step("early", "transfer", "coop", at(1, 7), recorded_at=at(1, 10), to_id="exporter")
    made = Step("made", "create", "coop", at(1, 8), recorded_at=at(1, 9))
    assert custody([early, made]).holder == "exporter"


def test_ownership_goes_to_the_first_claim_recorded_whatever_its_field_date():
    claims = [Claim("b", "coop-late", at(1)), Claim("a", "coop-first", at(1)), Claim("c", "coop-late", at(2))]
    owned = ownership(claims)
    assert owned.owner == "coop-first"  # same instant: event_id decides, the same on every replay
    assert owned.counted == {"a"} and owned.conflicting == {"b", "c"}
    assert ownership([]).owner is None


def test_an_assay_by_a_rival_that_never_held_the_lot_does_not_count():
    rival = Step("rival-assay", "consume", "refiner-rival", at(6), recorded_at=at(20))
    holders = Step("shop-assay", "consume", "shop", at(6), recorded_at=at(6, 9))
    verdict = custody([*ring_story(), rival, holders])
    assert verdict.not_holder == {"rival-assay": "shop"} and verdict.counts("shop-assay")


def test_an_independent_assay_counts_whoever_holds_the_lot_and_moves_nothing():
    lab = Step("lab", "independent", "audit-co", at(3), recorded_at=at(3, 9))
    verdict = custody([*ring_story(), lab])
    assert verdict.counts("lab") and verdict.not_holder == {} and verdict.holder == "shop"
    # of gold from outside, an independent assay recorded first does not make its author the holder
    first_lab = Step("lab", "independent", "audit-co", at(1), recorded_at=at(1, 9))
    honest = Step("in", "transfer", "recycler", at(2), recorded_at=at(2, 9), to_id="refiner")
    verdict = custody([first_lab, honest])
    assert verdict.counts("in") and verdict.holder == "refiner"


@st.composite
def steps(draw) -> list[Step]:
    orgs = ["a", "b", "c"]
    out = []
    for index in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["create", "transfer", "consume", "independent"]))
        out.append(Step(f"e{index}", kind, draw(st.sampled_from(orgs)), at(draw(st.integers(1, 4))),
                        recorded_at=at(draw(st.integers(1, 4)), draw(st.integers(0, 2))),
                        to_id=draw(st.sampled_from(orgs)) if kind == "transfer" else None))
    return out


@given(steps(), st.randoms())
def test_the_verdict_does_not_depend_on_the_order_steps_arrive_in(story, random):
    shuffled = list(story)
    random.shuffle(shuffled)
    assert custody(shuffled) == custody(story)


# -- the claims an event makes, and GS1 owners -------------------------------------------------
from consumers.authority import gtin_owned_by, gtin_owner  # noqa: E402
from consumers.lineage.custody import custody_claims  # noqa: E402
from consumers.lineage.graph import lineage_facts  # noqa: E402
from tests import factories as f  # noqa: E402


def claims_of(envelope: dict, attested_role: str | None = None) -> set[tuple]:
    return {(c["item_id"], c["kind"], c["organisation"], c["to_id"])
            for c in custody_claims(lineage_facts(envelope), envelope["data"], at(1), attested_role)}


def test_a_creation_claim_carries_its_node_row_only_where_a_node_table_reads_it():
    event = f.refine({"coop-1": 10.0}, {"bar-1": (9.0, 0.9999)})
    full = custody_claims(lineage_facts(event), event["data"], at(1))
    bare = custody_claims(lineage_facts(event), event["data"], at(1), with_creation=False)
    created = [claim for claim in full if claim["kind"] == "create"]
    assert created and all(json.loads(claim["creation"])["node_id"] == claim["item_id"] for claim in created)
    assert bare == [{**claim, "creation": None} for claim in full]


def test_each_custody_step_claims_what_it_creates_hands_over_or_uses():
    assert claims_of(f.merge("coop-1", {"lot-1": 4.0, "lot-2": 6.0})) == {
        ("coop-1", "create", "coop-mambasa", None), ("lot-1", "consume", "coop-mambasa", None),
        ("lot-2", "consume", "coop-mambasa", None)}
    assert claims_of(f.refine({"coop-1": 10.0}, {"bar-1": (9.0, 0.9999)})) == {
        ("coop-1", "consume", "refiner-x", None), ("bar-1", "create", "refiner-x", None)}  # not its own hub node
    assert claims_of(f.hand_over("ring-1", "atelier", "shop", 4.0)) == {("ring-1", "transfer", "atelier", "shop")}
    sale = f.event("product.sold", {"product_id": "ring-1"}, recorded_by="shop")
    assert claims_of(sale) == {("ring-1", "consume", "shop", None)}
    export = f.event("lot.exported", {"lot_id": "coop-1", "export_permit": "P", "destination_country": "CH"})
    assert claims_of(export) == {("coop-1", "consume", "coop-mambasa", None)}
    assert claims_of(f.assay("coop-1", 0.9)) == {("coop-1", "consume", "coop-mambasa", None)}  # the holder's to make


def test_an_assay_by_an_authority_or_auditor_key_is_independent_of_custody():
    lab = f.assay("coop-1", 0.9, recorded_by="audit-co")
    assert claims_of(lab, "auditor") == {("coop-1", "independent", "audit-co", None)}
    assert claims_of(lab, "authority") == {("coop-1", "independent", "audit-co", None)}
    # an admin key speaks for the organisation it records for: custody decides, as for that organisation
    assert claims_of(lab, "admin") == {("coop-1", "consume", "audit-co", None)}
    assert claims_of(lab, "refiner") == {("coop-1", "consume", "audit-co", None)}
    # only an assay: an auditor's key does not hand over or sell what it does not hold
    sale = f.event("product.sold", {"product_id": "ring-1"}, recorded_by="audit-co")
    assert claims_of(sale, "auditor") == {("ring-1", "consume", "audit-co", None)}


def test_a_gtin_belongs_to_the_longest_declared_prefix_it_starts_with():
    prefixes = {"atelier": ["376012345"], "big-brand": ["3760"], "us-maker": ["0614141"]}
    assert gtin_owner("03760123450010", prefixes) == "atelier"  # GTIN-14: its indicator digit is no part of it
    assert gtin_owner("3760999000017", prefixes) == "big-brand"
    assert gtin_owner("614141000036", prefixes) == "us-maker"  # a GTIN-12 (UPC) with the GS1 US prefix
    assert gtin_owner("4006381333931", prefixes) is None
    assert gtin_owner("3760123450010", {"b": ["376012345"], "a": ["376012345"]}) == "a"  # the same, any order
    assert gtin_owned_by("03760123450010", ["376012345"]) and not gtin_owned_by("03760123450010", [])


def test_an_organisation_may_declare_gs1_company_prefixes_of_6_to_12_ascii_digits():
    from events.catalogue.registry import OrganizationRegistered
    base = {"org_id": "atelier", "name": "Atelier", "role": "manufacturer", "country": "FR"}
    assert OrganizationRegistered().validate(base) == {}  # optional
    assert OrganizationRegistered().validate({**base, "gs1_company_prefixes": ["376012", "376012345678"]}) == {}
    for wrong in (["37601"], ["3760123456789"], ["٣٧٦٠١٢٣"], [376012], []):
        assert "gs1_company_prefixes" in OrganizationRegistered().validate({**base, "gs1_company_prefixes": wrong}), wrong


def test_a_back_dated_second_hand_over_by_the_seller_does_not_take_the_item_from_its_buyer():
    # the cooperative hands the lot to the refiner (recorded first); later it records a hand-over of the
    # same lot to another buyer, dated before the real one: a double sale
    honest = [
        Step("make", "create", "coop", at(1), recorded_at=at(1, 9)),
        Step("to-refiner", "transfer", "coop", at(3), recorded_at=at(3, 9), to_id="refiner"),
        Step("refining", "consume", "refiner", at(4), recorded_at=at(4, 9)),
    ]
    double_sale = Step("to-other", "transfer", "coop", at(2), recorded_at=at(10), to_id="other")
    verdict = custody([*honest, double_sale])
    assert verdict.not_holder == {"to-other": "refiner"}
    assert verdict.counts("to-refiner") and verdict.counts("refining") and verdict.holder == "refiner"


def test_a_late_record_of_a_round_trip_is_no_double_sale():
    # the cooperative lent the lot to an assayer and got it back, and records that only later
    steps = [
        Step("make", "create", "coop", at(1), recorded_at=at(1, 9)),
        Step("to-refiner", "transfer", "coop", at(5), recorded_at=at(5, 9), to_id="refiner"),
        Step("to-lab", "transfer", "coop", at(2), recorded_at=at(9), to_id="lab"),
        Step("back", "transfer", "lab", at(3), recorded_at=at(9, 10), to_id="coop"),
    ]
    verdict = custody(steps)
    assert verdict.not_holder == {} and verdict.holder == "refiner"


@given(st.permutations([
    Step("make", "create", "coop", at(1), recorded_at=at(1, 9)),
    Step("to-refiner", "transfer", "coop", at(3), recorded_at=at(3, 9), to_id="refiner"),
    Step("to-other", "transfer", "coop", at(2), recorded_at=at(10), to_id="other"),
    Step("to-third", "transfer", "coop", at(2, 1), recorded_at=at(11), to_id="third"),
    Step("refining", "consume", "refiner", at(4), recorded_at=at(4, 9)),
]))
def test_double_sales_are_decided_the_same_in_any_order(steps):
    verdict = custody(steps)
    assert set(verdict.not_holder) == {"to-other", "to-third"} and verdict.holder == "refiner"


@given(st.lists(st.uuids().map(str), min_size=3, max_size=3, unique=True))
def test_steps_sent_in_one_batch_are_judged_by_field_time_whatever_their_ids(ids):
    # one request: the cooperative makes a lot, hands it to the refiner, then (dated after) uses it
    # itself; the three share one recorded_at. The hand-over counts and the use does not, whichever
    # way the random event ids happen to sort (an id order once made the hand-over a "double sale")
    make, hand_over, use = ids
    batch = at(6, 9)
    verdict = custody([
        Step(make, "create", "coop", at(1), recorded_at=batch),
        Step(hand_over, "transfer", "coop", at(2), recorded_at=batch, to_id="refiner"),
        Step(use, "consume", "coop", at(3), recorded_at=batch),
    ])
    assert verdict.not_holder == {use: "refiner"}
    assert verdict.counts(hand_over) and verdict.holder == "refiner"
