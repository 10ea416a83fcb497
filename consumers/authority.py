"""Who may say what about one entity: its owner and, for gold, who held it when.

Pure functions over the claims the log holds about one entity (a site, a lot, a piece, ...). They
decide which claims count; the read models keep the others as evidence and raise findings.

Two clocks, on purpose:
- **Ownership** follows the server's clock. An entity belongs to the organisation whose claim was
  *recorded* first (``recorded_at``, set by the platform at capture, then ``event_id``). A client
  chooses ``occurred_at`` and can back-date it; it cannot back-date ``recorded_at``. So a later,
  back-dated registration by someone else never takes an entity over.
- **Custody** follows field time. Who held a lot when a step happened is the chain of its creation
  and of the transfers recorded by each holder, in ``occurred_at`` order (``sort_key``).
Both depend only on the *set* of claims, never on the order in which they arrived, so the read
models stay order tolerant.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal, Mapping

#: what a custody step does to an item: creates it, hands it over, or uses it (merge, split, refine,
#: manufacture, export, sale, a receipt or an assay by the holder); ``retracted_create``: a creation its
#: author retracted, which still holds the item's id for its author (a correction must not hand the id
#: to a squatter); ``independent``: a measurement by an independent party (see :func:`independent`),
#: which needs no custody: never refused, and no part of the walk (it neither holds nor passes anything)
StepKind = Literal["create", "transfer", "consume", "retracted_create", "independent"]
_KIND_ORDER = {"create": 0, "transfer": 1, "consume": 2}

#: the roles whose keys measure a lot without holding it: an authority's assay office, an auditor's
#: sample. Their assays count whoever held the lot; anyone else's count only from the holder
INDEPENDENT_ROLES = frozenset({"authority", "auditor"})


def independent(attested_role: str | None) -> bool:
    """Whether a key of ``attested_role`` (``attested_by.role``) speaks as an independent party.

    The key's role, a server field, not the organisation the envelope names: an admin recording on
    behalf of an organisation speaks for it (its assay counts when that organisation holds the lot).
    """
    return attested_role in INDEPENDENT_ROLES


@dataclass(frozen=True)
class Claim:
    """One event's claim about an entity: who recorded it, and when the server recorded it."""

    event_id: str
    organisation: str
    recorded_at: str

    @property
    def recording_order(self) -> tuple[str, str]:
        """The order in which the platform received claims (ties broken by ``event_id``)."""
        return (self.recorded_at, self.event_id)


@dataclass(frozen=True)
class Ownership:
    """The owner of an entity, the claims that count (the owner's) and those that conflict."""

    owner: str | None
    counted: frozenset[str]
    conflicting: frozenset[str]


def ownership(claims: Iterable[Claim]) -> Ownership:
    """Who owns an entity: the organisation of the first claim recorded; others' claims conflict."""
    claims = list(claims)
    if not claims:
        return Ownership(None, frozenset(), frozenset())
    owner = min(claims, key=lambda claim: claim.recording_order).organisation
    return Ownership(
        owner,
        frozenset(claim.event_id for claim in claims if claim.organisation == owner),
        frozenset(claim.event_id for claim in claims if claim.organisation != owner),
    )


@dataclass(frozen=True)
class Step:
    """One event's step in the custody of an item (a lot or a piece)."""

    event_id: str
    kind: StepKind
    organisation: str
    #: field time (``occurred_at`` in UTC, then ``event_id``): the order steps happened in
    sort_key: str
    recorded_at: str
    #: for a transfer: the organisation that receives the item
    to_id: str | None = None


@dataclass
class Custody:
    """The verdict on an item's steps: who created it, who held it, which steps did not count."""

    creator: str | None = None
    #: the holder after the last counted step (None: never created nor handed over)
    holder: str | None = None
    #: steps by an organisation that did not hold the item then: event_id -> who held it
    not_holder: dict[str, str | None] = field(default_factory=dict)
    #: creations by another organisation than the owner: they count for nothing
    conflicting: frozenset[str] = frozenset()

    def counts(self, event_id: str) -> bool:
        """Whether the step ``event_id`` counts for this item."""
        return event_id not in self.not_holder and event_id not in self.conflicting


