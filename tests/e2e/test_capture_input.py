"""POST /v1/events refuses at the door what no projector could use, and a streamed body over 5 MB."""
from __future__ import annotations

import http.client
import io
import json
import threading

import pytest
from werkzeug.serving import make_server

from tests import factories as f
from tests.conftest import bearer

LIMIT = 5 * 1024 * 1024


def post(client, key, events):
    return client.post("/v1/events", json={"events": events}, headers=bearer(key))


def refused_at(response) -> set[str]:
    assert response.status_code == 422, response.get_data(as_text=True)
    return set(response.get_json()["error"]["details"])


def test_a_time_before_1900_is_refused_with_its_path_and_nothing_is_dead_lettered(client, admin_key, platform):
    ancient = {**f.site("a"), "occurred_at": "0001-01-01T00:00:00+14:00"}
    assert refused_at(post(client, admin_key, [f.site("b"), ancient])) == {"events.1.occurred_at"}
    assert platform.log.end_position() == 0
    platform.catch_up()
    assert platform.runner("provenance").dead_letter_count() == 0


def test_an_amount_or_a_month_in_arabic_indic_digits_is_refused(client, admin_key, platform):
    price = f.event("market.price_recorded", {"date": "2026-03-02", "price_per_g_fine": "5٠٠.00", "currency": "USD"},
                    recorded_by="oretrail-admin")
    report = f.event("vsla.reported", {"group_id": "g", "period": "٢٠٢٦-03", "savings": "1.00", "loans": "0",
                                       "currency": "CDF", "solidarity_assists": 0})
    assert refused_at(post(client, admin_key, [price, report])) == {"events.0.data.price_per_g_fine", "events.1.data.period"}
    assert platform.log.end_position() == 0


def test_dot_segments_cannot_name_a_lot(client, admin_key, platform):
    assert refused_at(post(client, admin_key, [f.production("..", "pit-a", 1.0), f.production(".", "pit-a", 1.0)])) == {
        "events.0.data.lot_id", "events.1.data.lot_id"}
    assert post(client, admin_key, [f.production("...", "pit-a", 1.0)]).status_code == 200


def chunked_post(client, key, body: bytes):
    """POST ``body`` as a stream without Content-Length, the way a chunked upload reaches the app."""
    return client.post("/v1/events", input_stream=io.BytesIO(body), environ_overrides={"wsgi.input_terminated": True},
                       headers={**bearer(key), "Content-Type": "application/json", "Transfer-Encoding": "chunked"})


def padded_batch(size: int) -> bytes:
    """A valid one-event batch padded with insignificant whitespace to exactly ``size`` bytes."""
    body = json.dumps({"events": [f.site("a")]}).encode()
    return body + b" " * (size - len(body))


def test_a_streamed_body_over_5_mb_is_413_not_a_truncated_422(client, admin_key, platform):
    response = chunked_post(client, admin_key, padded_batch(LIMIT + 1))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert platform.log.end_position() == 0


def test_a_streamed_body_of_exactly_5_mb_is_read_whole(client, admin_key, platform):
    response = chunked_post(client, admin_key, padded_batch(LIMIT))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert platform.log.end_position() == 1


@pytest.fixture
def served(platform):
    """The app behind a real HTTP server on a free loopback port."""
    server = make_server("127.0.0.1", 0, platform.create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(10)


def send_chunked(port: int, key: str, body: bytes) -> tuple[int, dict, dict]:
    """POST ``body`` with ``Transfer-Encoding: chunked`` in 64 KiB chunks; the status, headers and JSON answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        chunks = (body[start:start + 65536] for start in range(0, len(body), 65536))
        connection.request("POST", "/v1/events", body=chunks, encode_chunked=True,
                           headers={**bearer(key), "Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def test_a_real_server_answers_413_to_a_chunked_upload_over_5_mb_and_appends_nothing(served, admin_key, platform):
    body = json.dumps({"events": [f.site(f"s-{n}") for n in range(500)]}).encode()
    body += b" " * (LIMIT + 4096 - len(body))
    status, headers, answer = send_chunked(served, admin_key, body)
    assert status == 413
    assert headers["Content-Type"] == "application/json"
    assert answer["error"]["code"] == "too_large"
    assert platform.log.end_position() == 0

    status, _, answer = send_chunked(served, admin_key, padded_batch(2048))  # a small chunked upload still works
    assert status == 200 and answer["results"][0]["status"] == "accepted"
