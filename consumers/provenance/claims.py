"""What the public page may honestly say about a piece: pure functions from its provenance to a story.

No database and no HTTP here: the provenance of a product (as ``ProvenanceView.product_provenance``
answers it, without restricted fields), the registered organisations and the miners behind its
production lots go in; a *public story* comes out, JSON-ready and language-neutral (codes and
numbers; the page's catalogue turns them into words).

The story states the strongest claim the recorded evidence supports and, just as visibly, what is
not known. It is safe to publish: it never carries a miner's name, photo-ID hash or identifier, nor
coordinates, and a group of fewer than ``SMALL_GROUP`` people is never given as a number.
"""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

from events.catalogue.vocabulary import RESOLUTIONS, SEVERITIES

#: groups of people smaller than this are shown as "fewer than 5", never as a number
SMALL_GROUP = 5

#: statuses of a flag (from the "spot the liar" checks) that mean it is no longer open
_CLOSED = frozenset({"resolved", "closed", "dismissed", *RESOLUTIONS})
#: the most severe first
_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(reversed(SEVERITIES))}
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class MinerFact:
    """One miner named on one production lot (``gender`` and ``work_role`` are None if unregistered)."""

    lot_id: str
    miner_id: str
    gender: str | None
    work_role: str | None


def people_count(n: int) -> dict[str, Any]:
    """A count of people as the page may show it: the number, or only "fewer than 5"."""
    if n == 0 or n >= SMALL_GROUP:
        return {"n": n, "few": False}
    return {"n": None, "few": True}


def _few(n: int) -> bool:
    return 0 < n < SMALL_GROUP


def build_story(provenance: dict[str, Any], organisations: dict[str, dict[str, Any]],
                miners: Iterable[MinerFact]) -> dict[str, Any]:
    """The public story of a product from its (unrestricted) provenance and the optional check sections.

    ``provenance`` may carry the sections ``flags`` (a list) and ``due_diligence`` (a dict) added by
    the checks of the platform; without them the story says that no automatic check has run.
    """
    names = _Names(organisations, provenance.get("timeline", []))
    product_id = provenance["product"]["product_id"]
    # a retracted event and its retraction say nothing of the piece's story (integrity counts them)
    timeline = [event for event in provenance.get("timeline", [])
                if _belongs(event, product_id) and counts(event)]
    origin = origin_summary(provenance.get("origin", []), provenance.get("origin_basis"))
    nodes = {node["id"]: node for node in provenance.get("lineage", {}).get("nodes", [])}
    edges = provenance.get("lineage", {}).get("edges", [])
    weighing = weighing_check(timeline, names)
    assay = assay_check(nodes, edges, product_id)
    gaps = custody_gaps(timeline, nodes, names, product_id)
    section = provenance.get("due_diligence")
    flags = flag_summary(provenance.get("flags"), section.get("risks") if isinstance(section, dict) else None)
    diligence = diligence_summary(provenance.get("due_diligence"))
    crowd = miner_summary(miners)
    claim = {
        "traced_share": origin["traced_share"],
        "sites": len(origin["sites"]),
        "regions": origin["regions"],
        "countries": origin["countries"],
        "all_weighed": weighing["transfers"] > 0 and not weighing["unweighed"],
        "all_assayed": assay["sources"] > 0 and assay["unassayed"] == 0,
        "no_gap": not gaps,
        "flags": "unchecked" if flags is None else ("open" if flags["open"] else "clear"),
        "open_flags": len(flags["open"]) if flags else 0,
    }
    return {
        "product": _product(provenance["product"], names),
        "origin": origin,
        "journey": journey(timeline, nodes, origin, names, product_id),
        "miners": crowd,
        "checks": {"weighing": weighing, "assay": assay, "custody_gaps": gaps, "flags": flags,
                   "due_diligence": diligence},
        "claim": claim,
        "unknowns": unknowns(origin, weighing, assay, gaps, crowd, flags),
        "integrity": integrity(provenance.get("timeline", [])),
        "attribution": attribution(provenance.get("timeline", [])),
    }


