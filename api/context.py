"""What the app is given by the composition root: services and views, already wired."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint, current_app

from consumers.provenance.views import ProvenanceSection, ProvenanceView
from services.auth import ApiKeys
from services.capture import CaptureService
from services.settings import Settings


@dataclass
class AppContext:
    """Everything the API needs; built in ``composition.app_wiring``, never at import time.

    The core blueprints (capture, provenance, health) are built by ``create_app`` from the fields
    below; every other blueprint comes already built over the typed views it needs.
    """

    settings: Settings
    keys: ApiKeys
    capture: CaptureService
    provenance: ProvenanceView
    #: the read models' state (every projector's position and version): answers are cached per state
    freshness: Callable[[], tuple]
    #: returns the readiness report: log and database reachable, each projector's position and lag
    readiness: Callable[[], dict[str, Any]]
    #: more blueprints to serve (one per audience: impact, public pages, EPCIS, ...), each holding its views
    blueprints: list[Blueprint] = field(default_factory=list)
    #: sections added to a product's provenance: ``section(product_id, provenance, principal) -> dict``
    #: whose keys are merged into the answer (e.g. ``flags``, ``due_diligence``, ``impact``)
    provenance_sections: list[ProvenanceSection] = field(default_factory=list)


def current_context() -> AppContext:
    """The context of the app serving the current request (for what every blueprint shares: the API keys)."""
    return current_app.extensions["oretrail"]
