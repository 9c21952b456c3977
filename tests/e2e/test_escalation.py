"""Escalation to the Town Clerk, end to end over HTTP.

The real Bolt app receives signed clicks and form submissions and talks to the fake Slack Web
API; the real Facebook connector talks to a fake Graph API. Time is a FakeClock moved by hand:
the reminder job is the service method the scheduler calls, run at chosen moments, and the
outbox is delivered straight after (as the scheduler's delivery job would within seconds).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot import ui_ids
from bot.container import build
from bot.slack_app import create_slack_app
from bot.web import create_wsgi_app
from config.settings import Settings, deep_merge
from storage.models import Decision, Escalation, PreservedRecord
from tests.conftest import SIGNING_SECRET, slack_overrides
from tests.e2e.test_decisions import COUNCIL, FLAGGED, POST_ID, TOKEN_ENV, Bot, wait_until
from tests.fakes import fake_graph
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.fake_graph import FakeGraph
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.platform_server import PlatformServer
from tests.fakes.slack_requests import (
    block_actions_payload,
    form_body,
    post_signed,
    view_submission_payload,
)
from tests.fakes.wsgi_server import serve_wsgi

SMAT1, CLERK, DEPUTY, VIEWER, OUTSIDER = "U0SMAT1", "U0CLERK", "U0DEPUTY", "U0VIEWER", "U0OUT"
MEMBERS = ((SMAT1, "smat"), (CLERK, "clerk"), (DEPUTY, "deputy"), (VIEWER, "viewer"))
THREAT = "I know where you live and I will smash your face in"
ESCALATION_CHANNEL = "#smat-escalations"


@pytest.fixture
def bot(tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bot]:
    """The bot in HTTP mode over the fakes, with a Clerk and a Deputy Clerk."""
    graph = FakeGraph()
    graph.add_post(POST_ID, datetime(2026, 11, 16, 8, 30, tzinfo=UTC), "Christmas lights")
    monkeypatch.setenv(TOKEN_ENV, fake_graph.TOKEN)
    clock = FakeClock()  # Monday 16 November 2026, 09:00 in London
    with PlatformServer(graph.handle) as platform:
        overrides = slack_overrides(fake_slack, *MEMBERS) | {
            "database_url": f"sqlite:///{tmp_path / 'smat.db'}",
            "council": COUNCIL,
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
        container = build(
            Settings(**deep_merge({}, overrides)), classifier=KeywordClassifier(), clock=clock
        )
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


# ---------------------------------------------------------------------- moves in Slack


def post(bot: Bot, payload: dict[str, Any]) -> httpx.Response:
    response = post_signed(bot.http, f"{bot.url}/slack/events", form_body(payload), SIGNING_SECRET)
    assert response.status_code == 200, response.text
    return response


def escalate(
    bot: Bot,
    item_id: int,
    reason: str,
    *,
    user: str = SMAT1,
    offences: tuple[str, ...] = (),
    note: str | None = None,
) -> dict[str, Any]:
    """Escalate… on the triage card, then submit the form; returns the form's view."""
    view = bot.open_modal(user, item_id, ui_ids.ESCALATE)
    values = {
        ui_ids.ESCALATION_REASON_BLOCK: {
            ui_ids.ESCALATION_REASON_INPUT: {
                "type": "radio_buttons",
                "selected_option": {"value": reason},
            }
        },
        ui_ids.OFFENCES_BLOCK: {
            ui_ids.OFFENCES_INPUT: {
                "type": "multi_static_select",
                "selected_options": [{"value": key} for key in offences],
            }
        },
        ui_ids.NOTE_BLOCK: {ui_ids.NOTE_INPUT: {"type": "plain_text_input", "value": note}},
    }
    post(
        bot,
        view_submission_payload(
            user_id=user,
            callback_id=view["callback_id"],
            private_metadata=view["private_metadata"],
            values=values,
        ),
    )
    return view


def escalation(bot: Bot) -> Escalation:
    """The latest escalation (waiting for it: the form's listener runs after the ack)."""

    def latest() -> Escalation | None:
        with bot.container.sessions() as session:
            return session.scalars(select(Escalation).order_by(Escalation.id.desc())).first()

    row: Escalation = wait_until(latest, what="an escalation")
    return row


def clerk_dm(bot: Bot) -> str:
    return bot.slack.dm_channel_id(CLERK)


def channel(bot: Bot) -> str:
    return bot.slack.channel_id(ESCALATION_CHANNEL)