def custody(steps: Iterable[Step]) -> Custody:
    """Walk an item's steps in field time and decide which count.

    The owner (the first to record a creation, retracted or not) holds it from the start; a transfer counts when its
    recorder holds the item and makes ``to_id`` the holder; a use counts when its recorder holds the
    item; an ``independent`` step always counts and changes no holder. An item never created here (gold from outside the platform) is held by whoever first
    recorded a step of it (by the server's clock): the gap in the record is the custody checks' business.
    """
    steps = list(steps)
    creations = [step for step in steps if step.kind in ("create", "retracted_create")]
    owned = ownership(Claim(step.event_id, step.organisation, step.recorded_at) for step in creations)
    verdict = Custody(creator=owned.owner, conflicting=frozenset(
        step.event_id for step in creations if step.kind == "create" and step.event_id in owned.conflicting))
    # the creator holds the item from the start, even for a step it dates a little before the creation;
    # an item never created here (gold from outside) is first held by whoever recorded a step of it
    # first, by the server's clock, so that a back-dated step cannot take it over
    others = [step for step in steps if step.kind in ("transfer", "consume")]
    first = min(others, key=lambda s: (s.recorded_at, s.event_id), default=None)
    start: str | None = owned.owner or (first.organisation if first is not None else None)
    ordered = sorted(others, key=lambda s: (s.sort_key, _KIND_ORDER[s.kind], s.event_id))
    # a holder passes an item on once: a hand-over it records later but dates before one it recorded
    # earlier (a double sale, back-dated) must not take the item from the first buyer. Such a
    # displacing hand-over is set aside and the walk done again, until none is left (each round
    # sets one aside, so at most as many rounds as steps)
    displaced: dict[str, str | None] = {}
    while True:
        not_holder, holder = _walk(ordered, start, displaced)
        culprit = _displacing_hand_over(ordered, not_holder, displaced)
        if culprit is None:
            break
        displaced[culprit.event_id] = None
    # each double sale names whom the seller had handed the item to, by the hand-over it recorded first
    for step in ordered:
        if step.event_id in displaced:
            first_sale = min((other for other in ordered if other.kind == "transfer" and other.event_id not in not_holder
                              and other.event_id not in displaced and other.organisation == step.organisation
                              and other.sort_key > step.sort_key and other.recorded_at < step.recorded_at),
                             key=lambda other: other.sort_key, default=None)
            displaced[step.event_id] = first_sale.to_id if first_sale is not None else None
    verdict.not_holder = {**not_holder, **displaced}
    verdict.holder = holder
    return verdict


def _walk(ordered: list[Step], holder: str | None, skipped: Mapping[str, str | None]) -> tuple[dict[str, str | None], str | None]:
    """Walk ``ordered`` steps (field time) from ``holder``; the steps refused (event -> holder then) and the last holder."""
    refused: dict[str, str | None] = {}
    for step in ordered:
        if step.event_id in skipped:
            continue
        if step.organisation != holder:
            refused[step.event_id] = holder
            continue
        if step.kind == "transfer" and step.to_id is not None:
            holder = step.to_id
    return refused, holder


def _displacing_hand_over(ordered: list[Step], refused: Mapping[str, str | None],
                          skipped: Mapping[str, str | None]) -> Step | None:
    """A counted hand-over that made an earlier-recorded step of the same organisation refused: it is
    dated before that step but was recorded after it. The latest recorded such hand-over.

    Steps recorded together (one batch: the same ``recorded_at``) were not recorded one after the
    other: a hand-over sent with a later step of its own is the story as told (hand over, then the
    step it dates after), never a back-dated double sale, and field time alone decides between them.
    (Their ids must not: a batch's order of ids is chance, and it once refused half of such steps.)"""
    found: list[tuple[Step, Step]] = []
    for victim in ordered:
        if victim.event_id not in refused:
            continue
        for step in ordered:
            if (step.kind == "transfer" and step.event_id not in refused and step.event_id not in skipped
                    and step.organisation == victim.organisation and step.sort_key < victim.sort_key
                    and step.recorded_at > victim.recorded_at):
                found.append((step, victim))
    if not found:
        return None
    return max(found, key=lambda pair: (pair[0].recorded_at, pair[0].event_id))[0]


