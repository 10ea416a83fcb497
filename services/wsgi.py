"""WSGI entry point for gunicorn: ``gunicorn 'services.wsgi:create_app()'``.

The app only: projectors run as their own processes (``oretrail project NAME``), so any number of
workers can serve. Each worker builds its platform from the environment when gunicorn loads it
(no work at import time; without ``--preload`` that happens after the fork).
"""
from __future__ import annotations

from flask import Flask

from services.logs import configure_logging
from services.settings import Settings


def create_app() -> Flask:
    """The Flask app over a platform built from the environment, without projector threads."""
    from services.bootstrap import build_platform

    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    return build_platform(settings).create_app()
