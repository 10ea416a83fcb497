"""Who may say what about a lot or a piece: ownership by the server's clock, custody by field time."""
from __future__ import annotations

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


@st.composite
def steps(draw) -> list[Step]:
    orgs = ["a", "b", "c"]
    out = []
    for index in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["create", "transfer", "consume"]))
        out.append(Step(f"e{index}", kind, draw(st.sampled_from(orgs)), at(draw(st.integers(1, 4))),
                        recorded_at=at(draw(st.integers(1, 4)), draw(st.integers(0, 2))),
                        to_id=draw(st.sampled_from(orgs)) if kind == "transfer" else None))
    return out


@given(steps(), st.randoms())
def test_the_verdict_does_not_depend_on_the_order_steps_arrive_in(story, random):
    shuffled = list(story)
    random.shuffle(shuffled)
    assert custody(shuffled) == custody(story)
