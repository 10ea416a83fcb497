"""``GET /v1/findings`` pages merge the checks' findings with the payouts ledger's: walked by cursor or by
offset, every finding is met once, in order, and the total counts both."""
from __future__ import annotations

import itertools

from api.findings import merged_page
from consumers.checks.finding_filters import Cursor


def finding(kind: str, subject: str) -> dict:
    return {"kind": kind, "subject_id": subject, "finding_id": f"{kind}-{subject}", "severity": "medium"}


def order(item: dict) -> tuple:
    return item["kind"], item["subject_id"], item["finding_id"]


class FakeChecks:
    """The checks' findings view: ordered, paged by offset or after a cursor, filtered by kind."""

    def __init__(self, items: list[dict]):
        self.items = sorted(items, key=order)

    def list(self, kind=None, subject=None, status=None, limit=100, offset=0, *, severity=None, site_id=None,
             organisation_id=None, since=None, until=None, after=None):
        rows = [item for item in self.items if kind in (None, item["kind"]) and not site_id]
        if after is not None:
            rows = [item for item in rows if order(item) > (after.kind, after.subject_id, after.finding_id)]
            page = rows[:limit]
        else:
            page = rows[offset:offset + limit]
        more = len(rows) > (limit if after is not None else offset + limit)
        total = len([item for item in self.items if kind in (None, item["kind"]) and not site_id])
        return page, total, Cursor(*order(page[-1])) if more and page else None


class FakeLedger:
    def __init__(self, items: list[dict]):
        self.items = items

    def list(self, kind=None, subject=None, status=None):
        return [item for item in self.items if kind in (None, item["kind"])]


CHECKS = [finding(kind, f"s{n}") for kind, n in itertools.product(("double_use", "stale_inspection"), range(4))]
LEDGER = [finding("payout_overdue", "coop-a"), finding("payout_overpaid", "m-1"), finding("payout_overdue", "coop-b")]
EVERY = sorted(CHECKS + LEDGER, key=order)


def query(**kw) -> dict:
    return {"limit": 3, "offset": 0, **kw}


def test_walking_the_cursor_meets_every_finding_of_both_once_in_order():
    seen, after = [], None
    while True:
        items, total, _, cursor = merged_page(FakeChecks(CHECKS), FakeLedger(LEDGER),
                                              query(**({"after": after} if after else {})))
        assert total == len(EVERY) and len(items) <= 3
        seen += items
        if cursor is None:
            break
        after = cursor
    assert seen == EVERY


def test_walking_offsets_meets_every_finding_once_in_order():
    seen, offset = [], 0
    while offset is not None:
        items, total, offset, _ = merged_page(FakeChecks(CHECKS), FakeLedger(LEDGER), query(offset=offset))
        assert total == len(EVERY)
        seen += items
    assert seen == EVERY


def test_a_page_filtered_by_place_or_time_holds_the_checks_findings_only():
    items, total, _, _ = merged_page(FakeChecks(CHECKS), FakeLedger(LEDGER), query(limit=100, since="2026-01-01T00:00:00Z"))
    assert items == sorted(CHECKS, key=order) and total == len(CHECKS)


def test_without_ledger_findings_the_checks_pages_are_given_as_they_are():
    items, total, next_offset, cursor = merged_page(FakeChecks(CHECKS), FakeLedger([]), query())
    assert items == sorted(CHECKS, key=order)[:3] and total == len(CHECKS) and next_offset == 3 and cursor


def test_the_documented_kinds_are_every_kind_the_api_accepts():
    from pathlib import Path

    import yaml

    from api.findings import KINDS

    document = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
    [kind] = [p for p in document["paths"]["/v1/findings"]["get"]["parameters"] if p["name"] == "kind"]
    assert kind["schema"]["enum"] == list(KINDS)