def card_in(bot: Bot, where: str) -> dict[str, Any]:
    """The Clerk's card in the escalation channel ("channel") or the Clerk's DM ("dm")."""
    row = escalation(bot)
    ts = row.channel_ts if where == "channel" else row.clerk_dm_ts
    assert ts is not None, f"no card in the {where}"
    message = bot.slack.message(channel(bot) if where == "channel" else clerk_dm(bot), ts)
    assert message is not None
    return message


def buttons_of(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        element["action_id"]: element
        for block in message.get("blocks", [])
        for element in block.get("elements", [])
        if element.get("type") == "button"
    }


def click_card(
    bot: Bot, user: str, action_id: str, *, where: str = "dm", value: str | None = None
) -> None:
    """A click on one of the Clerk's card's buttons as it is now."""
    message = card_in(bot, where)
    post(
        bot,
        block_actions_payload(
            user_id=user,
            action_id=action_id,
            value=value if value is not None else buttons_of(message)[action_id]["value"],
            channel_id=channel(bot) if where == "channel" else clerk_dm(bot),
            message_ts=message["ts"],
            response_url=bot.slack.response_url(f"clerk-{action_id}"),
        ),
    )


def submit_outcome(
    bot: Bot, user: str, view: dict[str, Any], *, reason: str | None = None, note: str = "Seen"
) -> None:
    values: dict[str, Any] = {
        ui_ids.NOTE_BLOCK: {ui_ids.NOTE_INPUT: {"type": "plain_text_input", "value": note}}
    }
    if reason is not None:
        values[ui_ids.REASON_BLOCK] = {
            ui_ids.REASON_INPUT: {"type": "static_select", "selected_option": {"value": reason}}
        }
    post(
        bot,
        view_submission_payload(
            user_id=user,
            callback_id=view["callback_id"],
            private_metadata=view["private_metadata"],
            values=values,
        ),
    )


def open_outcome(bot: Bot, user: str, action_id: str, where: str = "dm") -> dict[str, Any]:
    before = len(bot.slack.calls("views.open"))
    click_card(bot, user, action_id, where=where)
    call = bot.slack.wait_for("views.open", count=before + 1)[before]
    assert call.ok, call
    view: dict[str, Any] = call.params["view"]
    return view


def run_reminders(bot: Bot) -> None:
    """What the scheduler does: the reminder job, then outbox delivery."""
    bot.container.escalations().send_reminders()
    bot.container.outbox.deliver_due()


def texts(bot: Bot, channel_id: str) -> list[str]:
    return [str(m.get("text", "")) for m in bot.slack.messages(channel_id)]


