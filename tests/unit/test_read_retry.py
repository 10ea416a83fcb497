"""A read that loses a PostgreSQL deadlock runs again; a write, or another error, is not retried."""
from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError

from api.read_retry import TRIES, retry_reads
from services.errors import Unavailable


class Orig(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def failing(times: int, sqlstate: str = "40P01"):
    calls = []

    def view():
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("SELECT 1", {}, Orig(sqlstate))
        return "answer"
    return view, calls


def test_a_read_that_loses_a_deadlock_is_run_again():
    view, calls = failing(2)
    with Flask(__name__).test_request_context(method="GET"):
        assert retry_reads(view, pause_s=0)() == "answer" and len(calls) == 3


def test_a_read_that_keeps_losing_is_a_503():
    view, calls = failing(TRIES)
    with Flask(__name__).test_request_context(method="GET"), pytest.raises(Unavailable):
        retry_reads(view, pause_s=0)()
    assert len(calls) == TRIES


@pytest.mark.parametrize("method, sqlstate", [("POST", "40P01"), ("GET", "08006")])
def test_writes_and_other_errors_are_not_retried(method, sqlstate):
    view, calls = failing(1, sqlstate)
    with Flask(__name__).test_request_context(method=method), pytest.raises(OperationalError):
        retry_reads(view, pause_s=0)()
    assert len(calls) == 1
