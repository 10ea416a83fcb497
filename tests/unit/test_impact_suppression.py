"""Small cells are suppressed, and so is a second cell wherever a total would give a hidden one away."""
from __future__ import annotations

from consumers.impact.cells import Cell, render, suppress


def counts(indicator="miners_registered", **by_gender) -> list[Cell]:
    cells = [Cell("2026-01", indicator, value, value, gender=gender) for gender, value in by_gender.items()]
    total = sum(by_gender.values())
    return cells + [Cell("2026-01", indicator, total, total)]


def hidden(cells: list[Cell]) -> set[str]:
    return {cell.gender for cell in cells if cell.suppressed}


def test_a_cell_from_fewer_than_five_people_is_suppressed_zero_included():
    cells = suppress(counts(female=4, male=5, other=0, undisclosed=0))
    assert hidden(cells) == {"female", "other", "undisclosed"}


def test_a_lone_hidden_part_of_a_shown_total_takes_the_smallest_other_part_with_it():
    # other = 3 could be recovered as 59 - 20 - 30 - 6: the smallest shown part (undisclosed, 6) goes too
    cells = suppress(counts(female=20, male=30, other=3, undisclosed=6))
    assert hidden(cells) == {"other", "undisclosed"}
    assert not next(cell for cell in cells if cell.gender == "all").suppressed


def test_two_hidden_parts_cannot_be_told_apart_so_nothing_more_is_hidden():
    assert hidden(suppress(counts(female=27, male=24, other=0, undisclosed=1))) == {"other", "undisclosed"}


def test_a_lone_hidden_zero_is_left_alone_it_discloses_nobody():
    cells = [Cell("2026", "training_attendance", value, value, gender=gender, category=kind)
             for kind, (women, men) in {"literacy": (40, 9), "other": (0, 0)}.items()
             for gender, value in (("female", women), ("male", men), ("all", women + men))]
    cells += [Cell("2026", "training_attendance", value, value, gender=gender)
              for gender, value in (("female", 40), ("male", 9), ("all", 49))]
    result = suppress(cells)
    assert {(cell.category, cell.gender) for cell in result if cell.suppressed} == {
        ("other", "female"), ("other", "male"), ("other", "all")}


def test_suppression_follows_every_breakdown_until_nothing_is_recoverable():
    # by work role and gender: women pit owners (2) hide a second role among women, and then a second
    # gender among pit owners, and so on, until every line has two hidden cells or none
    table = {"digger": (30, 40), "processor": (25, 8), "pit_owner": (2, 9)}
    cells = []
    for role, (women, men) in table.items():
        cells += [Cell("2026", "miners_registered", v, v, gender=g, category=role)
                  for g, v in (("female", women), ("male", men), ("all", women + men))]
    totals = (sum(w for w, _ in table.values()), sum(m for _, m in table.values()))
    cells += [Cell("2026", "miners_registered", v, v, gender=g)
              for g, v in (("female", totals[0]), ("male", totals[1]), ("all", sum(totals)))]
    result = {(cell.category, cell.gender): cell.suppressed for cell in suppress(cells)}
    for role in table:
        line = [result[(role, gender)] for gender in ("female", "male")]
        assert sum(line) != 1, role
    for gender in ("female", "male", "all"):
        line = [result[(role, gender)] for role in table]
        assert sum(line) != 1, gender
    assert result[("pit_owner", "female")]


def test_medians_are_not_additive_and_keep_their_own_cells():
    cells = [Cell("2026", "survey_income_median", 50, 30, gender="female"),
             Cell("2026", "survey_income_median", 80, 3, gender="male"),
             Cell("2026", "survey_income_median", 60, 33)]
    assert hidden(suppress(cells)) == {"male"}


def test_a_suppressed_cell_renders_without_value_or_n_for_readers_and_marked_for_admins():
    cell = suppress([Cell("2026-01", "price_per_g", 71, 3, gender="female")])[0]
    shown = render(cell, reveal=False, dimensions=("gender",))
    assert shown == {"period": "2026-01", "indicator": "price_per_g", "category": None, "gender": "female",
                     "suppressed": True}
    admin = render(cell, reveal=True, dimensions=("gender",))
    assert admin["value"] == "71.00" and admin["n"] == 3 and admin["below_threshold"] is True