# -- the parts ---------------------------------------------------------------------------------
def origin_summary(sites: list[dict[str, Any]], basis: str | None) -> dict[str, Any]:
    """Registered mine sites with their share, and the shares that are not traced to one."""
    traced, untraced = [], defaultdict(float)
    for entry in sites:
        share = float(entry.get("share") or 0)
        if entry.get("site_id") and entry.get("registered"):
            traced.append({"name": entry.get("name"), "region": entry.get("region"),
                           "country": entry.get("country"), "share": round(share, 4)})
        elif entry.get("site_id"):
            untraced["unregistered_site"] += share
        else:
            untraced[str(entry.get("untraced") or "no_production_record")] += share
    traced_share = round(sum(site["share"] for site in traced), 4)
    return {
        "sites": traced,
        "traced_share": traced_share,
        "untraced": [{"reason": reason, "share": round(share, 4)} for reason, share in sorted(untraced.items())],
        "regions": sorted({site["region"] for site in traced if site["region"]}),
        "countries": sorted({site["country"] for site in traced if site["country"]}),
        "basis": "gross" if basis == "gross_mass_where_unassayed" else "fine",
    }


def weighing_check(timeline: list[dict[str, Any]], names: "_Names") -> dict[str, Any]:
    """Transfers whose mass the receiver never confirmed (not recorded by it, no ``lot.received`` by it after)."""
    received: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, event in enumerate(timeline):
        if event["type"] == "lot.received":
            received[(event["data"]["lot_id"], event["recorded_by"])].append(index)
    transfers = 0
    unweighed: dict[tuple[str, str], int] = defaultdict(int)
    for index, event in enumerate(timeline):
        if event["type"] != "lot.transferred":
            continue
        transfers += 1
        data = event["data"]
        receiver = data["to_id"]
        if event["recorded_by"] == receiver or any(i > index for i in received[(data["lot_id"], receiver)]):
            continue
        unweighed[(names.party(data["from_id"]), names.party(receiver))] += 1
    return {"transfers": transfers,
            "unweighed": [{"from": a, "to": b, "count": n} for (a, b), n in sorted(unweighed.items())]}


def assay_check(nodes: dict[str, dict[str, Any]], edges: list[dict[str, Any]], product_id: str) -> dict[str, Any]:
    """Source lots of the piece, and how many reached it without passing any assay on the way.

    A lot counts as assayed where it has an assay of its own or is the output of a refining (the
    refiner states its fineness); a source lot is covered if every route from it to the piece passes
    through such a lot.
    """
    children: dict[str, list[str]] = defaultdict(list)
    has_parent: set[str] = set()
    for edge in edges:
        children[edge["from"]].append(edge["to"])
        has_parent.add(edge["to"])

    def assayed(node_id: str) -> bool:
        node = nodes.get(node_id, {})
        if node.get("kind") != "lot":
            return False
        return node.get("fineness_source") == "assay" or any(
            edge["to"] == node_id and nodes.get(edge["from"], {}).get("kind") == "refining" for edge in edges)

    covered: dict[str, bool] = {}

    def is_covered(node_id: str, path: frozenset[str]) -> bool:
        if node_id in covered:
            return covered[node_id]
        if node_id in path:  # a cycle: nothing proves an assay
            return False
        below = [child for child in children[node_id] if child in nodes or child == product_id]
        result = assayed(node_id) or (bool(below) and all(is_covered(c, path | {node_id}) for c in below))
        covered[node_id] = result
        return result

    sources = sorted(node_id for node_id, node in nodes.items()
                     if node.get("kind") == "lot" and node_id not in has_parent)
    return {"sources": len(sources), "unassayed": sum(1 for s in sources if not is_covered(s, frozenset()))}


def custody_gaps(timeline: list[dict[str, Any]], nodes: dict[str, dict[str, Any]], names: "_Names",
                 product_id: str) -> list[dict[str, Any]]:
    """Lots used by an organisation other than the last one recorded as holding them (a hand-over not recorded)."""
    holder: dict[str, str] = {}
    gaps: dict[tuple[str, str], int] = defaultdict(int)
    for event in timeline:
        data, actor = event["data"], event["recorded_by"]
        kind = event["type"]
        if kind == "lot.transferred":
            holder[data["lot_id"]] = data["to_id"]
            continue
        used = {
            "lots.merged": [item["lot_id"] for item in data.get("inputs", [])],
            "lot.split": [data.get("lot_id")],
            "lot.refined": [item["lot_id"] for item in data.get("inputs", [])],
            "product.manufactured": [item["lot_id"] for item in data.get("inputs", [])],
        }.get(kind, [])
        for lot_id in used:
            current = holder.get(lot_id) or nodes.get(lot_id, {}).get("created_by")
            if current is not None and current != actor:
                gaps[(names.party(current), names.party(actor))] += 1
        for created in _created_lots(kind, data):
            holder[created] = actor
    return [{"holder": a, "user": b, "count": n} for (a, b), n in sorted(gaps.items())]


