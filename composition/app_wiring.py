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
from api import epcis as epcis_api
from api import evidence as evidence_api
from api import feed as feed_api
from api import subscriptions as subscriptions_api
from api import miners as miners_api
from api import persons as persons_api
from api import log as log_api
from api import statement as statement_api
from api import value as value_api
from api.context import AppContext
from api.public import PublicPages
from consumers.checks.views import FindingsView
from consumers.diligence.views import DiligenceView, DueDiligenceView
from consumers.impact.section import ImpactSection
from consumers.provenance.epcis_views import EpcisView
from consumers.impact.views import ImpactView, PayoutFindings, PayoutsView, StatementView, ValueChainView
from consumers.provenance.history_views import HistoryView
from consumers.provenance.miner_views import MinersView
from consumers.provenance.public_views import PublicProvenanceView
from consumers.provenance.views import ProvenanceSection, ProvenanceView
from consumers.retractions import AttesterView
from events.log import EventLog
from services.auth import ApiKeys
from services.capture import CaptureService
from services.capture_activity import CaptureActivity
from services.epcis.capture_jobs import CaptureJobs, EpcisCapture
from services.evidence_bundle import EvidenceBundler
from services.feed import Feed
from services.metrics import MeteredCapture, Metrics
from services.personal_data import PersonalData
from services.settings import Settings
from services.statement_links import StatementLinks
from services.transparency import TransparencyLog
from services.webhooks.store import SubscriptionStore


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
    #: a cooperative's miners and one miner's record, personal fields opened for those who may read them
    miners: MinersView
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


def read_views(engine: Engine, settings: Settings, personal: PersonalData | None = None) -> ReadViews:
    """Every view over ``engine``, with the provenance sections of the checks, due diligence and impact
    (``personal`` opens miners' personal fields for those who may read them)."""
    provenance = ProvenanceView(engine)
    findings = FindingsView(engine)
    diligence = DueDiligenceView(findings, DiligenceView(engine))
    impact = ImpactView(engine)
    sections: list[ProvenanceSection] = [diligence.section, ImpactSection(impact)]
    public_view = PublicProvenanceView(engine, provenance)
    payouts = PayoutsView(engine, settings.payout_share)
    return ReadViews(
        provenance=provenance, history=HistoryView(engine), public=public_view, findings=findings, diligence=diligence, impact=impact,
        value_chains=ValueChainView(engine, settings.payout_share,
                                    lambda ids: findings.open_keys("price_below_reference", ids)), payouts=payouts,
        payout_findings=PayoutFindings(payouts, settings.payout_overdue_days),
        statements=StatementView(engine, payouts), statement_links=StatementLinks(engine),
        sections=sections, pages=PublicPages(public_view, sections), attesters=AttesterView(engine),
        miners=MinersView(engine, personal),
    )


def audience_blueprints(views: ReadViews, settings: Settings, metrics: Metrics,
                        transparency: TransparencyLog | None = None, log: EventLog | None = None,
                        webhooks: SubscriptionStore | None = None,
                        capture: CaptureService | None = None) -> list[Blueprint]:
    """The blueprints beyond the core (capture, provenance, health), each over the views it reads."""
    base_url = settings.public_base_url
    # anyone's check that the log was not rewritten: checkpoints, key and proofs (logs with a tree)
    verifiable = [log_api.create_blueprint(transparency)] if transparency is not None else []
    # a product's history proven against a checkpoint, from the stored bodies (a log that looks events up by id)
    if transparency is not None and transparency.events is not None:
        bundler = EvidenceBundler(transparency, transparency.events, views.provenance.signing_keys)
        verifiable.append(evidence_api.create_blueprint(views.history, bundler))
    # integrators: the event feed, and webhook subscriptions over it
    integration = [feed_api.create_blueprint(Feed(log))] if log is not None else []
    if webhooks is not None:
        integration.append(subscriptions_api.create_blueprint(webhooks))
    return verifiable + integration + [
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
        # a cooperative's own people, and the erasure of a person (admin)
        miners_api.create_blueprint(views.miners, views.payouts),
        # the miners' side: statement links for cooperatives, and the statement behind a card's QR code
        statement_api.create_blueprint(views.statements, views.statement_links, base_url, views.public.freshness),
    ] + ([persons_api.create_blueprint(capture)] if capture is not None else [])


def app_context(settings: Settings, log: EventLog, keys: ApiKeys, metrics: Metrics,
                readiness: Callable[[], dict[str, Any]], views: ReadViews,
                transparency: TransparencyLog | None = None, webhooks: SubscriptionStore | None = None,
                personal: PersonalData | None = None, activity: CaptureActivity | None = None) -> AppContext:
    """What the Flask app needs: capture over ``log`` (sealing personal fields with ``personal``, marking
    its requests in ``activity``), the views and every blueprint."""
    capture = MeteredCapture(CaptureService(log, settings.max_events_per_request,
                                            flag_raisings=views.diligence.flag_raisings,
                                            attesters=views.attesters.attesters,
                                            signing_keys=views.provenance.signing_keys, personal=personal,
                                            activity=activity), metrics)
    # GS1 EPCIS 2.0 out and in: imported documents go through the same capture as POST /v1/events
    epcis = epcis_api.create_blueprint(
        EpcisView(views.provenance.engine),
        EpcisCapture(capture, CaptureJobs(views.provenance.engine), settings.max_events_per_request),
        settings.public_base_url)
    return AppContext(
        settings=settings,
        keys=keys,
        capture=capture,
        provenance=views.provenance,
        freshness=views.public.freshness,
        readiness=readiness,
        blueprints=audience_blueprints(views, settings, metrics, transparency, log, webhooks, capture) + [epcis],
        provenance_sections=views.sections,
    )
