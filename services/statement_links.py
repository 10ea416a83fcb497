"""Statement links: a random, revocable token that opens one miner's statement (``/m/{token}``), no key needed.

A token is 128 random bits, printed as a QR code on a card the miner keeps; only its SHA-256 is
stored (as for API keys, a fast hash is right for a secret that cannot be guessed). A link is
revoked by its public ``link_id`` (a lost card); a revoked or unknown token opens nothing.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, select

from services.auth import hash_key  # a token is stored as a key is: its SHA-256
from services.database import SCHEMA_LOCK, serialise, write_transaction

metadata = MetaData()
statement_links = Table(
    "statement_links", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("link_id", String(16), nullable=False, unique=True),
    Column("miner_id", String(160), nullable=False, index=True),
    Column("created_by", String(160), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)


@dataclass(frozen=True)
class NewLink:
    """A link just made: the token is shown this once."""

    link_id: str
    miner_id: str
    token: str
    created_at: datetime


class StatementLinks:
    """The store of statement links in the read-model database (not a projection: never dropped by a rebuild)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create_tables(self) -> None:
        """Create the links table if missing."""
        with write_transaction(self.engine) as connection:
            serialise(connection, SCHEMA_LOCK)
            metadata.create_all(connection)

    def create(self, miner_id: str, created_by: str) -> NewLink:
        """A new link to ``miner_id``'s statement, made by organisation ``created_by``."""
        link = NewLink(secrets.token_hex(4), miner_id, secrets.token_urlsafe(16), datetime.now(timezone.utc))
        with write_transaction(self.engine) as connection:
            connection.execute(statement_links.insert().values(
                token_hash=hash_key(link.token), link_id=link.link_id, miner_id=miner_id,
                created_by=created_by, created_at=link.created_at))
        return link

    def miner_of(self, token: str) -> str | None:
        """The miner a live token opens the statement of; None if unknown or revoked."""
        if not token or len(token) > 64:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(select(statement_links.c.miner_id, statement_links.c.revoked_at)
                                     .where(statement_links.c.token_hash == hash_key(token))).first()
        return row.miner_id if row is not None and row.revoked_at is None else None

    def links(self, miner_id: str) -> list[dict]:
        """The links of a miner (never their tokens), newest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(statement_links.c.link_id, statement_links.c.created_by,
                                             statement_links.c.created_at, statement_links.c.revoked_at)
                                      .where(statement_links.c.miner_id == miner_id)
                                      .order_by(statement_links.c.created_at.desc())).mappings().all()
        return [{"link_id": row["link_id"], "created_by": row["created_by"], "created_at": _iso(row["created_at"]),
                 "revoked_at": _iso(row["revoked_at"])} for row in rows]

    def revoke(self, miner_id: str, link_id: str) -> bool:
        """Revoke a link of ``miner_id``; True if a live one was revoked."""
        with write_transaction(self.engine) as connection:
            result = connection.execute(
                statement_links.update()
                .where(statement_links.c.link_id == link_id, statement_links.c.miner_id == miner_id,
                       statement_links.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(timezone.utc)))
        return result.rowcount > 0


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite keeps no zone: it was stored in UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat()
