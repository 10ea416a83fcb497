"""A real webhook receiver for the tests: ``http.server`` in a thread, verifying every delivery's
signature with the ``standardwebhooks`` library, as an integrator's endpoint would."""
from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    """One request the receiver got: its headers, body, and whether its signature verified."""

    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: Any = None

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """The receiver's state: what it got, and how it answers (``answer(n)`` -> status for the n-th request)."""

    url: str = ""
    secret: str | None = None
    received: list[Received] = field(default_factory=list)
    answer: Callable[[int], int] = lambda _n: 200
    #: while true, requests are held unanswered until ``release`` is set (a receiver that hangs)
    holding: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verified_payloads(self) -> list[Any]:
        with self.lock:
            return [item.payload for item in self.received if item.verified]

    def delivered_event_ids(self) -> Counter:
        """How many verified deliveries each event_id had."""
        return Counter(payload["data"]["event_id"] for payload in self.verified_payloads())

    def ids(self) -> list[str]:
        with self.lock:
            return [item.webhook_id for item in self.received]


def start_receiver(receiver: Receiver) -> ThreadingHTTPServer:
    """Serve ``receiver`` on a free loopback port (its ``url`` is set); stop with ``server.shutdown()``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            verified, payload = False, None
            if receiver.secret is not None:
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    payload = json.loads(body)
            with receiver.lock:
                receiver.received.append(Received(headers, body, verified, payload))
                number = len(receiver.received)
            if receiver.holding:
                receiver.release.wait(60)  # a receiver that hangs: the sender is killed meanwhile
                return
            status = receiver.answer(number)
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args):  # quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/oretrail"
    threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True).start()
    return server
