"""Miners blueprint: ``GET /v1/miners?cooperative_id=`` and ``GET /v1/miners/{miner_id}``.

Any API key may read; what it sees depends on who it is. Personal fields (name, photo-ID hash, birth
year) go only to the miner's own cooperative, admins and auditors, and to nobody once the miner is
erased (``"erased": true``). There is no 403: another organisation's key gets the record without
personal fields. 404: no counted registration of that miner.
"""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, jsonify, request
from marshmallow import RAISE, Schema, fields

from api.auth import current_principal
from api.findings import parse_query
from consumers.impact.views import PayoutsView
from consumers.provenance.miner_views import MinersView
from events.fields import Identifier
from services.auth import Principal
from services.errors import NotFound

PERSONAL_NOTE = "only for the miner's own cooperative, admins and auditors, and never once the miner is erased"


class MinersQuery(Schema):
    """The filter of ``GET /v1/miners``."""

    class Meta:
        unknown = RAISE

    cooperative_id = Identifier(required=True)


class MinerSite(Schema):
    """The site a miner is registered at (``name`` null when the site is not registered)."""

    site_id = fields.String(required=True)
    name = fields.String(allow_none=True, required=True)
    region = fields.String(allow_none=True, required=True)
    country = fields.String(allow_none=True, required=True)


class MinerOut(Schema):
    """A miner's registration; personal fields only for those who may read them."""

    miner_id = fields.String(required=True)
    cooperative_id = fields.String(required=True)
    site = fields.Nested(MinerSite, required=True)
    gender = fields.String(required=True)
    work_role = fields.String(required=True)
    registered_at = fields.String(allow_none=True, required=True,
                                  metadata={"description": "occurred_at of the earliest counted registration"})
    erased = fields.Boolean(required=True, metadata={
        "description": "true once the miner's data key was destroyed (person.erased): no personal field, ever"})
    name = fields.String(metadata={"description": f"personal: {PERSONAL_NOTE}"})
    photo_id_sha256 = fields.String(metadata={"description": f"personal: {PERSONAL_NOTE}"})
    birth_year = fields.Integer(metadata={"description": f"personal: {PERSONAL_NOTE}"})


class MinerLot(Schema):
    """A lot of a counted production naming the miner."""

    lot_id = fields.String(required=True)
    pit_id = fields.String(allow_none=True, required=True)
    mass_g = fields.Float(allow_none=True, required=True)
    produced_at = fields.String(allow_none=True, required=True)
    miners = fields.Integer(required=True, metadata={"description": "how many miners the production names"})


class MinerOwed(Schema):
    """What the payouts ledger says is owed to the miner, in one currency."""

    currency = fields.String(required=True)
    amount_due = fields.String(required=True, metadata={"description": "exact decimal"})
    fine_g = fields.Float(required=True, metadata={"description": "fine gold of the miner's in the sold pieces"})
    sales = fields.Integer(required=True)


class MinerDetail(MinerOut):
    """A miner's record: registration, site, pits, lots and what the payouts ledger says they are owed."""

    pits = fields.List(fields.String(), required=True)
    lots = fields.List(fields.Nested(MinerLot), required=True)
    payouts = fields.List(fields.Nested(MinerOwed), required=True, metadata={
        "description": "from the payouts ledger of the miner's cooperative, by currency"})


class MinersPage(Schema):
    """The miners of one cooperative."""

    cooperative_id = fields.String(required=True)
    miners = fields.List(fields.Nested(MinerOut), required=True)


def reveal_for(principal: Principal) -> Callable[[str], bool]:
    """Whether ``principal`` may read the personal fields of a cooperative's miners."""
    return lambda cooperative_id: principal.sees_restricted or principal.org_id == cooperative_id


def create_blueprint(miners: MinersView, payouts: PayoutsView) -> Blueprint:
    """The miners routes over ``miners`` (registrations) and ``payouts`` (what is owed)."""
    blueprint = Blueprint("miners", __name__)

    @blueprint.get("/v1/miners")
    def list_miners():
        """A cooperative's miners.
        ---
        get:
          summary: The miners a cooperative registered
          description: >
            Every miner whose counted registration names `cooperative_id`, by id. Any key may read;
            personal fields (`name`, `photo_id_sha256`, `birth_year`) are given only to the cooperative's own
            keys, admins and auditors, and to nobody once the miner is erased (`erased: true`). No 403:
            other keys get the records without personal fields.
          tags: [miners]
          security: [{bearer: []}]
          parameters:
            - {name: cooperative_id, in: query, required: true, schema: {type: string}}
          responses:
            200:
              description: The cooperative's miners
              content:
                application/json:
                  schema: MinersPage
            401: {$ref: "#/components/responses/Unauthenticated"}
            422: {$ref: "#/components/responses/Invalid"}
        """
        principal = current_principal()
        query = parse_query(MinersQuery(), request.args)
        records = miners.cooperative_miners(query["cooperative_id"], reveal_for(principal))
        return jsonify(MinersPage().dump({"cooperative_id": query["cooperative_id"], "miners": records}))

    @blueprint.get("/v1/miners/<miner_id>")
    def get_miner(miner_id: str):
        """One miner.
        ---
        get:
          summary: A miner's registration, site, pits, lots and what they are owed
          description: >
            The miner's counted registration, its site, the pits and lots of the productions naming them
            (those that count), and what the payouts ledger of their cooperative says is owed to them.
            Personal fields as in `GET /v1/miners`. 404 when no counted registration names the miner.
          tags: [miners]
          security: [{bearer: []}]
          parameters:
            - {name: miner_id, in: path, required: true, schema: {type: string}}
          responses:
            200:
              description: The miner's record
              content:
                application/json:
                  schema: MinerDetail
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
        """
        principal = current_principal()
        record = miners.miner(miner_id, reveal_for(principal))
        if record is None:
            raise NotFound(f"No miner {miner_id!r} is registered.")
        ledger = payouts.ledger(record["cooperative_id"])
        record["payouts"] = [{key: line[key] for key in ("currency", "amount_due", "fine_g", "sales")}
                             for line in ledger["by_miner"] if line["miner_id"] == miner_id]
        return jsonify(MinerDetail().dump(record))

    return blueprint