# -- GS1 identifiers ---------------------------------------------------------------------------
def gtin_company_digits(gtin: str) -> str:
    """The digits of a GTIN (8, 12, 13 or 14 digits) a GS1 company prefix is matched against.

    The GTIN-13 form: a GTIN-14's first digit is its packaging indicator, not part of the prefix;
    shorter GTINs are padded with zeros on the left as GS1 does (a UPC prefix ``0614141`` matches
    the GTIN-12 ``614141...``).
    """
    return gtin.zfill(14)[1:]


def gtin_owner(gtin: str, prefixes: dict[str, Iterable[str]]) -> str | None:
    """The organisation whose GS1 company prefix the GTIN starts with (the longest prefix wins), else None.

    ``prefixes`` maps each organisation to its declared prefixes. Two organisations declaring the
    same prefix: the first by id, so the answer never depends on the order the declarations arrived.
    """
    digits = gtin_company_digits(gtin)
    matches = [(len(prefix), org) for org, declared in prefixes.items() for prefix in declared if digits.startswith(prefix)]
    if not matches:
        return None
    longest = max(length for length, _ in matches)
    return min(org for length, org in matches if length == longest)


def gtin_owned_by(gtin: str, declared: Iterable[str]) -> bool:
    """Whether the GTIN starts with one of ``declared`` (an organisation's GS1 company prefixes)."""
    digits = gtin_company_digits(gtin)
    return any(digits.startswith(prefix) for prefix in declared)


# -- red flags ---------------------------------------------------------------------------------
#: the roles whose keys may resolve any flag (besides the organisation that raised it)
RESOLVING_ROLES = frozenset({"auditor", "admin"})
#: why a resolution does not count: by the flag's own subject, or by someone not entitled to resolve it
ResolutionRefusal = Literal["self_resolution", "unauthorised_resolution"]


@dataclass(frozen=True)
class FlagClaim:
    """One ``risk.flagged`` (or an inspection's automatic risk) naming a ``flag_id``."""

    event_id: str
    raised_by: str
    subject_id: str
    recorded_at: str
    #: field time in UTC (``sort_key`` without its event id): flags and resolutions of one instant
    #: are ordered by cause (the flag first), never by event id
    moment: str


@dataclass(frozen=True)
class ResolutionClaim:
    """One ``risk.resolved`` naming a ``flag_id``, with the role of the key that recorded it."""

    event_id: str
    recorded_by: str
    #: ``attested_by.role``; None for an event logged before attestation existed
    attested_role: str | None
    moment: str


@dataclass
class FlagVerdict:
    """What counts of a flag's claims: who raised it on what, whether it is open, what was refused."""

    defining: FlagClaim | None = None
    #: the event id of the counted resolution closing the flag; None while the flag is open
    resolved_by: str | None = None
    #: other flags reusing the id (another subject or another flagger): they change nothing
    conflicting: tuple[str, ...] = ()
    #: resolutions that do not count: event_id -> why
    refused: dict[str, ResolutionRefusal] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        """Whether the risk is open (raised, and not resolved since its latest counted raising)."""
        return self.defining is not None and self.resolved_by is None


