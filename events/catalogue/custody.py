"""Custody events: gold being produced, moved, weighed, assayed, combined, refined and made into pieces."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from events.catalogue.base import DataSchema, quantities, require_distinct, require_together
from events.fields import Country, Currency, Fineness, Grams, Gtin, Identifier, Money, Text


class ProductionRecorded(DataSchema):
    """A new lot of ore or gold produced at a pit by one or more miners."""

    stream_field = "lot_id"
    lot_id = Identifier(required=True)
    pit_id = Identifier(required=True)
    miner_ids = fields.List(Identifier(), required=True, validate=validate.Length(min=1, max=500))
    mass_g = Grams(required=True)
    fineness = Fineness()

    @validates_schema
    def _distinct_miners(self, data, **kwargs):
        if len(set(data["miner_ids"])) != len(data["miner_ids"]):
            raise ValidationError({"miner_ids": ["Repeated miner_id."]})


class LotTransferred(DataSchema):
    """A lot handed from one holder (miner or organisation) to an organisation, weighed, maybe paid."""

    stream_field = "lot_id"
    lot_id = Identifier(required=True)
    from_id = Identifier(required=True)
    to_id = Identifier(required=True)
    mass_g = Grams(required=True)
    price_per_g = Money()
    currency = Currency()

    @validates_schema
    def _consistent(self, data, **kwargs):
        require_together(data, "price_per_g", "currency")
        if data["from_id"] == data["to_id"]:
            raise ValidationError({"to_id": ["A lot cannot be transferred to its own holder."]})


class LotReceived(DataSchema):
    """A lot weighed on arrival (zero grams records a shipment that arrived empty)."""

    stream_field = "lot_id"
    lot_id = Identifier(required=True)
    mass_g = Grams(required=True, allow_zero=True)


class LotsMerged(DataSchema):
    """Several lots combined into a new one."""

    stream_field = "lot_id"
    lot_id = Identifier(required=True)
    inputs = quantities(required=True)

    @validates_schema
    def _consistent(self, data, **kwargs):
        require_distinct(data["inputs"], "inputs")
        if any(item["lot_id"] == data["lot_id"] for item in data["inputs"]):
            raise ValidationError({"lot_id": ["The merged lot cannot be one of its inputs."]})


class LotSplit(DataSchema):
    """A lot divided into new lots."""

    stream_field = "lot_id"
    lot_id = Identifier(required=True)
    outputs = quantities(required=True)

    @validates_schema
    def _consistent(self, data, **kwargs):
        require_distinct(data["outputs"], "outputs")
        if any(item["lot_id"] == data["lot_id"] for item in data["outputs"]):
            raise ValidationError({"outputs": ["A split cannot output its own input lot."]})


class LotAssayed(DataSchema):
    """A lot's fineness measured."""

    stream_field = "lot_id"
    lot_id = Identifier(required=True)
    fineness = Fineness(required=True)
    method = Text(max_length=100)


class LotExported(DataSchema):
    """A lot leaving its country under an export permit."""

    stream_field = "lot_id"
    lot_id = Identifier(required=True)
    export_permit = Text(required=True, max_length=200)
    destination_country = Country(required=True)
    royalties_paid = Money()
    currency = Currency()
    certificate = Text(max_length=200)

    @validates_schema
    def _consistent(self, data, **kwargs):
        require_together(data, "royalties_paid", "currency")


class RefinedOutput(DataSchema):
    """A lot coming out of a refinery, with its fineness."""

    lot_id = Identifier(required=True)
    mass_g = Grams(required=True)
    fineness = Fineness(required=True)


class LotRefined(DataSchema):
    """Lots refined together into new lots (bars, grain)."""

    stream_field = "outputs.0.lot_id"
    inputs = quantities(required=True)
    outputs = fields.List(fields.Nested(RefinedOutput), required=True, validate=validate.Length(min=1, max=10_000))

    @validates_schema
    def _consistent(self, data, **kwargs):
        require_distinct(data["inputs"], "inputs")
        require_distinct(data["outputs"], "outputs")
        inputs = {item["lot_id"] for item in data["inputs"]}
        for index, item in enumerate(data["outputs"]):
            if item["lot_id"] in inputs:
                raise ValidationError({"outputs": {index: {"lot_id": ["An output cannot be one of the inputs."]}}})


class ProductManufactured(DataSchema):
    """A piece of jewellery made from lots of refined gold."""

    stream_field = "product_id"
    product_id = Identifier(required=True)
    gtin = Gtin()
    serial = Text(max_length=20)
    description = Text(max_length=500)
    inputs = quantities(required=True)
    mass_g = Grams(required=True)
    fineness = Fineness(required=True)

    @validates_schema
    def _consistent(self, data, **kwargs):
        require_distinct(data["inputs"], "inputs")
        require_together(data, "serial", "gtin")


class ProductSold(DataSchema):
    """A piece sold to a consumer."""

    stream_field = "product_id"
    product_id = Identifier(required=True)
    price = Money()
    currency = Currency()

    @validates_schema
    def _consistent(self, data, **kwargs):
        require_together(data, "price", "currency")


SCHEMAS = {
    "production.recorded": ProductionRecorded,
    "lot.transferred": LotTransferred,
    "lot.received": LotReceived,
    "lots.merged": LotsMerged,
    "lot.split": LotSplit,
    "lot.assayed": LotAssayed,
    "lot.exported": LotExported,
    "lot.refined": LotRefined,
    "product.manufactured": ProductManufactured,
    "product.sold": ProductSold,
}
