"""What the app is given by the composition root: services and views, already wired."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint

from consumers.provenance.views import ProvenanceView
from services.auth import ApiKeys, Principal
from services.capture import CaptureService
from services.settings import Settings

#: a section of a product's provenance: ``section(product_id, provenance, principal) -> {key: value}``
ProvenanceSection = Callable[[str, dict[str, Any], Principal], dict[str, Any]]


@dataclass
class AppContext:
    """Everything the API needs; built in ``composition.bootstrap``, never at import time."""

    settings: Settings
    keys: ApiKeys
    capture: CaptureService
    provenance: ProvenanceView
    #: returns the readiness report: log and database reachable, each projector's position and lag
    readiness: Callable[[], dict[str, Any]]
    #: more blueprints to serve (one per audience: impact, public pages, EPCIS, ...)
    blueprints: list[Blueprint] = field(default_factory=list)
    #: sections added to a product's provenance: ``section(product_id, provenance, principal) -> dict``
    #: whose keys are merged into the answer (e.g. ``flags``, ``due_diligence``, ``impact``)
    provenance_sections: list[ProvenanceSection] = field(default_factory=list)
    #: anything else a blueprint needs (views of other read models), by name
    extras: dict[str, Any] = field(default_factory=dict)