def as_json(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


# ---------------------------------------------------------------------- escalating


def test_escalate_posts_the_same_card_to_the_clerks_dm_and_the_channel(bot: Bot) -> None:
    item_id = bot.comment(FLAGGED)
    view = escalate(
        bot,
        item_id,
        "abuse_of_staff",
        offences=("harassment_s2", "malicious_communications_s1"),
        note="Third time this week <!channel>",
    )
    assert view["callback_id"] == ui_ids.ESCALATE_MODAL
    reasons = next(b for b in view["blocks"] if b.get("block_id") == "escalation_reason")
    assert len(reasons["element"]["options"]) == 7

    bot.wait_ephemeral(SMAT1, "sent to the Clerk now")
    row = escalation(bot)
    assert (row.reason, row.escalated_by, row.immediate, row.status) == (
        "abuse_of_staff",
        SMAT1,
        False,
        "open",
    )
    dm, in_channel = card_in(bot, "dm"), card_in(bot, "channel")
    assert dm["blocks"] == in_channel["blocks"]
    card = as_json(dm)
    assert "Abuse of staff" in card
    assert "Protection from Harassment Act 1997, s2 — Harassment" in card
    assert "Malicious Communications Act 1988, s1" in card
    # Residents' and members' words are plain text only.
    body = [b for b in dm["blocks"] if b.get("text", {}).get("text") == FLAGGED]
    assert body
    assert body[0]["text"]["type"] == "plain_text"
    note = [e for b in dm["blocks"] for e in b.get("elements", []) if "<!channel>" in str(e)]
    assert [e["type"] for e in note] == ["plain_text"]
    buttons = buttons_of(dm)
    assert list(buttons) == [
        ui_ids.ESCALATION_ACK,
        ui_ids.ESCALATION_UPHOLD,
        ui_ids.ESCALATION_OVERRULE,
        ui_ids.ESCALATION_POLICE,
        ui_ids.ESCALATION_REPORT,
        ui_ids.REPLY,
        ui_ids.EVIDENCE_PACK,
        ui_ids.OPEN_PERMALINK,
    ]
    version = bot.item(item_id).version
    assert json.loads(buttons[ui_ids.REPLY]["value"]) == {"item": item_id, "version": version}
    assert json.loads(buttons[ui_ids.EVIDENCE_PACK]["value"]) == {"item": item_id}
    # The triage card says where it stands and offers no second escalation.
    triage = as_json(bot.card(item_id))
    assert "Escalated to the Town Clerk" in triage
    assert "With the Town Clerk" in triage
    assert ui_ids.ESCALATE not in triage
    [decision] = bot.decisions()
    assert (decision.action, decision.actor_slack_id) == ("escalate", SMAT1)
    assert bot.graph.requests == [], "nothing happens on the platform"


def test_reminders_in_working_hours_only_then_the_deputy(bot: Bot) -> None:
    bot.clock.now = datetime(2026, 11, 16, 16, 0, tzinfo=UTC)  # Monday 16:00
    item_id = bot.comment(FLAGGED)
    escalate(bot, item_id, "press")
    wait_until(lambda: escalation(bot).clerk_dm_ts, what="the Clerk's DM")
    dm = clerk_dm(bot)

    for moment in (
        datetime(2026, 11, 16, 17, 59, tzinfo=UTC),
        datetime(2026, 11, 16, 23, 0, tzinfo=UTC),  # night
        datetime(2026, 11, 17, 3, 0, tzinfo=UTC),
        datetime(2026, 11, 17, 9, 59, tzinfo=UTC),
    ):
        bot.clock.now = moment
        run_reminders(bot)
        assert not any("Reminder" in text for text in texts(bot, dm)), moment
    bot.clock.now = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)  # 2 working hours on
    run_reminders(bot)
    assert [t for t in texts(bot, dm) if "Reminder" in t] == [
        next(t for t in texts(bot, dm) if t.startswith(":bell: Reminder 1:"))
    ]
    assert "waiting for the Clerk to acknowledge* (1 reminder sent)" in as_json(card_in(bot, "dm"))
    assert bot.slack.messages(bot.slack.dm_channel_id(DEPUTY)) == []

    bot.clock.now = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)  # 4 working hours on
    run_reminders(bot)
    [ping] = bot.slack.messages(bot.slack.dm_channel_id(DEPUTY))
    assert "has not acknowledged" in ping["text"]
    assert any(
        m.get("thread_ts") == escalation(bot).channel_ts and "Deputy Clerk" in m["text"]
        for m in bot.slack.messages(channel(bot))
    )
    assert "Deputy Clerk pinged" in as_json(card_in(bot, "channel"))

    # The Deputy acknowledges from the ping; the reminders stop.
    post(
        bot,
        block_actions_payload(
            user_id=DEPUTY,
            action_id=ui_ids.ESCALATION_ACK,
            value=buttons_of(ping)[ui_ids.ESCALATION_ACK]["value"],
            channel_id=bot.slack.dm_channel_id(DEPUTY),
            message_ts=ping["ts"],
            response_url=bot.slack.response_url("deputy-ack"),
        ),
    )
    bot.wait_ephemeral(DEPUTY, "Acknowledged")
    wait_until(lambda: "acknowledged by" in as_json(card_in(bot, "dm")), what="the card")
    assert ui_ids.ESCALATION_ACK not in buttons_of(card_in(bot, "dm"))
    reminders = len([t for t in texts(bot, dm) if "Reminder" in t])
    bot.clock.now = datetime(2026, 11, 18, 16, 0, tzinfo=UTC)
    run_reminders(bot)
    assert len([t for t in texts(bot, dm) if "Reminder" in t]) == reminders
    row = escalation(bot)
    assert (row.status, row.acknowledged_by) == ("acknowledged", DEPUTY)


def test_an_ordinary_escalation_at_night_reaches_the_clerk_in_the_morning(bot: Bot) -> None:
    bot.clock.now = datetime(2026, 11, 16, 21, 0, tzinfo=UTC)  # Monday 21:00
    item_id = bot.comment(FLAGGED)
    escalate(bot, item_id, "complaint")
    bot.wait_ephemeral(SMAT1, "when the office opens, at 09:00 on Tuesday 17 Nov")
    wait_until(lambda: escalation(bot).channel_ts, what="the channel card")
    run_reminders(bot)
    assert escalation(bot).clerk_dm_ts is None
    assert bot.slack.messages(clerk_dm(bot)) == []
    bot.clock.now = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    run_reminders(bot)
    assert escalation(bot).clerk_dm_ts is not None
    assert [m["ts"] for m in bot.slack.messages(clerk_dm(bot))] == [escalation(bot).clerk_dm_ts]


