"""Due-diligence events (OECD Annex II risks, their resolution, audits)."""
from __future__ import annotations

from events.catalogue.base import DataSchema
from events.catalogue.vocabulary import AUDIT_RESULTS, RESOLUTIONS, RESPONSE_STRATEGIES, RISK_CATEGORIES, SEVERITIES
from events.fields import Date, Identifier, OneOf, Sha256, Text


#: what an inspection that reports a condition raises: (data field, category, severity, description)
INSPECTION_RISKS = (
    ("children_present", "child_labour", "high", "Children were present at the pit during an inspection."),
    ("armed_presence", "armed_group", "high", "Armed people were present at the pit during an inspection."),
    ("mercury_use", "environment", "medium", "Mercury was in use at the pit during an inspection."),
)


def inspection_risks(data: dict) -> list[tuple[str, str, str]]:
    """The risks a ``pit.inspected`` event's ``data`` raises: ``(category, severity, description)``."""
    return [(category, severity, description)
            for field, category, severity, description in INSPECTION_RISKS if data.get(field)]


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


class RiskResponsePlanned(DataSchema):
    """A buyer's response to a flagged risk (OECD Annex II step 3): its strategy and the date it is due by."""

    stream_field = "flag_id"
    flag_id = Identifier(required=True)
    strategy = OneOf(RESPONSE_STRATEGIES, required=True)
    #: the risk should be resolved (``risk.resolved``) by this date; past it, an open risk is red
    deadline = Date(required=True)
    measures = Text(max_length=2000)


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
    "risk.response_planned": RiskResponsePlanned,
    "audit.completed": AuditCompleted,
}
