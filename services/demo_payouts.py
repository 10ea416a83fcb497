"""The demo's payouts: the policies decided, the cooperative paying its miners by mobile money, and two
miners' statement cards.

The general assembly of the cooperatives decides 2 % for all from the programme's start; the
cooperative's own assembly raises its miners' share to 5 % from January 2026, before the rings are
sold. A month after the sales the cooperative pays each of its miners what the ledger says they are
owed, by mobile money: the demo is an honest chain, with no finding open (a miner left unpaid would
raise ``payout_overdue`` once 90 days had passed).
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

PAYOUT_NAMESPACE = uuid.UUID("8e2f0c55-4a7b-4d1e-9c3a-6b5d2e7f1a90")


def _envelope(event_type: str, key: str, when: datetime, recorded_by: str, data: dict[str, Any],
              evidence: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """An event of the demo's payouts, with a deterministic id of its own (seeding again is a duplicate)."""
    envelope = {"event_id": str(uuid.uuid5(PAYOUT_NAMESPACE, key)), "type": event_type,
                "occurred_at": when.isoformat(timespec="seconds"), "recorded_by": recorded_by, "data": data}
    if evidence:
        envelope["evidence"] = evidence
    return envelope


def _minutes(text: str) -> list[dict[str, str]]:
    return [{"kind": "minutes", "sha256": hashlib.sha256(text.encode()).hexdigest()}]


def payout_policies(programme_start: datetime, cooperative: str) -> list[dict[str, Any]]:
    """The demo's payout policies, recorded by the platform's operator with the minutes' hashes."""
    return [
        _envelope("payout.policy_set", "policy:all", programme_start, "admin", {
            "policy_id": "payout-all-2024", "share": "0.02", "applies_to": "all",
            "effective_from": programme_start.date().isoformat(),
            "decided_by": "Assembly of the programme's cooperatives, Bunia"},
            _minutes("Assembly of the cooperatives, Bunia: 2 % of every sale to the miners")),
        _envelope("payout.policy_set", f"policy:{cooperative}", programme_start, "admin", {
            "policy_id": f"payout-{cooperative}-2026", "share": "0.05", "applies_to": cooperative,
            "effective_from": "2026-01-01", "decided_by": "General assembly of the cooperative"},
            _minutes(f"General assembly of {cooperative}: 5 % of every sale to its miners from 2026")),
    ]


def seed_payouts(client, cooperative_key: str, cooperative: str, paid_on: datetime) -> dict[str, Any]:
    """Pay the cooperative's miners from its ledger (through the API, with its key); make two statement links.

    Returns the payments recorded and the two links (``miner_id``, ``url``, ``token``).
    """
    headers = {"Authorization": f"Bearer {cooperative_key}"}
    ledger = client.get(f"/v1/payouts?cooperative_id={cooperative}", headers=headers).get_json()
    owed = [row for row in ledger["by_miner"] if Decimal(row["amount_due"]) > 0]
    payments = []
    for row in owed:
        amount = Decimal(row["amount_due"])
        payment_id = f"mm-{row['miner_id']}-1"
        payments.append(_envelope("payout.paid", payment_id, paid_on, cooperative, {
            "payment_id": payment_id, "miner_id": row["miner_id"], "amount": str(amount),
            "currency": row["currency"], "channel": "mobile_money",
            "reference": f"MPESA-{hashlib.sha256(payment_id.encode()).hexdigest()[:10].upper()}"}))
    if payments:
        response = client.post("/v1/events", json={"events": payments}, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"demo payments refused: {response.status_code} {response.get_data(as_text=True)[:2000]}")
    women = [row["miner_id"] for row in owed if row["gender"] == "female"]
    men = [row["miner_id"] for row in owed if row["gender"] == "male"]
    links = []
    for miner_id in (women[:1] + men[:1]) or [row["miner_id"] for row in owed[:2]]:
        made = client.post(f"/v1/miners/{miner_id}/statement-links", headers=headers).get_json()
        links.append({"miner_id": miner_id, "url": made["url"], "token": made["token"]})
    return {"payments": len(payments), "statement_links": links}
