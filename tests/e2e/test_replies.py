"""Replies, routing and the standard responses library, end to end over HTTP.

The real Bolt app receives signed clicks, form changes, form submissions and ``/smat``
commands; it talks to the fake Slack Web API, and the real Facebook connector posts replies to
a fake Graph API over real HTTP.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
from storage.models import CannedResponseVersion, Decision, Reply
from tests.conftest import SIGNING_SECRET, slack_overrides
from tests.e2e.test_decisions import (
    CREATED,
    MEMBERS,
    OUTSIDER,
    POST_ID,
    SMAT1,
    TOKEN_ENV,
    VIEWER,
    Bot,
    wait_until,
)
from tests.e2e.test_members_command import Slash
from tests.fakes import fake_graph
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.fake_graph import FakeGraph, graph_error
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.platform_server import PlatformServer
from tests.fakes.slack_requests import (
    DEFAULT_TEAM_ID,
    form_body,
    new_trigger_id,
    post_signed,
    view_submission_payload,
)
from tests.fakes.wsgi_server import serve_wsgi

CLERK = "U0CLERK"
PRESS_OFFICER = "U0PRESS"
COUNCIL = {
    "name": "Example Town Council",
    "email": "clerk@example-tc.gov.uk",
    "phone": "01234 567890",
    "website": "https://example-tc.gov.uk",
}
REPLIES = {
    "variables": {
        "highways_authority": "Central Bedfordshire Council",
        "highways_url": "https://www.centralbedfordshire.gov.uk/report-it",
        "contact_centre": "Customer Services on 0300 300 8000",
        "press_office": "the press office at press@example-tc.gov.uk",
    }
}
ROUTING = {
    "service_request": {"contact": "#contact-centre"},
    "complaint": {"contact": "#complaints"},
    "press": {"contact": PRESS_OFFICER},
}
POTHOLE = "There's a huge pothole on Station Road outside the Co-op, who sorts this?"
PLANNING = "Has anyone seen the planning application for the old garage site?"
SERVICE = "The bin on the green is overflowing again, please fix it"
PRESS = "I'm a reporter at the Gazette, could we have a statement from the council?"
HIGHWAYS_FILLED = (
    "Hello A Resident, thank you for letting us know. Roads, pavements, potholes and street "
    "lights are looked after by Central Bedfordshire Council, the highways authority. Please "
    "report it to them at https://www.centralbedfordshire.gov.uk/report-it so that it is logged "
    "and inspected."
)


@contextmanager
def running_bot(
    database_url: str, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Bot]:
    """The bot in HTTP mode over the fakes, with reply values and routing contacts set."""
    graph = FakeGraph()
    graph.add_post(POST_ID, CREATED, "Christmas lights switch-on")
    monkeypatch.setenv(TOKEN_ENV, fake_graph.TOKEN)
    clock = FakeClock()
    with PlatformServer(graph.handle) as platform:
        overrides = slack_overrides(fake_slack, *MEMBERS)
        overrides |= {
            "database_url": database_url,
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
            "replies": REPLIES,
            "routing": ROUTING,
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


@pytest.fixture
def bot(tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bot]:
    with running_bot(f"sqlite:///{tmp_path / 'smat.db'}", fake_slack, monkeypatch) as running:
        yield running


# ---------------------------------------------------------------------- helpers


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _block(view: dict[str, Any], prefix: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if str(b.get("block_id", "")).startswith(prefix))


def _initial(view: dict[str, Any]) -> tuple[str, str]:
    """The form's chosen response (key:version) and the text it put in the box."""
    select_block = _block(view, ui_ids.REPLY_RESPONSE_BLOCK)
    text_block = _block(view, ui_ids.REPLY_TEXT_BLOCK)
    return (
        select_block["element"]["initial_option"]["value"],
        text_block["element"].get("initial_value", ""),
    )


