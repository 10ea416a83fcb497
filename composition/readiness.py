"""Readiness: the ``/readyz`` report of a wired platform (also ``oretrail status`` and the metrics' state)."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import Engine, text

from consumers.runner import Runner
from events.log import EventLog


class Readiness:
    """Whether the log and the database can be reached, and each projector's position, lag and dead letters."""

    def __init__(self, log: EventLog, engine: Engine, runners: Mapping[str, Runner]):
        self.log = log
        self.engine = engine
        self.runners = runners

    def report(self) -> dict[str, Any]:
        """The ``/readyz`` report."""
        report: dict[str, Any] = {"status": "ready", "log": {}, "database": {}, "projectors": {}}
        try:
            end = self.log.end()
            # end_position: the end's total (on SQLite the last event's position); end_offsets: per partition
            report["log"] = {"reachable": True, "end_position": end.total, "end_offsets": end.as_json()}
        except Exception as exc:  # noqa: BLE001 - a readiness probe reports, it does not raise
            end = None
            report["status"] = "unavailable"
            report["log"] = {"reachable": False, "error": str(exc)}
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            report["database"] = {"reachable": True, "backend": self.engine.dialect.name}
            for name, runner in self.runners.items():
                progress = runner.progress(end) if end is not None else {"position": runner.checkpoint().total, "lag": None}
                report["projectors"][name] = {**progress, "dead_letters": runner.dead_letter_count()}
        except Exception as exc:  # noqa: BLE001
            report["status"] = "unavailable"
            report["database"] = {"reachable": False, "error": str(exc)}
        return report
