"""The words of the contract, each list defined once: what event fields accept and what answers say.

Schemas (``events.catalogue``), projectors, services and the API import these; none repeats them.
"""
from __future__ import annotations

# -- event fields ------------------------------------------------------------------------------
#: ``organization.registered`` ``role``
ORGANISATION_ROLES = ("cooperative", "exporter", "refiner", "manufacturer", "retailer", "ngo", "authority", "auditor")
#: ``gender`` of a miner, a survey respondent, a leader
GENDERS = ("female", "male", "other", "undisclosed")
#: ``work_role`` of a miner or a survey respondent
WORK_ROLES = ("digger", "processor", "transporter", "trader", "pit_owner", "team_lead")
#: ``pit.inspected`` ``status``
PIT_STATUSES = ("active", "inactive", "abandoned")
#: ``survey.completed`` ``age_band``
AGE_BANDS = ("under_18", "18_24", "25_34", "35_44", "45_54", "55_plus")
#: ``training.held`` ``kind``
TRAINING_KINDS = ("literacy", "business", "dialogue", "safety", "other")
#: ``risk.flagged`` ``category`` (OECD Annex II)
RISK_CATEGORIES = (
    "serious_abuse", "child_labour", "forced_labour", "sexual_violence", "armed_group", "security_forces",
    "bribery", "misrepresentation", "money_laundering", "unpaid_taxes", "environment",
)
#: ``risk.flagged`` ``severity``, and the severity of a finding of the checks (least to most severe)
SEVERITIES = ("low", "medium", "high")
#: ``risk.resolved`` ``resolution``
RESOLUTIONS = ("mitigated", "disengaged", "unfounded")
#: ``risk.response_planned`` ``strategy`` (OECD Annex II step 3: carry on while mitigating, suspend, disengage)
RESPONSE_STRATEGIES = ("continue_with_mitigation", "suspend", "disengage")
#: the strategies that stop trade with the flag's subject: its later hand-overs need their buyers' attention
SUSPENDING_STRATEGIES = ("suspend", "disengage")
#: ``audit.completed`` ``result``
AUDIT_RESULTS = ("pass", "fail")

# -- answers -----------------------------------------------------------------------------------
#: a finding of the checks: open while the facts prove it, withdrawn once later facts resolve it
FINDING_STATUSES = ("open", "withdrawn")
#: a flagged risk in a due-diligence record
RISK_STATUSES = ("open", "resolved")
#: a due-diligence record as a whole
DILIGENCE_STATUSES = ("clear", "attention", "red")
