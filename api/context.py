"""What the app is given by the composition root: services and views, already wired."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from consumers.provenance.views import ProvenanceView
from services.auth import ApiKeys
from services.capture import CaptureService
from services.settings import Settings


@dataclass
class AppContext:
    """Everything the API needs; built in ``services.bootstrap``, never at import time."""

    settings: Settings
    keys: ApiKeys
    capture: CaptureService
    provenance: ProvenanceView
    #: returns the readiness report: log and database reachable, each projector's position and lag
    readiness: Callable[[], dict[str, Any]]
    extras: dict[str, Any] = field(default_factory=dict)