def flag_summary(flags: Any, risks: Any = None) -> dict[str, Any] | None:
    """Open and closed red flags by category and severity (never their text or subject); None if unchecked.

    ``flags`` are the findings of the checks, ``risks`` the OECD Annex II risks reported on the
    piece's ancestry (the ``due_diligence`` section): an open risk is an open red flag as much as
    an open finding is, so the page never says "no red flag is open" beside a red status.
    """
    if flags is None and risks is None:
        return None
    if isinstance(flags, dict):  # tolerate {"items": [...]} or {"open": [...], ...}
        flags = flags.get("items", flags.get("flags", []))
    items = [*(flags if isinstance(flags, list) else []), *(risks if isinstance(risks, list) else [])]
    open_flags, closed = [], 0
    for flag in items:
        if not isinstance(flag, dict):
            continue
        if _is_open(flag):
            open_flags.append({"category": _code(flag.get("category") or flag.get("kind") or flag.get("check")
                                                 or flag.get("code")),
                               "severity": _code(flag.get("severity"))})
        else:
            closed += 1
    open_flags.sort(key=lambda f: (_SEVERITY_RANK.get(f["severity"] or "", len(SEVERITIES)), f["category"] or ""))
    return {"open": open_flags, "closed": closed}


def diligence_summary(section: Any) -> dict[str, Any] | None:
    """The due-diligence status as codes (status, audits passed and failed); None if not available."""
    if not isinstance(section, dict):
        return None
    audits = section.get("audits") if isinstance(section.get("audits"), list) else []
    results = [audit.get("result") for audit in audits if isinstance(audit, dict)]
    return {"status": _code(section.get("status")),
            "audits_passed": results.count("pass"), "audits_failed": results.count("fail")}


def miner_summary(facts: Iterable[MinerFact]) -> dict[str, Any]:
    """How many people mined this gold, the share of women, and the teams led by a woman; small groups hidden."""
    people: dict[str, MinerFact] = {}
    lots: dict[str, list[MinerFact]] = defaultdict(list)
    for fact in facts:
        people.setdefault(fact.miner_id, fact)
        lots[fact.lot_id].append(fact)
    registered = [fact for fact in people.values() if fact.gender is not None]
    women = sum(1 for fact in registered if fact.gender == "female")
    others = len(registered) - women
    shown = len(registered) >= SMALL_GROUP and all(n == 0 or n >= SMALL_GROUP for n in (women, others))
    led = [lot for lot in lots.values() if any(f.work_role == "team_lead" for f in lot)]
    women_led = [lot for lot in led if any(f.work_role == "team_lead" and f.gender == "female" for f in lot)]
    women_leads = {f.miner_id for lot in women_led for f in lot if f.work_role == "team_lead" and f.gender == "female"}
    leads_shown = len(women_leads) == 0 or len(women_leads) >= SMALL_GROUP
    # only the total, the share and "fewer than 5" are shown: no two figures whose difference is a small group
    return {
        "people": people_count(len(people)),
        "unregistered": people_count(len(people) - len(registered)),
        "women_share": round(women / len(registered), 4) if shown else None,
        # "fewer than 5 are women" only when the rest is no small group too (else nothing is said)
        "women_few": len(registered) >= SMALL_GROUP and _few(women) and not _few(others),
        "others_few": len(registered) >= SMALL_GROUP and _few(others) and not _few(women),
        "teams": len(lots),
        "teams_with_lead": len(led),
        "women_led_teams": len(women_led) if leads_shown else None,
        "women_team_leads": people_count(len(women_leads)),
    }


