"""Read-model databases for tests: SQLite (the default) or a fresh database on a PostgreSQL server.

The PostgreSQL server comes from ``ORETRAIL_TEST_POSTGRES_URL`` (``scripts/test`` starts one with
``scripts/postgres-local`` and exports it). Each test gets a database of its own, dropped after, whose default collation is ICU's ``en-US``
(as in production images, unlike a byte-order ``C`` cluster) so no test leans on byte order.
Without a server the PostgreSQL variant of a test is skipped, except in CI (``CI=true``), where
it fails: a green run must have run every backend.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from tests.waiting import skip_or_fail

POSTGRES_ENV = "ORETRAIL_TEST_POSTGRES_URL"
#: the read-model backends every read-model test runs against
BACKENDS = ("sqlite", "postgresql")


def postgres_server_url() -> str:
    """The test server's URL; skips the test without one (fails it in CI)."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        reason = f"no PostgreSQL server: set {POSTGRES_ENV} (scripts/test starts one with scripts/postgres-local)"
        skip_or_fail(reason)
    return url


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """Create an empty database on the server, yield its URL, drop it (and its sessions) after."""
    name = f"oretrail_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            try:
                connection.exec_driver_sql(
                    f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
                    f"LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
                )
            except DBAPIError:  # a server built without ICU
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def database_url_for(backend: str, folder) -> Iterator[str]:
    """A fresh read-model database URL of ``backend``: a SQLite file in ``folder``, or a new PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'readmodels.db'}"
    elif backend == "postgresql":
        with fresh_postgres_database(postgres_server_url()) as url:
            yield url
    else:
        raise ValueError(f"unknown backend {backend!r}")
