"""The key store: one AES-256 data key per person, kept apart from the log, and destroyed to erase them.

:class:`KeyStore` is the protocol capture, the projectors and the views use; :class:`SqlKeyStore`
keeps the keys in a table (``personal_keys``) of a SQLAlchemy database, by default the read models'
and API keys' database (``ORETRAIL_KEYSTORE_URL`` moves it to a database of its own). A KMS plugs in
as another implementation of the protocol: ``keys_for`` asks the KMS for a data key (e.g. AWS KMS
``GenerateDataKey``) and stores only the wrapped key, ``keys`` unwraps, ``erase`` deletes. Nothing
caches a key in memory between calls, so an erasure holds at once in every process.
"""
from __future__ import annotations

import os
import uuid
from contextlib import suppress
from datetime import datetime, timezone
from typing import Iterable, Mapping, Protocol

from sqlalchemy import Column, DateTime, Engine, LargeBinary, MetaData, String, Table, select, update
from sqlalchemy.exc import IntegrityError

from events.sealed import KEY_BYTES

metadata = MetaData()

#: one row per data key: a person has one live key, and after erasure a row with no key (the tombstone)
personal_keys = Table(
    "personal_keys", metadata,
    Column("kid", String(36), primary_key=True),
    Column("person_id", String(128), nullable=False, unique=True),
    Column("key", LargeBinary(KEY_BYTES)),  # NULL once erased
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("erased_at", DateTime(timezone=True)),
)

_CHUNK = 500


class KeyStore(Protocol):
    """Where persons' data keys live (a table here; a KMS elsewhere)."""

    def keys_for(self, person_ids: Iterable[str]) -> Mapping[str, tuple[str, bytes] | None]:
        """``{person_id: (kid, key)}``, making a key for each person who has none; ``None`` for an erased person."""
        ...

    def keys(self, kids: Iterable[str]) -> Mapping[str, bytes]:
        """The live keys among ``kids`` (an erased or unknown kid is left out)."""
        ...

    def erase(self, person_id: str) -> bool:
        """Destroy the person's key (and refuse them a new one); False if they were already erased."""
        ...

    def erased(self, person_ids: Iterable[str]) -> set[str]:
        """The erased persons among ``person_ids``."""
        ...


class SqlKeyStore:
    """Data keys in the ``personal_keys`` table of a SQLAlchemy database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create_tables(self) -> None:
        """Create the ``personal_keys`` table if missing."""
        metadata.create_all(self.engine)

    def keys_for(self, person_ids: Iterable[str]) -> dict[str, tuple[str, bytes] | None]:
        """``{person_id: (kid, key)}``, a new random key for each person seen for the first time.

        Two captures racing for one new person both insert; the unique person id lets one win and
        the other read the winner's key, so a person never has two keys.
        """
        wanted = sorted(set(person_ids))
        found = self._rows(wanted)
        missing = [person for person in wanted if person not in found]
        if missing:
            now = datetime.now(timezone.utc)
            rows = [{"kid": str(uuid.uuid4()), "person_id": person, "key": os.urandom(KEY_BYTES), "created_at": now}
                    for person in missing]
            try:
                with self.engine.begin() as tx:
                    tx.execute(personal_keys.insert(), rows)
            except IntegrityError:
                for row in rows:  # someone else made some of them: insert ours one by one, keep theirs
                    with suppress(IntegrityError), self.engine.begin() as tx:
                        tx.execute(personal_keys.insert(), [row])
            found.update(self._rows(missing))
        return {person: (kid, key) if key is not None else None for person, (kid, key) in found.items()}

    def keys(self, kids: Iterable[str]) -> dict[str, bytes]:
        """The live keys among ``kids``."""
        wanted = sorted(set(kids))
        found: dict[str, bytes] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), _CHUNK):
                found.update(connection.execute(
                    select(personal_keys.c.kid, personal_keys.c.key).where(
                        personal_keys.c.kid.in_(wanted[start:start + _CHUNK]), personal_keys.c.key.is_not(None))).all())
        return found

    def erase(self, person_id: str) -> bool:
        """Overwrite the person's key with NULL (a tombstone row stays, so no new key is ever made for them)."""
        now = datetime.now(timezone.utc)
        with self.engine.begin() as tx:
            done = tx.execute(update(personal_keys).where(personal_keys.c.person_id == person_id,
                                                          personal_keys.c.key.is_not(None))
                              .values(key=None, erased_at=now)).rowcount
            if done:
                return True
            try:
                with tx.begin_nested():
                    tx.execute(personal_keys.insert(), [{"kid": str(uuid.uuid4()), "person_id": person_id, "key": None,
                                                         "created_at": now, "erased_at": now}])
                return True
            except IntegrityError:
                return False

    def erased(self, person_ids: Iterable[str]) -> set[str]:
        """The persons among ``person_ids`` whose key was destroyed."""
        return {person for person, (_, key) in self._rows(sorted(set(person_ids))).items() if key is None}

    def _rows(self, person_ids: list[str]) -> dict[str, tuple[str, bytes | None]]:
        found: dict[str, tuple[str, bytes | None]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(person_ids), _CHUNK):
                for kid, person, key in connection.execute(
                        select(personal_keys.c.kid, personal_keys.c.person_id, personal_keys.c.key)
                        .where(personal_keys.c.person_id.in_(person_ids[start:start + _CHUNK]))):
                    found[person] = (kid, key)
        return found
