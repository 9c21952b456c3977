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


def _begin_immediate(connection: Any) -> None:
    # A long read (checking the whole decision log) must not hold the write lock meanwhile.
    if connection.get_execution_options().get(READ_ONLY_SQLITE):
        connection.exec_driver_sql("BEGIN")
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE")


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
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with sessions.begin() as session:
        yield session