def submit_reply(
    bot: Bot,
    user: str,
    view: dict[str, Any],
    *,
    text: str | None = None,
    choice: str | None = None,
    route: str | None = None,
    route_only: bool = False,
) -> httpx.Response:
    """Submit the Reply form as Slack would (the text as left in the box unless given)."""
    initial_choice, initial_text = _initial(view)
    text_block = _block(view, ui_ids.REPLY_TEXT_BLOCK)["block_id"]
    values: dict[str, dict[str, Any]] = {
        ui_ids.REPLY_RESPONSE_BLOCK: {
            ui_ids.REPLY_RESPONSE_INPUT: {
                "type": "static_select",
                "selected_option": {"value": choice or initial_choice},
            }
        },
        text_block: {ui_ids.REPLY_TEXT_INPUT: text if text is not None else initial_text},
        ui_ids.REPLY_ROUTE_BLOCK: {
            ui_ids.REPLY_ROUTE_INPUT: {
                "type": "static_select",
                "selected_option": {"value": route} if route else None,
            }
        },
        ui_ids.REPLY_ONLY_ROUTE_BLOCK: {
            ui_ids.REPLY_ONLY_ROUTE_INPUT: {
                "type": "checkboxes",
                "selected_options": [{"value": "route_only"}] if route_only else [],
            }
        },
    }
    payload = view_submission_payload(
        user_id=user,
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        values=values,
    )
    response = post_signed(bot.http, f"{bot.url}/slack/events", form_body(payload), SIGNING_SECRET)
    assert response.status_code == 200, response.text
    return response


