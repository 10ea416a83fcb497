"""API keys: each bound to one organisation and one role, stored only as a SHA-256 hash.

A key is 256 random bits, so a fast hash is the right tool (as for GitHub or Stripe tokens):
password-hashing functions exist to slow down guessing of low-entropy secrets, and would cost every
request tens of milliseconds for no gain against a key that cannot be guessed.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, select

from events.catalogue.vocabulary import ORGANISATION_ROLES
from events.fields import IDENTIFIER_PATTERN
from services.database import SCHEMA_LOCK, serialise, write_transaction
from services.errors import InvalidRequest, Unauthenticated

ROLES = ("admin",) + ORGANISATION_ROLES
#: roles that may read restricted fields (miners' names, photo-ID hashes, pit coordinates)
RESTRICTED_READERS = frozenset({"admin", "auditor"})
KEY_PREFIX = "ot_"

metadata = MetaData()
api_keys = Table(
    "api_keys",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("key_id", String(16), nullable=False, unique=True),
    Column("org_id", String(128), nullable=False),
    Column("role", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the organisation and role of an API key."""

    key_id: str
    org_id: str
    role: str

    @property
    def is_admin(self) -> bool:
        """Whether this key may record for any organisation."""
        return self.role == "admin"

    @property
    def sees_restricted(self) -> bool:
        """Whether this key may read names, photo-ID hashes and coordinates."""
        return self.role in RESTRICTED_READERS


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """The store of API keys in the read-model database (not a projection: never dropped by a rebuild)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create_tables(self) -> None:
        """Create the keys table if missing."""
        with write_transaction(self.engine) as connection:
            serialise(connection, SCHEMA_LOCK)
            metadata.create_all(connection)

    def create(self, org_id: str, role: str) -> str:
        """Make a new key for ``org_id`` with ``role`` and return it (the only time it is shown)."""
        if role not in ROLES:
            raise InvalidRequest(f"role must be one of {', '.join(ROLES)}", {"role": [f"Unknown role {role!r}."]})
        if not IDENTIFIER_PATTERN.fullmatch(org_id):
            raise InvalidRequest("org is not a valid identifier", {"org": ["Not a valid identifier."]})
        key_id = secrets.token_hex(4)
        key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        with write_transaction(self.engine) as connection:
            connection.execute(
                api_keys.insert().values(
                    key_hash=hash_key(key), key_id=key_id, org_id=org_id, role=role,
                    created_at=datetime.now(timezone.utc),
                )
            )
        return key

    def authenticate(self, key: str | None) -> Principal:
        """The principal of ``key``; :class:`Unauthenticated` if it is missing, unknown or revoked."""
        if not key:
            raise Unauthenticated("An API key is required: Authorization: Bearer <key>.")
        wanted = hash_key(key)
        with self.engine.connect() as connection:
            row = connection.execute(
                select(api_keys.c.key_hash, api_keys.c.key_id, api_keys.c.org_id, api_keys.c.role, api_keys.c.revoked_at)
                .where(api_keys.c.key_hash == wanted)
            ).first()
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, wanted):
            raise Unauthenticated("Unknown or revoked API key.")
        return Principal(key_id=row.key_id, org_id=row.org_id, role=row.role)

    def revoke(self, key_id: str) -> bool:
        """Revoke a key by its public id; True if one was revoked."""
        with write_transaction(self.engine) as connection:
            result = connection.execute(
                api_keys.update()
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(timezone.utc))
            )
        return result.rowcount > 0
