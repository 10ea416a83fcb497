"""Read side of the miners of the provenance model: a cooperative's miners, and one miner's record.

A record is the miner's registration (cooperative, site, gender, work role, when), the pits and lots
of the productions naming them that count, and whether they were erased. Personal fields (name,
photo-ID hash, birth year) are opened through the key store only when the caller may read them and
the miner is not erased; an erased miner's record says ``"erased": true`` and has none.
"""
from __future__ import annotations

from typing import Any, Callable

import orjson
from sqlalchemy import Connection, Engine, func, select

from consumers.provenance import tables as t
from events.sealed import PERSONAL_FIELDS
from services.database import read_snapshot
from services.personal_data import PersonalData

PERSONAL = PERSONAL_FIELDS["miner.registered"].fields

#: ``reveal(cooperative_id)``: whether the caller may read the personal fields of that cooperative's miners
Reveal = Callable[[str], bool]


class MinersView:
    """Queries over the miners of the provenance read model, personal fields opened through ``personal``."""

    def __init__(self, engine: Engine, personal: PersonalData | None = None):
        self.engine = engine
        self.personal = personal

    def cooperative_miners(self, cooperative_id: str, reveal: Reveal) -> list[dict[str, Any]]:
        """The miners ``cooperative_id`` registered (its counted registrations), by id."""
        with read_snapshot(self.engine) as connection:
            rows = list(connection.execute(select(t.miners).where(t.miners.c.cooperative_id == cooperative_id)
                                           .order_by(t.miners.c.miner_id)).mappings())
            return self._records(connection, rows, reveal)

    def miner(self, miner_id: str, reveal: Reveal) -> dict[str, Any] | None:
        """One miner's record with its pits and lots; None if no counted registration names them."""
        with read_snapshot(self.engine) as connection:
            row = connection.execute(select(t.miners).where(t.miners.c.miner_id == miner_id)).mappings().first()
            if row is None:
                return None
            record = self._records(connection, [row], reveal)[0]
            lots = self._lots(connection, miner_id)
        record["lots"] = lots
        record["pits"] = sorted({lot["pit_id"] for lot in lots if lot["pit_id"] is not None})
        return record

    @staticmethod
    def _lots(connection: Connection, miner_id: str) -> list[dict[str, Any]]:
        """The lots of the counted productions naming the miner: id, pit, grams, when, and with how many miners."""
        p, n = t.production_miners.c, t.nodes.c
        team = (select(t.production_miners.c.event_id, func.count().label("miners"))
                .group_by(t.production_miners.c.event_id).subquery())
        rows = connection.execute(
            select(p.lot_id, n.pit_id, n.mass_g, n.created_at, team.c.miners)
            .join(t.nodes, n.node_id == p.lot_id).join(team, team.c.event_id == p.event_id)
            .where(p.miner_id == miner_id, n.created_event_id == p.event_id,
                   p.event_id.not_in(t.refused_events()))
            .order_by(n.created_sort)).all()
        return [{"lot_id": lot_id, "pit_id": pit_id, "mass_g": mass_g, "produced_at": produced_at, "miners": miners}
                for lot_id, pit_id, mass_g, produced_at, miners in rows]

    def _records(self, connection: Connection, rows: list[Any], reveal: Reveal) -> list[dict[str, Any]]:
        ids = [row["miner_id"] for row in rows]
        erased = set(connection.execute(select(t.erasures.c.person_id).where(t.erasures.c.person_id.in_(ids))).scalars())
        if self.personal is not None:
            erased |= self.personal.erased(ids)  # a key destroyed, its person.erased not projected yet
        site_ids = sorted({row["site_id"] for row in rows})
        sites = {row["site_id"]: row for row in connection.execute(
            select(t.sites.c.site_id, t.sites.c.name, t.sites.c.region, t.sites.c.country)
            .where(t.sites.c.site_id.in_(site_ids))).mappings()}
        c = t.registry_claims.c
        registered = dict(connection.execute(
            select(c.entity_id, func.min(c.occurred_at)).where(c.entity_kind == "miner", c.entity_id.in_(ids), c.counts)
            .group_by(c.entity_id)).all())
        shown = [row for row in rows if row["miner_id"] not in erased and row["personal"] and reveal(row["cooperative_id"])]
        opened = dict(zip((row["miner_id"] for row in shown), self._open(shown)))
        records = []
        for row in rows:
            site = sites.get(row["site_id"])
            record: dict[str, Any] = {
                "miner_id": row["miner_id"], "cooperative_id": row["cooperative_id"],
                "site": dict(site) if site is not None else {"site_id": row["site_id"], "name": None, "region": None,
                                                             "country": None},
                "gender": row["gender"], "work_role": row["work_role"],
                "registered_at": registered.get(row["miner_id"]), "erased": row["miner_id"] in erased,
            }
            record.update({name: value for name, value in opened.get(row["miner_id"], {}).items() if value is not None})
            records.append(record)
        return records

    def _open(self, rows: list[Any]) -> list[dict[str, Any]]:
        if self.personal is None:
            return [{} for _ in rows]
        return self.personal.reveal(
            ("miner.registered", {"miner_id": row["miner_id"], **orjson.loads(row["personal"])}) for row in rows)
