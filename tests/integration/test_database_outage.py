"""The database drops the bot's connections (a restart, a failover): the bot carries on alone."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select, text

from bot.container import build
from storage.models import Comment
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.integration.helpers import incoming

pytestmark = pytest.mark.postgres


def test_connections_killed_by_the_server_are_replaced_without_a_restart(
    postgres_url: str, postgres_admin_url: str, make_settings: MakeSettings
) -> None:
    container = build(make_settings(database_url=postgres_url), classifier=KeywordClassifier())
    container.ingest().ingest([incoming("c1", "When are the bins collected?")])
    with container.engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(postgres_admin_url)
    with admin.begin() as connection:
        # What a server restart does to every connection in the bot's pool.
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    admin.dispose()

    # The next piece of work checks its pooled connection first and opens a new one.
    container.ingest().ingest([incoming("c2", "Thank you for the lights")])
    with container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Comment)) == 2
    container.engine.dispose()
