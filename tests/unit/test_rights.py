"""The rights table: every cell, allowed and refused, as the issue "who may say what" states it."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from events.catalogue import CATALOGUE
from services.auth import ROLES
from services.rights import may_record, refusals, rights_table_markdown, uncovered_types

HOLDERS = {"cooperative", "exporter", "refiner", "manufacturer", "retailer"}
EVERYONE = {"cooperative", "exporter", "refiner", "manufacturer", "retailer", "ngo", "authority", "auditor"}

#: the table written out by hand, independently of services/rights.py: who may record each type
EXPECTED = {
    "organization.registered": {"authority"},
    "site.registered": {"cooperative", "authority"},
    "pit.registered": {"cooperative", "authority"},
    "miner.registered": {"cooperative"},
    "pit.inspected": {"authority", "ngo", "auditor"},
    "production.recorded": {"cooperative", "exporter"},
    "lots.merged": {"cooperative", "exporter"},
    "lot.split": {"cooperative", "exporter"},
    "lot.transferred": HOLDERS,
    "lot.received": HOLDERS,
    "lot.assayed": {"refiner", "exporter", "authority", "auditor"},
    "lot.exported": {"exporter", "cooperative"},
    "lot.refined": {"refiner"},
    "product.manufactured": {"manufacturer", "refiner"},
    "product.sold": {"manufacturer", "retailer"},
    "risk.flagged": EVERYONE,
    "risk.resolved": EVERYONE,
    "risk.response_planned": HOLDERS,
    "audit.completed": {"auditor"},
    "survey.completed": {"ngo", "cooperative"},
    "vsla.registered": {"ngo", "cooperative"},
    "vsla.reported": {"ngo", "cooperative"},
    "training.held": {"ngo", "cooperative"},
    "leadership.recorded": {"ngo", "cooperative"},
    "market.price_recorded": set(),
    "event.retracted": EVERYONE,
    "organization.key_registered": EVERYONE,
    "organization.key_revoked": EVERYONE,
    "person.erased": set(),
    "payout.policy_set": {"authority"},
    "payout.paid": {"cooperative"},
}


def test_every_catalogued_type_has_one_rule_and_the_table_covers_the_catalogue():
    assert uncovered_types() == []
    assert set(EXPECTED) == set(CATALOGUE)


@pytest.mark.parametrize("event_type", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_each_cell_of_the_table(role, event_type):
    allowed = role == "admin" or role in EXPECTED[event_type]
    assert may_record(role, event_type) is allowed
    event = {"type": event_type, "recorded_by": "org-a", "data": {"subject_id": "lot-1", "organisation_id": "org-a"}}
    denied = refusals(role, "org-a", [event])
    if allowed:
        assert denied == {}
    else:
        (message,) = denied["events.0.type"]
        assert message.startswith("rule ") and event_type in message and f"this key is {role}" in message


def test_a_key_records_only_for_its_own_organisation_and_admin_for_any():
    event = {"type": "lot.transferred", "recorded_by": "coop-other", "data": {}}
    assert "events.0.recorded_by" in refusals("cooperative", "coop-a", [event])
    assert refusals("admin", "platform", [event]) == {}


def test_an_organisation_may_not_flag_itself():
    flag = {"type": "risk.flagged", "recorded_by": "coop-a", "data": {"subject_id": "coop-a"}}
    denied = refusals("cooperative", "coop-a", [flag])
    assert list(denied) == ["events.0.data.subject_id"]
    assert "rule flag.subject" in denied["events.0.data.subject_id"][0]
    assert refusals("ngo", "ngo-watch", [{**flag, "recorded_by": "ngo-watch"}]) == {}


@pytest.mark.parametrize("event_type", ["organization.key_registered", "organization.key_revoked"])
def test_an_organisation_registers_and_revokes_only_its_own_signing_keys(event_type):
    own = {"type": event_type, "recorded_by": "ref-a", "data": {"organisation_id": "ref-a", "key_id": "k1"}}
    assert refusals("refiner", "ref-a", [own]) == {}
    foreign = {**own, "data": {"organisation_id": "ref-b", "key_id": "k1"}}
    denied = refusals("refiner", "ref-a", [foreign])
    assert list(denied) == ["events.0.data.organisation_id"]
    assert "rule registry.signing_keys" in denied["events.0.data.organisation_id"][0]
    assert refusals("admin", "platform", [{**foreign, "recorded_by": "ref-b"}]) == {}


def test_the_paths_name_the_event_of_the_batch():
    ok = {"type": "lot.received", "recorded_by": "ref-a", "data": {}}
    bad = {"type": "lot.refined", "recorded_by": "ref-a", "data": {}}
    assert refusals("retailer", "ref-a", [ok, bad]).keys() == {"events.1.type"}


def test_the_markdown_table_lists_every_rule():
    table = rights_table_markdown()
    for event_type in EXPECTED:
        assert f"`{event_type}`" in table
    assert "| `lot.refined` | refiner, admin | `custody.refining` |" in table
    assert "`not_holder`" in table and "`conflicting_claim`" in table


def test_the_readme_and_the_openapi_document_show_the_table_of_the_code():
    root = Path(__file__).resolve().parents[2]
    table = rights_table_markdown()
    assert table in (root / "README.md").read_text(), "README: paste rights_table_markdown() under 'Who may say what'"
    description = yaml.safe_load((root / "openapi.yaml").read_text())["paths"]["/v1/events"]["post"]["description"]
    assert table in description
