"""Leader election: of several bot processes on one database, exactly one runs the scheduled jobs.

On PostgreSQL the leader holds a session-level advisory lock (``pg_try_advisory_lock``) on a
connection of its own, kept outside the pool. PostgreSQL releases the lock when that session
ends, so when the leader dies (crash, ``kill -9``, lost host) its connection closes and a
standby takes over at its next try. Standbys try every ``retry_seconds``; the leader checks its
lock connection just as often and, if the connection is gone, stops running jobs at once
(it can no longer be sure it leads) and competes again like a standby.

On a SQLite file the processes must share one machine, so an exclusive ``flock`` on a file
beside the database plays the same part (one ``smat-bot run`` per database is the supported
set-up; the lock only stops a second one from running the jobs too). An in-memory database
belongs to one process, which always leads.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from bot import metrics

log = logging.getLogger(__name__)

LOCK_NAME = "smat-bot:scheduler"

# The lock connection must notice a dead peer quickly in both directions: the client through
# libpq's keepalives and a bounded send timeout, the server through its own keepalives (set per
# session below), so a partitioned leader's session ends and its lock is released.
_PG_CONNECT_ARGS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15000,
    "application_name": "smat-bot leader lock",
}
_PG_SESSION_SETUP = (
    "SET tcp_keepalives_idle = 10",
    "SET tcp_keepalives_interval = 5",
    "SET tcp_keepalives_count = 3",
    "SET statement_timeout = 5000",
)


class LeaderLock(Protocol):
    """A lock only one process can hold at a time, released when its holder dies."""

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never wait."""

    def still_held(self) -> bool:
        """Whether this process still holds the lock (checks the connection or file)."""

    def release(self) -> None:
        """Give the lock up (idempotent)."""


class AlwaysLeader:
    """One process owns the database (SQLite in memory): it always leads."""

    def try_acquire(self) -> bool:
        """Always succeeds."""
        return True

    def still_held(self) -> bool:
        """Always held."""
        return True

    def release(self) -> None:
        """Nothing to release."""


class FileLock:
    """An exclusive ``flock`` on a file: released by the kernel when the holder exits."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        """Open the lock file and try to lock it without waiting."""
        handle = self._path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def still_held(self) -> bool:
        """A flock lasts as long as the open file; it is only lost by releasing it."""
        return self._file is not None and not self._file.closed

    def release(self) -> None:
        """Close the file, which drops the lock."""
        if self._file is not None:
            self._file.close()
            self._file = None


class PostgresAdvisoryLock:
    """A session-level advisory lock held on a dedicated connection outside the pool."""

    def __init__(self, engine: Engine, name: str = LOCK_NAME) -> None:
        # Its own engine without a pool: the connection is closed for real on release, and a
        # pool's pre-ping or recycling never swaps the session that holds the lock.
        self._engine = create_engine(
            engine.url, poolclass=NullPool, connect_args=dict(_PG_CONNECT_ARGS)
        )
        self._name = name
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        """Connect and try ``pg_try_advisory_lock``; keep the connection only if it succeeded."""
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            for statement in _PG_SESSION_SETUP:
                connection.execute(text(statement))
            key = lock_key(self._name, _database_and_schema(connection))
            got = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        except Exception:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def still_held(self) -> bool:
        """Ask the lock's own session; any error means the session, and the lock, are gone."""
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
        except Exception as exc:
            log.warning("leader lock connection lost: %s", type(exc).__name__)
            return False
        return True

    def release(self) -> None:
        """Close the session: PostgreSQL drops its advisory locks with it."""
        if self._connection is not None:
            try:
                self._connection.invalidate()  # do not try to reset a possibly dead session
                self._connection.close()
            except Exception as exc:  # a dead connection may fail to close; it is gone anyway
                log.debug("closing the leader lock connection: %s", exc)
            self._connection = None

    def dispose(self) -> None:
        """Release and drop the dedicated engine."""
        self.release()
        self._engine.dispose()


