"""Settings read from the environment: a wrong value is refused with the variable's name, never guessed."""
from __future__ import annotations

import pytest

from services.settings import Settings, SettingsError


def test_tolerances_and_intervals_take_their_defaults_and_valid_values():
    defaults = Settings.from_env({"ORETRAIL_DATA_DIR": "/tmp/x"})
    assert (defaults.mass_tolerance, defaults.checkpoint_interval) == (0.005, 10.0)
    chosen = Settings.from_env({"ORETRAIL_DATA_DIR": "/tmp/x", "ORETRAIL_MASS_TOLERANCE": "0.02",
                                "ORETRAIL_CHECKPOINT_INTERVAL": "2.5"})
    assert (chosen.mass_tolerance, chosen.checkpoint_interval) == (0.02, 2.5)
    assert defaults.capture_first == 2.0
    assert Settings.from_env({"ORETRAIL_DATA_DIR": "/tmp/x", "ORETRAIL_CAPTURE_FIRST": "0"}).capture_first == 0
    assert defaults.kafka_close_hanging_after == 60.0
    assert Settings.from_env({"ORETRAIL_DATA_DIR": "/tmp/x",
                              "ORETRAIL_KAFKA_CLOSE_HANGING_AFTER": "0"}).kafka_close_hanging_after == 0


@pytest.mark.parametrize("name, raw, message", [
    ("ORETRAIL_MASS_TOLERANCE", "lots", "must be a number"),
    ("ORETRAIL_MASS_TOLERANCE", "1", "must be a fraction in [0, 1)"),
    ("ORETRAIL_TRANSIT_TOLERANCE", "-0.1", "must be a fraction in [0, 1)"),
    ("ORETRAIL_CHECKPOINT_INTERVAL", "0", "must lie between 0 and 3600 seconds"),
    ("ORETRAIL_CHECKPOINT_INTERVAL", "soon", "must be a number of seconds"),
    ("ORETRAIL_CAPTURE_FIRST", "-1", "must be from 0 to 60"),
    ("ORETRAIL_CAPTURE_FIRST", "nan", "must be from 0 to 60"),
    ("ORETRAIL_CAPTURE_FIRST", "always", "must be a number of seconds"),
    ("ORETRAIL_KAFKA_CLOSE_HANGING_AFTER", "0.5", "must be 0 (never) or from 1 to 86400"),
    ("ORETRAIL_KAFKA_CLOSE_HANGING_AFTER", "nan", "must be 0 (never) or from 1 to 86400"),
    ("ORETRAIL_KAFKA_CLOSE_HANGING_AFTER", "-60", "must be 0 (never) or from 1 to 86400"),
])
def test_a_wrong_number_is_refused_naming_the_variable(name, raw, message):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"ORETRAIL_DATA_DIR": "/tmp/x", name: raw})
    assert name in str(refused.value) and message in str(refused.value)
