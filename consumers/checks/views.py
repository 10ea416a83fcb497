"""Read side of the checks model: findings (filtered, paged, or those of a product's ancestry), balances, actors.

Also the vocabulary a reader of findings needs (their kinds, severities and statuses).
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from sqlalchemy import bindparam, Engine, func, or_, select

from consumers.checks import tables as t
from consumers.checks.finding_filters import Cursor, of_organisation, of_site
from consumers.checks.findings import KINDS
from consumers.lineage.graph import moment_of, sort_key
from events.catalogue.vocabulary import FINDING_STATUSES as STATUSES, SEVERITIES

__all__ = ["Cursor", "FindingsView", "KINDS", "SEVERITIES", "STATUSES", "finding_out"]

#: SQLite binds at most 32,766 parameters in one statement: look ids up in chunks below that
_CHUNK = 5000


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]


def finding_out(row: Any, links: list[str] | None = None) -> dict[str, Any]:
    """A finding as the API shows it."""
    out = {
        "finding_id": row["finding_id"], "kind": row["kind"], "subject_id": row["subject_id"],
        "severity": row["severity"], "status": row["status"], "message": row["message"],
        "proof": json.loads(row["proof"]), "detail": json.loads(row["detail"]),
    }
    if row.get("at") is not None:
        out["at"] = row["at"]
    if links is not None:
        out["lots"] = links
    return out


class FindingsView:
    """Queries over the ``chk_*`` tables."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def list(self, kind: str | None = None, subject: str | None = None, status: str | None = None,
             limit: int = 100, offset: int = 0, *, severity: str | None = None, site_id: str | None = None,
             organisation_id: str | None = None, since: str | None = None, until: str | None = None,
             after: Cursor | None = None) -> tuple[list[dict[str, Any]], int, Cursor | None]:
        """Findings matching the filters, ordered by kind, subject and id; how many match; the cursor of the
        next page (None on the last).

        ``subject`` matches the subject or a tainted lot; ``site_id`` and ``organisation_id`` the findings
        that concern them (``finding_filters``); ``since`` (inclusive) and ``until`` (exclusive) are RFC 3339
        date-times compared with the finding's time. A page starts after ``after`` (cursor paging) or at
        ``offset``.
        """
        query = select(t.findings)
        if kind:
            query = query.where(t.findings.c.kind == kind)
        if status:
            query = query.where(t.findings.c.status == status)
        if severity:
            query = query.where(t.findings.c.severity == severity)
        if subject:
            linked = select(t.finding_links.c.finding_id).where(t.finding_links.c.node_id == subject)
            query = query.where(or_(t.findings.c.subject_id == subject, t.findings.c.finding_id.in_(linked)))
        if site_id:
            query = query.where(of_site(site_id))
        if organisation_id:
            query = query.where(of_organisation(organisation_id))
        if since:
            query = query.where(t.findings.c.at >= moment_of(sort_key(since, "")))
        if until:
            query = query.where(t.findings.c.at < moment_of(sort_key(until, "")))
        page = query.where(after.after()) if after is not None else query
        order = (t.findings.c.kind, t.findings.c.subject_id, t.findings.c.finding_id)
        with self.engine.connect() as connection:
            total = connection.execute(select(func.count()).select_from(query.subquery())).scalar() or 0
            rows = connection.execute(page.order_by(*order).limit(limit + 1).offset(offset)).mappings().all()
            links = self._links(connection, [row["finding_id"] for row in rows[:limit]])
        following = None
        if len(rows) > limit:
            last = rows[limit - 1]
            following = Cursor(last["kind"], last["subject_id"], last["finding_id"])
        return [finding_out(row, links.get(row["finding_id"], [])) for row in rows[:limit]], int(total), following

    @staticmethod
    def _links(connection, finding_ids: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for chunk in _chunks(finding_ids):
            for finding_id, node_id in connection.execute(
                select(t.finding_links.c.finding_id, t.finding_links.c.node_id)
                .where(t.finding_links.c.finding_id.in_(bindparam("ids", chunk, expanding=True))).order_by(t.finding_links.c.node_id)
            ):
                found.setdefault(finding_id, []).append(node_id)
        return found

    def for_nodes(self, node_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Every finding (open or withdrawn) that taints one of these lots or products."""
        rows: dict[str, Any] = {}
        links: dict[str, set[str]] = {}
        with self.engine.connect() as connection:
            for chunk in _chunks(node_ids):
                for row in connection.execute(
                    select(t.findings, t.finding_links.c.node_id)
                    .join(t.finding_links, t.finding_links.c.finding_id == t.findings.c.finding_id)
                    .where(t.finding_links.c.node_id.in_(bindparam("ids", chunk, expanding=True)))
                ).mappings():
                    rows[row["finding_id"]] = row
                    links.setdefault(row["finding_id"], set()).add(row["node_id"])
        ordered = sorted(rows.values(), key=lambda r: (r["status"] != "open", r["kind"], r["subject_id"], r["finding_id"]))
        return [finding_out(row, sorted(links[row["finding_id"]])) for row in ordered]

    def open_keys(self, kind: str, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` an open finding of ``kind`` is keyed by (for ``price_below_reference``: transfer ids)."""
        found: set[str] = set()
        with self.engine.connect() as connection:
            for chunk in _chunks(keys):
                found.update(connection.execute(select(t.findings.c.key).where(
                    t.findings.c.kind == kind, t.findings.c.status == "open",
                    t.findings.c.key.in_(bindparam("ids", chunk, expanding=True)))).scalars())
        return found

    def balances(self, event_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The mass balance of these transformations, by event id."""
        found = {}
        with self.engine.connect() as connection:
            for chunk in _chunks(event_ids):
                for row in connection.execute(select(t.balances).where(t.balances.c.event_id.in_(bindparam("ids", chunk, expanding=True)))).mappings():
                    found[row["event_id"]] = dict(row)
        return found

    def actors(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Registered organisations and miners among ``ids``: kind, name, role, country (organisations)."""
        found: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as connection:
            for chunk in _chunks(ids):
                for row in connection.execute(select(t.organisations).where(t.organisations.c.org_id.in_(bindparam("ids", chunk, expanding=True)))).mappings():
                    found[row["org_id"]] = {"kind": "organisation", "name": row["name"], "role": row["role"],
                                            "country": row["country"]}
                for row in connection.execute(select(t.miners).where(t.miners.c.miner_id.in_(bindparam("ids", chunk, expanding=True)))).mappings():
                    found[row["miner_id"]] = {"kind": "miner", "cooperative_id": row["cooperative_id"],
                                              "site_id": row["site_id"]}
        return found
