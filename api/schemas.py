"""Marshmallow schemas of the API's requests and responses, for the OpenAPI document."""
from __future__ import annotations

from marshmallow import Schema, fields

from events.envelope import EnvelopeSchema


class ErrorDetail(Schema):
    """What went wrong: ``details`` maps each wrong field's path to its messages."""

    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict(keys=fields.String(), required=True)


class ErrorResponse(Schema):
    """The contract's error body."""

    error = fields.Nested(ErrorDetail, required=True)


class EventBatch(Schema):
    """``POST /v1/events`` body: 1 to 1,000 event envelopes."""

    events = fields.List(fields.Nested(EnvelopeSchema), required=True)


class CaptureResult(Schema):
    """What became of one event."""

    event_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["accepted", "duplicate"]})
    position = fields.Integer(required=True)


class CaptureResponse(Schema):
    """Results in the order the events were sent."""

    results = fields.List(fields.Nested(CaptureResult), required=True)


class AttestedBy(Schema):
    """The API key that recorded an event (a server field, never taken from the client)."""

    organisation = fields.String(required=True, metadata={"description": "the key's organisation; for an admin key "
                                                          "recording on behalf of ``recorded_by``, the admin's own"})
    role = fields.String(required=True, metadata={"description": "the key's role (``admin``: recorded on behalf)"})
    key_id = fields.String(required=True, metadata={"description": "the key's public id"})


class SignedBy(Schema):
    """The organisation whose own registered key signed the event (its signature verified by the platform)."""

    organisation = fields.String(required=True, metadata={"description": "the signing organisation (= recorded_by)"})
    key_id = fields.String(required=True, metadata={"description": "the key it registered "
                                                    "(organization.key_registered)"})


class RecordedEventOut(EnvelopeSchema):
    """An event as recorded: the envelope plus the server's fields."""

    recorded_at = fields.String(required=True)
    position = fields.Integer(required=True)
    hash = fields.String(required=True, metadata={"description": "SHA-256 of the RFC 8785 canonical envelope "
                                                  "(without the server's fields, attested_by included, and without signature)"})
    attested_by = fields.Nested(AttestedBy, allow_none=True, required=True,
                                metadata={"description": "the key that recorded the event; null for events "
                                                         "logged before attribution existed"})
    signed_by = fields.Nested(SignedBy, allow_none=True, metadata={
        "description": "the organisation whose own key signed the event (its signature verified against a key "
                       "it registered, valid and not revoked when the event was recorded); present only on events "
                       "that carry a signature; null: a signature the platform has not verified (yet)"})
    retracted_by_event = fields.String(metadata={
        "description": "present when the event was retracted: the event_id of the event.retracted that took it "
                       "back (the event then counts for nothing; both stay in the timeline)"})


class EventList(Schema):
    """Events of a lot."""

    lot_id = fields.String(required=True)
    events = fields.List(fields.Nested(RecordedEventOut), required=True)


class OriginShare(Schema):
    """A mine site's share of the fine gold (or an untraced share, with ``site_id`` null)."""

    site_id = fields.String(allow_none=True, required=True)
    share = fields.Float(required=True)
    fine_g = fields.Float(allow_none=True, required=True)
    registered = fields.Boolean()
    untraced = fields.String(metadata={"enum": ["no_production_record", "unregistered_pit", "circular_lineage"]})
    name = fields.String()
    country = fields.String()
    region = fields.String()
    mineral = fields.String()
    latitude = fields.Float(allow_none=True, metadata={"description": "admin and auditor keys only"})
    longitude = fields.Float(allow_none=True, metadata={"description": "admin and auditor keys only"})


class LineageNode(Schema):
    """A lot, a product or a refining in the lineage graph."""

    id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["lot", "product", "refining"]})
    recorded = fields.Boolean(required=True, metadata={"description": "false: referenced but never created"})
    created_by = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)
    created_by_event = fields.String(allow_none=True)
    mass_g = fields.Float(allow_none=True)
    fineness = fields.Float(allow_none=True)
    fineness_source = fields.String(allow_none=True, metadata={"enum": ["assay", "declared", "derived", None]})
    holder_id = fields.String(allow_none=True)
    pit_id = fields.String()
    site_id = fields.String(allow_none=True)
    gtin = fields.String(allow_none=True)
    serial = fields.String(allow_none=True)


