"""The demo's community story over two years: savings groups, trainings, surveys, leadership.

Figures follow what the field reports (see the domain brief): savings groups save about USD 4.30 per
member per month, 80 % of mixed groups have a female-dominated committee, solidarity funds assist a
member or two a month, women first hold almost no leadership position and take more of them over
time; household surveys find women earning less and controlling their income less often, with the
gap narrowing as savings groups, literacy and couples' dialogue take hold.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable

AGE_WEIGHTS = (("18_24", 3), ("25_34", 5), ("35_44", 4), ("45_54", 2), ("55_plus", 1))
ROLE_WEIGHTS_F = (("processor", 6), ("trader", 2), ("digger", 2), ("transporter", 1))
ROLE_WEIGHTS_M = (("digger", 7), ("transporter", 2), ("pit_owner", 1), ("trader", 1), ("team_lead", 1))
#: (group suffix, site index, months after the start it formed, women, men, committee women, committee men)
GROUPS = (
    ("tumaini", 0, 0, 22, 6, 4, 1), ("upendo", 0, 1, 17, 11, 3, 2), ("amani", 0, 3, 26, 0, 5, 0),
    ("imani", 0, 5, 14, 13, 2, 3), ("neema", 1, 0, 20, 8, 4, 1), ("furaha", 1, 2, 15, 12, 3, 2),
    ("baraka", 1, 4, 25, 0, 5, 0), ("umoja", 1, 6, 16, 10, 3, 2),
)


def _pick(rng: random.Random, weighted) -> str:
    names, weights = zip(*weighted)
    return rng.choices(names, weights=weights)[0]


def _month_start(start: datetime, month: int) -> datetime:
    index = start.year * 12 + start.month - 1 + month
    return start.replace(year=index // 12, month=index % 12 + 1, day=min(start.day, 28))


def community_events(event: Callable[..., dict[str, Any]], start: datetime, months: int, sites: list[str],
                     cooperative: str, admin: str = "admin") -> list[dict[str, Any]]:
    """Every community event of the demo, from ``start`` for ``months`` months (time order within a stream)."""
    rng = random.Random(430)
    events: list[dict[str, Any]] = []
    events += _savings_groups(event, rng, start, months, sites, cooperative)
    events += _trainings(event, rng, start, months, sites, cooperative)
    events += _surveys(event, rng, start, months, sites, cooperative)
    events += _leadership(event, start, months, sites, cooperative)
    return events


def _savings_groups(event, rng, start, months, sites, cooperative) -> list[dict[str, Any]]:
    out = []
    for suffix, site, formed, women, men, seats_f, seats_m in GROUPS:
        group_id = f"vsla-{suffix}"
        for cycle in range(0, months, 12):  # a savings cycle lasts a year; the group re-registers
            begin = max(formed, cycle)
            if begin >= months:
                continue
            growth_f, growth_m = (cycle // 12) * rng.randint(1, 4), (cycle // 12) * rng.randint(0, 2) if men else 0
            members_f, members_m = women + growth_f, men + growth_m
            out.append(event("vsla.registered", _month_start(start, begin) + timedelta(days=2), cooperative, {
                "group_id": group_id, "site_id": sites[site], "members_female": members_f, "members_male": members_m,
                "committee_female": seats_f, "committee_male": seats_m}))
            for month in range(begin, min(months, cycle + 12)):
                when = _month_start(start, month) + timedelta(days=27, hours=15)
                members = members_f + members_m
                per_member = Decimal(rng.randint(360, 500)) / 100 + Decimal(month) / 100  # about USD 4.30, growing
                savings = (per_member * members).quantize(Decimal("0.01"))
                loans = (savings * Decimal(rng.randint(35, 85)) / 100).quantize(Decimal("0.01")) if month - begin >= 2 \
                    else Decimal("0.00")
                out.append(event("vsla.reported", when, cooperative, {
                    "group_id": group_id, "period": when.strftime("%Y-%m"), "savings": str(savings),
                    "loans": str(loans), "currency": "USD", "solidarity_assists": rng.choice((0, 0, 1, 1, 1, 2, 3))}))
    return out


def _trainings(event, rng, start, months, sites, cooperative) -> list[dict[str, Any]]:
    out = []
    for month in range(months):
        for index, site in enumerate(sites):
            base = _month_start(start, month) + timedelta(days=8 + 3 * index, hours=9)
            progress = month / max(1, months - 1)
            out.append(event("training.held", base, cooperative, {
                "site_id": site, "kind": "literacy", "attendees_female": rng.randint(12, 22),
                "attendees_male": rng.randint(2, 6)}))
            if month % 2 == 0:
                out.append(event("training.held", base + timedelta(days=7), cooperative, {
                    "site_id": site, "kind": "dialogue", "attendees_female": rng.randint(9, 15),
                    "attendees_male": rng.randint(5, 12) + int(4 * progress)}))
            if month % 3 == 1:
                out.append(event("training.held", base + timedelta(days=10), cooperative, {
                    "site_id": site, "kind": "business", "attendees_female": rng.randint(14, 24),
                    "attendees_male": rng.randint(6, 12)}))
                out.append(event("training.held", base + timedelta(days=12), cooperative, {
                    "site_id": site, "kind": "safety", "attendees_female": rng.randint(5, 10) + int(6 * progress),
                    "attendees_male": rng.randint(14, 22)}))
    return out


def _surveys(event, rng, start, months, sites, cooperative) -> list[dict[str, Any]]:
    """A panel of 90 respondents surveyed at the start, after a year, and near the end."""
    rounds = [round_month for round_month in (1, 13, months - 2) if 0 <= round_month < months]
    panel = []
    for number in range(90):
        woman = number % 20 < 11
        panel.append({
            "respondent_id": f"hh-{number + 1:03d}", "site_id": sites[number % len(sites)],
            "gender": "female" if woman else "male", "age_band": _pick(rng, AGE_WEIGHTS),
            "work_role": _pick(rng, ROLE_WEIGHTS_F if woman else ROLE_WEIGHTS_M),
            "income": rng.uniform(28, 52) if woman else rng.uniform(50, 95),
        })
    out = []
    for wave, round_month in enumerate(rounds):
        progress = wave / max(1, len(rounds) - 1)
        for person in panel:
            woman = person["gender"] == "female"
            growth = 1 + (0.32 if woman else 0.12) * progress + rng.uniform(-0.06, 0.06)
            income = Decimal(str(round(person["income"] * growth, 0))).quantize(Decimal("1"))
            controls = rng.random() < ((0.34 + 0.3 * progress) if woman else 0.86)
            data = {
                "respondent_id": person["respondent_id"], "site_id": person["site_id"], "gender": person["gender"],
                "age_band": person["age_band"], "work_role": person["work_role"], "income_month": f"{income}.00",
                "currency": "USD", "controls_own_income": controls,
            }
            if rng.random() < 0.45 + 0.35 * progress:
                savings = rng.uniform(5, 40) * (1 + 2 * progress) * (1.1 if woman else 1.0)
                data["savings"] = str(Decimal(str(round(savings, 2))).quantize(Decimal("0.01")))
            when = _month_start(start, round_month) + timedelta(days=rng.randint(0, 20), hours=rng.randint(8, 16))
            out.append(event("survey.completed", when, cooperative, data))
    return out


def _leadership(event, start, months, sites, cooperative) -> list[dict[str, Any]]:
    """Positions recorded as people take them: at first almost all men; women join step by step."""
    steps: list[tuple[int, str, str, str, str | None]] = []  # month, person, gender, position, organisation
    for number in range(7):
        steps.append((0, f"ldr-board-{number + 1}", "male", "board member", cooperative))
    for number in range(9):
        steps.append((0, f"ldr-lead-{number + 1}", "female" if number == 4 else "male", "team lead", None))
    for number in range(6):
        steps.append((5, f"ldr-reafecom-{number + 1}", "female", "association officer", "reafecom-ituri"))
    for number in range(8):
        steps.append((9 + number, f"ldr-peace-{number + 1}", "female", "peace hub mediator", None))
    for number in range(3):
        steps.append((12 + 2 * number, f"ldr-lead-w{number + 1}", "female", "team lead", None))
    for number in range(2):
        steps.append((13 + number, f"ldr-board-w{number + 1}", "female", "board member", cooperative))
    steps.append((15, "ldr-peace-m1", "male", "peace hub mediator", None))
    out = []
    for index, (month, person, gender, position, organisation) in enumerate(steps):
        if month >= months:
            continue
        site = sites[index % len(sites)]
        data = {"person_id": person, "gender": gender, "position": position,
                "organisation_id": organisation or (f"peacehub-{site.removeprefix('site-')}"
                                                    if "peace" in position else cooperative)}
        if organisation is None:
            data["site_id"] = site
        out.append(event("leadership.recorded", _month_start(start, month) + timedelta(days=4, hours=index % 8),
                         cooperative, data))
    return out
