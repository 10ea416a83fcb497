"""Indicator arithmetic on small cases computed by hand: medians, gaps, weighted averages, exact splits."""
from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from consumers.impact.arithmetic import age_band, gap, largest_remainder, median, ratio, weighted_average
from consumers.impact.payouts import payout_pool


def test_the_median_of_an_odd_count_is_the_middle_value():
    assert median([D("40"), D("10"), D("25")]) == D("25")


def test_the_median_of_an_even_count_is_the_mean_of_the_two_middle_values():
    assert median([D("30"), D("10"), D("45"), D("20")]) == D("25")


def test_no_values_have_no_median():
    assert median([]) is None


def test_the_gender_gap_is_the_womens_shortfall_as_a_share_of_the_mens_value():
    assert gap(D("80"), D("60")) == D("0.25")  # women get 25 % less
    assert gap(D("60"), D("80")) == D("-1") / 3  # women get a third more
    assert gap(D("0"), D("10")) is None and gap(None, D("1")) is None


def test_a_ratio_over_nothing_is_none():
    assert ratio(3, 4) == D("0.75") and ratio(1, 0) is None


def test_a_weighted_average_leaves_out_hidden_values_and_renormalises():
    # sites with 60 % and 40 % of the gold; the second site's value is suppressed
    assert weighted_average([(D("10"), D("0.6")), (D("20"), D("0.4"))]) == (D("14"), D("1.0"))
    assert weighted_average([(D("10"), D("0.6")), (None, D("0.4"))]) == (D("10"), D("0.6"))
    assert weighted_average([(None, D("1"))]) == (None, D("0"))


@pytest.mark.parametrize("born, year, band", [
    (2010, 2026, "under_18"), (2008, 2026, "18_24"), (2002, 2026, "18_24"), (2001, 2026, "25_34"),
    (1982, 2026, "35_44"), (1981, 2026, "45_54"), (1971, 2026, "55_plus"),
])
def test_age_bands_follow_the_survey_bands(born, year, band):
    assert age_band(born, year) == band


def test_a_euro_split_three_ways_gives_the_odd_cent_to_the_first_id():
    assert largest_remainder(D("1.00"), {"b": 1, "a": 1, "c": 1}) == {"a": D("0.34"), "b": D("0.33"), "c": D("0.33")}


def test_cents_go_to_the_largest_remainders():
    # 99 cents at 55/35/10 %: quotas 54.45, 34.65, 9.9; floors 54 + 34 + 9 = 97; the two cents left go
    # to the remainders .9 and .65, not to .45
    parts = largest_remainder(D("0.99"), {"big": D("0.55"), "mid": D("0.35"), "small": D("0.10")})
    assert parts == {"big": D("0.54"), "mid": D("0.35"), "small": D("0.10")}


def test_zero_weights_get_nothing():
    assert largest_remainder(D("0.05"), {"a": 0, "b": 1}) == {"a": D("0.00"), "b": D("0.05")}


def test_a_total_that_is_not_whole_cents_is_refused():
    with pytest.raises(ValueError):
        largest_remainder(D("1.005"), {"a": 1})


@given(total_cents=st.integers(0, 10**9),
       weights=st.lists(st.fractions(min_value=0, max_value=1000), min_size=1, max_size=40).filter(lambda w: sum(w) > 0))
def test_the_parts_always_add_up_to_the_cent_and_stay_within_a_cent_of_their_quota(total_cents, weights):
    total = D(total_cents) / 100
    named = {f"m-{index:03d}": weight for index, weight in enumerate(weights)}
    parts = largest_remainder(total, named)
    assert sum(parts.values()) == total
    whole = sum(weights)
    for key, weight in named.items():
        quota = Fraction(total_cents) * weight / whole
        assert abs(Fraction(parts[key] * 100) - quota) < 1


def test_the_payout_of_a_sale_is_rounded_half_up_to_the_cent():
    assert payout_pool(D("455.00"), D("0.01")) == D("4.55")
    assert payout_pool(D("0.50"), D("0.01")) == D("0.01")  # 0.005 rounds up
    assert payout_pool(D("0.49"), D("0.01")) == D("0.00")
