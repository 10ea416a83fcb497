"""Tables of the due-diligence read model: risks raised (reported or from inspections), resolutions, audits,
responses planned and the hand-overs of gold they depend on.

Rows are keyed by event id (an automatic risk by its inspection's event id and category); the
state of a risk (open or how it was handled), which raising defines it and which resolutions count
are decided at query time from all its rows (``consumers.authority.flag_verdict``), so the tables
are the same for any arrival order.
"""
from __future__ import annotations

from sqlalchemy import Boolean, Column, MetaData, String, Table, Text

from consumers.sql import Key

metadata = MetaData()
ID = Key(160)
EVENT = Key(36)
SORT = Key(80)

risks = Table(
    "dd_risks", metadata,
    Column("flag_id", ID, primary_key=True),
    Column("event_id", EVENT, primary_key=True),
    Column("subject_id", ID, nullable=False, index=True),
    Column("category", String(32), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("description", Text, nullable=False),
    Column("raised_by", ID, nullable=False),
    Column("occurred_at", String(40), nullable=False),
    #: when the platform recorded it (server clock): the first recorded raising defines the flag
    Column("recorded_at", String(40), nullable=False),
    Column("sort_key", SORT, nullable=False),
    #: raised by an inspection (children, armed presence, mercury) rather than reported
    Column("automatic", Boolean, nullable=False),
    Column("hash", String(64), nullable=False),
)

resolutions = Table(
    "dd_resolutions", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("flag_id", ID, nullable=False, index=True),
    Column("resolution", String(16), nullable=False),
    Column("note", Text, nullable=False),
    Column("recorded_by", ID, nullable=False),
    #: the role of the key that recorded it (``attested_by.role``; NULL before attestation existed)
    Column("attested_role", String(16)),
    Column("occurred_at", String(40), nullable=False),
    Column("sort_key", SORT, nullable=False),
    Column("hash", String(64), nullable=False),
)

audits = Table(
    "dd_audits", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("subject_id", ID, nullable=False, index=True),
    Column("auditor", ID, nullable=False),
    Column("result", String(8), nullable=False),
    Column("report_sha256", String(64)),
    Column("recorded_by", ID, nullable=False),
    Column("occurred_at", String(40), nullable=False),
    Column("sort_key", SORT, nullable=False),
    Column("hash", String(64), nullable=False),
)

#: every ``risk.response_planned`` (OECD step 3), counted or not: which count is decided at query time
#: (``consumers.authority.response_verdict``)
responses = Table(
    "dd_responses", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("flag_id", ID, nullable=False, index=True),
    Column("strategy", String(32), nullable=False),
    Column("deadline", String(10), nullable=False),  # YYYY-MM-DD
    Column("measures", Text),
    Column("recorded_by", ID, nullable=False, index=True),
    Column("attested_role", String(16)),
    Column("occurred_at", String(40), nullable=False),
    Column("sort_key", SORT, nullable=False),
    Column("hash", String(64), nullable=False),
)

#: every ``lot.transferred`` (who handed what to whom, and who recorded it): who bought the flagged gold,
#: and what a suspended supplier handed over after the plan
handovers = Table(
    "dd_handovers", metadata,
    Column("event_id", EVENT, primary_key=True),
    Column("lot_id", ID, nullable=False, index=True),
    Column("from_id", ID, nullable=False, index=True),
    Column("to_id", ID, nullable=False, index=True),
    Column("recorded_by", ID, nullable=False),
    Column("sort_key", SORT, nullable=False),
)
