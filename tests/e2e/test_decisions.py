"""Every triage button and decision modal, end to end over HTTP.

The real Bolt app (waitress) receives signed block_actions and view_submission requests and
talks to the fake Slack Web API; the real Facebook connector, built from the settings, talks to
a fake Graph API served over real HTTP. The outbox is driven by the listeners themselves (and
by ``container.outbox.deliver_due()`` with a hand-moved clock for retries).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot import ui_ids
from bot.container import Container, build
from bot.slack_app import create_slack_app
from bot.web import create_wsgi_app
from config.settings import Settings, deep_merge
from platforms.types import IncomingComment, Platform, Source
from storage.models import (
    Decision,
    DecisionOutcome,
    PreservedRecord,
    RemovalRequest,
    ReviewItem,
)
from tests.conftest import SIGNING_SECRET, slack_overrides
from tests.fakes import fake_graph
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.fake_graph import FakeGraph, graph_error
from tests.fakes.fake_slack import FakeSlack, RecordedCall
from tests.fakes.platform_server import PlatformServer
from tests.fakes.slack_requests import (
    block_actions_payload,
    form_body,
    post_signed,
    view_submission_payload,
)
from tests.fakes.wsgi_server import serve_wsgi

SMAT1, SMAT2, CLERK, VIEWER, OUTSIDER = "U0SMAT1", "U0SMAT2", "U0CLERK", "U0VIEWER", "U0OUTSIDER"
MEMBERS = ((SMAT1, "smat"), (SMAT2, "smat"), (CLERK, "clerk"), (VIEWER, "viewer"))
POST_ID = f"{fake_graph.PAGE_ID}_1"
AUTHOR = ("6123456789012345", "A Resident")
CREATED = datetime(2026, 11, 16, 8, 30, tzinfo=UTC)
COUNCIL = {
    "name": "Example Town Council",
    "email": "smat@example-tc.gov.uk",
    "phone": "01234 567890",
}
FLAGGED = "You are all useless idiots"
CLEAN = "When is the Christmas lights switch-on? The council never tells us anything."
TOKEN_ENV = "SMAT_TEST_FB_PAGE_TOKEN"


def wait_until(check: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll until ``check()`` is truthy (listeners run after the ack, in Bolt's threads)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Bot:
    """The running bot, its fakes, and the moves a SMAT member makes in Slack."""

    url: str
    container: Container
    slack: FakeSlack
    graph: FakeGraph
    clock: FakeClock
    http: httpx.Client
    triage: str
    _seq: int = 0
    _comment_ids: dict[int, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ arranging

    def comment(self, text: str) -> int:
        """A comment on the Page and in triage with its card posted; returns the item id."""
        self._seq += 1
        comment_id = f"1_{100 + self._seq}"
        self.graph.add_comment(POST_ID, comment_id, CREATED, text, author=AUTHOR)
        incoming = IncomingComment(
            platform=Platform.FACEBOOK,
            account=fake_graph.PAGE_ID,
            external_id=comment_id,
            author_id=AUTHOR[0],
            author_name=AUTHOR[1],
            text=text,
            created_at=CREATED,
            source=Source.POLL,
            permalink=f"https://www.facebook.com/posts/1?comment_id={comment_id}",
            parent_id=POST_ID,
            post_id=POST_ID,
            post_title="Christmas lights switch-on",
            raw={"id": comment_id, "message": text},
        )
        self.container.ingest().ingest([incoming])
        self.container.outbox.deliver_due()
        with self.container.sessions() as session:
            item = session.scalars(select(ReviewItem).order_by(ReviewItem.id.desc())).first()
            assert item is not None
            assert item.slack_ts is not None
            self._comment_ids[item.id] = comment_id
            return item.id

    # ------------------------------------------------------------------ looking

    def item(self, item_id: int) -> ReviewItem:
        with self.container.sessions() as session:
            return session.get_one(ReviewItem, item_id)

    def external_id(self, item_id: int) -> str:
        return self._comment_ids[item_id]

    def card(self, item_id: int) -> dict[str, Any]:
        item = self.item(item_id)
        assert item.slack_ts is not None
        message = self.slack.message(self.triage, item.slack_ts)
        assert message is not None
        return message

    def button(self, item_id: int, action_id: str) -> str:
        for block in self.card(item_id)["blocks"]:
            for element in block.get("elements", []):
                if element.get("action_id") == action_id:
                    return str(element["value"])
        raise AssertionError(f"no {action_id} button on card {item_id}: {self.card(item_id)}")

    def decisions(self) -> list[Decision]:
        with self.container.sessions() as session:
            return list(session.scalars(select(Decision).order_by(Decision.id)))

    def outcome(self, decision_id: int) -> DecisionOutcome | None:
        with self.container.sessions() as session:
            return session.scalar(
                select(DecisionOutcome).where(DecisionOutcome.decision_id == decision_id)
            )

    def graph_calls(self, method: str, path: str) -> list[fake_graph.Recorded]:
        return [r for r in self.graph.requests if r.method == method and r.path == path]

    def ephemerals(self, user: str) -> list[str]:
        return [
            str(c.params["text"])
            for c in self.slack.calls("chat.postEphemeral")
            if c.params.get("user") == user
        ]

    def wait_ephemerals(self, user: str, count: int) -> list[str]:
        wait_until(lambda: len(self.ephemerals(user)) >= count, what=f"{count} to {user}")
        time.sleep(0.1)  # and no more than that
        texts = self.ephemerals(user)
        assert len(texts) == count, texts
        return texts

    def wait_ephemeral(self, user: str, containing: str) -> str:
        def found() -> str | None:
            return next((t for t in self.ephemerals(user) if containing in t), None)

        return str(wait_until(found, what=f"an ephemeral to {user} with {containing!r}"))

    # ------------------------------------------------------------------ acting in Slack

    def click(
        self, user: str, item_id: int, action_id: str, value: str | None = None
    ) -> httpx.Response:
        item = self.item(item_id)
        assert item.slack_ts is not None
        payload = block_actions_payload(
            user_id=user,
            action_id=action_id,
            value=value if value is not None else self.button(item_id, action_id),
            channel_id=self.triage,
            message_ts=item.slack_ts,
            response_url=self.slack.response_url(f"click-{item_id}"),
        )
        response = post_signed(
            self.http, f"{self.url}/slack/events", form_body(payload), SIGNING_SECRET
        )
        assert response.status_code == 200, response.text
        return response

    def open_modal(self, user: str, item_id: int, action_id: str) -> dict[str, Any]:
        """Click a button that opens a modal; return the view that views.open received."""
        before = len(self.slack.calls("views.open"))
        self.click(user, item_id, action_id)
        call = self.slack.wait_for("views.open", count=before + 1)[before]
        assert call.ok, call
        view: dict[str, Any] = call.params["view"]
        return view

    def submit(
        self,
        user: str,
        view: dict[str, Any],
        *,
        reason: str | None = "offensive_or_discriminatory",
        note: str | None = None,
        choice: str | None = None,
        callback_id: str | None = None,
        metadata: str | None = None,
    ) -> httpx.Response:
        values: dict[str, dict[str, Any]] = {
            ui_ids.REASON_BLOCK: {
                ui_ids.REASON_INPUT: {
                    "type": "static_select",
                    "selected_option": {"value": reason} if reason else None,
                }
            },
            ui_ids.NOTE_BLOCK: {ui_ids.NOTE_INPUT: {"type": "plain_text_input", "value": note}},
        }
        if choice is not None:
            values[ui_ids.CHOICE_BLOCK] = {
                ui_ids.CHOICE_INPUT: {"type": "radio_buttons", "selected_option": {"value": choice}}
            }
        payload = view_submission_payload(
            user_id=user,
            callback_id=callback_id or view["callback_id"],
            private_metadata=metadata if metadata is not None else view["private_metadata"],
            values=values,
        )
        response = post_signed(
            self.http, f"{self.url}/slack/events", form_body(payload), SIGNING_SECRET
        )
        assert response.status_code == 200, response.text
        return response

    def settle(self) -> None:
        """Wait until no outbox message is due and nothing is being delivered."""
        wait_until(lambda: self.container.outbox.pending_count() == 0, what="the outbox")


def _settings(database_url: str, fake_slack: FakeSlack, graph_url: str) -> Settings:
    overrides = slack_overrides(fake_slack, *MEMBERS)
    overrides |= {
        "database_url": database_url,
        "council": COUNCIL,
        "platforms": {"facebook": {"api_url": graph_url}},
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
    return Settings(**deep_merge({}, overrides))


@contextmanager
def running_bot(
    database_url: str, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Bot]:
    """The bot in HTTP mode over the fakes, as `smat-bot run` builds it."""
    graph = FakeGraph()
    graph.add_post(POST_ID, CREATED, "Christmas lights switch-on")
    monkeypatch.setenv(TOKEN_ENV, fake_graph.TOKEN)
    clock = FakeClock()
    with PlatformServer(graph.handle) as platform:
        settings = _settings(database_url, fake_slack, platform.base_url)
        container = build(settings, classifier=KeywordClassifier(), clock=clock)
        app = create_slack_app(container)
        with (
            serve_wsgi(create_wsgi_app(app, container.sessions)) as url,
            httpx.Client(timeout=10) as http,
        ):
            yield Bot(
                url=url,
                container=container,
                slack=fake_slack,
                graph=graph,
                clock=clock,
                http=http,
                triage=fake_slack.channel_id("#smat-triage"),
            )
        container.engine.dispose()


@pytest.fixture
def bot(tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bot]:
    """The bot on SQLite (the race between two clicks is tested on PostgreSQL below)."""
    with running_bot(f"sqlite:///{tmp_path / 'smat.db'}", fake_slack, monkeypatch) as running:
        yield running


def _json(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def _hidden(bot: Bot, item_id: int) -> bool:
    return bool(bot.graph.nodes[bot.external_id(item_id)].fields["is_hidden"])


# ---------------------------------------------------------------------- approve


def test_approve_records_the_decision_and_updates_the_card(bot: Bot) -> None:
    item_id = bot.comment(CLEAN)
    bot.click(SMAT1, item_id, ui_ids.APPROVE)
    wait_until(lambda: "Approved" in bot.card(item_id)["text"], what="the approved card")
    [decision] = bot.decisions()
    assert (decision.action, decision.actor_slack_id) == ("approve", SMAT1)
    assert bot.item(item_id).status == "decided"
    assert bot.graph.requests == [], "approving touches nothing on the platform"


# ---------------------------------------------------------------------- hide


def test_hide_of_a_flagged_comment_preserves_hides_and_shows_the_result(bot: Bot) -> None:
    item_id = bot.comment(FLAGGED)
    view = bot.open_modal(SMAT1, item_id, ui_ids.HIDE)
    assert view["callback_id"] == ui_ids.HIDE_MODAL
    assert json.loads(view["private_metadata"])["item"] == item_id

    bot.submit(SMAT1, view, reason="bullying_or_harassment", note="Name-calling, again")

    wait_until(lambda: "confirmed hidden" in _json(bot.card(item_id)), what="the result")
    [decision] = bot.decisions()
    assert (decision.action, decision.actor_slack_id, decision.reason_code, decision.note) == (
        "hide",
        SMAT1,
        "bullying_or_harassment",
        "Name-calling, again",
    )
    with bot.container.sessions() as session:
        record = session.get_one(PreservedRecord, decision.preserved_record_id)
        assert record.text == FLAGGED
        assert len(record.content_sha256) == 64
    card = _json(bot.card(item_id))
    assert "Hidden" in card
    assert f"sha256 {record.content_sha256[:8]}" in card
    cid = bot.external_id(item_id)
    assert [r.form for r in bot.graph_calls("POST", cid)] == [{"is_hidden": "true"}]
    assert _hidden(bot, item_id)
    outcome = bot.outcome(decision.id)
    assert outcome is not None
    assert (outcome.status, outcome.attempts) == ("done", 1)
    assert bot.ephemerals(SMAT1) == []


def test_a_missing_reason_is_shown_on_the_form_and_nothing_happens(bot: Bot) -> None:
    item_id = bot.comment(FLAGGED)
    view = bot.open_modal(SMAT1, item_id, ui_ids.HIDE)
    response = bot.submit(SMAT1, view, reason=None)
    assert response.json() == {
        "response_action": "errors",
        "errors": {ui_ids.REASON_BLOCK: "Pick a reason"},
    }
    unknown = bot.submit(SMAT1, view, reason="because_i_said_so")
    assert unknown.json()["response_action"] == "errors"
    time.sleep(0.2)
    assert bot.decisions() == []
    assert bot.graph.requests == []


def test_hiding_criticism_needs_a_second_member(bot: Bot) -> None:
    item_id = bot.comment(CLEAN)  # the policy suggests approving it
    view = bot.open_modal(SMAT1, item_id, ui_ids.HIDE)
    bot.submit(SMAT1, view, reason="false_or_misleading")

    bot.wait_ephemeral(SMAT1, "waiting for a second SMAT member")
    wait_until(lambda: "Approve removal" in _json(bot.card(item_id)), what="the request card")
    assert bot.decisions() == []
    assert bot.graph.requests == []

    # The person who asked cannot approve their own request.
    bot.click(SMAT1, item_id, ui_ids.APPROVE_REMOVAL)
    bot.wait_ephemeral(SMAT1, "A second SMAT member must approve")
    assert bot.decisions() == []

    bot.click(SMAT2, item_id, ui_ids.APPROVE_REMOVAL)
    wait_until(lambda: "confirmed hidden" in _json(bot.card(item_id)), what="the result")
    [decision] = bot.decisions()
    assert (decision.action, decision.actor_slack_id, decision.approved_by) == (
        "hide",
        SMAT1,
        SMAT2,
    )
    assert _hidden(bot, item_id)
    assert len(bot.graph_calls("POST", bot.external_id(item_id))) == 1


def test_declining_a_removal_request_puts_the_card_back(bot: Bot) -> None:
    item_id = bot.comment(CLEAN)
    bot.submit(SMAT1, bot.open_modal(SMAT1, item_id, ui_ids.HIDE), reason="false_or_misleading")
    wait_until(lambda: "Approve removal" in _json(bot.card(item_id)), what="the request card")

    bot.click(SMAT2, item_id, ui_ids.DECLINE_REMOVAL)
    wait_until(lambda: bot.item(item_id).status == "pending", what="the decline")
    with bot.container.sessions() as session:
        [request] = session.scalars(select(RemovalRequest)).all()
        assert (request.status, request.resolved_by) == ("declined", SMAT2)
    wait_until(lambda: "Approve removal" not in _json(bot.card(item_id)), what="the card")
    bot.button(item_id, ui_ids.HIDE)  # back to the pending card's buttons
    assert bot.decisions() == []
    assert bot.graph.requests == []


# ---------------------------------------------------------------------- delete


def test_delete_needs_the_clerk(bot: Bot) -> None:
    item_id = bot.comment(FLAGGED)
    view = bot.open_modal(SMAT1, item_id, ui_ids.DELETE)
    assert view["callback_id"] == ui_ids.DELETE_MODAL
    bot.submit(SMAT1, view, reason="offensive_or_discriminatory")
    bot.wait_ephemeral(SMAT1, "waiting for the Town Clerk")

    bot.click(SMAT2, item_id, ui_ids.APPROVE_REMOVAL)
    bot.wait_ephemeral(SMAT2, "needs the Town Clerk's approval")
    assert bot.decisions() == []
    assert bot.external_id(item_id) in bot.graph.nodes

    bot.click(CLERK, item_id, ui_ids.APPROVE_REMOVAL)
    wait_until(lambda: "confirmed deleted" in _json(bot.card(item_id)), what="the result")
    [decision] = bot.decisions()
    assert (decision.action, decision.actor_slack_id, decision.approved_by) == (
        "delete",
        SMAT1,
        CLERK,
    )
    assert decision.preserved_record_id is not None
    assert len(bot.graph_calls("DELETE", bot.external_id(item_id))) == 1
    assert bot.external_id(item_id) not in bot.graph.nodes


# ---------------------------------------------------------------------- block and warn


def test_block_without_a_warning_warns_first_then_blocks(bot: Bot) -> None:
    item_id = bot.comment(FLAGGED)
    view = bot.open_modal(SMAT1, item_id, ui_ids.BLOCK)
    assert view["callback_id"] == ui_ids.BLOCK_MODAL
    [choice] = [b for b in view["blocks"] if b.get("block_id") == ui_ids.CHOICE_BLOCK]
    assert choice["element"]["initial_option"]["value"] == "warn_first"
    bot.submit(SMAT1, view, reason="bullying_or_harassment", choice="warn_first")

    wait_until(lambda: "warning posted" in _json(bot.card(item_id)), what="the warning")
    [warning] = bot.decisions()
    assert (warning.action, warning.reason_code) == ("warn", "bullying_or_harassment")
    cid = bot.external_id(item_id)
    [reply] = bot.graph_calls("POST", f"{cid}/comments")
    text = reply.form["message"]
    assert "Example Town Council" in text
    assert "{" not in text, text
    assert "}" not in text, text
    assert bot.graph.blocked == set()
    outcome = bot.outcome(warning.id)
    assert outcome is not None
    assert outcome.platform_ref
    assert bot.item(item_id).status == "decided"

    # After the warning the card offers Block…, and the form no longer asks to warn first.
    view = bot.open_modal(SMAT2, item_id, ui_ids.BLOCK)
    assert ui_ids.CHOICE_BLOCK not in {b.get("block_id") for b in view["blocks"]}
    bot.submit(SMAT2, view, reason="bullying_or_harassment")
    wait_until(lambda: "confirmed blocked" in _json(bot.card(item_id)), what="the block")
    assert [d.action for d in bot.decisions()] == ["warn", "block"]
    assert bot.graph.blocked == {AUTHOR[0]}
    assert len(bot.graph_calls("POST", f"{fake_graph.PAGE_ID}/blocked")) == 1


def test_warn_button_shows_the_reply_before_posting_it(bot: Bot) -> None:
    item_id = bot.comment(FLAGGED)
    bot.submit(SMAT1, bot.open_modal(SMAT1, item_id, ui_ids.HIDE))
    wait_until(lambda: "confirmed hidden" in _json(bot.card(item_id)), what="the hide")

    view = bot.open_modal(SMAT1, item_id, ui_ids.WARN)
    assert view["callback_id"] == ui_ids.WARN_MODAL
    preview = _json(view)
    assert "Example Town Council social media policy" in preview
    bot.submit(SMAT1, view, reason="offensive_or_discriminatory")
    wait_until(lambda: "warning posted" in _json(bot.card(item_id)), what="the warning")
    assert [d.action for d in bot.decisions()] == ["hide", "warn"]
    [reply] = bot.graph_calls("POST", f"{bot.external_id(item_id)}/comments")
    assert reply.form["message"] in preview


def test_block_now_blocks_the_author(bot: Bot) -> None:
    item_id = bot.comment(FLAGGED)
    bot.submit(
        SMAT1,
        bot.open_modal(SMAT1, item_id, ui_ids.BLOCK),
        reason="bullying_or_harassment",
        choice="block_now",
    )
    wait_until(lambda: "confirmed blocked" in _json(bot.card(item_id)), what="the block")
    [decision] = bot.decisions()
    assert decision.action == "block"
    assert decision.preserved_record_id is not None
    assert bot.graph.blocked == {AUTHOR[0]}


# ---------------------------------------------------------------------- undo


def test_undo_of_a_hide_unhides_with_a_new_decision(bot: Bot) -> None:
    item_id = bot.comment(FLAGGED)
    bot.submit(SMAT1, bot.open_modal(SMAT1, item_id, ui_ids.HIDE))
    wait_until(lambda: "confirmed hidden" in _json(bot.card(item_id)), what="the hide")
    assert _hidden(bot, item_id)

    bot.click(SMAT2, item_id, ui_ids.UNDO)
    wait_until(lambda: "confirmed unhidden" in _json(bot.card(item_id)), what="the undo")
    hide, unhide = bot.decisions()
    assert (unhide.action, unhide.actor_slack_id, unhide.undoes_decision_id) == (
        "unhide",
        SMAT2,
        hide.id,
    )
    assert not _hidden(bot, item_id)
    posts = bot.graph_calls("POST", bot.external_id(item_id))
    assert [p.form for p in posts] == [{"is_hidden": "true"}, {"is_hidden": "false"}]


def test_undo_of_a_block_unblocks(bot: Bot) -> None:
    item_id = bot.comment(FLAGGED)
    bot.submit(SMAT1, bot.open_modal(SMAT1, item_id, ui_ids.BLOCK), choice="block_now")
    wait_until(lambda: "confirmed blocked" in _json(bot.card(item_id)), what="the block")
    bot.click(SMAT1, item_id, ui_ids.UNDO)
    wait_until(lambda: "confirmed unblocked" in _json(bot.card(item_id)), what="the undo")
    assert [d.action for d in bot.decisions()] == ["block", "unblock"]
    assert bot.graph.blocked == set()


# ---------------------------------------------------------------------- who may act


def test_a_non_members_click_opens_nothing(bot: Bot) -> None:
    item_id = bot.comment(FLAGGED)
    for user in (OUTSIDER, VIEWER):
        for action_id in (ui_ids.HIDE, ui_ids.DELETE, ui_ids.BLOCK, ui_ids.WARN, ui_ids.UNDO):
            bot.click(user, item_id, action_id, value=bot.button(item_id, ui_ids.APPROVE))
        refusals = bot.wait_ephemerals(user, 5)
        assert all("Only SMAT members" in text for text in refusals)
    assert bot.slack.calls("views.open") == []
    assert bot.decisions() == []
    assert bot.item(item_id).version == 1


def test_a_refusal_falls_back_to_a_dm_when_the_ephemeral_fails(bot: Bot) -> None:
    item_id = bot.comment(FLAGGED)
    bot.slack.fail("chat.postEphemeral", error="user_not_in_channel")
    bot.click(OUTSIDER, item_id, ui_ids.HIDE)
    dm = bot.slack.dm_channel_id(OUTSIDER)
    wait_until(lambda: bot.slack.messages(dm), what="the DM")
    assert "Only SMAT members" in bot.slack.messages(dm)[0]["text"]
    assert bot.slack.calls("views.open") == []


def test_a_crafted_submission_from_a_non_member_is_refused_and_changes_nothing(
    bot: Bot,
) -> None:
    seen = bot.comment(CLEAN)
    never_seen = bot.comment(FLAGGED)
    item = bot.item(never_seen)
    metadata = json.dumps(
        {"item": never_seen, "version": item.version, "channel": bot.triage, "ts": item.slack_ts}
    )
    posts_before = len(bot.slack.calls("chat.update"))
    for callback_id in (ui_ids.HIDE_MODAL, ui_ids.DELETE_MODAL, ui_ids.BLOCK_MODAL):
        bot.submit(
            OUTSIDER,
            {},
            callback_id=callback_id,
            metadata=metadata,
            choice="block_now" if callback_id == ui_ids.BLOCK_MODAL else None,
        )
    assert all("Only SMAT members" in text for text in bot.wait_ephemerals(OUTSIDER, 3))
    assert bot.decisions() == []
    with bot.container.sessions() as session:
        assert session.scalars(select(RemovalRequest)).all() == []
        assert session.scalars(select(PreservedRecord)).all() == []
    assert bot.graph.requests == []
    assert bot.item(never_seen).version == item.version
    assert bot.item(seen).status == "pending"
    assert len(bot.slack.calls("chat.update")) == posts_before


def test_a_malformed_submission_is_answered_and_changes_nothing(bot: Bot) -> None:
    item_id = bot.comment(FLAGGED)
    view = bot.open_modal(SMAT1, item_id, ui_ids.HIDE)
    for metadata in ("", "not json", '{"item": "1"}', "[" * 5000):
        bot.submit(SMAT1, view, metadata=metadata)
    dm = bot.slack.dm_channel_id(SMAT1)
    wait_until(lambda: len(bot.slack.messages(dm)) == 4, what="the answers")
    assert all("could not be read" in m["text"] for m in bot.slack.messages(dm))
    assert bot.decisions() == []


def test_a_stale_submission_is_refused_with_who_got_there_first(bot: Bot) -> None:
    item_id = bot.comment(FLAGGED)
    view = bot.open_modal(SMAT1, item_id, ui_ids.HIDE)
    bot.click(SMAT2, item_id, ui_ids.APPROVE)  # while SMAT1's form is open
    wait_until(lambda: bot.decisions(), what="the approval")

    bot.submit(SMAT1, view)
    text = bot.wait_ephemeral(SMAT1, "Already handled")
    assert f"<@{SMAT2}>" in text
    assert "approve" in text
    assert [d.action for d in bot.decisions()] == ["approve"]
    assert bot.graph.requests == []

    # The old card's Hide… button is refused the same way, before any form opens.
    opened = len(bot.slack.calls("views.open"))
    bot.click(SMAT1, item_id, ui_ids.HIDE, value=json.dumps({"item": item_id, "version": 1}))
    assert f"<@{SMAT2}>" in bot.wait_ephemerals(SMAT1, 2)[-1]
    assert len(bot.slack.calls("views.open")) == opened


# ---------------------------------------------------------------------- platform failures


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(
            {"status": 500, "body": graph_error(2, message="Service temporarily unavailable")},
            id="http-500",
        ),
        pytest.param(
            {"exception": httpx.ConnectError("connection reset")}, id="dropped-connection"
        ),
    ],
)
def test_a_platform_failure_shows_on_the_card_and_the_retry_succeeds(
    bot: Bot, failure: dict[str, Any]
) -> None:
    item_id = bot.comment(FLAGGED)
    cid = bot.external_id(item_id)
    bot.graph.fail_next(match=lambda request: request.method == "POST", **failure)
    bot.submit(SMAT1, bot.open_modal(SMAT1, item_id, ui_ids.HIDE))

    wait_until(lambda: "failed" in _json(bot.card(item_id)), what="the failure on the card")
    card = _json(bot.card(item_id))
    assert "retrying" in card
    [decision] = bot.decisions()
    outcome = bot.outcome(decision.id)
    assert outcome is not None
    assert outcome.status == "failed"
    assert not _hidden(bot, item_id)

    bot.clock.advance(minutes=1)  # past the outbox's back-off
    for _ in range(3):
        bot.container.outbox.deliver_due()
    wait_until(lambda: "confirmed hidden" in _json(bot.card(item_id)), what="the retry")
    outcome = bot.outcome(decision.id)
    assert outcome is not None
    assert (outcome.status, outcome.attempts) == ("done", 2)
    assert _hidden(bot, item_id)
    attempts = bot.graph_calls("POST", cid)
    assert len(attempts) == 2, "one failed attempt, then exactly one hide"
    assert len(bot.decisions()) == 1
    bot.settle()


# ---------------------------------------------------------------------- untrusted text


HOSTILE = "Hey <!channel> and <@U123>: see <https://evil.example|your bank> &amp; idiots"
RAW_MARKUP = ("<!channel>", "<@U123>", "<https://evil.example", "&amp; idiots")


def _mrkdwn_texts(value: object) -> Iterator[str]:
    """Every string Slack would parse as mrkdwn: mrkdwn objects and a message's ``text``."""
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            yield value["text"]
        for key, child in value.items():
            if key != "text" or isinstance(child, dict | list):
                yield from _mrkdwn_texts(child)
    elif isinstance(value, list):
        for child in value:
            yield from _mrkdwn_texts(child)


