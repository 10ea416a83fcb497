"""The webhook sender: takes due deliveries from the outbox, POSTs them signed, records what happened.

Order of work for one round (:meth:`WebhookSender.send_due`), and why:
1. in one write transaction, claim up to ``workers * 2`` due deliveries of active subscriptions by
   setting their lease (``lease_until``): on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several
   senders share the outbox, on SQLite the write lock does; commit;
2. POST each one (``workers`` at a time), signed by the Standard Webhooks library with the
   subscription's secret: headers ``webhook-id`` (the delivery's, the same on every attempt),
   ``webhook-timestamp`` (this attempt's) and ``webhook-signature``;
3. record each outcome in its own transaction as soon as it is known: ``delivered`` on a 2xx,
   otherwise a retry after an exponential backoff with jitter, or ``failed`` once the delivery has
   been retried for ``retry_for`` seconds, which also disables its subscription (a 410 Gone
   disables it at once).
A sender killed (kill -9) between 1 and 3 leaves its deliveries ``pending`` with a lease: when the
lease ends another sender (or the same one restarted) sends them again with the same
``webhook-id``: at least once, never lost. Receivers deduplicate on ``webhook-id``.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import urllib3
from sqlalchemy import Engine, and_, or_, select, update
from standardwebhooks import Webhook

from services.database import write_transaction
from services.webhooks.outbox import ACTIVE, DELIVERED, DISABLED, FAILED, PENDING
from services.webhooks.secret_box import SecretBox
from services.webhooks.ssrf import UnsafeUrl, check_url
from services.webhooks.tables import deliveries, subscriptions

logger = logging.getLogger(__name__)

#: the longest wait between two attempts
MAX_BACKOFF_S = 3600.0
USER_AGENT = "Oretrail-Webhooks/1"


def backoff(attempts: int, base: float, rng: Callable[[], float] = random.random) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: ``base * 2**(attempts-1)``, at
    most an hour, times a random factor in [0.5, 1) so that receivers coming back are not stampeded."""
    delay = min(MAX_BACKOFF_S, base * 2 ** max(0, min(attempts - 1, 30)))
    return delay * (0.5 + rng() / 2)


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: the HTTP status (None: no answer) and the error in words."""

    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        """A 2xx answer: the receiver has it."""
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender:
    """Sends the outbox's due deliveries; one per process (embedded: a thread; distributed: ``oretrail deliver``)."""

    def __init__(self, engine: Engine, box: SecretBox, timeout: float = 10.0, backoff_base: float = 5.0,
                 retry_for: float = 90_000.0, workers: int = 8, allow_private: bool = False):
        self.engine = engine
        self.box = box
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.retry_for = retry_for
        self.workers = workers
        self.allow_private = allow_private
        #: how long a claimed delivery is held: its POST and the recording of its outcome fit well within
        self.lease = 2 * timeout + 5
        self._http = urllib3.PoolManager(num_pools=64, maxsize=workers, retries=False,
                                         timeout=urllib3.Timeout(total=timeout))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._secrets: dict[str, str] = {}

    # -- the loop -----------------------------------------------------------------------------
    def wake(self, *_args: Any) -> None:
        """New deliveries may be due (the projector just committed some): look now."""
        self._wake.set()

    def start(self) -> None:
        """Send in a background thread until :meth:`stop` (the embedded mode)."""
        self._thread = threading.Thread(target=self.run_forever, args=(self._stop,), name="webhook-sender", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the background thread and the workers."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.clear()

    def run_forever(self, stop: threading.Event, idle_wait: float = 0.2) -> None:
        """Send due deliveries until ``stop`` is set; when none is due, wait for a wake-up or ``idle_wait``."""
        failures = 0
        while not stop.is_set():
            try:
                if self.send_due() == 0:
                    self._wake.wait(idle_wait)
                    self._wake.clear()
                failures = 0
            except Exception:  # noqa: BLE001 - e.g. the database is down: keep the sender alive, loudly
                failures += 1
                logger.exception("webhook sender round failed (attempt %d); retrying", failures)
                stop.wait(min(30.0, 0.2 * 2 ** min(failures, 8)))

    # -- one round ----------------------------------------------------------------------------
    def send_due(self, now: float | None = None) -> int:
        """Claim, send and record the deliveries due now; how many were attempted."""
        claimed = self._claim(time.time() if now is None else now)
        if claimed:
            list(self._pool.map(self._attempt, claimed))
        return len(claimed)

    def _claim(self, now: float) -> list[dict[str, Any]]:
        d, s = deliveries.c, subscriptions.c
        query = (select(d.id, d.payload, d.attempts, d.created_at, s.id.label("subscription_id"), s.url, s.secret)
                 .join(subscriptions, s.id == d.subscription_id)
                 .where(d.status == PENDING, d.next_attempt_at <= now, s.status == ACTIVE,
                        or_(d.lease_until.is_(None), d.lease_until < now))
                 .order_by(d.next_attempt_at, d.position).limit(self.workers * 2))
        with write_transaction(self.engine) as tx:
            if tx.dialect.name == "postgresql":
                query = query.with_for_update(of=deliveries, skip_locked=True)
            rows = [dict(row._mapping) for row in tx.execute(query)]
            if rows:
                tx.execute(update(deliveries).where(d.id.in_([row["id"] for row in rows]))
                           .values(lease_until=now + self.lease))
        return rows

    def _attempt(self, delivery: dict[str, Any]) -> None:
        try:
            outcome = self.post(delivery)
        except Exception as exc:  # noqa: BLE001 - any failure of one delivery is that delivery's outcome
            logger.exception("webhook %s: attempt failed unexpectedly", delivery["id"])
            outcome = Outcome(None, f"{type(exc).__name__}: {exc}")
        try:
            self.record(delivery, outcome)
        except Exception:  # noqa: BLE001 - the lease ends and the delivery is sent again: never lost
            logger.exception("webhook %s: outcome not recorded; it will be sent again", delivery["id"])

    def post(self, delivery: dict[str, Any]) -> Outcome:
        """POST one delivery, signed; the receiver's answer (redirects are not followed)."""
        try:
            check_url(delivery["url"], self.allow_private)
        except UnsafeUrl as exc:
            return Outcome(None, f"refused: {exc}")
        secret = self._secret(delivery["subscription_id"], delivery["secret"])
        sent_at = datetime.now(timezone.utc)
        body = delivery["payload"]
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery["id"],
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": Webhook(secret).sign(delivery["id"], sent_at, body),
        }
        try:
            response = self._http.request("POST", delivery["url"], body=body.encode(), headers=headers,
                                          redirect=False, preload_content=False)
        except urllib3.exceptions.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])
        try:
            response.drain_conn()  # the answer's body is not kept; reading it lets the connection be reused
        finally:
            response.release_conn()
        return Outcome(response.status, None if 200 <= response.status < 300 else f"HTTP {response.status}")

    def _secret(self, subscription_id: str, sealed: str) -> str:
        secret = self._secrets.get(subscription_id)
        if secret is None:
            secret = self._secrets[subscription_id] = self.box.open(sealed, subscription_id)
        return secret

    def record(self, delivery: dict[str, Any], outcome: Outcome, now: float | None = None) -> None:
        """Store the outcome of an attempt: delivered, retried later, or failed (its subscription disabled)."""
        now = time.time() if now is None else now
        attempts = delivery["attempts"] + 1
        values: dict[str, Any] = {"attempts": attempts, "last_attempt_at": now, "lease_until": None,
                                  "last_response_code": outcome.status_code, "last_error": outcome.error}
        disable = None
        if outcome.delivered:
            values.update(status=DELIVERED, delivered_at=now, next_attempt_at=None)
        elif outcome.status_code == 410:
            values.update(next_attempt_at=now)  # kept pending: a replay or re-enabling sends it
            disable = "the receiver answered 410 Gone"
        elif now - delivery["created_at"] >= self.retry_for:
            values.update(status=FAILED, next_attempt_at=None)
            disable = (f"a delivery failed for {self.retry_for:.0f} s ({attempts} attempts; last: "
                       f"{outcome.error or outcome.status_code})")
        else:
            values.update(next_attempt_at=now + backoff(attempts, self.backoff_base))
        with write_transaction(self.engine) as tx:
            tx.execute(update(deliveries).where(deliveries.c.id == delivery["id"]).values(**values))
            if disable is not None:
                logger.warning("webhook subscription %s disabled: %s", delivery["subscription_id"], disable)
                tx.execute(update(subscriptions).where(and_(subscriptions.c.id == delivery["subscription_id"],
                                                            subscriptions.c.status == ACTIVE))
                           .values(status=DISABLED, disabled_reason=disable))