def choose_response(bot: Bot, user: str, value: str) -> dict[str, Any]:
    """Pick another response in the open Reply form; return the view Slack was updated with."""
    opened = [v for v in bot.slack.views() if v["callback_id"] == ui_ids.REPLY_MODAL][-1]
    before = len(bot.slack.calls("views.update"))
    payload = {
        "type": "block_actions",
        "team": {"id": DEFAULT_TEAM_ID},
        "user": {"id": user, "username": user.lower(), "team_id": DEFAULT_TEAM_ID},
        "api_app_id": "A0SMATBOT",
        "trigger_id": new_trigger_id(),
        "container": {"type": "view", "view_id": opened["id"]},
        "view": {**opened, "state": {"values": {}}},
        "actions": [
            {
                "type": "static_select",
                "action_id": ui_ids.REPLY_RESPONSE_INPUT,
                "block_id": ui_ids.REPLY_RESPONSE_BLOCK,
                "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": value},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    response = post_signed(bot.http, f"{bot.url}/slack/events", form_body(payload), SIGNING_SECRET)
    assert response.status_code == 200, response.text
    call = bot.slack.wait_for("views.update", count=before + 1)[before]
    assert call.ok, call
    view: dict[str, Any] = call.params["view"]
    return view


def replies(bot: Bot) -> list[Reply]:
    with bot.container.sessions() as session:
        return list(session.scalars(select(Reply).order_by(Reply.id)))


def posted_replies(bot: Bot, item_id: int) -> list[str]:
    return [
        r.form["message"] for r in bot.graph_calls("POST", f"{bot.external_id(item_id)}/comments")
    ]


def messages_to(bot: Bot, channel: str) -> list[dict[str, Any]]:
    return bot.slack.messages(channel)


# ---------------------------------------------------------------------- replying


def test_reply_with_the_suggested_standard_response_end_to_end(bot: Bot) -> None:
    item_id = bot.comment(POTHOLE)
    card = bot.card(item_id)
    assert "Looks like an enquiry: *Roads and potholes*" in _json(card)
    buttons = [
        e["action_id"] for b in card["blocks"] for e in b.get("elements", []) if "action_id" in e
    ]
    assert buttons[:2] == [ui_ids.APPROVE, ui_ids.REPLY], "an enquiry's card offers Reply… early"
    assert json.loads(bot.button(item_id, ui_ids.REPLY)) == {"item": item_id, "version": 1}

    view = bot.open_modal(SMAT1, item_id, ui_ids.REPLY)
    assert view["callback_id"] == ui_ids.REPLY_MODAL
    choice, text = _initial(view)
    assert choice == "highways:1", "the suggested response comes first and is chosen"
    assert "{highways_url}" in text, "the box holds the response as written, to edit"
    groups = _block(view, ui_ids.REPLY_RESPONSE_BLOCK)["element"]["option_groups"]
    assert groups[0]["label"]["text"] == "Suggested for this comment"
    assert HIGHWAYS_FILLED in _json(view), "the preview shows it filled in"

    submit_reply(bot, SMAT1, view)

    wait_until(lambda: "reply posted" in _json(bot.card(item_id)), what="the reply on the card")
    assert posted_replies(bot, item_id) == [HIGHWAYS_FILLED]
    [decision] = bot.decisions()
    assert (decision.action, decision.actor_slack_id) == ("reply", SMAT1)
    [reply] = replies(bot)
    assert (reply.decision_id, reply.canned_key, reply.canned_version, reply.text) == (
        decision.id,
        "highways",
        1,
        HIGHWAYS_FILLED,
    )
    outcome = bot.outcome(decision.id)
    assert outcome is not None
    assert outcome.status == "done"
    assert outcome.platform_ref, "the reply's id on Facebook is kept"
    assert bot.item(item_id).status == "decided", "answering the enquiry settles the card"
    shown = _json(bot.card(item_id))
    assert "Replied* by <@U0SMAT1>" in shown
    assert ui_ids.APPROVE not in shown
    bot.button(item_id, ui_ids.REPLY)  # a follow-up reply is still possible
    bot.settle()


def test_choosing_another_response_refreshes_the_text_and_preview(bot: Bot) -> None:
    item_id = bot.comment(POTHOLE)
    bot.open_modal(SMAT1, item_id, ui_ids.REPLY)

    view = choose_response(bot, SMAT1, "contact_council:1")

    choice, text = _initial(view)
    assert choice == "contact_council:1"
    assert _block(view, ui_ids.REPLY_TEXT_BLOCK)["block_id"] == "reply_text:contact_council:1"
    assert text.startswith("Hello {author_name}, you can contact {council_name}")
    assert "by e-mail at clerk@example-tc.gov.uk, by phone on 01234 567890" in _json(view)

    own = choose_response(bot, SMAT1, "own")
    assert _initial(own) == ("own", "")


def test_edited_text_is_posted_as_written_with_placeholders_filled(bot: Bot) -> None:
    item_id = bot.comment(POTHOLE)
    view = bot.open_modal(SMAT1, item_id, ui_ids.REPLY)
    edited = "Thanks {author_name}. Please report it at {highways_url} and we'll chase it too."

    submit_reply(bot, SMAT1, view, text=edited)

    wait_until(lambda: "reply posted" in _json(bot.card(item_id)), what="the reply")
    expected = (
        "Thanks A Resident. Please report it at https://www.centralbedfordshire.gov.uk/report-it "
        "and we'll chase it too."
    )
    assert posted_replies(bot, item_id) == [expected]
    [reply] = replies(bot)
    assert (reply.canned_key, reply.text) == ("highways", expected)
    assert f"Reply: {expected}" in _json(bot.card(item_id))


def test_an_unfilled_placeholder_is_refused_on_the_form(bot: Bot) -> None:
    item_id = bot.comment(PLANNING)
    view = bot.open_modal(SMAT1, item_id, ui_ids.REPLY)
    assert _initial(view)[0] == "planning:1"
    assert "No value for {planning_authority}, {planning_url}" in _json(view)

    response = submit_reply(bot, SMAT1, view)

    body = response.json()
    assert body["response_action"] == "errors"
    [(block, message)] = body["errors"].items()
    assert block == "reply_text:planning:1"
    assert "{planning_authority}, {planning_url}" in message
    assert "replies.variables.planning_authority" in message
    time.sleep(0.2)
    assert bot.decisions() == []
    assert bot.graph.requests == []

    # Typing the details in makes it postable.
    fixed = "Planning applications are on https://planning.example.gov.uk, {author_name}."
    assert submit_reply(bot, SMAT1, view, text=fixed).text == ""
    wait_until(lambda: "reply posted" in _json(bot.card(item_id)), what="the reply")
    assert posted_replies(bot, item_id) == [
        "Planning applications are on https://planning.example.gov.uk, A Resident."
    ]


def test_a_reply_longer_than_the_platform_allows_is_refused_on_the_form(bot: Bot) -> None:
    item_id = bot.comment(POTHOLE)
    view = bot.open_modal(SMAT1, item_id, ui_ids.REPLY)
    response = submit_reply(bot, SMAT1, view, text="Thank you. " * 800)
    body = response.json()
    assert body["response_action"] == "errors"
    assert "Facebook allows 8,000 characters" in next(iter(body["errors"].values()))
    assert bot.decisions() == []


def test_a_platform_refusal_is_shown_on_the_card_and_the_record_kept(bot: Bot) -> None:
    item_id = bot.comment(POTHOLE)
    bot.graph.fail_next(
        status=400,
        body=graph_error(100, message="Cannot reply to this comment"),
        match=lambda request: request.method == "POST" and request.url.path.endswith("/comments"),
    )
    submit_reply(bot, SMAT1, bot.open_modal(SMAT1, item_id, ui_ids.REPLY))

    wait_until(lambda: "did not post the reply" in _json(bot.card(item_id)), what="the refusal")
    assert "Cannot reply to this comment" in _json(bot.card(item_id))
    [decision] = bot.decisions()
    [reply] = replies(bot)
    assert (decision.action, reply.decision_id, reply.text) == (
        "reply",
        decision.id,
        HIGHWAYS_FILLED,
    )
    outcome = bot.outcome(decision.id)
    assert outcome is not None
    assert outcome.status == "failed"

    # Refused as wrong: it is not retried blind; a person can reply again from the card.
    bot.clock.advance(minutes=30)
    bot.container.outbox.deliver_due()
    assert len(bot.graph_calls("POST", f"{bot.external_id(item_id)}/comments")) == 1
    bot.button(item_id, ui_ids.REPLY)


def test_non_members_can_neither_open_nor_submit_the_reply_form(bot: Bot) -> None:
    item_id = bot.comment(POTHOLE)
    view = bot.open_modal(SMAT1, item_id, ui_ids.REPLY)
    opened = len(bot.slack.calls("views.open"))

    for user in (OUTSIDER, VIEWER):
        bot.click(user, item_id, ui_ids.REPLY)
        bot.wait_ephemeral(user, "Only SMAT members")
        submit_reply(bot, user, view)  # a forged submission of someone else's form
        wait_until(lambda u=user: len(bot.ephemerals(u)) >= 2, what=f"the refusal to {user}")

    time.sleep(0.2)
    assert len(bot.slack.calls("views.open")) == opened
    assert bot.decisions() == []
    assert replies(bot) == []
    assert bot.graph.requests == []


def test_a_stale_form_is_refused_with_who_replied_first(bot: Bot) -> None:
    item_id = bot.comment(POTHOLE)
    first = bot.open_modal(SMAT1, item_id, ui_ids.REPLY)
    second = bot.open_modal("U0SMAT2", item_id, ui_ids.REPLY)
    submit_reply(bot, SMAT1, first)
    wait_until(lambda: "reply posted" in _json(bot.card(item_id)), what="the first reply")

    submit_reply(bot, "U0SMAT2", second)
    bot.wait_ephemeral("U0SMAT2", "Already handled by <@U0SMAT1> (reply)")
    assert len(posted_replies(bot, item_id)) == 1


# ---------------------------------------------------------------------- routing


def test_a_service_request_is_answered_and_passed_to_the_contact_centre(bot: Bot) -> None:
    item_id = bot.comment(SERVICE)
    view = bot.open_modal(SMAT1, item_id, ui_ids.REPLY)
    assert _initial(view)[0] == "service_request:1"
    route = _block(view, ui_ids.REPLY_ROUTE_BLOCK)["element"]
    assert route["initial_option"]["value"] == "service_request", "suggested from the words"

    submit_reply(bot, SMAT1, view, route="service_request")

    centre = bot.slack.channel_id("#contact-centre")
    wait_until(lambda: messages_to(bot, centre), what="the note to the contact centre")
    [note] = messages_to(bot, centre)
    note_json = _json(note)
    assert "*Service request* passed on by <@U0SMAT1>" in note_json
    assert {"type": "plain_text", "text": SERVICE, "emoji": False} in [
        b.get("text") for b in note["blocks"]
    ], "the resident's words only as plain_text"
    item = bot.item(item_id)
    assert f"archives/{item.slack_channel}/p{str(item.slack_ts).replace('.', '')}" in note_json
    assert "View the comment on Facebook" in note_json
    assert "Customer Services on 0300 300 8000" in note_json, "the public reply is quoted"

    wait_until(lambda: "note sent" in _json(bot.card(item_id)), what="routing on the card")
    [reply] = replies(bot)
    assert (reply.route, reply.routed_to, reply.route_status) == (
        "service_request",
        "#contact-centre",
        "sent",
    )
    assert reply.routed_at is not None
    assert "Passed on as a service request to #contact-centre — note sent" in _json(
        bot.card(item_id)
    )
    assert len(posted_replies(bot, item_id)) == 1
    bot.settle()
    assert len(messages_to(bot, centre)) == 1, "the note is sent once"


def test_a_press_enquiry_passed_on_only_reaches_the_press_officer_by_dm(bot: Bot) -> None:
    item_id = bot.comment(PRESS)
    view = bot.open_modal(SMAT1, item_id, ui_ids.REPLY)
    assert _block(view, ui_ids.REPLY_ROUTE_BLOCK)["element"]["initial_option"]["value"] == "press"

    submit_reply(bot, SMAT1, view, route="press", route_only=True)

    dm = bot.slack.dm_channel_id(PRESS_OFFICER)
    wait_until(lambda: messages_to(bot, dm), what="the DM to the press officer")
    assert "No public reply was posted." in _json(messages_to(bot, dm)[0])
    wait_until(lambda: "note sent" in _json(bot.card(item_id)), what="the card")
    [decision] = bot.decisions()
    assert decision.action == "route"
    assert bot.outcome(decision.id) is None, "nothing is done on the platform"
    assert bot.graph.requests == []
    assert "Passed on* by <@U0SMAT1>" in _json(bot.card(item_id))


def test_passing_on_only_needs_a_contact(bot: Bot) -> None:
    item_id = bot.comment(POTHOLE)
    response = submit_reply(
        bot, SMAT1, bot.open_modal(SMAT1, item_id, ui_ids.REPLY), route_only=True
    )
    assert response.json()["errors"] == {
        ui_ids.REPLY_ROUTE_BLOCK: "Pick who to pass it on to, or untick “only pass it on”"
    }
    assert bot.decisions() == []


def test_an_undeliverable_note_is_shown_on_the_card_and_the_reply_kept(bot: Bot) -> None:
    item_id = bot.comment("I want to make a formal complaint about the state of the park")
    bot.slack.fail("chat.postMessage", error="not_in_channel")  # the next post: the note
    view = bot.open_modal(SMAT1, item_id, ui_ids.REPLY)
    assert _initial(view)[0] == "complaints:1"
    submit_reply(
        bot,
        SMAT1,
        view,
        text="We're sorry to hear this, {author_name}. Please write to {council_email}.",
        route="complaint",
    )

    wait_until(lambda: "the note was not delivered" in _json(bot.card(item_id)), what="the failure")
    card = _json(bot.card(item_id))
    assert "SMAT Bot is not in #complaints: invite it there" in card
    [reply] = replies(bot)
    assert (reply.route_status, reply.text) == (
        "failed",
        "We're sorry to hear this, A Resident. Please write to clerk@example-tc.gov.uk.",
    )
    assert len(posted_replies(bot, item_id)) == 1, "the public reply still went out"


# ---------------------------------------------------------------------- the library


def _submit_editor(
    bot: Bot, user: str, view: dict[str, Any], *, title: str, body: str, key: str | None = None
) -> httpx.Response:
    values: dict[str, dict[str, Any]] = {
        ui_ids.RESPONSE_TITLE_BLOCK: {ui_ids.RESPONSE_TITLE_INPUT: title},
        ui_ids.RESPONSE_BODY_BLOCK: {ui_ids.RESPONSE_BODY_INPUT: body},
    }
    if key is not None:
        values[ui_ids.RESPONSE_KEY_BLOCK] = {ui_ids.RESPONSE_KEY_INPUT: key}
    payload = view_submission_payload(
        user_id=user,
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        values=values,
    )
    response = post_signed(bot.http, f"{bot.url}/slack/events", form_body(payload), SIGNING_SECRET)
    assert response.status_code == 200, response.text
    return response


def _versions(bot: Bot, key: str) -> list[CannedResponseVersion]:
    with bot.container.sessions() as session:
        return list(
            session.scalars(
                select(CannedResponseVersion)
                .where(CannedResponseVersion.key == key)
                .order_by(CannedResponseVersion.version)
            )
        )


def _dms(bot: Bot, user: str) -> list[str]:
    dm = bot.slack.dm_channel_id(user)
    return [str(m["text"]) for m in bot.slack.messages(dm)]


def test_the_clerk_edits_a_response_as_a_new_version_and_others_cannot(bot: Bot) -> None:
    slash = Slash(bot.url, bot.slack)
    try:
        listing = slash.run(SMAT1, "responses")
        assert "`highways` — Potholes, roads and street lights · version 1" in listing

        # A SMAT member may read but not edit.
        assert "only the Town Clerk and the Deputy Clerk" in slash.run(
            SMAT1, "responses edit highways"
        )
        assert bot.slack.calls("views.open") == []

        before = len(bot.slack.calls("views.open"))
        slash.send(CLERK, "responses edit highways")
        call = bot.slack.wait_for("views.open", count=before + 1)[before]
        view = call.params["view"]
        assert view["callback_id"] == ui_ids.RESPONSE_MODAL
        assert "{highways_url}" in _json(view)

        # An unknown placeholder is refused next to the field.
        bad = _submit_editor(bot, CLERK, view, title="Potholes", body="Report it at {pothole_url}")
        assert bad.json()["response_action"] == "errors"
        assert (
            "Unknown placeholder {pothole_url}" in bad.json()["errors"][ui_ids.RESPONSE_BODY_BLOCK]
        )

        # A forged submission by a SMAT member saves nothing.
        _submit_editor(bot, SMAT1, view, title="Potholes", body="Not my job, {author_name}.")
        wait_until(
            lambda: any("Nothing was changed" in t for t in _dms(bot, SMAT1)), what="refusal"
        )
        assert len(_versions(bot, "highways")) == 1

        new_body = (
            "Hello {author_name}, please report potholes to {highways_authority}: {highways_url}"
        )
        ok = _submit_editor(bot, CLERK, view, title="Potholes and roads", body=new_body)
        assert ok.text == ""
        wait_until(lambda: any("as version 2" in t for t in _dms(bot, CLERK)), what="the DM")
        first, second = _versions(bot, "highways")
        assert (first.version, first.created_by) == (1, "config")
        assert (second.version, second.title, second.body, second.created_by) == (
            2,
            "Potholes and roads",
            new_body,
            CLERK,
        )

        # The same (now stale) form cannot overwrite version 2.
        stale = _submit_editor(bot, CLERK, view, title="Potholes", body="Old {author_name}")
        assert "since you opened the form" in stale.json()["errors"][ui_ids.RESPONSE_BODY_BLOCK]

        history = slash.run(SMAT1, "responses history highways")
        assert "*Version 2* · by <@U0CLERK>" in history
        assert "*Version 1* · from the configuration" in history

        # Replies now start from version 2.
        item_id = bot.comment(POTHOLE)
        view = bot.open_modal(SMAT1, item_id, ui_ids.REPLY)
        assert _initial(view) == ("highways:2", new_body)
        submit_reply(bot, SMAT1, view)
        wait_until(lambda: replies(bot), what="the reply")
        assert replies(bot)[0].canned_version == 2
    finally:
        slash.http.close()


def test_the_clerk_adds_a_response(bot: Bot) -> None:
    slash = Slash(bot.url, bot.slack)
    try:
        slash.send(CLERK, "responses add")
        view = bot.slack.wait_for("views.open")[0].params["view"]
        taken = _submit_editor(bot, CLERK, view, key="highways", title="x", body="y")
        assert ui_ids.RESPONSE_KEY_BLOCK in taken.json()["errors"]
        _submit_editor(
            bot,
            CLERK,
            view,
            key="allotments",
            title="Allotments",
            body="Allotment enquiries go to {council_email}, {author_name}.",
        )
        wait_until(lambda: _versions(bot, "allotments"), what="the new response")
        assert "`allotments` — Allotments · version 1" in slash.run(SMAT1, "responses")
    finally:
        slash.http.close()


def test_every_decision_is_kept_with_its_reply(bot: Bot) -> None:
    """A reply after a hide is a follow-up: the hide stays the card's headline and its Undo."""
    item_id = bot.comment("You are all useless idiots, and there's a pothole on my road")
    bot.submit(SMAT1, bot.open_modal(SMAT1, item_id, ui_ids.HIDE))
    wait_until(lambda: "confirmed hidden" in _json(bot.card(item_id)), what="the hide")

    submit_reply(bot, SMAT1, bot.open_modal(SMAT1, item_id, ui_ids.REPLY))

    wait_until(lambda: "reply posted" in _json(bot.card(item_id)), what="the reply")
    card = _json(bot.card(item_id))
    assert "Hidden* by <@U0SMAT1>" in card
    assert "Replied* by <@U0SMAT1>" in card
    bot.button(item_id, ui_ids.UNDO)
    with bot.container.sessions() as session:
        assert [d.action for d in session.scalars(select(Decision).order_by(Decision.id))] == [
            "hide",
            "reply",
        ]