def test_a_threat_at_night_pings_the_clerk_at_once_and_the_deputy_soon(bot: Bot) -> None:
    bot.clock.now = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # Saturday 02:00
    item_id = bot.comment(FLAGGED)
    escalate(bot, item_id, "threat", offences=("offences_against_person_s16",))
    bot.wait_ephemeral(SMAT1, "*now*")
    wait_until(lambda: escalation(bot).clerk_dm_ts, what="the Clerk's DM, at night")
    assert "Immediate" in as_json(card_in(bot, "dm"))
    bot.clock.now = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)
    run_reminders(bot)
    assert any(t.startswith(":bell: Reminder 1:") for t in texts(bot, clerk_dm(bot)))
    assert len(bot.slack.messages(bot.slack.dm_channel_id(DEPUTY))) == 1


def test_a_threat_is_escalated_by_itself_at_night(bot: Bot) -> None:
    bot.clock.now = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # Sunday 03:00
    item_id = bot.comment(THREAT)  # ingests and delivers the outbox
    row = escalation(bot)
    assert (row.escalated_by, row.reason, row.immediate) == ("system", "threat", True)
    card = as_json(card_in(bot, "dm"))
    assert "SMAT Bot (automatically)" in card
    assert "Offences Against the Person Act 1861, s16 — Threats to kill" in card
    assert "With the Town Clerk" in as_json(bot.card(item_id))


# ---------------------------------------------------------------------- who may press


@pytest.mark.parametrize("user", [OUTSIDER, SMAT1, VIEWER])
def test_only_the_clerk_and_deputy_may_use_the_clerks_buttons(bot: Bot, user: str) -> None:
    item_id = bot.comment(FLAGGED)
    escalate(bot, item_id, "press")
    wait_until(lambda: escalation(bot).channel_ts, what="the channel card")
    opened = len(bot.slack.calls("views.open"))

    click_card(bot, user, ui_ids.ESCALATION_UPHOLD, where="channel")
    bot.wait_ephemeral(user, "Only the Town Clerk and the Deputy Clerk")
    click_card(bot, user, ui_ids.ESCALATION_ACK, where="channel")
    wait_until(
        lambda: len([t for t in bot.ephemerals(user) if "Only the Town Clerk" in t]) == 2,
        what="the second refusal",
    )
    assert len(bot.slack.calls("views.open")) == opened, "no form opens for them"

    # A forged submission of the Clerk's form is refused too, and changes nothing.
    forged = json.dumps(
        {
            "escalation": escalation(bot).id,
            "version": bot.item(item_id).version,
            "outcome": "overruled",
            "channel": channel(bot),
            "ts": escalation(bot).channel_ts,
        }
    )
    submit_outcome(
        bot,
        user,
        {"callback_id": ui_ids.ESCALATION_OUTCOME_MODAL, "private_metadata": forged},
    )
    wait_until(
        lambda: len([t for t in bot.ephemerals(user) if "Only the Town Clerk" in t]) == 3,
        what="the refused submission",
    )
    row = escalation(bot)
    assert (row.status, row.acknowledged_by, row.outcome) == ("open", None, None)
    assert [d.action for d in bot.decisions()] == ["escalate"]


# ---------------------------------------------------------------------- the Clerk's answers