def _database_and_schema(connection: Connection) -> str:
    row = connection.execute(text("SELECT current_database(), current_schema()")).one()
    return f"{row[0]}/{row[1]}"


def lock_key(name: str, scope: str) -> int:
    """A stable signed 64-bit advisory lock key for ``name`` within one database and schema.

    Advisory locks are per database, not per schema: two bots sharing a database in different
    schemas must not block each other.
    """
    digest = hashlib.sha256(f"{name}@{scope}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_for(engine: Engine) -> LeaderLock:
    """The right leader lock for this database."""
    backend = engine.url.get_backend_name()
    if backend == "postgresql":
        return PostgresAdvisoryLock(engine)
    database = engine.url.database
    if backend == "sqlite" and database and database != ":memory:":
        return FileLock(Path(f"{database}.leader.lock"))
    return AlwaysLeader()


class Election:
    """Keeps trying to lead; calls ``on_elected`` on winning and ``on_deposed`` on losing it."""

    def __init__(
        self,
        lock: LeaderLock,
        *,
        on_elected: Callable[[], None],
        on_deposed: Callable[[], None],
        retry_seconds: float,
        name: str = "scheduler",
    ) -> None:
        self._lock = lock
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self._retry_seconds = retry_seconds
        self._name = name
        self._state = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.is_leader = False

    def start(self) -> None:
        """Try once now (so a lone process leads at once), then keep trying in the background."""
        self.tick()
        self._thread = threading.Thread(
            target=self._loop, name=f"leader-election-{self._name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop competing and release the lock (without calling ``on_deposed``)."""
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self._retry_seconds + 10)
        with self._state:
            self._lock.release()
            dispose = getattr(self._lock, "dispose", None)
            if dispose is not None:
                dispose()
            self._set_leader(False)

    def tick(self) -> None:
        """One round: a leader checks it still holds the lock; a standby tries to take it."""
        with self._state:
            if self._stopped.is_set():
                return
            if self.is_leader and not self._lock.still_held():
                log.warning("lost the %s lock: stopping scheduled jobs in this process", self._name)
                self._lock.release()
                self._set_leader(False)
                self._call(self._on_deposed, "on_deposed")
            if not self.is_leader:
                self._try_to_lead()

    def _try_to_lead(self) -> None:
        try:
            won = self._lock.try_acquire()
        except Exception as exc:
            log.warning("could not try the %s lock: %s", self._name, type(exc).__name__)
            return
        if not won:
            return
        try:
            self._on_elected()
        except Exception:
            # Could not take up the work (e.g. the database went away): let another process try.
            log.exception("taking over the %s failed; releasing the lock", self._name)
            self._lock.release()
            return
        self._set_leader(True)
        log.info("this process now runs the %s (pid %d)", self._name, os.getpid())

    def _loop(self) -> None:
        while not self._stopped.wait(self._retry_seconds):
            self.tick()

    def _set_leader(self, leading: bool) -> None:
        self.is_leader = leading
        metrics.SCHEDULER_LEADER.set(1 if leading else 0)

    @staticmethod
    def _call(callback: Callable[[], None], what: str) -> None:
        try:
            callback()
        except Exception:
            log.exception("leader election %s callback failed", what)


def elect_scheduler_leader(
    scheduler: Any,
    engine: Engine,
    retry_seconds: float,
    take_over: Callable[[], None] = lambda: None,
) -> Election:
    """Run ``scheduler``'s jobs only while this process leads; stop competing when it shuts down.

    ``scheduler`` is an APScheduler scheduler started paused. On winning, ``take_over`` runs
    first (e.g. reconciling stored jobs, which only the leader may change), then the scheduler
    resumes; on losing, it pauses (a job already running finishes; no new one starts).
    """
    from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN

    def elected() -> None:
        take_over()
        scheduler.resume()

    election = Election(
        lock_for(engine),
        on_elected=elected,
        on_deposed=scheduler.pause,
        retry_seconds=retry_seconds,
    )
    scheduler.add_listener(lambda _event: election.stop(), EVENT_SCHEDULER_SHUTDOWN)
    election.start()
    return election
