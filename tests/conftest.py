"""Shared fixtures: databases (SQLite and PostgreSQL), settings, the fake Slack Web API."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from config.settings import Settings, deep_merge
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.fake_slack import FakeSlack

POSTGRES_URL = os.environ.get(
    "SMAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"

_postgres_state: dict[str, str | None] = {}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own SMAT_*/SLACK_* settings."""
    for name in list(os.environ):
        if name.startswith(("SMAT_", "SLACK_")) and name != "SMAT_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)


def _postgres_problem() -> str | None:
    if "problem" not in _postgres_state:
        try:
            engine = create_engine(POSTGRES_URL)
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            engine.dispose()
            _postgres_state["problem"] = None
        except OperationalError as exc:
            _postgres_state["problem"] = str(exc).splitlines()[0]
    return _postgres_state["problem"]


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The PostgreSQL server's URL; skipped locally if it is down, a failure in CI."""
    problem = _postgres_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {problem}")
        pytest.skip(f"PostgreSQL not available: {problem}")
    return POSTGRES_URL


def _fresh_postgres_schema(admin_url: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{admin_url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, then a fresh PostgreSQL schema (each test runs twice)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'smat.db'}"
    else:
        yield from _fresh_postgres_schema(request.getfixturevalue("postgres_admin_url"))


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema, for tests that only make sense there (concurrency)."""
    yield from _fresh_postgres_schema(postgres_admin_url)


MakeSettings = Callable[..., Settings]


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> MakeSettings:
    """Build Settings over the shipped defaults; keyword arguments deep-merge over them."""

    def make(**overrides: Any) -> Settings:
        base: dict[str, Any] = {"database_url": database_url}
        if not database_url.startswith("sqlite"):
            # SQLite keeps a generated records key beside the database; PostgreSQL needs a place.
            base["records"] = {"key_file": str(tmp_path / "records.signing-key")}
        return Settings(**deep_merge(base, overrides))

    return make


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A running fake Slack Web API."""
    with FakeSlack(tokens=(BOT_TOKEN,)) as slack:
        yield slack


@pytest.fixture
def keyword_classifier() -> KeywordClassifier:
    """A deterministic classifier."""
    return KeywordClassifier()


def slack_overrides(fake_slack: FakeSlack, *members: tuple[str, str]) -> dict[str, Any]:
    """Settings that point the bot at the fake Slack with the given (user id, role) members."""
    return {
        "slack": {
            "bot_token": BOT_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "api_url": fake_slack.base_url,
        },
        "members": [
            {"slack_user_id": user, "role": role, "name": user.lower()} for user, role in members
        ],
    }
