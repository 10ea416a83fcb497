"""The pure parts of the feed and webhooks: cursors, subjects, backoff, sealed secrets."""
from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidTag
from standardwebhooks import Webhook

from events.position import LogPosition
from services.errors import InvalidRequest
from services.feed import decode_cursor, encode_cursor, subjects_of
from services.webhooks.secret_box import SecretBox
from services.webhooks.sender import MAX_BACKOFF_S, backoff
from services.webhooks.store import new_secret
from tests import factories as f


def test_a_cursor_names_a_position_of_one_log():
    position = LogPosition({0: 12, 3: 40_000_000_000, 5: 0})
    cursor = encode_cursor("oretrail.events", position)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor  # safe in a query string
    assert decode_cursor("oretrail.events", cursor) == position
    assert decode_cursor("oretrail.events", None) == LogPosition.start()
    with pytest.raises(InvalidRequest):
        decode_cursor("another.topic", cursor)
    with pytest.raises(InvalidRequest):
        decode_cursor("oretrail.events", cursor[:-3])


def test_an_event_is_about_its_recorder_and_every_id_of_its_data():
    refined = f.refine({"coop-1": 175.0, "coop-2": 10.0}, {"bar-1": (149.85, 0.999)})
    assert subjects_of(refined) == {"refiner-x", "coop-1", "coop-2", "bar-1"}
    produced = f.production("lot-a", "pit-a", 100.0, miners=("m-1", "m-2"))
    assert subjects_of(produced) == {"coop-mambasa", "lot-a", "pit-a", "m-1", "m-2"}
    audit = f.event("audit.completed", {"subject_id": "refiner-x", "auditor": "audit-co", "result": "pass"},
                    recorded_by="audit-co")
    assert subjects_of(audit) == {"audit-co", "refiner-x"}
    assert "Esther Lokana" not in subjects_of(f.miner("m-1", "site-a", name="Esther Lokana"))


def test_backoff_doubles_with_jitter_and_stops_growing_at_an_hour():
    assert 2.5 <= backoff(1, 5.0) < 5.0
    assert 10.0 <= backoff(3, 5.0) < 20.0  # 5 s doubled twice, times 0.5 to 1
    assert backoff(3, 5.0, rng=lambda: 0.0) == 10.0 and backoff(3, 5.0, rng=lambda: 0.999) > 19.9
    assert MAX_BACKOFF_S / 2 <= backoff(40, 5.0) < MAX_BACKOFF_S
    jittered = {round(backoff(4, 5.0), 6) for _ in range(20)}
    assert len(jittered) > 1


def test_a_secret_is_standard_and_sealed_for_its_own_subscription_only(tmp_path):
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    Webhook(secret)  # the library takes it as it is
    box = SecretBox.load_or_create(tmp_path / "keys" / "webhooks.key")
    sealed = box.seal(secret, "sub_1")
    assert secret not in sealed and box.open(sealed, "sub_1") == secret
    assert (tmp_path / "keys" / "webhooks.key").stat().st_mode & 0o077 == 0
    with pytest.raises(InvalidTag):
        box.open(sealed, "sub_2")
    with pytest.raises(InvalidTag):
        SecretBox.load_or_create(tmp_path / "other.key").open(sealed, "sub_1")
    assert SecretBox.load_or_create(tmp_path / "keys" / "webhooks.key").open(sealed, "sub_1") == secret
