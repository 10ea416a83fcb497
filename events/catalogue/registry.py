"""Registry events: who and where (organisations, mine sites, pits, miners, inspections)."""
from __future__ import annotations

from events.catalogue.base import DataSchema
from events.catalogue.vocabulary import GENDERS, ORGANISATION_ROLES, PIT_STATUSES, WORK_ROLES
from events.fields import Country, Count, Flag, Identifier, Number, OneOf, Sha256, Text, Year


class OrganizationRegistered(DataSchema):
    """An organisation of the chain (cooperative, exporter, refiner, ...) and its country."""

    stream_field = "org_id"
    org_id = Identifier(required=True)
    name = Text(required=True, max_length=200)
    role = OneOf(ORGANISATION_ROLES, required=True)
    country = Country(required=True)


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