class LineageEdge(Schema):
    """Grams of ``from`` that went into ``to``."""

    class Meta:
        include = {"from": fields.String(required=True)}

    to = fields.String(required=True)
    mass_g = fields.Float(required=True)
    event_id = fields.String(required=True)


class Lineage(Schema):
    """The ancestry graph."""

    nodes = fields.List(fields.Nested(LineageNode), required=True)
    edges = fields.List(fields.Nested(LineageEdge), required=True)


class Sale(Schema):
    """A sale of the product."""

    event_id = fields.String()
    price = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    recorded_by = fields.String()
    occurred_at = fields.String()


class ProductOut(Schema):
    """The piece itself."""

    product_id = fields.String(required=True)
    gtin = fields.String(allow_none=True)
    serial = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    mass_g = fields.Float()
    fineness = fields.Float()
    fine_g = fields.Float()
    manufactured_by = fields.String()
    manufactured_at = fields.String()
    holder_id = fields.String(allow_none=True)
    sales = fields.List(fields.Nested(Sale))


class Provenance(Schema):
    """``GET /v1/products/{id}/provenance``."""

    product = fields.Nested(ProductOut, required=True)
    origin = fields.List(fields.Nested(OriginShare), required=True)
    origin_basis = fields.String(required=True, metadata={"enum": ["fine_gold", "gross_mass_where_unassayed"]})
    lineage = fields.Nested(Lineage, required=True)
    timeline = fields.List(fields.Nested(RecordedEventOut), required=True, metadata={
        "description": "the first page of the timeline (all of it with `include=timeline`)"})
    timeline_next = fields.String(required=True, allow_none=True, metadata={
        "description": "cursor of the timeline's next page (`/v1/products/{id}/timeline?after=`); null: no more"})
    flags = fields.List(fields.Nested("FindingOut"), metadata={"description": "open findings of the ancestry"})
    due_diligence = fields.Nested("DueDiligenceSummary", metadata={"description": "status, reasons, risks, audits"})
    impact = fields.Dict(metadata={"description": "impact indicators of the sites and months its gold came from, "
                                                  "weighted by origin share (small groups suppressed)"})


class TimelinePageOut(Schema):
    """``GET /v1/products/{id}/timeline``: a page of a product's timeline."""

    product_id = fields.String(required=True)
    events = fields.List(fields.Nested(RecordedEventOut), required=True)
    next = fields.String(required=True, allow_none=True, metadata={"description": "cursor of the next page; null: no more"})


class Lot(LineageNode):
    """``GET /v1/lots/{id}``."""

    lot_id = fields.String(required=True)
    miner_ids = fields.List(fields.String())
    inputs = fields.List(fields.Dict())
    consumed_into = fields.List(fields.Dict())
    status = fields.String(metadata={"enum": ["available", "consumed"]})
    transfers = fields.List(fields.Dict())
    receipts = fields.List(fields.Dict())
    exports = fields.List(fields.Dict())
    origin = fields.List(fields.Nested(OriginShare))
    origin_basis = fields.String()


class ProjectorState(Schema):
    """One projector's progress."""

    position = fields.Integer(metadata={"description": "last position applied; on Kafka the sum of the stored offsets"})
    lag = fields.Integer(allow_none=True, metadata={"description": "events behind the log's end (None: log unreachable)"})
    partitions_lag = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                 metadata={"description": "on Kafka: the lag of each partition"})
    dead_letters = fields.Integer()


class Readiness(Schema):
    """``GET /readyz``."""

    status = fields.String(required=True, metadata={"enum": ["ready", "unavailable"]})
    log = fields.Dict()
    database = fields.Dict()
    projectors = fields.Dict(keys=fields.String(), values=fields.Nested(ProjectorState))