def journey(timeline: list[dict[str, Any]], nodes: dict[str, dict[str, Any]], origin: dict[str, Any],
            names: "_Names", product_id: str) -> list[dict[str, Any]]:
    """The steps from pit to piece, grouped (e.g. "144 purchases from miners, Nov to Apr"), in order."""
    site_of = {node_id: node.get("site_id") for node_id, node in nodes.items() if node.get("site_id")}
    stages: dict[tuple, dict[str, Any]] = {}
    for event in timeline:
        key, stage = _stage(event, names, product_id)
        if key is None:
            continue
        date = str(event["occurred_at"])[:10]
        current = stages.get(key)
        if current is None:
            stages[key] = current = {**stage, "first": date, "last": date, "count": 0, "evidence": 0}
        current["last"] = date
        current["count"] += 1
        current["evidence"] += len(event.get("evidence") or [])
        if event["type"] == "production.recorded":
            current.setdefault("_sites", set()).add(site_of.get(event["data"]["lot_id"]))
    ordered = sorted(stages.values(), key=lambda s: (s["first"], _ORDER.get(s["kind"], 99)))
    for stage in ordered:
        site_ids = stage.pop("_sites", None)
        if site_ids is not None:
            stage["places"] = [{"region": r, "country": c} for r, c in sorted({(s["region"], s["country"])
                                                                              for s in origin["sites"]})]
            stage["sites"] = sorted(s["name"] for s in origin["sites"])
            stage["unregistered_pits"] = None in site_ids
    return ordered


def unknowns(origin, weighing, assay, gaps, crowd, flags) -> list[dict[str, Any]]:
    """What the record does not show, each as a code with its figures, most important first."""
    items: list[dict[str, Any]] = []
    if not origin["sites"]:
        items.append({"code": "no_site"})
    for entry in origin["untraced"]:
        items.append({"code": "untraced", "reason": entry["reason"], "share": entry["share"]})
    for entry in weighing["unweighed"]:
        items.append({"code": "unweighed", **entry})
    for entry in gaps:
        items.append({"code": "custody_gap", **entry})
    if assay["unassayed"]:
        items.append({"code": "unassayed", "count": assay["unassayed"], "of": assay["sources"]})
    if origin["basis"] == "gross":
        items.append({"code": "gross_basis"})
    if crowd["unregistered"]["n"] != 0:
        items.append({"code": "unregistered_miners", "people": crowd["unregistered"]})
    if flags is None:
        items.append({"code": "unchecked"})
    return items


def integrity(timeline: list[dict[str, Any]]) -> dict[str, Any]:
    """How many events make this record, their documents, and a fingerprint of their hashes in order."""
    digest = hashlib.sha256("\n".join(str(event.get("hash", "")) for event in timeline).encode()).hexdigest()
    recorded = sorted(str(event.get("recorded_at", "")) for event in timeline if event.get("recorded_at"))
    return {
        "events": len(timeline),
        "evidence": sum(len(event.get("evidence") or []) for event in timeline),
        "fingerprint": digest,
        "last_recorded": recorded[-1][:10] if recorded else None,
    }


def counts(event: dict[str, Any]) -> bool:
    """Whether a timeline event counts for the story: not retracted, and not itself a retraction."""
    return event.get("type") != "event.retracted" and not event.get("retracted_by_event")


def attribution(timeline: list[dict[str, Any]]) -> dict[str, int]:
    """Who recorded the steps, as far as the platform can prove it from each event's ``attested_by``.

    ``own_key``: recorded with a key of the organisation named as recorder; ``on_behalf``: with
    another key (the platform's operator entering a step for an organisation); ``unattested``:
    logged before the platform kept the key of each event. ``signed``: besides, carrying the verified
    signature of the recording organisation's own key (``signed_by``), which only it holds, where an
    API key is a secret the platform holds too.
    """
    own = on_behalf = unattested = signed = 0
    for event in timeline:
        signed_by = event.get("signed_by")
        if isinstance(signed_by, dict) and signed_by.get("organisation") == event.get("recorded_by"):
            signed += 1
        attested = event.get("attested_by")
        if not isinstance(attested, dict):
            unattested += 1
        elif attested.get("organisation") == event.get("recorded_by"):
            own += 1
        else:
            on_behalf += 1
    return {"steps": len(timeline), "own_key": own, "on_behalf": on_behalf, "unattested": unattested,
            "signed": signed}