def resolution_refusal(flag: FlagClaim, resolution: ResolutionClaim) -> ResolutionRefusal | None:
    """Why ``resolution`` may not close ``flag``, or None when it may.

    Never the flag's subject (not even an admin recording on its behalf); otherwise the organisation
    that raised the flag, or a key of an auditor or admin.
    """
    if resolution.recorded_by == flag.subject_id:
        return "self_resolution"
    if resolution.recorded_by == flag.raised_by or resolution.attested_role in RESOLVING_ROLES:
        return None
    return "unauthorised_resolution"


def flag_verdict(flags: Iterable[FlagClaim], resolutions: Iterable[ResolutionClaim]) -> FlagVerdict:
    """Decide a flag from every claim naming its id, the same for any arrival order.

    The flag is defined by the first ``risk.flagged`` the platform recorded (server clock): a later
    one by the same organisation on the same subject raises it again; any other reuse of the id
    conflicts and counts for nothing. Counted raisings and resolutions are then replayed in field
    time; at one instant a resolution comes after the raising it answers.
    """
    flags = list(flags)
    if not flags:  # resolutions of a flag not (yet) seen: nothing to judge them against
        return FlagVerdict()
    defining = min(flags, key=lambda claim: (claim.recorded_at, claim.event_id))
    counted = [claim for claim in flags
               if (claim.raised_by, claim.subject_id) == (defining.raised_by, defining.subject_id)]
    verdict = FlagVerdict(defining=defining,
                          conflicting=tuple(sorted(claim.event_id for claim in flags if claim not in counted)))
    steps: list[tuple[str, int, str]] = [(claim.moment, 0, claim.event_id) for claim in counted]
    for resolution in resolutions:
        refusal = resolution_refusal(defining, resolution)
        if refusal is None:
            steps.append((resolution.moment, 1, resolution.event_id))
        else:
            verdict.refused[resolution.event_id] = refusal
    _moment, rank, event_id = max(steps)
    verdict.resolved_by = event_id if rank == 1 else None
    return verdict


# -- responses to risks (OECD Annex II step 3) -------------------------------------------------
#: why a planned response does not count: by the flag's own subject, or by someone not entitled to plan it
ResponseRefusal = Literal["self_response", "unauthorised_response"]


@dataclass(frozen=True)
class ResponseClaim:
    """One ``risk.response_planned`` naming a ``flag_id``: who planned it, with which key's role, and when."""

    event_id: str
    recorded_by: str
    attested_role: str | None
    moment: str
    #: whether the flagged gold (the flagged lot or piece, or gold of the flagged supplier) had been
    #: handed to ``recorded_by`` by then: a buyer of it may plan a response
    buyer: bool = False


def response_refusal(flag: FlagClaim, plan: ResponseClaim) -> ResponseRefusal | None:
    """Why ``plan`` may not count as the response to ``flag``, or None when it may.

    Never the flag's subject (not even an admin recording on its behalf); otherwise the organisation
    that raised the flag, a buyer of the flagged gold, or an admin key.
    """
    if plan.recorded_by == flag.subject_id:
        return "self_response"
    if plan.recorded_by == flag.raised_by or plan.buyer or plan.attested_role == "admin":
        return None
    return "unauthorised_response"


@dataclass
class ResponseVerdict:
    """The response that counts for a flag (its latest counted plan, in field time) and the refused ones."""

    counted: str | None = None
    refused: dict[str, ResponseRefusal] = field(default_factory=dict)


def response_verdict(flag: FlagClaim | None, plans: Iterable[ResponseClaim]) -> ResponseVerdict:
    """Decide which plans of a flag count, the same for any arrival order: a later counted plan replaces
    an earlier one (a new deadline, another strategy); ties in field time are broken by event id."""
    verdict = ResponseVerdict()
    if flag is None:  # plans for a flag not (yet) seen: nothing to judge them against
        return verdict
    counted = []
    for plan in plans:
        refusal = response_refusal(flag, plan)
        if refusal is None:
            counted.append(plan)
        else:
            verdict.refused[plan.event_id] = refusal
    if counted:
        verdict.counted = max(counted, key=lambda plan: (plan.moment, plan.event_id)).event_id
    return verdict
