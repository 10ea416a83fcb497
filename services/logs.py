"""Logging set-up: plain text, or one JSON object a line when ``ORETRAIL_LOG_FORMAT=json``.

Oretrail's own logs, gunicorn's (through :class:`GunicornLogger`) and the request log all follow
the chosen format. Fields given to a log call with ``extra={...}`` become keys of the JSON object.
"""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from gunicorn.glogging import Logger as _GunicornBaseLogger

#: attributes every LogRecord has: anything else on a record came from ``extra``
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, the extra fields (and the exception)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter of ``log_format`` (``json`` or ``text``)."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str = "INFO", log_format: str = "text") -> None:
    """Send logs to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class GunicornLogger(_GunicornBaseLogger):
    """Gunicorn's logger, writing its error and access logs in Oretrail's format.

    Use it with ``gunicorn --logger-class services.logs.GunicornLogger``; the embedded server does.
    """

    def setup(self, cfg) -> None:
        """Let gunicorn set up its handlers, then give them our formatter."""
        super().setup(cfg)
        from services.settings import Settings

        settings = Settings.from_env()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter_for(settings.log_format))
