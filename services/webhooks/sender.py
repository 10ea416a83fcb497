"""The webhook sender: takes due deliveries from the outbox, POSTs them signed, records what happened.

Order of work (:meth:`WebhookSender.send_due` does it once, ``run_forever`` as a pipeline), and why:
1. in one write transaction, claim up to ``workers * 32`` due deliveries of active subscriptions by
   setting their lease (``lease_until``, long enough for every POST in the sender's hands:
   ``timeout`` per delivery a worker has to send, plus 5 s): on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several senders
   share the outbox, on SQLite the write lock does; commit;
2. POST each one (``workers`` at a time), signed by the Standard Webhooks library with the
   subscription's secret: headers ``webhook-id`` (the delivery's, the same on every attempt),
   ``webhook-timestamp`` (this attempt's) and ``webhook-signature``;
3. record the outcomes together, one transaction every ``RECORD_EVERY`` seconds (the loop of
   :meth:`~WebhookSender.run_forever` claims more as soon as half of a round is done, so the
   workers never wait for a whole round): ``delivered`` on a 2xx, otherwise a retry
   after an exponential backoff with jitter, or ``failed`` once the delivery has been retried for
   ``retry_for`` seconds, which also disables its subscription (a 410 Gone disables it at once).
   Few transactions, not one a delivery: on SQLite the sender shares the write lock with the
   projectors, and hundreds of small transactions a second would queue behind them.
A sender killed (kill -9) between 1 and 3 leaves its deliveries ``pending`` with a lease: when the
lease ends another sender (or the same one restarted) sends them again with the same
``webhook-id``: at least once, never lost. Receivers deduplicate on ``webhook-id``.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import urllib3
from sqlalchemy import Engine, and_, bindparam, or_, select, update
from standardwebhooks import Webhook

from services.database import write_transaction
from services.webhooks.outbox import ACTIVE, DELIVERED, DISABLED, FAILED, PENDING
from services.webhooks.secret_box import SecretBox
from services.webhooks.ssrf import UnsafeUrl, check_url
from services.webhooks.tables import deliveries, subscriptions

logger = logging.getLogger(__name__)

#: the longest wait between two attempts
MAX_BACKOFF_S = 3600.0
#: seconds between two recordings of finished deliveries (one transaction each)
RECORD_EVERY = 0.5
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
        #: deliveries claimed in one round
        self.round_size = workers * 32
        self._http = urllib3.PoolManager(num_pools=64, maxsize=workers, retries=False,
                                         timeout=urllib3.Timeout(total=timeout))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._signers: dict[str, Webhook] = {}

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
        """Send due deliveries until ``stop`` is set, as a pipeline: the workers are kept busy (more are
        claimed whenever half of a round is done, so one slow receiver holds back only the workers it
        occupies), and finished outcomes are recorded together every ``RECORD_EVERY`` seconds. When
        nothing is due, wait for a wake-up (the projector committed deliveries) or ``idle_wait``."""
        in_flight: dict[Future, dict[str, Any]] = {}
        finished: list[tuple[dict[str, Any], Outcome]] = []
        recorded_at = claim_after = 0.0
        failures = 0
        while not stop.is_set() or in_flight:
            try:
                now = time.monotonic()
                if self._wake.is_set():
                    self._wake.clear()
                    claim_after = 0.0
                if not stop.is_set() and len(in_flight) <= self.round_size // 2 and now >= claim_after:
                    claimed = self._claim(time.time(), self.round_size - len(in_flight), len(in_flight))
                    for delivery in claimed:
                        in_flight[self._pool.submit(self._attempt, delivery)] = delivery
                    claim_after = 0.0 if claimed else now + idle_wait
                if in_flight:
                    done, _pending = wait(in_flight, timeout=RECORD_EVERY, return_when=FIRST_COMPLETED)
                    finished += [(in_flight.pop(future), future.result()) for future in done]
                elif not finished:
                    self._wake.wait(max(0.0, claim_after - time.monotonic()))
                if finished and (not in_flight or time.monotonic() - recorded_at >= RECORD_EVERY):
                    self.record(finished)
                    finished, recorded_at = [], time.monotonic()
                failures = 0
            except Exception:  # noqa: BLE001 - e.g. the database is down: keep the sender alive, loudly
                failures += 1
                logger.exception("webhook sender failed (attempt %d); retrying", failures)
                stop.wait(min(30.0, 0.2 * 2 ** min(failures, 8)))

    # -- one round ----------------------------------------------------------------------------
    def send_due(self, now: float | None = None) -> int:
        """Claim, send and record the deliveries due now; how many were attempted."""
        claimed = self._claim(time.time() if now is None else now, self.round_size)
        if claimed:
            outcomes = list(self._pool.map(self._attempt, claimed))
            try:
                self.record(list(zip(claimed, outcomes)))
            except Exception:  # noqa: BLE001 - the leases end and the deliveries are sent again: never lost
                logger.exception("outcomes of %d webhook deliveries not recorded; they will be sent again", len(claimed))
        return len(claimed)

    def lease_for(self, count: int) -> float:
        """How long deliveries are held when ``count`` are in a sender's hands: each waits at most for the
        POSTs before it, ``timeout`` each per worker, and is recorded within ``RECORD_EVERY`` after."""
        return self.timeout * -(-count // self.workers) + 5

    def _claim(self, now: float, limit: int, in_hand: int = 0) -> list[dict[str, Any]]:
        d, s = deliveries.c, subscriptions.c
        query = (select(d.id, d.payload, d.attempts, d.created_at, s.id.label("subscription_id"), s.url, s.secret)
                 .join(subscriptions, s.id == d.subscription_id)
                 .where(d.status == PENDING, d.next_attempt_at <= now, s.status == ACTIVE,
                        or_(d.lease_until.is_(None), d.lease_until < now))
                 .order_by(d.next_attempt_at, d.position).limit(limit))
        with write_transaction(self.engine) as tx:
            if tx.dialect.name == "postgresql":
                query = query.with_for_update(of=deliveries, skip_locked=True)
            rows = [dict(row._mapping) for row in tx.execute(query)]
            if rows:
                tx.execute(update(deliveries).where(d.id.in_([row["id"] for row in rows]))
                           .values(lease_until=now + self.lease_for(in_hand + len(rows))))
        return rows

    def _attempt(self, delivery: dict[str, Any]) -> Outcome:
        try:
            return self.post(delivery)
        except Exception as exc:  # noqa: BLE001 - any failure of one delivery is that delivery's outcome
            logger.exception("webhook %s: attempt failed unexpectedly", delivery["id"])
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])

    def post(self, delivery: dict[str, Any]) -> Outcome:
        """POST one delivery, signed; the receiver's answer (redirects are not followed)."""
        try:
            check_url(delivery["url"], self.allow_private)
        except UnsafeUrl as exc:
            return Outcome(None, f"refused: {exc}")
        signer = self._signer(delivery["subscription_id"], delivery["secret"])
        sent_at = datetime.now(timezone.utc)
        body = delivery["payload"]
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery["id"],
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signer.sign(delivery["id"], sent_at, body),
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

    def _signer(self, subscription_id: str, sealed: str) -> Webhook:
        """The Standard Webhooks signer of a subscription, its secret decrypted once per sender."""
        signer = self._signers.get(subscription_id)
        if signer is None:
            signer = self._signers[subscription_id] = Webhook(self.box.open(sealed, subscription_id))
        return signer

    def record(self, attempts: list[tuple[dict[str, Any], Outcome]], now: float | None = None) -> None:
        """Store the outcome of each attempt, in one transaction: delivered, retried later, or failed
        (its subscription then disabled)."""
        now = time.time() if now is None else now
        rows, disabled = [], {}
        for delivery, outcome in attempts:
            row, why = self._after(delivery, outcome, now)
            rows.append(row)
            if why is not None:
                disabled.setdefault(delivery["subscription_id"], why)
        d, s = deliveries.c, subscriptions.c
        with write_transaction(self.engine) as tx:
            tx.execute(update(deliveries).where(d.id == bindparam("delivery")).values(
                {name: bindparam(name) for name in rows[0] if name != "delivery"}), rows)
            for subscription_id, why in sorted(disabled.items()):
                logger.warning("webhook subscription %s disabled: %s", subscription_id, why)
                tx.execute(update(subscriptions).where(and_(s.id == subscription_id, s.status == ACTIVE))
                           .values(status=DISABLED, disabled_reason=why))

    def _after(self, delivery: dict[str, Any], outcome: Outcome, now: float) -> tuple[dict[str, Any], str | None]:
        """The delivery's row after this attempt, and why its subscription is disabled (None: it is not)."""
        attempts = delivery["attempts"] + 1
        row: dict[str, Any] = {"delivery": delivery["id"], "attempts": attempts, "last_attempt_at": now,
                               "lease_until": None, "last_response_code": outcome.status_code,
                               "last_error": outcome.error, "status": PENDING, "delivered_at": None}
        if outcome.delivered:
            return {**row, "status": DELIVERED, "delivered_at": now, "next_attempt_at": None}, None
        if outcome.status_code == 410:  # kept pending: a replay enables the subscription and sends it
            return {**row, "next_attempt_at": now}, "the receiver answered 410 Gone"
        if now - delivery["created_at"] >= self.retry_for:
            return {**row, "status": FAILED, "next_attempt_at": None}, (
                f"a delivery failed for {self.retry_for:.0f} s ({attempts} attempts; last: "
                f"{outcome.error or outcome.status_code})")
        return {**row, "next_attempt_at": now + backoff(attempts, self.backoff_base)}, None
