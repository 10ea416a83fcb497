"""The rights of each role: which keys may record which event types, as one table.

Two kinds of rule live here, and they are enforced in two places, on purpose:
- a **role rule** says which roles may record an event type at all. It is decided at capture, from
  the key alone, and a refusal is a 403 that names the rule: nothing of the batch is recorded.
- a **relation rule** depends on what the log already says (who owns an entity, who holds a lot,
  who raised a flag). Capture cannot decide it safely: events of other streams may still be on their
  way (order tolerance), so the claim is recorded, as evidence, and the read models give it no effect
  and raise a finding. The table names these rules too, so that the README and the OpenAPI document
  tell one story.
An admin key may record anything, and its events keep ``attested_by.role == "admin"``: visible.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from events.catalogue import CATALOGUE, KEY_TYPES
from events.catalogue.registry import ORGANISATION_ROLES

ADMIN = "admin"
#: the roles whose organisations can hold gold (and so receive, pass on and transform it)
HOLDER_ROLES = frozenset({"cooperative", "exporter", "refiner", "manufacturer", "retailer"})
EVERY_ROLE = frozenset(ORGANISATION_ROLES)


@dataclass(frozen=True)
class RoleRule:
    """Who may record some event types: ``roles`` (an admin always may); ``why`` says the reason."""

    name: str
    event_types: tuple[str, ...]
    roles: frozenset[str]
    why: str


@dataclass(frozen=True)
class RelationRule:
    """A right that depends on the record itself; a claim outside it is kept and raises ``finding``."""

    name: str
    event_types: tuple[str, ...]
    who: str
    finding: str


ROLE_RULES: tuple[RoleRule, ...] = (
    RoleRule("registry.organisations", ("organization.registered",), frozenset({"authority"}),
             "an organisation's identity and role are vouched for by the platform or a public authority"),
    RoleRule("registry.sites", ("site.registered", "pit.registered"), frozenset({"cooperative", "authority"}),
             "sites and pits are registered by those who work or license them"),
    RoleRule("registry.miners", ("miner.registered",), frozenset({"cooperative"}),
             "a miner is registered by the cooperative they belong to"),
    RoleRule("registry.inspections", ("pit.inspected",), frozenset({"authority", "ngo", "auditor"}),
             "an inspection is only worth something from a party independent of the pit"),
    RoleRule("custody.mining", ("production.recorded", "lots.merged", "lot.split"),
             frozenset({"cooperative", "exporter"}),
             "production, merging and splitting of raw lots happen upstream, at the cooperative or exporter"),
    RoleRule("custody.handover", ("lot.transferred", "lot.received"), HOLDER_ROLES,
             "only a role that can hold gold can hand it over or receive it"),
    RoleRule("custody.assay", ("lot.assayed",), frozenset({"refiner", "exporter", "authority", "auditor"}),
             "fineness is measured by a refinery, an exporter's lab, an authority or an auditor"),
    RoleRule("custody.export", ("lot.exported",), frozenset({"exporter", "cooperative"}),
             "an export permit is held by a licensed exporter (or an exporting cooperative)"),
    RoleRule("custody.refining", ("lot.refined",), frozenset({"refiner"}), "only a refinery refines"),
    RoleRule("custody.manufacturing", ("product.manufactured",), frozenset({"manufacturer", "refiner"}),
             "pieces (and refiners' bars) are made by their makers"),
    RoleRule("custody.sale", ("product.sold",), frozenset({"manufacturer", "retailer"}),
             "a piece is sold by whoever makes or retails it"),
    RoleRule("diligence.flags", ("risk.flagged",), EVERY_ROLE,
             "anyone who sees a risk may report it (never about their own organisation)"),
    RoleRule("diligence.resolutions", ("risk.resolved",), EVERY_ROLE,
             "any role may answer a flag it raised; who raised it is a relation rule"),
    RoleRule("diligence.responses", ("risk.response_planned",), HOLDER_ROLES,
             "a response to a risk (carry on with mitigation, suspend, disengage) is a buyer's decision about its "
             "own supply; which buyer is a relation rule"),
    RoleRule("diligence.audits", ("audit.completed",), frozenset({"auditor"}), "an audit is an auditor's finding"),
    RoleRule("impact.community", ("survey.completed", "vsla.registered", "vsla.reported", "training.held",
                                  "leadership.recorded"), frozenset({"ngo", "cooperative"}),
             "community data is collected by the NGOs and cooperatives that work with the community"),
    RoleRule("markets.reference_price", ("market.price_recorded",), frozenset(),
             "the reference price every payout and check relies on is entered by the platform's operator"),
    RoleRule("payouts.policy", ("payout.policy_set",), frozenset({"authority"}),
             "the share of a sale owed to miners is decided by the platform's operator or a public authority"),
    RoleRule("payouts.payments", ("payout.paid",), frozenset({"cooperative"}),
             "a miner is paid by the cooperative they belong to; which cooperative is a relation rule"),
    RoleRule("corrections.retractions", ("event.retracted",), EVERY_ROLE,
             "anyone may take back what it said; whose event it is is a relation rule"),
    RoleRule("persons.erasure", ("person.erased",), frozenset(),
             "a person's data keys are destroyed, and the erasure recorded, by the platform's operator alone"),
    RoleRule("registry.signing_keys", tuple(sorted(KEY_TYPES)), EVERY_ROLE,
             "an organisation registers and revokes its own signing keys (data.organisation_id is its own)"),
)

RELATION_RULES: tuple[RelationRule, ...] = (
    RelationRule("ownership", ("organization.registered", "site.registered", "pit.registered", "miner.registered",
                               "production.recorded", "product.manufactured"),
                 "an entity belongs to the organisation that first registered or created it; a claim on an "
                 "existing id by another organisation changes nothing", "conflicting_claim"),
    RelationRule("custody", ("lot.transferred", "lot.received", "lot.assayed", "lots.merged", "lot.split",
                             "lot.refined", "lot.exported", "product.manufactured", "product.sold"),
                 "only the organisation holding a lot or piece at that time may pass it on, weigh, assay or "
                 "transform it; an assay also counts from an authority's or auditor's key (an independent party)",
                 "not_holder"),
    RelationRule("flag.id", ("risk.flagged",),
                 "a flag_id names one flag, its first raising recorded: a reuse answers 409, or (racing the "
                 "first raising's projection) is kept and changes nothing", "conflicting_claim"),
    RelationRule("flag.subject", ("risk.flagged", "risk.resolved"),
                 "a flag is never raised or resolved by its own subject", "self_resolution"),
    RelationRule("flag.resolver", ("risk.resolved",),
                 "a flag is resolved only by the organisation that raised it, an auditor or an admin",
                 "unauthorised_resolution"),
    RelationRule("flag.response", ("risk.response_planned",),
                 "a response to a flag is planned by the organisation that raised it, by a buyer of the flagged "
                 "gold (the flagged lot or piece, or gold of the flagged supplier, was handed to it, by a hand-over "
                 "its giver recorded, before the plan) or by an admin, never by the flag's subject; a refused "
                 "plan is listed with the risk in the due-diligence record and changes nothing",
                 "unauthorised_response"),
    RelationRule("payout.payer", ("payout.paid",),
                 "a payment counts only from the miner's own cooperative (the miner's latest registration); "
                 "another's is kept and counts for nothing", "payout_unauthorised"),
    RelationRule("retraction", ("event.retracted",),
                 "only the organisation that attested an event (its key's organisation) may retract it, and "
                 "a retraction cannot itself be retracted: a 403 at capture when the event is known; a "
                 "retraction racing its event is kept, shown as refused in the timeline, and changes nothing",
                 "unauthorised_retraction"),
)

_RULE_OF_TYPE: dict[str, RoleRule] = {event_type: rule for rule in ROLE_RULES for event_type in rule.event_types}


def role_rule(event_type: str) -> RoleRule:
    """The role rule of ``event_type`` (every catalogued type has exactly one)."""
    return _RULE_OF_TYPE[event_type]


def may_record(role: str, event_type: str) -> bool:
    """Whether a key of ``role`` may record events of ``event_type`` at all."""
    return role == ADMIN or role in role_rule(event_type).roles


def refusals(role: str, org_id: str, raw_events: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Why a key of ``role`` for ``org_id`` may not record some of ``raw_events``: ``{path: [message]}``.

    Decides what the key alone decides: its role, the organisation it records for, a flag about
    its own organisation, and the signing keys of its own organisation only. Empty when every event may be recorded.
    """
    denied: dict[str, list[str]] = {}
    for index, raw in enumerate(raw_events):
        if role == ADMIN:
            continue
        if raw["recorded_by"] != org_id:
            denied[f"events.{index}.recorded_by"] = [
                f"rule attribution: this key records only for {org_id!r}, not {raw['recorded_by']!r}."]
        rule = role_rule(raw["type"])
        if role not in rule.roles:
            allowed = ", ".join(sorted(rule.roles | {ADMIN}))
            denied[f"events.{index}.type"] = [
                f"rule {rule.name}: only {allowed} keys may record {raw['type']} ({rule.why}); this key is {role}."]
        if raw["type"] in KEY_TYPES and raw["data"].get("organisation_id") != org_id:
            denied[f"events.{index}.data.organisation_id"] = [
                f"rule registry.signing_keys: this key registers and revokes signing keys only for {org_id!r}."]
        if raw["type"] == "risk.flagged" and raw["data"].get("subject_id") == org_id:
            denied[f"events.{index}.data.subject_id"] = [
                "rule flag.subject: an organisation may not flag itself; ask an auditor or an NGO."]
    return denied


def rights_table_markdown() -> str:
    """The table as Markdown, for the README and the OpenAPI document."""
    lines = ["| event types | who may record them | rule |", "| --- | --- | --- |"]
    for rule in ROLE_RULES:
        roles = ", ".join([*sorted(rule.roles), ADMIN]) if rule.roles != EVERY_ROLE else "every role, admin"
        lines.append(f"| {', '.join(f'`{t}`' for t in rule.event_types)} | {roles} | `{rule.name}` |")
    lines += ["", "| rule | event types | who | a claim outside it raises |", "| --- | --- | --- | --- |"]
    for relation in RELATION_RULES:
        lines.append(f"| `{relation.name}` | {', '.join(f'`{t}`' for t in relation.event_types)} | "
                     f"{relation.who} | `{relation.finding}` |")
    return "\n".join(lines)


def uncovered_types() -> list[str]:
    """Catalogued event types without exactly one role rule (the tests keep this empty)."""
    counts = {event_type: 0 for event_type in CATALOGUE}
    for rule in ROLE_RULES:
        for event_type in rule.event_types:
            counts[event_type] = counts.get(event_type, 0) + 1
    return sorted(event_type for event_type, count in counts.items() if count != 1)
