"""Schema and storage guarantees, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import delete, inspect, select, text, update
from sqlalchemy.exc import DBAPIError, StatementError

from bot.container import build
from storage import migrate
from storage.db import make_engine, reading, session_factory
from storage.models import Account, Decision
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.integration.helpers import incoming

TABLES = {
    "accounts",
    "authors",
    "comments",
    "comment_versions",
    "classifications",
    "review_items",
    "decisions",
    "smat_members",
    "canned_responses",
    "preserved_records",
    "ingestion_watermarks",
    "outbox",
    "alembic_version",
}


def test_migrations_create_every_table_and_reach_head(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # applying twice is harmless
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_a_reading_session_takes_no_write_lock_and_may_not_write(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    sessions = session_factory(engine)
    with sessions.begin() as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
        session.execute(text("INSERT INTO t VALUES (1)"))
    writer = sessions()
    writer.begin()
    writer.execute(text("INSERT INTO t VALUES (2)"))  # holds SQLite's write lock from here
    try:
        # Not kept waiting behind the writer (this would wait out the 30-s busy timeout).
        with reading(sessions) as session:
            assert session.execute(text("SELECT count(*) FROM t")).scalar() == 1
            with pytest.raises(DBAPIError, match="readonly"):
                session.execute(text("INSERT INTO t VALUES (3)"))
    finally:
        writer.commit()
    # The connection goes back to the pool able to write again.
    with sessions.begin() as session:
        session.execute(text("INSERT INTO t VALUES (4)"))
    with reading(sessions) as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 3
    engine.dispose()


def test_decisions_are_append_only(make_settings: MakeSettings) -> None:
    container = build(
        make_settings(members=[{"slack_user_id": "U0SMAT1", "role": "smat"}]),
        classifier=KeywordClassifier(),
        clock=FakeClock(),
    )
    container.ingest().ingest([incoming("c1", "What time is the switch-on?")])
    from bot.services.review import Action, DecisionRequest

    container.review.decide(DecisionRequest(1, 1, Action.APPROVE, "U0SMAT1"))
    for statement in (
        update(Decision).values(action="hide"),
        delete(Decision),
    ):
        with pytest.raises(DBAPIError, match="append-only"), container.sessions.begin() as session:
            session.execute(statement)
    with container.sessions() as session:
        assert session.scalars(select(Decision.action)).all() == ["approve"]


def test_naive_datetimes_are_refused(make_settings: MakeSettings) -> None:
    container = build(make_settings(), clock=FakeClock())
    with pytest.raises(StatementError, match="naive datetime"), container.sessions.begin() as s:
        s.add(
            Account(
                name="n",
                platform="facebook",
                external_id="1",
                display_name="n",
                created_at=datetime(2026, 1, 1),
            )
        )


def test_unsupported_database_url_is_a_config_error() -> None:
    from config.settings import ConfigError

    with pytest.raises(ConfigError, match="SMAT_DATABASE_URL"):
        make_engine("mysql://root@localhost/test")
    with pytest.raises(ConfigError, match="not a database URL"):
        make_engine("not a url")
