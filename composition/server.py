"""Serving the API under gunicorn (gthread) with the projectors in the same process (embedded mode)."""
from __future__ import annotations

import logging

from gunicorn.app.base import BaseApplication

from services.settings import Settings

logger = logging.getLogger(__name__)


class EmbeddedServer(BaseApplication):
    """One gunicorn worker with threads: the API and the projector threads share the process."""

    def __init__(self, settings: Settings, options: dict):
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Hand our options to gunicorn."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        """Build the platform in the worker and start its projectors there."""
        from composition.bootstrap import build_platform

        platform = build_platform(self.settings)
        platform.start_projectors()
        return platform.create_app()


def serve(settings: Settings, host: str, port: int, threads: int = 8) -> None:
    """Serve until interrupted."""
    logger.info("serving on http://%s:%d", host, port)
    EmbeddedServer(settings, {
        "bind": f"{host}:{port}", "workers": 1, "threads": threads, "worker_class": "gthread",
        "timeout": 120, "accesslog": None, "loglevel": settings.log_level.lower(),
        "logger_class": "services.logs.GunicornLogger",
        # no control socket: by default every gunicorn on the machine shares ~/.gunicorn/gunicorn.ctl
        "control_socket_disable": True,
    }).run()
