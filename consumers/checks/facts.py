"""The facts the checks reason on: plain, immutable values loaded from the ``chk_*`` tables.

Every fact carries the id of the event that stated it and its ``sort_key`` (when it happened, in
UTC, then the event id): the rules order facts by when they happened, never by when they arrived.
"""
from __future__ import annotations

from dataclasses import dataclass

from consumers.lineage.graph import earliest_creation
from events.fields import parse_timestamp


def month_of(occurred_at: str) -> str:
    """The calendar month (``YYYY-MM``) of a field time, in the field's own time zone.

    The text is parsed (a time that is not one raises); an RFC 3339 date-time starts with its local
    date, so its month is then its first seven characters, read without formatting the parsed time."""
    moment = parse_timestamp(occurred_at)
    if occurred_at[4:5] == "-" and occurred_at[7:8] == "-":
        return occurred_at[:7]
    return moment.strftime("%Y-%m")


def month_key(kind: str, month: str, subject_id: str) -> str:
    """The id that links a finding to every lot produced at a pit (``pit``) or by a miner (``miner``), or bought
    by an organisation (``coop``), in a month."""
    return f"{kind}month:{month}:{subject_id}"


def moment(sort_key: str) -> str:
    """The time part of a sort key (two events at the same instant compare equal)."""
    return sort_key.split("|", 1)[0]


@dataclass(frozen=True)
class Creation:
    """A lot or product coming into being (production, merge, split, refining, manufacturing)."""

    event_id: str
    type: str
    sort_key: str
    recorded_by: str
    lot_id: str
    mass_g: float
    #: the fineness declared at creation (production, refining output, product), else None
    fineness: float | None = None
    #: for a production: the miners who produced it (its first holders)
    miner_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Consumption:
    """Grams of a lot taken by a merge, split, refining or manufacturing."""

    event_id: str
    type: str
    sort_key: str
    recorded_by: str
    lot_id: str
    mass_g: float


@dataclass(frozen=True)
class Transfer:
    """A lot handed from one holder to another."""

    event_id: str
    sort_key: str
    lot_id: str
    from_id: str
    to_id: str
    mass_g: float
    #: the price paid per gram as stated (a decimal string) and its currency, if priced
    price_per_g: str | None = None
    currency: str | None = None
    #: the field's local date (``YYYY-MM-DD``)
    day: str = ""


@dataclass(frozen=True)
class Receipt:
    """A lot weighed on arrival by ``recorded_by``."""

    event_id: str
    sort_key: str
    lot_id: str
    mass_g: float
    recorded_by: str


@dataclass(frozen=True)
class Stamp:
    """Any other event about a lot (an assay, an export): only its id, type and time matter."""

    event_id: str
    type: str
    sort_key: str
    #: of an export: whether it states the royalties paid
    royalties: bool = False


@dataclass(frozen=True)
class RetractedStep:
    """A hand-over or a creation of a lot its author retracted, and the steps others had recorded on the lot
    before the retraction, relying on it, that it leaves standing on nothing (``retracted_after_use``).

    Of a hand-over, the receiver's steps it made count and that no longer do; of a creation, the other
    organisations' steps on the lot that still count (unless the lot was made again from the same lots).
    """

    event_id: str
    #: the retracted event's type (``lot.transferred``: a hand-over; else the creation's)
    type: str
    retraction_id: str
    sort_key: str
    lot_id: str
    author: str
    #: ``(event_id, organisation)`` of each step that relied on it, in the order they happened
    relying: tuple[tuple[str, str], ...] = ()
    #: of a creation: the lot was made again, from the same lots (a correction: nothing stands on air)
    remade: bool = False


@dataclass(frozen=True)
class LotFacts:
    """Everything the log says about one lot itself."""

    lot_id: str
    creations: tuple[Creation, ...] = ()
    consumptions: tuple[Consumption, ...] = ()
    transfers: tuple[Transfer, ...] = ()
    receipts: tuple[Receipt, ...] = ()
    #: assays and exports of the lot
    others: tuple[Stamp, ...] = ()
    #: hand-overs and creations of the lot their author retracted
    retracted: tuple[RetractedStep, ...] = ()

    @property
    def creation(self) -> Creation | None:
        """The creation that counts: the earliest, if two events claim to create the lot."""
        return earliest_creation(self.creations)

    def available_g(self) -> float | None:
        """The grams the lot holds: its creation mass, else the most any transfer or receipt stated."""
        if self.creation is not None:
            return self.creation.mass_g
        stated = [t.mass_g for t in self.transfers] + [r.mass_g for r in self.receipts]
        return max(stated) if stated else None


@dataclass(frozen=True)
class Side:
    """One input or output of a transformation, with the fineness known for it (None if unknown)."""

    lot_id: str
    mass_g: float
    fineness: float | None


@dataclass(frozen=True)
class Transformation:
    """A merge, split, refining or manufacturing, with its inputs and outputs."""

    event_id: str
    type: str
    recorded_by: str
    inputs: tuple[Side, ...]
    outputs: tuple[Side, ...]
    #: for a split: the grams the input lot held before (its mass), if known
    input_lot_g: float | None = None


@dataclass(frozen=True)
class Production:
    """A production at a pit, by miners, in a calendar month (``YYYY-MM``, the field's local date)."""

    event_id: str
    sort_key: str
    lot_id: str
    pit_id: str
    mass_g: float
    month: str
    miner_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inspection:
    """A pit inspection's verdict on activity."""

    event_id: str
    sort_key: str
    pit_id: str
    status: str
    #: the calendar month of the inspection (field time)
    month: str = ""
    #: how many people the inspector saw working the pit, if counted
    workers_observed: int | None = None


@dataclass(frozen=True)
class Capacity:
    """A pit's monthly capacity as stated by a registration or an inspection."""

    event_id: str
    sort_key: str
    month: str
    pit_id: str
    capacity_g: float


@dataclass(frozen=True)
class MonthTotal:
    """What a pit, or a miner at one pit, produced in a month: grams (exact sum of milligrams) and lots."""

    subject_id: str
    month: str
    pit_id: str
    total_g: float
    productions: int


@dataclass(frozen=True)
class Miner:
    """A miner's latest registration as it counts: cooperative, site, birth year, whether a photo ID was given."""

    miner_id: str
    cooperative_id: str
    site_id: str
    birth_year: int | None
    photo_id: bool
    event_id: str


@dataclass(frozen=True)
class Pit:
    """A pit's latest registration as it counts."""

    pit_id: str
    site_id: str
    event_id: str


@dataclass(frozen=True)
class Purchase:
    """A production lot bought by an organisation: the transfer, the month it happened and the lot's pit."""

    event_id: str
    sort_key: str
    lot_id: str
    buyer: str
    month: str
    mass_g: float
    pit_id: str
