"""Issue 14's capture benchmark: capture with personal fields sealed against the same capture without, side by side.

Both sides run the capture service in process (validation, rights, hashing, the SQLite append in
batches of 500; no HTTP, which would only dilute the difference) on a fresh log, in alternating rounds,
and the medians of each side and of the rounds' ratios (each round runs off then on, so a machine
shared with other work slows both sides of a round alike) are kept. Two workloads:
- ``chain``: the embedded benchmark's stream (registries, purchases, merges, refinings, products),
  its 200 miners registered with a name and a photo-ID hash: what a deployment records;
- ``registrations``: nothing but ``miner.registered`` with name, photo-ID hash and birth year, each a new
  person (a new key in the key store): the worst case, every event sealed.
"""
from __future__ import annotations

import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.chains import EventFactory, bulk_stream
from events.sqlite_log import SqliteEventLog
from services.auth import Principal
from services.capture import CaptureService
from services.database import create_database_engine
from services.keystore import SqlKeyStore
from services.personal_data import PersonalData

NAME = "shredding"
CHAIN_EVENTS = int(os.environ.get("BENCH_SHREDDING_EVENTS", "20000"))
REGISTRATIONS = int(os.environ.get("BENCH_SHREDDING_REGISTRATIONS", "5000"))
ROUNDS = int(os.environ.get("BENCH_SHREDDING_ROUNDS", "5"))
BATCH = 500
ADMIN = Principal(key_id="bench", org_id="bench-admin", role="admin")


def run() -> dict:
    """Events/s of capture with sealing off and on, per workload, and their ratio (target >= 0.9 on the chain)."""
    figures = {"chain": compare(named(bulk_stream(EventFactory("shred"), CHAIN_EVENTS, "shr"))),
               "registrations": compare(registrations(REGISTRATIONS))}
    figures["targets"] = {"chain.ratio_on_to_off": ">= 0.9"}
    return figures


def named(events: list[dict]) -> list[dict]:
    """The stream with every miner registered under a name and a photo-ID hash."""
    out = []
    for event in events:
        if event["type"] == "miner.registered":
            miner_id = event["data"]["miner_id"]
            event = {**event, "data": {**event["data"], "name": f"Miner {miner_id.title()}",
                                       "photo_id_sha256": hashlib.sha256(miner_id.encode()).hexdigest()}}
        out.append(event)
    return out


def registrations(count: int) -> list[dict]:
    """``count`` registrations of new miners, every personal field given."""
    make = EventFactory("reg")
    return [make("miner.registered", {"miner_id": f"m-{n}", "cooperative_id": "coop", "site_id": "site-0",
                                      "gender": "female" if n % 2 else "male", "birth_year": 1970 + n % 35,
                                      "work_role": "digger", "name": f"Person number {n}",
                                      "photo_id_sha256": hashlib.sha256(str(n).encode()).hexdigest()})
            for n in range(count)]


def compare(events: list[dict]) -> dict:
    """Alternating rounds off and on over fresh logs; the median events/s of each side and their ratio."""
    off, on = [], []
    for _ in range(ROUNDS):
        off.append(capture_rate(events, sealing=False))
        on.append(capture_rate(events, sealing=True))
    sealed = sum(1 for event in events if event["type"] == "miner.registered")
    return {"events": len(events), "sealed_events": sealed, "rounds": ROUNDS,
            "off_events_per_s": round(statistics.median(off)), "on_events_per_s": round(statistics.median(on)),
            "ratio_on_to_off": round(statistics.median(b / a for a, b in zip(off, on)), 3)}


def capture_rate(events: list[dict], sealing: bool) -> float:
    """Events/s capturing ``events`` in batches of 500 into a fresh SQLite log (and key store when sealing)."""
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-shred-") as scratch:
        folder = Path(scratch)
        log = SqliteEventLog(str(folder / "events.db"))
        engine = create_database_engine(f"sqlite:///{folder / 'readmodels.db'}")
        store = SqlKeyStore(engine)
        store.create_tables()
        capture = CaptureService(log, max_events=BATCH, personal=PersonalData(store) if sealing else None)
        try:
            started = time.perf_counter()
            for start in range(0, len(events), BATCH):
                capture.capture(ADMIN, {"events": events[start:start + BATCH]})
            return len(events) / (time.perf_counter() - started)
        finally:
            log.close()
            engine.dispose()
