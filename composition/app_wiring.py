"""The app's context: the typed views of every read model, and the blueprints built over them.

Each blueprint is handed the views it reads when it is built, so no route looks a view up by name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from flask import Blueprint
from sqlalchemy import Engine

from api import diligence as diligence_api
from api import findings as findings_api
from api import impact as impact_api
from api import docs, labels, landing, observability, public
from api import evidence as evidence_api
from api import log as log_api
from api import statement as statement_api
from api import value as value_api
from api.context import AppContext
from api.public import PublicPages
from consumers.checks.views import FindingsView
from consumers.diligence.views import DiligenceView, DueDiligenceView
from consumers.impact.section import ImpactSection
from consumers.impact.views import ImpactView, PayoutFindings, PayoutsView, StatementView, ValueChainView
from consumers.provenance.history_views import HistoryView
from consumers.provenance.public_views import PublicProvenanceView
from consumers.provenance.views import ProvenanceSection, ProvenanceView
from consumers.retractions import AttesterView
from events.log import EventLog
from services.auth import ApiKeys
from services.capture import CaptureService
from services.evidence_bundle import EvidenceBundler
from services.metrics import MeteredCapture, Metrics
from services.settings import Settings
from services.statement_links import StatementLinks
from services.transparency import TransparencyLog


@dataclass
class ReadViews:
    """The views of the read models the app serves, and the public pages' cache, over one database.

    Built afresh for each app: their caches (impact tables, rendered pages) belong to that app.
    """

    provenance: ProvenanceView
    #: which events make up a product's history (what its evidence bundle proves)
    history: HistoryView
    public: PublicProvenanceView
    findings: FindingsView
    diligence: DueDiligenceView
    impact: ImpactView
    value_chains: ValueChainView
    payouts: PayoutsView
    #: the payouts ledger's findings (overpaid, overdue), merged into ``GET /v1/findings``
    payout_findings: PayoutFindings
    #: a miner's own statement, and the links (tokens) that open it
    statements: StatementView
    statement_links: StatementLinks
    #: who attested the events projected so far (capture refuses a retraction of another's event)
    attesters: AttesterView
    #: what other read models add to a product's provenance, for buyers and (as the public sees them) on its page
    sections: list[ProvenanceSection]
    pages: PublicPages


def read_views(engine: Engine, settings: Settings) -> ReadViews:
    """Every view over ``engine``, with the provenance sections of the checks, due diligence and impact."""
    provenance = ProvenanceView(engine)
    findings = FindingsView(engine)
    diligence = DueDiligenceView(findings, DiligenceView(engine))
    impact = ImpactView(engine)
    sections: list[ProvenanceSection] = [diligence.section, ImpactSection(impact)]
    public_view = PublicProvenanceView(engine, provenance)
    payouts = PayoutsView(engine, settings.payout_share)
    return ReadViews(
        provenance=provenance, history=HistoryView(engine), public=public_view, findings=findings, diligence=diligence, impact=impact,
        value_chains=ValueChainView(engine, settings.payout_share), payouts=payouts,
        payout_findings=PayoutFindings(payouts, settings.payout_overdue_days),
        statements=StatementView(engine, payouts), statement_links=StatementLinks(engine),
        sections=sections, pages=PublicPages(public_view, sections), attesters=AttesterView(engine),
    )


def audience_blueprints(views: ReadViews, settings: Settings, metrics: Metrics,
                        transparency: TransparencyLog | None = None, log: EventLog | None = None) -> list[Blueprint]:
    """The blueprints beyond the core (capture, provenance, health), each over the views it reads."""
    base_url = settings.public_base_url
    # anyone's check that the log was not rewritten: checkpoints, key and proofs (logs with a tree)
    verifiable = [log_api.create_blueprint(transparency)] if transparency is not None else []
    # a product's history proven against a checkpoint, from the stored bodies (a log that looks events up by id)
    if transparency is not None and hasattr(log, "recorded"):
        bundler = EvidenceBundler(transparency, log, views.provenance.signing_keys)
        verifiable.append(evidence_api.create_blueprint(views.history, bundler))
    return verifiable + [
        observability.create_blueprint(metrics),
        # the consumer's page behind the QR code, and label sheets for jewellers
        public.create_blueprint(views.pages, base_url),
        labels.create_blueprint(views.public, base_url),
        # a newcomer's way in: the landing page, the OpenAPI document and its rendering (offline)
        landing.blueprint, docs.blueprint,
        # spot the liar: findings, and a product's due-diligence record
        findings_api.create_blueprint(views.findings, views.payout_findings),
        diligence_api.create_blueprint(views.provenance, views.diligence),
        # community impact: indicator tables and dashboard, value chains and payouts
        impact_api.create_blueprint(views.impact),
        value_api.create_blueprint(views.value_chains, views.payouts),
        # the miners' side: statement links for cooperatives, and the statement behind a card's QR code
        statement_api.create_blueprint(views.statements, views.statement_links, base_url, views.public.freshness),
    ]


def app_context(settings: Settings, log: EventLog, keys: ApiKeys, metrics: Metrics,
                readiness: Callable[[], dict[str, Any]], views: ReadViews,
                transparency: TransparencyLog | None = None) -> AppContext:
    """What the Flask app needs: capture over ``log``, the views and every blueprint."""
    return AppContext(
        settings=settings,
        keys=keys,
        capture=MeteredCapture(CaptureService(log, settings.max_events_per_request,
                                              flag_raisings=views.diligence.flag_raisings,
                                              attesters=views.attesters.attesters,
                                              signing_keys=views.provenance.signing_keys), metrics),
        provenance=views.provenance,
        readiness=readiness,
        blueprints=audience_blueprints(views, settings, metrics, transparency, log),
        provenance_sections=views.sections,
    )