@pytest.mark.parametrize(
    ("action_id", "outcome", "hidden", "last_action"),
    [
        (ui_ids.ESCALATION_UPHOLD, "upheld", True, "hide"),
        (ui_ids.ESCALATION_OVERRULE, "overruled", False, "approve"),
        (ui_ids.ESCALATION_POLICE, "hidden_referred_police", True, "hide"),
        (ui_ids.ESCALATION_REPORT, "reported_to_platform", False, "escalate"),
    ],
)
def test_the_clerks_outcomes_are_recorded_and_both_cards_updated(
    bot: Bot, action_id: str, outcome: str, hidden: bool, last_action: str
) -> None:
    item_id = bot.comment(FLAGGED)
    escalate(bot, item_id, "threat")
    wait_until(lambda: escalation(bot).clerk_dm_ts, what="the Clerk's DM")

    view = open_outcome(bot, CLERK, action_id)
    assert view["callback_id"] == ui_ids.ESCALATION_OUTCOME_MODAL
    asks_reason = any(b.get("block_id") == ui_ids.REASON_BLOCK for b in view["blocks"])
    assert asks_reason == hidden
    submit_outcome(bot, CLERK, view, reason="violent_or_threatening" if hidden else None)

    wait_until(lambda: escalation(bot).status == "closed", what="the outcome")
    row = escalation(bot)
    assert (row.outcome, row.outcome_by, row.acknowledged_by, row.outcome_note) == (
        outcome,
        CLERK,
        CLERK,
        "Seen",
    )
    decisions = bot.decisions()
    assert decisions[-1].action == last_action
    if last_action != "escalate":
        assert decisions[-1].actor_slack_id == CLERK
    if hidden:
        wait_until(
            lambda: bot.graph.nodes[bot.external_id(item_id)].fields["is_hidden"],
            what="the hide on Facebook",
        )
    else:
        assert bot.graph.requests == []
    with bot.container.sessions() as session:
        holds = [r.legal_hold for r in session.scalars(select(PreservedRecord))]
    assert holds == ([True] if outcome == "hidden_referred_police" else [False] if hidden else [])

    for where in ("dm", "channel"):
        wait_until(lambda w=where: "Escalation closed" in card_in(bot, w)["text"], what=where)
        card = card_in(bot, where)
        assert set(buttons_of(card)) == {ui_ids.REPLY, ui_ids.EVIDENCE_PACK, ui_ids.OPEN_PERMALINK}
    wait_until(lambda: "by the Clerk" in as_json(bot.card(item_id)), what="the triage card")

    # A second click, here on the channel's copy before it refreshed, is refused with who.
    stale_value = json.dumps({"escalation": row.id, "version": bot.item(item_id).version})
    click_card(bot, DEPUTY, ui_ids.ESCALATION_OVERRULE, where="channel", value=stale_value)
    bot.wait_ephemeral(DEPUTY, f"Already handled by <@{CLERK}>")
    assert len(bot.decisions()) == len(decisions)


def test_a_clerk_card_left_behind_by_a_triage_decision_is_refreshed(bot: Bot) -> None:
    item_id = bot.comment(FLAGGED)
    escalate(bot, item_id, "press")
    wait_until(lambda: escalation(bot).clerk_dm_ts, what="the Clerk's DM")
    old_value = buttons_of(card_in(bot, "dm"))[ui_ids.ESCALATION_UPHOLD]["value"]
    # A SMAT member hides it from the triage card meanwhile.
    view = bot.open_modal(SMAT1, item_id, ui_ids.HIDE)
    bot.submit(SMAT1, view, reason="bullying_or_harassment")
    wait_until(lambda: "confirmed hidden" in as_json(bot.card(item_id)), what="the hide")

    opened = len(bot.slack.calls("views.open"))
    click_card(bot, CLERK, ui_ids.ESCALATION_UPHOLD, value=old_value)
    bot.wait_ephemeral(CLERK, "out of date")
    time.sleep(0.1)
    assert len(bot.slack.calls("views.open")) == opened
    fresh = buttons_of(card_in(bot, "dm"))[ui_ids.ESCALATION_UPHOLD]["value"]
    assert fresh != old_value
    assert "Hidden on Facebook now" in as_json(card_in(bot, "dm"))
    with bot.container.sessions() as session:
        assert [d.action for d in session.scalars(select(Decision))] == ["escalate", "hide"]


# ---------------------------------------------------------------------- Home tab and /smat


def test_open_escalations_on_the_home_tab_and_in_smat_commands(bot: Bot) -> None:
    from tests.e2e.test_home import open_home, published_view
    from tests.e2e.test_smat_command import Slash

    item_id = bot.comment(FLAGGED)
    escalate(bot, item_id, "defamation_legal")
    wait_until(lambda: escalation(bot).clerk_dm_ts, what="the Clerk's DM")

    assert open_home(bot.http, bot.url, CLERK).status_code == 200
    home = as_json(published_view(bot.slack, CLERK))
    assert "Escalations with the Town Clerk" in home
    assert "Defamation or legal" in home
    assert "not acknowledged" in home
    assert "1 escalation with the Town Clerk* — 1 not acknowledged yet" in home

    slash = Slash(bot.url, bot.slack)
    answer = as_json(slash.run(SMAT1, "escalations"))
    assert "1 escalation with the Town Clerk" in answer
    assert "Defamation or legal" in answer
    assert "escalation with the Town Clerk" in as_json(slash.run(VIEWER, "queue"))
    refused = slash.run(OUTSIDER, "escalations")
    assert "only SMAT members" in refused["text"]

    click_card(bot, CLERK, ui_ids.ESCALATION_ACK)
    wait_until(lambda: escalation(bot).status == "acknowledged", what="the acknowledgement")
    assert "acknowledged by" in as_json(slash.run(SMAT1, "escalations"))
