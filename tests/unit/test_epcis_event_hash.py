"""The GS1 EPCIS event hash, against every test case of the reference generator (tests/data/epcis/event-hash)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.epcis.digital_link import canonical_identifier
from services.epcis.documents import document_events
from services.epcis.event_hash import event_hash, hash_of, pre_hash, timestamp

CASES = Path(__file__).resolve().parents[1] / "data" / "epcis" / "event-hash"
#: fields a repository added to events it stored (its own hash, its capture id): not part of the event
REPOSITORY_FIELDS = {"https://repository-x.example.com/hash", "https://ns.example.com/epcis/captureID"}


def cases() -> list[tuple[str, int]]:
    found = []
    for path in sorted(CASES.glob("*.jsonld")):
        count = len(path.with_suffix(".hashes").read_text().split())
        found.extend((path.stem, index) for index in range(count))
    return found


def test_every_case_is_there():
    assert len(list(CASES.glob("*.jsonld"))) == 19
    assert len(cases()) == 38


@pytest.mark.parametrize(("name", "index"), cases())
def test_hash_and_pre_hash_of_each_event_are_the_reference_ones(name, index):
    document = json.loads((CASES / f"{name}.jsonld").read_text())
    event = document_events(document)[index]
    expected = (CASES / f"{name}.hashes").read_text().split()[index]
    prehashes = CASES / f"{name}.prehashes"
    # the pre-hash string too, where the .prehashes line is the pre-image of the .hashes line (in two
    # cases it is not: their .prehashes files were left from an earlier version of the document)
    lines = prehashes.read_text().splitlines() if prehashes.exists() else []
    if index < len(lines) and hash_of(lines[index]) == expected:
        assert pre_hash(event, document["@context"], REPOSITORY_FIELDS) == lines[index]
    assert event_hash(event, document["@context"], REPOSITORY_FIELDS) == expected


def test_any_change_of_a_field_changes_the_hash_but_not_the_order_of_a_list():
    document = json.loads((CASES / "epcisDocWithSingleEvent.jsonld").read_text())
    event = document_events(document)[0]
    original = event_hash(event, document["@context"])
    assert event_hash({**event, "bizStep": "receiving"}, document["@context"]) != original
    assert event_hash({**event, "epcList": list(reversed(event["epcList"]))}, document["@context"]) == original
    # an eventID or a record time are not part of the event
    assert event_hash({**event, "eventID": "ni:///x", "recordTime": "2030-01-01T00:00:00Z"}, document["@context"]) == original


def test_times_are_utc_with_milliseconds_rounded_half_up():
    assert timestamp("2019-10-21T12:58:56+02:00") == "2019-10-21T10:58:56.000Z"
    assert timestamp("2019-10-21T12:58:56.5915+02:00") == "2019-10-21T10:58:56.592Z"
    assert timestamp("2019-10-21T23:59:59.9996Z") == "2019-10-22T00:00:00.000Z"


def test_identifiers_take_their_constrained_digital_link_form():
    assert canonical_identifier("urn:epc:id:sgtin:4012345.011111.9876") == "https://id.gs1.org/01/04012345111118/21/9876"
    assert canonical_identifier("https://example.com/01/04012345111118/10/L1/21/9?x=1") == \
        "https://id.gs1.org/01/04012345111118/21/9"
    # an Oretrail lot URI is not a GS1 key: it stays as it is
    assert canonical_identifier("https://oretrail.example/id/lot/LOT-1") == "https://oretrail.example/id/lot/LOT-1"
