"""Database engines and sessions: SQLite (embedded default) and PostgreSQL behave the same."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from config.settings import ConfigError
from storage.audit import capture

READ_ONLY_SQLITE = "smat_read_only"
"""Execution option: begin a plain (deferred) SQLite transaction that takes no write lock."""


def make_engine(url: str) -> Engine:
    """Create an engine for a database URL; SQLite gets WAL mode and enforced foreign keys."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"Invalid setting database_url (SMAT_DATABASE_URL): not a database URL: {url!r}"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
        # Let SQLAlchemy issue BEGIN itself so "BEGIN IMMEDIATE" below takes the write lock
        # at the start of a transaction instead of failing half-way with "database is locked".
        event.listen(engine, "begin", _begin_immediate)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise ConfigError(
        "Invalid setting database_url (SMAT_DATABASE_URL): "
        f"only sqlite and postgresql are supported, got {backend!r}"
    )


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would fight the BEGIN IMMEDIATE below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_QUERY_ONLY = "smat_query_only"
"""Connection info flag: PRAGMA query_only is on for this SQLite connection."""


def _begin_immediate(connection: Any) -> None:
    # A read (checking the whole decision log, loading a card) must not hold the write lock,
    # which would queue every other thread's reads behind it. Such a transaction is also made
    # unable to write: a write in a plain BEGIN upgrades the lock half-way through and can fail
    # with "database is locked", so it is refused at once instead.
    read_only = bool(connection.get_execution_options().get(READ_ONLY_SQLITE))
    if connection.info.get(_QUERY_ONLY, False) != read_only:
        connection.exec_driver_sql(f"PRAGMA query_only = {'ON' if read_only else 'OFF'}")
        connection.info[_QUERY_ONLY] = read_only
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def session_factory(
    engine: Engine, clock: Callable[[], datetime] = _utc_now
) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit; audited changes are logged."""
    sessions = sessionmaker(engine, expire_on_commit=False)
    capture.install(sessions, clock)
    return sessions


@contextmanager
def reading(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads only: on SQLite it takes no write lock, and a write in it fails.

    WAL mode gives it a consistent snapshot while writers carry on. On PostgreSQL it is an
    ordinary session.
    """
    with sessions() as session:
        session.connection(execution_options={READ_ONLY_SQLITE: True})
        yield session


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with sessions.begin() as session:
        yield session
