"""The community's payouts, told through events: a policy decided, the ring sold under it, a later
policy that must not change that sale, a cooperative's own policy for a second ring, and payments."""
from __future__ import annotations

import pytest

from composition.bootstrap import build_platform
from tests import factories as f
from tests.impact_story import at


def policy(policy_id: str, share: str, applies_to: str = "all", effective_from: str = "2026-01-01",
           recorded_by: str = "admin", **extra) -> dict:
    """A payout policy, decided at a meeting whose minutes are fingerprinted in the envelope's evidence."""
    return f.event("payout.policy_set", {"policy_id": policy_id, "share": share, "applies_to": applies_to,
                                         "effective_from": effective_from,
                                         "decided_by": "general assembly of the cooperatives, Mambasa"},
                   recorded_by=recorded_by, at=at(effective_from),
                   evidence=[{"kind": "minutes", "sha256": "ab" * 32, "uri": "https://example.org/minutes.pdf"}],
                   **extra)


def payment(payment_id: str, miner_id: str, amount: str, day: str = "2026-05-15", currency: str = "EUR",
            channel: str = "mobile_money", recorded_by: str = "coop-mambasa") -> dict:
    """A payment to a miner, by mobile money unless said otherwise."""
    return f.event("payout.paid", {"payment_id": payment_id, "miner_id": miner_id, "amount": amount,
                                   "currency": currency, "channel": channel, "reference": f"MM-{payment_id}"},
                   recorded_by=recorded_by, at=at(day))


def second_ring(price: str = "1000.00", day: str = "2026-05-10") -> list[dict]:
    """A second ring made from the same bar, and its sale."""
    return [f.event("product.manufactured", {"product_id": "ring-2", "inputs": [{"lot_id": "bar-1", "mass_g": 7.5}],
                                             "mass_g": 10.0, "fineness": 0.75, "description": "18 ct gold ring"},
                    recorded_by="atelier", at=at("2026-05-01")),
            f.event("product.sold", {"product_id": "ring-2", "price": price, "currency": "EUR"},
                    recorded_by="atelier", at=at(day))]


#: where the payouts and statements are tested: the embedded log on SQLite and PostgreSQL, and Kafka with PostgreSQL
DEPLOYMENTS = (("embedded", "sqlite"), ("embedded", "postgresql"), ("kafka", "postgresql"))


@pytest.fixture(params=DEPLOYMENTS, ids=lambda kind: "-".join(kind))
def deployment_kind(request):
    """Which log and which read-model database."""
    return request.param


@pytest.fixture
def database(deployment_kind):
    """The read-model backend of the deployment (overrides the conftest's, for the modules that import it)."""
    return deployment_kind[1]


@pytest.fixture
def deployment(deployment_kind, request):
    """A platform on the SQLite log, or on a Kafka topic of its own."""
    if deployment_kind[0] == "embedded":
        yield request.getfixturevalue("platform")
        return
    platform = build_platform(request.getfixturevalue("kafka_settings"))
    yield platform
    platform.close()
