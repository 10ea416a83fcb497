"""The WSGI entry point of the distributed deployment: ``gunicorn 'composition.wsgi:create_app()'``.

Each gunicorn worker builds the platform from the environment and closes the log's hanging
transactions (``services.hanging_transactions``); no projector runs here (they run as
``oretrail project NAME`` processes of their own).
"""
from __future__ import annotations

from flask import Flask

from services.logs import configure_logging
from services.settings import Settings


def create_app() -> Flask:
    """The API over the platform the environment describes, without projector threads."""
    from composition.bootstrap import build_platform

    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    platform = build_platform(settings)
    platform.start_sweeper()  # this process captures: it closes the log's hanging transactions
    return platform.create_app()
