"""Due-diligence events (OECD Annex II risks, their resolution, audits)."""
from __future__ import annotations

from events.catalogue.base import DataSchema
from events.catalogue.vocabulary import AUDIT_RESULTS, RESOLUTIONS, RISK_CATEGORIES, SEVERITIES
from events.fields import Identifier, OneOf, Sha256, Text


def inspection_flag_id(inspection_event_id: str, category: str) -> str:
    """The ``flag_id`` of the risk a ``pit.inspected`` event raises automatically (children present:
    ``child_labour``; armed presence: ``armed_group``; mercury use: ``environment``): a
    ``risk.resolved`` naming it records how that risk was handled."""
    return f"inspection:{inspection_event_id}:{category}"


class RiskFlagged(DataSchema):
    """A risk identified on a subject (a lot, pit, site or organisation)."""

    stream_field = "flag_id"
    flag_id = Identifier(required=True)
    subject_id = Identifier(required=True)
    category = OneOf(RISK_CATEGORIES, required=True)
    severity = OneOf(SEVERITIES, required=True)
    description = Text(required=True, max_length=2000)


class RiskResolved(DataSchema):
    """How a flagged risk was handled."""

    stream_field = "flag_id"
    flag_id = Identifier(required=True)
    resolution = OneOf(RESOLUTIONS, required=True)
    note = Text(required=True, max_length=2000)


class AuditCompleted(DataSchema):
    """A third-party audit of a subject and its result."""

    stream_field = "subject_id"
    subject_id = Identifier(required=True)
    auditor = Identifier(required=True)
    result = OneOf(AUDIT_RESULTS, required=True)
    report_sha256 = Sha256()


SCHEMAS = {
    "risk.flagged": RiskFlagged,
    "risk.resolved": RiskResolved,
    "audit.completed": AuditCompleted,
}