# -- helpers ----------------------------------------------------------------------------------
_ORDER = {"mined": 0, "bought": 1, "handed": 2, "received": 3, "merged": 4, "split": 5, "assayed": 6,
          "exported": 7, "refined": 8, "made": 9, "sold": 10}


class _Names:
    """Public names of parties: registered organisations by name, recorders by id, anyone else anonymous."""

    def __init__(self, organisations: dict[str, dict[str, Any]], timeline: list[dict[str, Any]]):
        self.organisations = organisations
        self.recorders = {event.get("recorded_by") for event in timeline}

    def is_organisation(self, party_id: str) -> bool:
        return party_id in self.organisations or party_id in self.recorders

    def party(self, party_id: str) -> str | None:
        """A registered organisation's name, a recording organisation's id, else None (someone unnamed)."""
        if party_id in self.organisations:
            return self.organisations[party_id].get("name") or party_id
        if party_id in self.recorders and party_id != "admin":
            return party_id
        return None

    def country(self, party_id: str) -> str | None:
        return (self.organisations.get(party_id) or {}).get("country")


def _belongs(event: dict[str, Any], product_id: str) -> bool:
    """Events of the piece's own history (not the making or sale of sibling pieces from the same bar)."""
    if event.get("type") in ("product.manufactured", "product.sold"):
        return event.get("data", {}).get("product_id") == product_id
    return True


def _created_lots(kind: str, data: dict[str, Any]) -> list[str]:
    if kind in ("production.recorded", "lots.merged"):
        return [data["lot_id"]]
    if kind in ("lot.split", "lot.refined"):
        return [item["lot_id"] for item in data.get("outputs", [])]
    return []


def _stage(event: dict[str, Any], names: _Names, product_id: str) -> tuple[tuple | None, dict[str, Any]]:
    kind, data, actor = event["type"], event["data"], event["recorded_by"]
    who = names.party(actor)
    where = names.country(actor)
    if kind == "production.recorded":
        return ("mined",), {"kind": "mined", "actor": who}
    if kind == "lot.transferred":
        if names.is_organisation(data["from_id"]):
            giver, taker = names.party(data["from_id"]), names.party(data["to_id"])
            return ("handed", giver, taker), {"kind": "handed", "actor": giver, "to": taker,
                                              "place": names.country(data["from_id"])}
        taker = names.party(data["to_id"])
        return ("bought", taker), {"kind": "bought", "actor": taker, "place": names.country(data["to_id"])}
    simple = {"lot.received": "received", "lots.merged": "merged", "lot.split": "split", "lot.assayed": "assayed",
              "lot.refined": "refined", "product.manufactured": "made", "product.sold": "sold"}
    if kind in simple:
        return (simple[kind], who), {"kind": simple[kind], "actor": who, "place": where}
    if kind == "lot.exported":
        return ("exported", who, data.get("destination_country")), {
            "kind": "exported", "actor": who, "place": where, "to_country": data.get("destination_country")}
    return None, {}


def _product(product: dict[str, Any], names: _Names) -> dict[str, Any]:
    fineness = product.get("fineness")
    sales = product.get("sales") or []
    return {
        "product_id": product["product_id"],
        "description": product.get("description"),
        "gtin": product.get("gtin"),
        "serial": product.get("serial"),
        "mass_g": product.get("mass_g"),
        "fineness": fineness,
        "karat": round(fineness * 24) if fineness else None,
        "fine_g": product.get("fine_g"),
        "made_by": names.party(product.get("manufactured_by") or ""),
        "made_in": names.country(product.get("manufactured_by") or ""),
        "made_at": str(product.get("manufactured_at") or "")[:10] or None,
        "sold_at": str(sales[-1].get("occurred_at") or "")[:10] if sales else None,
    }


def _is_open(flag: dict[str, Any]) -> bool:
    if "open" in flag:
        return bool(flag["open"])
    status = flag.get("status") or flag.get("state")
    if isinstance(status, str):
        return status.lower() not in _CLOSED
    return not (flag.get("resolution") or flag.get("resolved_at") or flag.get("resolved"))


def _code(value: Any) -> str | None:
    """A machine code safe to show (lower-case word), else None: free text never reaches the page."""
    return value if isinstance(value, str) and _CODE.match(value) else None
