"""What capture accepts, every projector can project: ASCII digits only, years 1900-2100, reachable ids."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from consumers.checks.facts import month_of
from consumers.lineage.graph import sort_key
from events.envelope import validation_errors
from tests import factories as f

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)

#: every Unicode decimal digit that is not 0-9: Arabic-Indic, Devanagari, full-width, ...
foreign_digits = st.characters(categories=["Nd"]).filter(lambda c: not "0" <= c <= "9")


def price(**data) -> dict:
    return f.event("market.price_recorded", {"date": "2026-03-02", "price_per_g_fine": "98.40", "currency": "USD", **data},
                   recorded_by="oretrail-admin")


def savings_report(**data) -> dict:
    return f.event("vsla.reported", {"group_id": "vsla-1", "period": "2026-02", "savings": "120.00", "loans": "80.00",
                                     "currency": "CDF", "solidarity_assists": 2, **data})


def piece(**data) -> dict:
    envelope = f.manufacture("ring-1", {"lot-1": 5.0}, 4.0)
    envelope["data"].update(data)
    return envelope


def with_foreign_digit(text: str, digit: str, index: int) -> str:
    """``text`` with its ``index``-th ASCII digit (modulo their count) replaced by ``digit``."""
    places = [m.start() for m in re.finditer("[0-9]", text)]
    at = places[index % len(places)]
    return text[:at] + digit + text[at + 1:]


CASES = [  # (an event with a digit-bearing field, the path of that field, its valid value)
    (lambda v: price(price_per_g_fine=v), "data.price_per_g_fine", "500.00"),
    (lambda v: price(date=v), "data.date", "2026-03-02"),
    (lambda v: savings_report(period=v), "data.period", "2026-02"),
    (lambda v: savings_report(savings=v), "data.savings", "120.50"),
    (lambda v: piece(gtin=v), "data.gtin", "09506000134352"),
    (lambda v: {**price(), "occurred_at": v}, "occurred_at", "2026-03-02T10:15:00.5+01:00"),
]


@pytest.mark.parametrize("build, path, valid", CASES, ids=[case[1] for case in CASES])
def test_the_ascii_form_of_each_field_is_accepted(build, path, valid):
    assert validation_errors(build(valid), now=NOW) == {}


@pytest.mark.parametrize("build, path, valid", CASES, ids=[case[1] for case in CASES])
@given(digit=foreign_digits, index=st.integers(min_value=0, max_value=30))
def test_a_digit_of_another_script_is_refused_where_a_number_is_written(build, path, valid, digit, index):
    assert path in validation_errors(build(with_foreign_digit(valid, digit, index)), now=NOW)


def test_five_hundred_in_arabic_indic_digits_is_not_money():
    assert "data.price_per_g_fine" in validation_errors(price(price_per_g_fine="5٠٠.00"), now=NOW)


@pytest.mark.parametrize("gtin", ["09506000134352\n", "12345678\n", " 12345678", "1234567", "123456789"])
def test_a_gtin_is_only_its_digits(gtin):
    assert "data.gtin" in validation_errors(piece(gtin=gtin), now=NOW)


@pytest.mark.parametrize("occurred_at", [
    "0001-01-01T00:00:00+14:00",  # before year 1 in UTC: cannot even be converted
    "0001-01-01T00:00:00Z", "1899-12-31T23:59:59Z", "1000-06-01T12:00:00+00:00",
    "1900-01-01T00:00:00+01:00",  # 1899 in UTC
])
def test_a_time_before_1900_is_refused_at_capture(occurred_at):
    assert "occurred_at" in validation_errors({**price(), "occurred_at": occurred_at}, now=NOW)


def test_1900_is_the_first_year_accepted():
    assert validation_errors({**price(), "occurred_at": "1900-01-01T00:00:00Z"}, now=NOW) == {}


@pytest.mark.parametrize("build, path", [
    (lambda year: price(date=f"{year}-03-02"), "data.date"),
    (lambda year: savings_report(period=f"{year}-02"), "data.period"),
])
@pytest.mark.parametrize("year, accepted", [("0001", False), ("0000", False), ("1899", False), ("1900", True),
                                            ("2100", True), ("2101", False), ("9999", False)])
def test_dates_and_months_lie_from_1900_to_2100(build, path, year, accepted):
    errors = validation_errors(build(year), now=NOW)
    assert (path not in errors) is accepted


offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@given(moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), zone=offsets)
def test_every_accepted_time_can_be_ordered_and_grouped_by_the_projectors(moment, zone):
    text = moment.replace(tzinfo=zone).isoformat()
    errors = validation_errors({**price(), "occurred_at": text}, now=NOW)
    if "occurred_at" in errors:
        return
    key = sort_key(text, "e")
    assert re.fullmatch(r"(19[0-9][0-9]|20[0-9][0-9]|2100)-[0-9]{2}-.*", key)
    assert re.fullmatch(r"(19[0-9][0-9]|20[0-9][0-9]|2100)-(0[1-9]|1[0-2])", month_of(text))


@pytest.mark.parametrize("identifier", [".", ".."])
def test_dot_segments_are_not_identifiers(identifier):
    assert "data.lot_id" in validation_errors(f.production(identifier, "pit-a", 10.0), now=NOW)
    assert "recorded_by" in validation_errors(f.production("lot-1", "pit-a", 10.0, recorded_by=identifier), now=NOW)


@given(identifier=st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True).filter(lambda s: s not in (".", "..")))
def test_every_other_identifier_of_the_pattern_is_accepted(identifier):
    assert validation_errors(f.production(identifier, "pit-a", 10.0), now=NOW) == {}


@pytest.mark.parametrize("field, value", [("destination_country", "ＣＨ"), ("currency", "ＵＳＤ")])
def test_codes_are_ascii_letters(field, value):
    envelope = f.event("lot.exported", {"lot_id": "l", "export_permit": "p", "destination_country": "CH",
                                        "royalties_paid": "10.00", "currency": "USD"})
    envelope["data"][field] = value
    assert f"data.{field}" in validation_errors(envelope, now=NOW)


@given(moment=st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2100, 12, 30)), zone=offsets,
       separator=st.sampled_from("Tt"), utc=st.sampled_from(["", "Z", "z"]))
def test_the_month_of_a_time_is_its_local_calendar_month(moment, zone, separator, utc):
    """The month read off the text's date is the one the parsed time gives, in the field's own zone."""
    text = moment.replace(tzinfo=zone).isoformat(sep=separator)
    if utc:
        text = moment.isoformat(sep=separator) + utc
    assert month_of(text) == datetime.fromisoformat(text.replace("z", "Z").replace("t", "T")).strftime("%Y-%m")


@pytest.mark.parametrize("text", ["2026-3-02T10:15:00Z", "garbage", "2026-03", "2026-03-02T10:15:00",
                                  "2026-13-45T99:99:99Z", "2026-03-xxxxxxxxxxxZ", "2026-02-30T10:15:00Z"])
def test_a_text_that_is_no_zoned_time_has_no_month(text):
    with pytest.raises(ValueError):
        month_of(text)
