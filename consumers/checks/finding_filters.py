"""The filters of ``/v1/findings`` as SQL conditions on ``chk_findings``, and its opaque paging cursor.

A finding concerns
- a **site** when its subject is the site, one of its pits or a miner registered there, or when it is
  proved by a production at (or an inspection of) one of its pits, or taints a lot produced there;
- an **organisation** when its subject is the organisation or when the organisation recorded one of
  the events that prove it.
Registrations are read at query time, so a pit registered after the finding still places it on its site.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, tuple_

from consumers.checks import tables as t
from events.fields import has_nul

f = t.findings.c


@dataclass(frozen=True)
class Cursor:
    """Where a page ends in the order of findings (kind, subject, id): the next page starts after it."""

    kind: str
    subject_id: str
    finding_id: str

    def encode(self) -> str:
        """The cursor as an opaque URL-safe string."""
        raw = json.dumps([self.kind, self.subject_id, self.finding_id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        """The cursor ``encode`` gave; ValueError for anything else."""
        try:
            values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError("Not a cursor of this API: pass the `next` of the previous page.") from exc
        if not (isinstance(values, list) and len(values) == 3
                and all(isinstance(v, str) and not has_nul(v) for v in values)):
            raise ValueError("Not a cursor of this API: pass the `next` of the previous page.")
        return cls(*values)

    def after(self) -> ColumnElement[bool]:
        """Findings after this cursor in the order of the list."""
        return tuple_(f.kind, f.subject_id, f.finding_id) > tuple_(self.kind, self.subject_id, self.finding_id)


def _site_pits(site_id: str):
    return select(t.pits.c.pit_id).where(t.pits.c.site_id == site_id)


def of_site(site_id: str) -> ColumnElement[bool]:
    """Findings that concern ``site_id`` (see the module's docstring)."""
    pits = _site_pits(site_id)
    proof = t.finding_proof.c
    produced_there = select(proof.finding_id).join(t.productions, t.productions.c.event_id == proof.event_id).where(
        t.productions.c.pit_id.in_(pits))
    inspected_there = select(proof.finding_id).join(t.inspections, t.inspections.c.event_id == proof.event_id).where(
        t.inspections.c.pit_id.in_(pits))
    taints_its_lots = select(t.finding_links.c.finding_id).join(
        t.productions, t.productions.c.lot_id == t.finding_links.c.node_id).where(t.productions.c.pit_id.in_(pits))
    return or_(f.subject_id == site_id, f.subject_id.in_(pits),
               f.subject_id.in_(select(t.miners.c.miner_id).where(t.miners.c.site_id == site_id)),
               f.finding_id.in_(produced_there), f.finding_id.in_(inspected_there), f.finding_id.in_(taints_its_lots))


def of_organisation(organisation_id: str) -> ColumnElement[bool]:
    """Findings that concern ``organisation_id`` (see the module's docstring)."""
    recorded = select(t.finding_proof.c.finding_id).join(t.events, t.events.c.event_id == t.finding_proof.c.event_id).where(
        t.events.c.recorded_by == organisation_id)
    return or_(f.subject_id == organisation_id, f.finding_id.in_(recorded))