def _plain_texts(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        if value.get("type") == "plain_text" and isinstance(value.get("text"), str):
            yield value["text"]
        for child in value.values():
            yield from _plain_texts(child)
    elif isinstance(value, list):
        for child in value:
            yield from _plain_texts(child)


def _slack_texts(call: RecordedCall) -> list[str]:
    params = call.params
    texts = [str(params["text"])] if params.get("text") else []
    texts += _mrkdwn_texts(params.get("blocks") or [])
    texts += _mrkdwn_texts(params.get("view") or {})
    return texts


def test_resident_markup_reaches_slack_inert(bot: Bot) -> None:
    item_id = bot.comment(HOSTILE)
    view = bot.open_modal(SMAT1, item_id, ui_ids.HIDE)
    bot.submit(SMAT1, view, note="Has <!here> in it & more")
    wait_until(lambda: "confirmed hidden" in _json(bot.card(item_id)), what="the hide")
    bot.open_modal(SMAT1, item_id, ui_ids.WARN)

    calls = [
        call
        for method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open")
        for call in bot.slack.calls(method)
    ]
    assert len(calls) >= 4
    for call in calls:
        for text in _slack_texts(call):
            for raw in (*RAW_MARKUP, "<!here>"):
                assert raw not in text, f"{call.method} put {raw!r} in mrkdwn: {text!r}"
    shown = [t for c in calls for t in _plain_texts(c.params.get("blocks") or c.params.get("view"))]
    assert HOSTILE in shown, "the comment is shown, as plain text"
    assert bot.graph.nodes[bot.external_id(item_id)].fields["message"] == HOSTILE


# ---------------------------------------------------------------------- races (PostgreSQL)


@pytest.mark.postgres
def test_simultaneous_approve_clicks_make_exactly_one_decision(
    postgres_url: str, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_bot(postgres_url, fake_slack, monkeypatch) as bot:
        item_id = bot.comment(CLEAN)
        value = bot.button(item_id, ui_ids.APPROVE)
        barrier = threading.Barrier(6)
        responses: list[int] = []

        def click(user: str) -> None:
            with httpx.Client(timeout=10) as http:
                barrier.wait()
                item = bot.item(item_id)
                payload = block_actions_payload(
                    user_id=user,
                    action_id=ui_ids.APPROVE,
                    value=value,
                    channel_id=bot.triage,
                    message_ts=str(item.slack_ts),
                    response_url=bot.slack.response_url("race"),
                )
                response = post_signed(
                    http, f"{bot.url}/slack/events", form_body(payload), SIGNING_SECRET
                )
                responses.append(response.status_code)

        users = [SMAT1, SMAT2, CLERK] * 2
        threads = [threading.Thread(target=click, args=(user,)) for user in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert responses == [200] * 6
        refusals = wait_until(
            lambda: (
                len(bot.slack.calls("chat.postEphemeral")) == 5
                and bot.slack.calls("chat.postEphemeral")
            ),
            what="five refusals",
        )
        [decision] = bot.decisions()
        assert decision.action == "approve"
        who = f"<@{decision.actor_slack_id}>"
        assert all(f"Already handled by {who}" in c.params["text"] for c in refusals)
        assert bot.item(item_id).version == 2
