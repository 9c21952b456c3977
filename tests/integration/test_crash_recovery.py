"""SIGKILL during a decision, then a restart: the platform action happens once, the card is right.

A real bot process (``tests.fakes.crash_worker``) takes a decision against the fake Slack and a
fake Graph API served over HTTP, and is killed with SIGKILL at a chosen point: after the decision
is recorded but before anything is delivered, while the platform call is in flight (the platform
carries it out after the process has died), and while the card update is in flight. A new
process on the same database then delivers what is left once the dead process's outbox lease
has expired. Nothing is lost and nothing is done twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.container import Container, build
from bot.services.outbox import LEASE
from bot.services.review import Action, DecisionRequest
from config.settings import Settings, deep_merge
from platforms.types import IncomingComment, Platform, Source
from storage.models import Decision, DecisionOutcome, OutboxMessage, ReviewItem
from tests.conftest import slack_overrides
from tests.fakes import fake_graph
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.fake_graph import FakeGraph, Recorded
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.platform_server import PlatformServer

ROOT = Path(__file__).resolve().parents[2]
POST_ID = f"{fake_graph.PAGE_ID}_1"
COMMENT_ID = "1_101"
CREATED = datetime(2026, 11, 16, 8, 30, tzinfo=UTC)
TOKEN_ENV = "SMAT_TEST_FB_PAGE_TOKEN"
SMAT1, SMAT2 = "U0SMAT1", "U0SMAT2"

pytestmark = pytest.mark.slow


class Gate:
    """Holds matching Graph requests until released, like a platform that is slow to answer."""

    def __init__(self, method: str, path: str) -> None:
        self.method, self.path = method, path
        self.arrived = threading.Event()
        self.release = threading.Event()

    def __call__(self, request: Recorded) -> None:
        if request.method == self.method and request.path == self.path:
            self.arrived.set()
            self.release.wait(30)


@dataclass
class World:
    """The fakes, the settings both processes share, and the item being decided."""

    settings_file: Path
    settings: Settings
    slack: FakeSlack
    graph: FakeGraph
    item_id: int

    def worker(self, action: str) -> subprocess.Popen[str]:
        """Start a bot process that takes ``action`` on the item."""
        env = {**os.environ, "PYTHONPATH": str(ROOT), TOKEN_ENV: fake_graph.TOKEN}
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fakes.crash_worker",
                str(self.settings_file),
                action,
                str(self.item_id),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def restart(self) -> Container:
        """A new process's container, once the dead one's outbox lease has run out."""
        clock = FakeClock(datetime.now(UTC) + LEASE + timedelta(minutes=1))
        return build(self.settings, classifier=KeywordClassifier(), clock=clock)

    def graph_calls(self, method: str) -> list[Recorded]:
        return [r for r in self.graph.requests if r.method == method and r.path == COMMENT_ID]

    def card_text(self, container: Container) -> str:
        with container.sessions() as session:
            item = session.get_one(ReviewItem, self.item_id)
        assert item.slack_channel
        assert item.slack_ts
        message = self.slack.message(item.slack_channel, item.slack_ts)
        assert message is not None
        return json.dumps(message["blocks"])


def kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL: no clean-up, no finally blocks, as when the machine loses power."""
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Poll until ``check()`` holds (the worker is another process)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def outbox_status(container: Container, key_prefix: str) -> list[str]:
    with container.sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage.status).where(
                    OutboxMessage.idempotency_key.startswith(key_prefix)
                )
            )
        )


def deliver_everything(container: Container) -> None:
    for _ in range(5):
        report = container.outbox.deliver_due()
        if report.delivered == 0 and report.retrying == 0:
            return


