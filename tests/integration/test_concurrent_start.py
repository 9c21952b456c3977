"""Several processes starting at once on a new PostgreSQL database: one migrates, none fails."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from storage import migrate
from storage.db import make_engine

pytestmark = pytest.mark.postgres


def test_concurrent_upgrades_of_an_empty_database_all_succeed(postgres_url: str) -> None:
    engines = [make_engine(postgres_url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(migrate.upgrade, engines))
        assert migrate.current_revision(engines[0]) == migrate.head_revision(engines[0])
    finally:
        for engine in engines:
            engine.dispose()
