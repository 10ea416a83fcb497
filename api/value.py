"""Value blueprint: where the money goes along a piece's path, and what its miners are owed."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from api.auth import current_principal
from api.impact import parse_query
from api.impact_schemas import PayoutsQuery
from consumers.impact.views import PayoutsView, ValueChainView
from services.errors import Forbidden, NotFound


#: roles that may read any cooperative's payouts ledger (a cooperative reads its own)
LEDGER_READERS = frozenset({"admin", "auditor"})


def create_blueprint(chains: ValueChainView, ledgers: PayoutsView) -> Blueprint:
    """The value routes: a piece's value chain over ``chains``, a cooperative's payouts ledger over ``ledgers``."""
    blueprint = Blueprint("value", __name__)

    @blueprint.get("/v1/products/<product_id>/value-chain")
    def value_chain(product_id: str):
        """Value distribution along a product's path.
        ---
        get:
          summary: Price per gram of fine gold at each step, against the reference price, and the miners' share
          description: >
            Transfers of the lots in the product's ancestry, grouped into stages by who sold to whom (miner,
            cooperative, exporter, refiner, ...): money paid over fine grams paid for (grams x the lot's
            fineness), next to the reference price (`market.price_recorded`, the latest on or before the
            transfer's day, in its currency). `final` is the latest sale over the piece's fine gold;
            `share_to_miners` is the miners' price per fine gram over the final price per fine gram
            (converted at the ratio of the two currencies' reference prices on the sale's day when they
            differ), and `with_payout` adds the retroactive payout share. `method` says all this in words.
            A miners' stage with fewer than 5 sellers is suppressed for non-admin keys.
          tags: [impact]
          security: [{bearer: []}]
          parameters:
            - {name: product_id, in: path, required: true, schema: {type: string}}
          responses:
            200:
              description: The value chain
              content:
                application/json:
                  schema: ValueChain
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
        """
        principal = current_principal()
        answer = chains.value_chain(product_id, principal.is_admin)
        if answer is None:
            raise NotFound(f"No product {product_id!r} has been manufactured.")
        return jsonify(answer)

    @blueprint.get("/v1/payouts")
    def payouts():
        """The retroactive payments owed to a cooperative's miners.
        ---
        get:
          summary: Payouts ledger of a cooperative, by miner, by period, by gender and by sale; owed, paid, outstanding
          description: >
            Each sale (`product.sold` with a price) owes a share of its price (half up to the cent) to the
            miners whose gold is in the piece, allocated through the lineage by fine grams to each
            production lot and equally among its miners. The share is the payout policy in force on the
            day of the sale (`payout.policy_set`: the cooperative's own, else the one for `all`), among
            the policies recorded before the sale was, so a later policy never changes a past
            obligation; with no policy, `ORETRAIL_PAYOUT_SHARE`. Cents are resolved by largest remainder,
            so each sale's lines add up to its payout exactly; gold not traced to a miner is an
            `untraced` line owed to nobody. Payments (`payout.paid`) count when recorded by the miner's
            own cooperative; `amount_paid` and `outstanding` are exact decimal strings (a negative
            outstanding is an overpayment, also the finding `payout_overpaid`). Readable by admin and
            auditor keys and by the cooperative's own keys.
          tags: [impact]
          security: [{bearer: []}]
          parameters:
            - {name: cooperative_id, in: query, required: true, schema: {type: string}}
            - {name: from, in: query, schema: {type: string, example: "2026-01"}}
            - {name: to, in: query, schema: {type: string, example: "2026-12"}}
          responses:
            200:
              description: The ledger
              content:
                application/json:
                  schema: Payouts
            401: {$ref: "#/components/responses/Unauthenticated"}
            403: {$ref: "#/components/responses/Forbidden"}
            422: {$ref: "#/components/responses/Invalid"}
        """
        principal = current_principal()
        query = parse_query(PayoutsQuery(), request.args)
        cooperative = query["cooperative_id"]
        if principal.role not in LEDGER_READERS and principal.org_id != cooperative:
            raise Forbidden(f"Only {cooperative!r}, auditors and admins may read its payouts ledger.")
        ledger = ledgers.ledger(cooperative, query.get("from_"), query.get("to"))
        return jsonify(ledger)

    return blueprint
