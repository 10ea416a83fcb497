"""The demo supply chain: two mine sites in Ituri, ~50 miners, two years of purchases and of
community data (savings groups, trainings, surveys, leadership; ``services.demo_impact``), an export,
refining with gold from another source, rings and pendants with serial numbers, and their sales.

Everything goes through ``POST /v1/events`` (the API's own capture path) with deterministic event
ids, so seeding twice records nothing new. The refiner and the jeweller register Ed25519 signing
keys (kept in the data dir, so a second seeding signs alike) and sign every step they record.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from events import signing
from events.catalogue.diligence import inspection_flag_id
from services.demo_findings import planted_problems
from services.demo_impact import community_events
from services.demo_payouts import payout_policies, seed_payouts

DEMO_NAMESPACE = uuid.UUID("5b7c4c8e-8d0e-4a55-9b7e-0f6f1c1e2a11")
KINSHASA = timezone(timedelta(hours=1))
COOPERATIVE = "coop-ituri-or"
EXPORTER = "exp-bunia-metals"
REFINER = "ref-lucerne"
MANUFACTURER = "atelier-lumen"
RETAILER = "bijou-rivage"
RECYCLER = "recycle-geneve"
NGO = "ngo-impact-ituri"
AUDITOR = "rcm-audit-services"
SITES = (
    {"site_id": "site-mabanga", "name": "Mabanga", "region": "Ituri", "latitude": 1.5403, "longitude": 30.2711},
    {"site_id": "site-nizi", "name": "Nizi", "region": "Ituri", "latitude": 1.7451, "longitude": 30.3193},
)
FIRST_NAMES_F = ("Esther", "Furaha", "Neema", "Aline", "Chantal", "Solange", "Mapendo", "Riziki", "Anuarite",
                 "Bahati", "Nadine", "Josée", "Zawadi", "Sifa", "Dorcas", "Imani", "Faida", "Mwamini")
FIRST_NAMES_M = ("Jean-Pierre", "Dieudonné", "Patrick", "Bienvenu", "Emmanuel", "Justin", "Kambale", "Papy",
                 "Serge", "Innocent", "Fiston", "Olivier", "Amani", "Jonas", "Célestin", "Augustin", "Dunia",
                 "Kasereka", "Moïse", "Trésor", "Eric", "Lievin")
FAMILY_NAMES = ("Lokana", "Ndjadi", "Mbuli", "Kasongo", "Tsongo", "Ngabu", "Dhedda", "Lonema", "Ujwiga", "Kakule")


@dataclass
class DemoChain:
    """Builds the demo's events in order; ``batches`` groups them as a field app would upload them."""

    rng: random.Random = field(default_factory=lambda: random.Random(2026))
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    _counter: int = 0

    def event(self, event_type: str, when: datetime, recorded_by: str, data: dict[str, Any],
              evidence: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """One event with a deterministic id."""
        self._counter += 1
        envelope = {
            "event_id": str(uuid.uuid5(DEMO_NAMESPACE, f"{self._counter}:{event_type}")),
            "type": event_type,
            "occurred_at": when.isoformat(timespec="seconds"),
            "recorded_by": recorded_by,
            "data": data,
        }
        if evidence:
            envelope["evidence"] = evidence
        return envelope

    @staticmethod
    def evidence(kind: str, text: str) -> list[dict[str, str]]:
        """A document's hash (the demo hashes a description of it)."""
        return [{"kind": kind, "sha256": hashlib.sha256(text.encode()).hexdigest()}]


#: EUR per USD for the demo's euro reference prices (the fix is published in both currencies)
EUR_PER_USD = Decimal("0.92")


def purchase_price(reference: Decimal, fineness: float, seller: dict[str, Any], progress: float) -> Decimal:
    """What the cooperative pays a miner per gram: below the reference, and less to women at first.

    Women were long kept from selling their own gold; the gap narrows as the programme goes on.
    """
    factor = Decimal("0.82") if seller["gender"] != "female" else Decimal("0.72") + Decimal(str(round(0.07 * progress, 3)))
    return (reference * Decimal(str(fineness)) * factor).quantize(Decimal("0.01"))


def reference_prices(chain: "DemoChain", when: datetime, price: Decimal) -> list[dict[str, Any]]:
    """The day's reference price of fine gold in USD and in EUR."""
    day = when.date().isoformat()
    return [chain.event("market.price_recorded", when, "admin", {"date": day, "price_per_g_fine": str(price), "currency": "USD"}),
            chain.event("market.price_recorded", when, "admin", {
                "date": day, "price_per_g_fine": str((price * EUR_PER_USD).quantize(Decimal("0.01"))), "currency": "EUR"})]


def build_demo_events(start: date = date(2025, 11, 3), months: int = 6, history_months: int = 18) -> DemoChain:
    """The whole demo chain, as batches of event envelopes.

    The programme starts ``history_months`` before ``start``: miners registered, savings groups,
    trainings, surveys and leadership from then on, with the cooperative's monthly purchases and
    exports; the gold of the demo's rings is what it bought in the ``months`` from ``start``.
    """
    chain = DemoChain()
    rng = chain.rng
    day0 = datetime(start.year, start.month, start.day, 8, 0, tzinfo=KINSHASA)
    program = day0 - timedelta(days=30 * history_months + 14)

    registry = [
        chain.event("organization.registered", program, "admin", {"org_id": COOPERATIVE, "name": "Coopérative minière Ituri Or", "role": "cooperative", "country": "CD"}),
        chain.event("organization.registered", program, "admin", {"org_id": EXPORTER, "name": "Bunia Metals SARL", "role": "exporter", "country": "CD"}),
        chain.event("organization.registered", program, "admin", {"org_id": REFINER, "name": "Lucerne Fine Gold AG", "role": "refiner", "country": "CH"}),
        chain.event("organization.registered", program, "admin", {"org_id": MANUFACTURER, "name": "Atelier Lumen", "role": "manufacturer", "country": "FR", "gs1_company_prefixes": ["376012345"]}),
        chain.event("organization.registered", program, "admin", {"org_id": RETAILER, "name": "Bijouterie Rivage", "role": "retailer", "country": "FR"}),
        chain.event("organization.registered", program, "admin", {"org_id": RECYCLER, "name": "Genève Recyclage SA", "role": "refiner", "country": "CH"}),
        chain.event("organization.registered", program, "admin", {"org_id": NGO, "name": "IMPACT Ituri field office", "role": "ngo", "country": "CD"}),
        chain.event("organization.registered", program, "admin", {"org_id": AUDITOR, "name": "RCM Audit Services", "role": "auditor", "country": "RW"}),
    ]
    pits: list[dict[str, Any]] = []
    for site in SITES:
        registry.append(chain.event("site.registered", program, "admin", {
            **site, "country": "CD", "mineral": "gold", "licence": f"ZEA-{site['name'].upper()}-2019",
        }))
        for number in range(1, 4):
            pit = {"pit_id": f"{site['site_id']}-pit-{number}", "site_id": site["site_id"],
                   "capacity_g_per_month": float(rng.choice((180, 240, 300, 360)))}
            pits.append(pit)
            registry.append(chain.event("pit.registered", program, COOPERATIVE, pit))
    miners: list[dict[str, Any]] = []
    roles = ("digger", "digger", "digger", "processor", "processor", "transporter", "trader", "pit_owner", "team_lead")
    for index in range(40):
        female = index % 9 in (0, 2, 4, 6)  # about 4 in 9 are women
        pit = pits[index % len(pits)]
        miner = {
            "miner_id": f"miner-{index + 1:03d}", "cooperative_id": COOPERATIVE, "site_id": pit["site_id"],
            "gender": "female" if female else "male", "birth_year": rng.randint(1966, 2004),
            "work_role": "team_lead" if index % 8 == 0 else rng.choice(roles),
            "name": f"{rng.choice(FIRST_NAMES_F if female else FIRST_NAMES_M)} {rng.choice(FAMILY_NAMES)}",
            "photo_id_sha256": hashlib.sha256(f"photo-id-{index}".encode()).hexdigest(),
        }
        miners.append({**miner, "pit_id": pit["pit_id"], "joined": program + timedelta(hours=1)})
        registry.append(chain.event("miner.registered", program + timedelta(hours=1), COOPERATIVE, miner))
    # women joining as the programme goes on (one prefers not to state a gender)
    for index in range(40, 52):
        pit = pits[index % len(pits)]
        gender = "undisclosed" if index == 47 else ("male" if index % 4 == 3 else "female")
        miner = {
            "miner_id": f"miner-{index + 1:03d}", "cooperative_id": COOPERATIVE, "site_id": pit["site_id"],
            "gender": gender, "birth_year": rng.randint(1975, 2005),
            "work_role": rng.choice(("processor", "digger", "trader", "team_lead")) if gender == "female" else "digger",
            "name": f"{rng.choice(FIRST_NAMES_M if gender == 'male' else FIRST_NAMES_F)} {rng.choice(FAMILY_NAMES)}",
            "photo_id_sha256": hashlib.sha256(f"photo-id-{index}".encode()).hexdigest(),
        }
        joined = program + timedelta(days=60 + 35 * (index - 40))
        miners.append({**miner, "pit_id": pit["pit_id"], "joined": joined})
        registry.append(chain.event("miner.registered", joined, COOPERATIVE, miner))
    chain.batches.append(registry + payout_policies(program, COOPERATIVE))

    community = community_events(chain.event, program, history_months + months + 1,
                                 [site["site_id"] for site in SITES], COOPERATIVE)
    chain.batches += [community[i:i + 900] for i in range(0, len(community), 900)]

    def members_of(pit: dict[str, Any], when: datetime) -> list[dict[str, Any]]:
        return [m for m in miners if m["pit_id"] == pit["pit_id"] and m["joined"] < when]

    # the cooperative's earlier purchases, exported month by month (not in the demo's pieces)
    reference_price = Decimal("76.10")
    for month in range(history_months):
        month_start = program + timedelta(days=14 + 30 * month)
        progress = month / (history_months + months)
        reference_price += Decimal(rng.randint(40, 190)) / 100
        batch = reference_prices(chain, month_start, reference_price)
        if month % 6 == 0:  # the NGO inspects every pit twice a year (a pit not seen for a year is a finding)
            batch += [chain.event("pit.inspected", month_start + timedelta(hours=3), NGO, {
                "pit_id": pit["pit_id"], "status": "active", "children_present": False, "armed_presence": False,
                "mercury_use": False}) for pit in pits]
        purchased = []
        for week in (0, 2):
            for pit in pits:
                when = month_start + timedelta(days=7 * week + rng.randint(0, 5), hours=rng.randint(1, 8))
                sellers = rng.sample(members_of(pit, when), k=rng.randint(1, 3))
                lot_id = f"LOT-{when:%Y%m%d}-{pit['pit_id'].split('-', 1)[1]}-{week}"
                mass, fineness = round(rng.uniform(4.0, 14.0), 2), round(rng.uniform(0.84, 0.92), 3)
                batch.append(chain.event("production.recorded", when, COOPERATIVE, {
                    "lot_id": lot_id, "pit_id": pit["pit_id"], "miner_ids": sorted(m["miner_id"] for m in sellers),
                    "mass_g": mass, "fineness": fineness}))
                batch.append(chain.event("lot.transferred", when + timedelta(hours=1), COOPERATIVE, {
                    "lot_id": lot_id, "from_id": sellers[0]["miner_id"], "to_id": COOPERATIVE, "mass_g": mass,
                    "price_per_g": str(purchase_price(reference_price, fineness, sellers[0], progress)),
                    "currency": "USD"}))
                purchased.append((lot_id, mass))
        merged = f"COOP-{month_start + timedelta(days=27):%Y%m%d}"
        total = round(sum(mass for _, mass in purchased), 2)
        batch.append(chain.event("lots.merged", month_start + timedelta(days=27), COOPERATIVE, {
            "lot_id": merged, "inputs": [{"lot_id": lot, "mass_g": mass} for lot, mass in purchased]}))
        batch.append(chain.event("lot.transferred", month_start + timedelta(days=28), COOPERATIVE, {
            "lot_id": merged, "from_id": COOPERATIVE, "to_id": EXPORTER, "mass_g": total,
            "price_per_g": str((reference_price * Decimal("0.88") * Decimal("0.9")).quantize(Decimal("0.01"))),
            "currency": "USD"}))
        chain.batches.append(batch)

    reference_price = max(reference_price, Decimal("98.40"))
    bars: list[tuple[str, float, float]] = []
    for month in range(months):
        month_start = day0 + timedelta(days=30 * month)
        batch: list[dict[str, Any]] = []
        reference_price += Decimal(rng.randint(-150, 250)) / 100
        batch += reference_prices(chain, month_start, reference_price)
        for pit in pits:
            inspection = chain.event("pit.inspected", month_start + timedelta(hours=3), NGO, {
                "pit_id": pit["pit_id"], "status": "active", "children_present": False,
                "armed_presence": False, "mercury_use": rng.random() < 0.3})
            batch.append(inspection)
            if inspection["data"]["mercury_use"]:  # the inspection raised an environment risk: the NGO follows it up
                batch.append(chain.event("risk.resolved", month_start + timedelta(days=12), NGO, {
                    "flag_id": inspection_flag_id(inspection["event_id"], "environment"), "resolution": "mitigated",
                    "note": "Mercury retorts handed out and amalgamation moved away from the stream; "
                            "checked on a follow-up visit."}))
        purchased: list[tuple[str, float]] = []
        for week in range(4):
            for pit in pits:
                team = members_of(pit, month_start)
                sellers = rng.sample(team, k=min(len(team), rng.randint(1, 3)))
                when = month_start + timedelta(days=7 * week + rng.randint(0, 5), hours=rng.randint(1, 8))
                lot_id = f"LOT-{when:%Y%m%d}-{pit['pit_id'].split('-', 1)[1]}-{week}"
                mass = round(rng.uniform(4.0, 14.0), 2)
                fineness = round(rng.uniform(0.84, 0.92), 3)
                batch.append(chain.event("production.recorded", when, COOPERATIVE, {
                    "lot_id": lot_id, "pit_id": pit["pit_id"], "miner_ids": sorted(m["miner_id"] for m in sellers),
                    "mass_g": mass, "fineness": fineness}))
                paid = purchase_price(reference_price, fineness, sellers[0], (history_months + month) / (history_months + months))
                batch.append(chain.event("lot.transferred", when + timedelta(hours=1), COOPERATIVE, {
                    "lot_id": lot_id, "from_id": sellers[0]["miner_id"], "to_id": COOPERATIVE, "mass_g": mass,
                    "price_per_g": str(paid), "currency": "USD"},
                    evidence=chain.evidence("purchase_receipt", lot_id)))
                purchased.append((lot_id, mass))
        merge_day = month_start + timedelta(days=28)
        merged = f"COOP-{merge_day:%Y%m%d}"
        batch.append(chain.event("lots.merged", merge_day, COOPERATIVE, {
            "lot_id": merged, "inputs": [{"lot_id": lot, "mass_g": mass} for lot, mass in purchased]}))
        total = round(sum(mass for _, mass in purchased), 2)
        assayed = round(rng.uniform(0.865, 0.895), 4)
        batch.append(chain.event("lot.transferred", merge_day + timedelta(days=1), COOPERATIVE, {
            "lot_id": merged, "from_id": COOPERATIVE, "to_id": EXPORTER, "mass_g": total,
            "price_per_g": str((reference_price * Decimal(str(assayed)) * Decimal("0.9")).quantize(Decimal("0.01"))),
            "currency": "USD"}))
        received = round(total - rng.uniform(0.0, 0.05), 2)
        batch.append(chain.event("lot.received", merge_day + timedelta(days=1, hours=5), EXPORTER, {
            "lot_id": merged, "mass_g": received}))
        # the exporter's laboratory assays the lot once the exporter holds it (an assay counts from the
        # lot's holder or an independent party); the price above was agreed on that assay's sample
        batch.append(chain.event("lot.assayed", merge_day + timedelta(days=1, hours=7), EXPORTER, {
            "lot_id": merged, "fineness": assayed, "method": "XRF"}))
        bars.append((merged, received, assayed))
        chain.batches.append(batch)

    # the exporter ships everything in one consignment
    ship_day = day0 + timedelta(days=30 * months + 2)
    shipment = f"EXP-{ship_day:%Y%m}-001"
    batch = [chain.event("lots.merged", ship_day, EXPORTER, {
        "lot_id": shipment, "inputs": [{"lot_id": lot, "mass_g": mass} for lot, mass, _ in bars]})]
    shipped = round(sum(mass for _, mass, _ in bars), 2)
    batch.append(chain.event("lot.exported", ship_day + timedelta(hours=2), EXPORTER, {
        "lot_id": shipment, "export_permit": f"CEEC-{ship_day:%Y}-0457", "destination_country": "CH",
        "royalties_paid": str(Decimal(shipped * 98 * 0.035).quantize(Decimal("0.01"))), "currency": "USD",
        "certificate": "ICGLR-RCM-CD-2026-0031"},
        evidence=chain.evidence("export_permit", shipment)))
    batch.append(chain.event("lot.transferred", ship_day + timedelta(days=1), EXPORTER, {
        "lot_id": shipment, "from_id": EXPORTER, "to_id": REFINER, "mass_g": shipped}))
    batch.append(chain.event("lot.received", ship_day + timedelta(days=4), REFINER, {
        "lot_id": shipment, "mass_g": round(shipped - 0.03, 2)}))
    batch.append(chain.event("lot.assayed", ship_day + timedelta(days=4, hours=3), REFINER, {
        "lot_id": shipment, "fineness": 0.8794, "method": "fire assay"}))
    recycled = "RCY-2026-118"
    batch.append(chain.event("lot.transferred", ship_day + timedelta(days=3), RECYCLER, {
        "lot_id": recycled, "from_id": RECYCLER, "to_id": REFINER, "mass_g": 60.0}))
    batch.append(chain.event("lot.assayed", ship_day + timedelta(days=4, hours=4), REFINER, {
        "lot_id": recycled, "fineness": 0.75, "method": "fire assay"}))
    refine_day = ship_day + timedelta(days=9)
    fine_in = (shipped - 0.03) * 0.8794 + 60.0 * 0.75
    bar_mass = round(fine_in * 0.996 / 0.9999 / 2, 2)  # 0.4% refining loss, two bars
    batch.append(chain.event("lot.refined", refine_day, REFINER, {
        "inputs": [{"lot_id": shipment, "mass_g": round(shipped - 0.03, 2)}, {"lot_id": recycled, "mass_g": 60.0}],
        "outputs": [{"lot_id": "BAR-LFG-7781", "mass_g": bar_mass, "fineness": 0.9999},
                    {"lot_id": "BAR-LFG-7782", "mass_g": bar_mass, "fineness": 0.9999}]},
        evidence=chain.evidence("assay_certificate", "BAR-LFG-7781/7782")))
    batch.append(chain.event("lot.transferred", refine_day + timedelta(days=2), REFINER, {
        "lot_id": "BAR-LFG-7781", "from_id": REFINER, "to_id": MANUFACTURER, "mass_g": bar_mass,
        "price_per_g": "131.20", "currency": "USD"}))
    batch.append(chain.event("lot.received", refine_day + timedelta(days=4), MANUFACTURER, {
        "lot_id": "BAR-LFG-7781", "mass_g": bar_mass}))
    # due diligence on the exporter (OECD step 2 and 3) and an independent audit of the refinery (step 4)
    batch.append(chain.event("risk.flagged", ship_day + timedelta(days=1), NGO, {
        "flag_id": "risk-2026-001", "subject_id": EXPORTER, "category": "unpaid_taxes", "severity": "medium",
        "description": "The royalty receipt for the consignment was missing from the export file."}))
    batch.append(chain.event("risk.resolved", ship_day + timedelta(days=6), NGO, {
        "flag_id": "risk-2026-001", "resolution": "unfounded",
        "note": "The provincial mining division's royalty receipt was found and its hash added to the file."},
        evidence=chain.evidence("royalty_receipt", shipment)))
    batch.append(chain.event("audit.completed", refine_day + timedelta(days=5), AUDITOR, {
        "subject_id": REFINER, "auditor": AUDITOR, "result": "pass",
        "report_sha256": hashlib.sha256(b"RCM refiner audit 2026 Lucerne Fine Gold").hexdigest()}))
    batch.append(chain.event("audit.completed", ship_day - timedelta(days=10), AUDITOR, {
        "subject_id": COOPERATIVE, "auditor": AUDITOR, "result": "pass",
        "report_sha256": hashlib.sha256(b"RCM mine site assessment 2026 Ituri Or").hexdigest()}))
    chain.batches.append(batch)

    # the atelier makes rings and pendants in 18-carat gold (0.750)
    batch = []
    make_day = refine_day + timedelta(days=10)
    pieces = [("ring", 3.2 + 0.4 * i) for i in range(6)] + [("pendant", 2.1 + 0.3 * i) for i in range(4)]
    for number, (kind, mass) in enumerate(pieces, start=1):
        product_id = f"LUMEN-{kind.upper()}-{number:04d}"
        fine = mass * 0.75
        batch.append(chain.event("product.manufactured", make_day + timedelta(days=number), MANUFACTURER, {
            "product_id": product_id, "gtin": "03760123450010" if kind == "ring" else "03760123450027",
            "serial": f"{number:06d}", "description": f"Ituri gold {kind}, 18 ct, {mass:.1f} g",
            "inputs": [{"lot_id": "BAR-LFG-7781", "mass_g": round(fine / 0.9999, 3)}],
            "mass_g": round(mass, 2), "fineness": 0.75}))
        chain.products.append(product_id)
    batch += reference_prices(chain, make_day + timedelta(days=20), reference_price)
    for number, product_id in enumerate(chain.products[:3], start=1):
        batch.append(chain.event("product.sold", make_day + timedelta(days=20 + number), MANUFACTURER, {
            "product_id": product_id, "price": f"{420 + 35 * number}.00", "currency": "EUR"}))
    chain.batches.append(batch)
    chain.batches.append(planted_problems(chain.event, day0 + timedelta(days=35), EXPORTER, NGO, SITES[0]["site_id"]))
    return chain


def organisation_roles(chain: DemoChain) -> dict[str, str]:
    """The role of each organisation the demo registers (its keys are made with that role)."""
    return {event["data"]["org_id"]: event["data"]["role"]
            for batch in chain.batches for event in batch if event["type"] == "organization.registered"}


#: the organisations of the demo that sign their own steps (Ed25519 keys they registered)
SIGNERS = (REFINER, MANUFACTURER)


def signing_key_id(org: str) -> str:
    """The id of ``org``'s demo signing key."""
    return f"{org}-demo-1"


def demo_signing_key(data_dir, org: str) -> signing.Ed25519PrivateKey:
    """``org``'s demo signing key: read from ``signing-keys/ORG.pem`` in the data dir, made there (0600) the first time."""
    path = data_dir / "signing-keys" / f"{org}.pem"
    if path.exists():
        return signing.load_private_key(path.read_bytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = signing.new_private_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(signing.private_key_pem(key))
    return key


def key_registration(org: str, key: signing.Ed25519PrivateKey) -> dict[str, Any]:
    """``org`` registers its demo signing key (a deterministic event id: seeding again is a duplicate)."""
    return {
        "event_id": str(uuid.uuid5(DEMO_NAMESPACE, f"signing-key:{org}")),
        "type": "organization.key_registered",
        "occurred_at": "2024-05-01T09:00:00+01:00",
        "recorded_by": org,
        "data": {"organisation_id": org, "key_id": signing_key_id(org), "public_key": signing.public_key_b64(key),
                 "valid_from": "2024-05-01T00:00:00Z"},
    }


def runs_by_recorder(batch: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """A batch cut where ``recorded_by`` changes, order kept: each run is sent with its recorder's key."""
    runs: list[list[dict[str, Any]]] = []
    for event in batch:
        if runs and runs[-1][0]["recorded_by"] == event["recorded_by"]:
            runs[-1].append(event)
        else:
            runs.append([event])
    return runs


def seed_demo(platform, force: bool = False) -> dict[str, Any]:
    """Append the demo chain through the capture API once, each organisation's steps with its own key.

    The platform's operator (an admin key) registers the organisations and records the reference
    prices; everything else is recorded with a key of the organisation that did the step, as in
    production. The admin and jeweller keys are written to the data dir for trying the API.
    """
    settings = platform.settings
    keys_file = settings.data_dir / "demo-keys.json"
    chain = build_demo_events()
    if platform.log.end().total > 0 and not force:
        return {"seeded": False, "reason": "the log is not empty", "products": chain.products,
                "keys_file": str(keys_file) if keys_file.exists() else None}
    keys = {"admin": platform.keys.create("oretrail-admin", "admin")}
    keys.update({org: platform.keys.create(org, role) for org, role in organisation_roles(chain).items()})
    signers = {org: demo_signing_key(settings.data_dir, org) for org in SIGNERS}
    client = platform.create_app().test_client()
    recorded = 0
    registrations = [key_registration(org, key) for org, key in signers.items()]
    for batch in [registrations, *chain.batches]:
        for run in runs_by_recorder(batch):
            if run[0]["recorded_by"] in signers:
                run = [signing.sign_envelope(event, signers[event["recorded_by"]], signing_key_id(event["recorded_by"]))
                       for event in run]
            key = keys[run[0]["recorded_by"]]
            response = client.post("/v1/events", json={"events": run}, headers={"Authorization": f"Bearer {key}"})
            if response.status_code != 200:
                raise RuntimeError(
                    f"demo batch refused: {response.status_code} {response.get_data(as_text=True)[:2000]}")
            recorded += sum(1 for result in response.get_json()["results"] if result["status"] == "accepted")
        if batch is registrations:
            platform.catch_up()  # capture checks signatures against the keys the read model has seen
    platform.catch_up()
    payouts = seed_payouts(client, keys[COOPERATIVE], COOPERATIVE, datetime(2026, 7, 20, 10, 0, tzinfo=KINSHASA))
    platform.catch_up()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    keys_file.write_text(json.dumps({"admin": keys["admin"], "manufacturer": keys[MANUFACTURER]}, indent=2))
    os.chmod(keys_file, 0o600)
    return {"seeded": True, "events_recorded": recorded + payouts["payments"], "products": chain.products,
            "keys_file": str(keys_file), "statement_links": payouts["statement_links"]}
