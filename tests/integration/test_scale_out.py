"""Several bot processes on one PostgreSQL database: one runs the jobs; nothing is done twice.

These start real processes (``tests/integration/workers.py``) and kill them with SIGKILL, the
way a crashed host or an OOM kill would. Waits are bounded polls of what the processes wrote,
never fixed sleeps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.container import build
from bot.leader import Election, PostgresAdvisoryLock
from config.settings import Settings, deep_merge
from storage.db import make_engine
from storage.models import OutboxMessage, ReviewItem
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, _fresh_postgres_schema, slack_overrides
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.fake_slack import FakeSlack
from tests.integration.helpers import incoming

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).parents[2]


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _worker(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.workers", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def _beats(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(line) for line in path.read_text().split() if line]


def _first_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line:
        _, err = process.communicate(timeout=10)
        raise AssertionError(f"worker exited: {err[-3000:]}")
    return line


def test_one_process_runs_the_jobs_and_a_standby_takes_over_after_kill_9(
    postgres_url: str, tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    beats = tmp_path / "beats"
    build(make_settings_for(postgres_url), classifier=KeywordClassifier())  # migrate once
    leader = _worker("scheduler", postgres_url, str(beats))
    processes.append(leader)
    assert _first_line(leader) == "started leader=True"
    standby = _worker("scheduler", postgres_url, str(beats))
    processes.append(standby)
    assert _first_line(standby) == "started leader=False"

    # The standby retries every 0.3 s; let it try many times while the leader keeps beating.
    seen = len(_beats(beats))
    _wait_until(lambda: len(_beats(beats)) >= seen + 20, "the leader's heartbeats")
    assert set(_beats(beats)) == {leader.pid}

    leader.send_signal(signal.SIGKILL)
    leader.wait(timeout=10)
    killed_at = len(_beats(beats))
    _wait_until(lambda: standby.pid in _beats(beats), "the standby to take over")
    after = _beats(beats)[killed_at:]
    assert set(after) == {standby.pid}
    assert standby.poll() is None


def make_settings_for(url: str) -> Settings:
    return Settings(database_url=url)


def test_a_leader_whose_lock_session_is_killed_stops_and_another_takes_over(
    postgres_url: str, postgres_admin_url: str
) -> None:
    engine = make_engine(postgres_url)
    events: list[str] = []
    first_lock, second_lock = PostgresAdvisoryLock(engine), PostgresAdvisoryLock(engine)
    first = Election(
        first_lock,
        on_elected=lambda: events.append("first elected"),
        on_deposed=lambda: events.append("first deposed"),
        retry_seconds=60,
    )
    second = Election(
        second_lock,
        on_elected=lambda: events.append("second elected"),
        on_deposed=lambda: events.append("second deposed"),
        retry_seconds=60,
    )
    try:
        first.tick()
        second.tick()
        assert (first.is_leader, second.is_leader) == (True, False)
        # An administrator (or a network failure) ends the leader's lock session.
        admin = make_engine(postgres_admin_url)
        with admin.begin() as connection:
            ended = connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'smat-bot leader lock' AND pid IN "
                    "(SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
                    " AND pid <> pg_backend_pid()"
                )
            )
        admin.dispose()
        assert ended >= 1
        second.tick()  # the lock was released with the session
        assert second.is_leader
        first.tick()  # the old leader notices at its next check and stops its jobs
        assert not first.is_leader
        assert events == ["first elected", "second elected", "first deposed"]
    finally:
        first.stop()
        second.stop()
        engine.dispose()


def test_bots_in_different_schemas_of_one_database_each_have_a_leader(
    postgres_admin_url: str,
) -> None:
    schemas = [_fresh_postgres_schema(postgres_admin_url) for _ in range(2)]
    urls = [next(schema) for schema in schemas]
    locks = [PostgresAdvisoryLock(make_engine(url)) for url in urls]
    try:
        assert all(lock.try_acquire() for lock in locks)
    finally:
        for lock in locks:
            lock.dispose()
        for schema in schemas:
            next(schema, None)


def test_two_dispatcher_processes_deliver_each_message_once(
    postgres_url: str,
    fake_slack: FakeSlack,
    tmp_path: Path,
    processes: list[subprocess.Popen[str]],
) -> None:
    settings = Settings(
        **deep_merge(
            {"database_url": postgres_url}, slack_overrides(fake_slack, ("U0SMAT1", "smat"))
        )
    )
    container = build(settings, classifier=KeywordClassifier())
    count = 40
    container.ingest().ingest(
        [incoming(f"c{i}", f"comment number {i}", author=f"Resident {i}") for i in range(count)]
    )
    assert container.outbox.pending_count() == count
    fake_slack.delay("chat.postMessage", 0.02)  # long enough for the two to overlap

    go = tmp_path / "go"
    env = {
        "SMAT_DATABASE_URL": postgres_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.base_url,
    }
    workers = [_worker("outbox", str(go), env=env) for _ in range(2)]
    processes.extend(workers)
    go.touch()
    delivered = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err[-3000:]
        delivered.append(int(out.split()[-1]))
    print("delivered per process:", delivered)

    assert sum(delivered) == count
    posts = fake_slack.calls("chat.postMessage", ok=True)
    assert len(posts) == count
    assert fake_slack.calls("chat.update") == []  # no card was delivered a second time
    authors = Counter(call.params["text"] for call in posts)
    assert len(authors) == count  # one card per comment, none twice
    with container.sessions() as session:
        messages = list(session.scalars(select(OutboxMessage)))
        card_ts = set(session.scalars(select(ReviewItem.slack_ts)))
    assert {(m.status, m.attempts) for m in messages} == {("done", 1)}
    assert len(card_ts) == count
    assert None not in card_ts