@pytest.fixture
def world(
    database_url: str, fake_slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    graph = FakeGraph()
    graph.add_post(POST_ID, CREATED, "Christmas lights switch-on")
    graph.add_comment(
        POST_ID, COMMENT_ID, CREATED, "You are all useless idiots", author=("61", "A")
    )
    monkeypatch.setenv(TOKEN_ENV, fake_graph.TOKEN)
    with PlatformServer(graph.handle) as platform:
        overrides: dict[str, Any] = slack_overrides(fake_slack, (SMAT1, "smat"), (SMAT2, "smat"))
        overrides |= {
            "database_url": database_url,
            "council": {"name": "Example Town Council"},
            "platforms": {"facebook": {"api_url": platform.base_url}},
            "accounts": [
                {
                    "name": "fb-main",
                    "platform": "facebook",
                    "id": fake_graph.PAGE_ID,
                    "display_name": "Example Town Council",
                    "token": f"env:{TOKEN_ENV}",
                }
            ],
        }
        settings_file = tmp_path / "settings.json"
        settings_file.write_text(json.dumps(overrides))
        settings = Settings(**deep_merge({}, overrides))
        # The comment arrives and its card is posted by a first process, a minute ago.
        clock = FakeClock(datetime.now(UTC) - timedelta(minutes=1))
        container = build(settings, classifier=KeywordClassifier(), clock=clock)
        container.ingest().ingest(
            [
                IncomingComment(
                    platform=Platform.FACEBOOK,
                    account=fake_graph.PAGE_ID,
                    external_id=COMMENT_ID,
                    author_id="61",
                    author_name="A Resident",
                    text="You are all useless idiots",
                    created_at=CREATED,
                    source=Source.POLL,
                    parent_id=POST_ID,
                    post_id=POST_ID,
                )
            ]
        )
        deliver_everything(container)
        with container.sessions() as session:
            item_id = session.scalars(select(ReviewItem.id)).one()
        container.engine.dispose()
        yield World(settings_file, settings, fake_slack, graph, item_id)


def test_killed_after_the_decision_is_recorded_before_anything_is_delivered(world: World) -> None:
    worker = world.worker("record-only")
    assert worker.wait(30) == -signal.SIGKILL
    assert world.graph_calls("POST") == []

    restarted = world.restart()
    deliver_everything(restarted)

    assert len(world.graph_calls("POST")) == 1
    assert world.graph.nodes[COMMENT_ID].fields["is_hidden"] is True
    check_recorded_once(restarted, world, "hide")


def test_killed_while_the_platform_call_is_in_flight(world: World) -> None:
    gate = Gate("POST", COMMENT_ID)
    world.graph.on_request = gate
    worker = world.worker("hide")
    assert gate.arrived.wait(30), "the hide never reached the platform"
    kill(worker)
    # The platform carries out the request the dead process sent; nobody heard the answer.
    world.graph.on_request = None
    gate.release.set()
    wait_for(lambda: world.graph.nodes[COMMENT_ID].fields.get("is_hidden") is True, "the hide")

    restarted = world.restart()
    deliver_everything(restarted)

    # Hiding is idempotent on Graph: asked twice, hidden once, recorded once.
    assert len(world.graph_calls("POST")) == 2
    assert world.graph.nodes[COMMENT_ID].fields["is_hidden"] is True
    check_recorded_once(restarted, world, "hide")


def test_killed_while_the_card_update_is_in_flight(world: World) -> None:
    world.slack.delay("chat.update", 3)
    worker = world.worker("hide")
    probe = world.restart()  # only to read the database; it delivers nothing
    wait_for(
        lambda: (
            outbox_status(probe, "platform.execute:") == ["done"]
            and "in_progress" in outbox_status(probe, "slack.sync_card:")
        ),
        "the card update to be in flight",
    )
    kill(worker)
    world.slack.delay("chat.update", 0)

    deliver_everything(probe)

    assert len(world.graph_calls("POST")) == 1, "the platform was asked again"
    check_recorded_once(probe, world, "hide")


def test_killed_while_a_warning_reply_is_in_flight_is_never_posted_twice(world: World) -> None:
    # The comment is hidden first (by this process), then a warning is posted by the worker.
    first = world.restart()
    with first.sessions() as session:
        version = session.get_one(ReviewItem, world.item_id).version
    first.desk.decide(
        DecisionRequest(world.item_id, version, Action.HIDE, SMAT1, "offensive_or_discriminatory")
    )
    deliver_everything(first)
    first.engine.dispose()
    gate = Gate("POST", f"{COMMENT_ID}/comments")
    world.graph.on_request = gate
    worker = world.worker("warn")
    assert gate.arrived.wait(30), "the warning never reached the platform"
    kill(worker)
    world.graph.on_request = None
    gate.release.set()
    wait_for(lambda: len(council_replies(world.graph)) == 1, "the reply to be posted")

    restarted = world.restart()
    deliver_everything(restarted)

    assert len(council_replies(world.graph)) == 1, "the warning was posted twice"
    with restarted.sessions() as session:
        warn = session.scalars(select(Decision).where(Decision.action == "warn")).one()
        outcome = session.scalars(
            select(DecisionOutcome).where(DecisionOutcome.decision_id == warn.id)
        ).one()
    # Whether the platform posted it is unknown to us: a person checks, nothing is re-sent.
    assert outcome.status == "unknown"
    assert "not known whether Facebook posted it" in world.card_text(restarted)


def council_replies(graph: FakeGraph) -> list[Any]:
    """The replies on the page under the comment."""
    return [node for node in graph.nodes.values() if node.parent == COMMENT_ID]


def check_recorded_once(container: Container, world: World, action: str) -> None:
    """One decision, carried out, and a card that says so."""
    with container.sessions() as session:
        decisions = list(session.scalars(select(Decision)))
        outcome = session.scalars(select(DecisionOutcome)).one()
    assert [d.action for d in decisions] == [action]
    assert outcome.status == "done"
    assert outbox_status(container, "") == ["done"] * len(outbox_status(container, ""))
    card = world.card_text(container)
    assert "Hidden" in card, card
