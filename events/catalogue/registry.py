"""Registry events: who and where (organisations, mine sites, pits, miners, inspections)."""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate

from events.catalogue.base import DataSchema
from events.catalogue.vocabulary import GENDERS, ORGANISATION_ROLES, PIT_STATUSES, WORK_ROLES
from events.fields import Country, Count, Flag, Identifier, Number, OneOf, Sha256, Text, Year


#: a GS1 company prefix: 6 to 12 ASCII digits (matched against a GTIN's GTIN-13 form)
GS1_PREFIX_PATTERN = re.compile(r"[0-9]{6,12}")


class Gs1CompanyPrefix(fields.String):
    """A GS1 company prefix as a string of 6 to 12 ASCII digits."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"pattern": f"^{GS1_PREFIX_PATTERN.pattern}$"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Not a string.")
        text = super()._deserialize(value, attr, data, **kwargs)
        if not GS1_PREFIX_PATTERN.fullmatch(text):
            raise ValidationError("Not a GS1 company prefix (6 to 12 digits).")
        return text


class OrganizationRegistered(DataSchema):
    """An organisation of the chain (cooperative, exporter, refiner, ...) and its country.

    ``gs1_company_prefixes``: the GS1 company prefixes the organisation licenses; a GTIN on its
    pieces must start with one of them (else the checks raise ``gtin_not_owned``).
    """

    stream_field = "org_id"
    org_id = Identifier(required=True)
    name = Text(required=True, max_length=200)
    role = OneOf(ORGANISATION_ROLES, required=True)
    country = Country(required=True)
    gs1_company_prefixes = fields.List(Gs1CompanyPrefix(), validate=validate.Length(min=1, max=100))


class SiteRegistered(DataSchema):
    """A mine site; its coordinates are restricted (they can put people at risk)."""

    stream_field = "site_id"
    site_id = Identifier(required=True)
    name = Text(required=True, max_length=200)
    country = Country(required=True)
    region = Text(required=True, max_length=200)
    mineral = Text(required=True, max_length=50)
    latitude = Number(minimum=-90, maximum=90)
    longitude = Number(minimum=-180, maximum=180)
    licence = Text(max_length=200)


class PitRegistered(DataSchema):
    """A pit at a mine site and what it can produce in a month."""

    stream_field = "pit_id"
    pit_id = Identifier(required=True)
    site_id = Identifier(required=True)
    capacity_g_per_month = Number(minimum=0, maximum=10**9)


class MinerRegistered(DataSchema):
    """A miner known to a cooperative; name and photo-ID hash are restricted."""

    stream_field = "miner_id"
    miner_id = Identifier(required=True)
    cooperative_id = Identifier(required=True)
    site_id = Identifier(required=True)
    gender = OneOf(GENDERS, required=True)
    birth_year = Year(required=True)
    work_role = OneOf(WORK_ROLES, required=True)
    name = Text(max_length=200)
    photo_id_sha256 = Sha256()


class PitInspected(DataSchema):
    """An inspection of a pit: activity, capacity and the Annex II risks seen there."""

    stream_field = "pit_id"
    pit_id = Identifier(required=True)
    status = OneOf(PIT_STATUSES, required=True)
    capacity_g_per_month = Number(minimum=0, maximum=10**9)
    children_present = Flag()
    armed_presence = Flag()
    mercury_use = Flag()
    workers_observed = Count(maximum=100_000)


SCHEMAS = {
    "organization.registered": OrganizationRegistered,
    "site.registered": SiteRegistered,
    "pit.registered": PitRegistered,
    "miner.registered": MinerRegistered,
    "pit.inspected": PitInspected,
}
