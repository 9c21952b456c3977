"""Pure pieces of replies: option values, the editor's metadata, hostile forms, settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from bot import ui_ids
from bot.reply_modal import parse_option_value, response_metadata
from bot.services.replies import missing_values, preview
from config.settings import Settings
from handlers.payloads import PayloadError
from handlers.replies import parse_reply_submission, parse_response_choice
from handlers.responses import (
    EditResponse,
    ListResponses,
    ResponseHistory,
    ResponsesUsage,
    ShowResponse,
    parse_responses_command,
)

METADATA = json.dumps({"item": 3, "version": 2, "channel": "C1", "ts": "1.2"})
SLACK = {"channels": {"triage": "#t", "escalation": "#e", "digest": "#d"}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("highways:3", ("highways", 3)),
        ("own", (None, None)),
        ("highways", (None, None)),
        ("highways:x", (None, None)),
        (":3", (None, None)),
        ("a:99999999999", (None, None)),
        ("a:\u0661", (None, None)),  # a non-ASCII digit
        (None, (None, None)),
    ],
)
def test_option_values(value: str | None, expected: tuple[str | None, int | None]) -> None:
    assert parse_option_value(value) == expected


def test_editor_metadata_is_checked() -> None:
    assert response_metadata({"private_metadata": '{"key":"bins","version":2}'}) == ("bins", 2)
    assert response_metadata({"private_metadata": '{"key":null,"version":0}'}) == (None, 0)
    for raw in ['{"key":null,"version":3}', '{"key":"b","version":0}', "[]", "x", ""]:
        with pytest.raises(ValueError, match="private_metadata"):
            response_metadata({"private_metadata": raw})


def test_preview_fills_what_it_can_and_names_what_is_missing() -> None:
    values = {"author_name": "Kev", "planning_url": None}
    assert preview("Hi {author_name}, see {planning_url}", values) == ("Hi Kev, see {planning_url}")
    assert missing_values("Hi {author_name}, see {planning_url}", values) == ["planning_url"]
    assert missing_values("Hi {author_name}", values) == []


def _submission(values: dict[str, Any], metadata: str = METADATA) -> dict[str, Any]:
    return {
        "user": {"id": "U1"},
        "view": {
            "callback_id": ui_ids.REPLY_MODAL,
            "private_metadata": metadata,
            "state": {"values": values},
        },
    }


def test_a_reply_submission_is_read() -> None:
    parsed = parse_reply_submission(
        _submission(
            {
                "reply_text:bins:1": {"reply_text": {"value": "  Hello {author_name}  "}},
                "reply_response": {"smat_reply_response": {"selected_option": {"value": "bins:1"}}},
                "reply_route": {"reply_route": {"selected_option": {"value": "press"}}},
            }
        )
    )
    form = parsed.form
    assert (form.review_item_id, form.expected_version, form.actor_slack_id) == (3, 2, "U1")
    assert (form.canned_key, form.canned_version, form.text) == ("bins", 1, "Hello {author_name}")
    assert (form.route, form.route_only, parsed.text_block) == ("press", False, "reply_text:bins:1")


def test_a_form_without_a_text_box_only_passes_it_on() -> None:
    parsed = parse_reply_submission(
        _submission({"reply_route": {"reply_route": {"selected_option": {"value": "press"}}}})
    )
    assert parsed.form.route_only


@pytest.mark.parametrize(
    "body",
    [
        _submission({}, metadata="{}"),
        _submission({"reply_text:a": {"reply_text": {"value": 5}}}),
        _submission({"reply_text:a": {"reply_text": {}}, "reply_text:b": {"reply_text": {}}}),
        _submission({"reply_route": {"reply_route": {"selected_option": "press"}}}),
        _submission({"reply_only_route": {"reply_only_route": {"selected_options": "x"}}}),
        {"user": {"id": "U1"}, "view": {"callback_id": "other", "private_metadata": METADATA}},
        {"view": {"callback_id": ui_ids.REPLY_MODAL, "private_metadata": METADATA}},
        {},
    ],
)
def test_a_hostile_reply_submission_is_a_payload_error(body: dict[str, Any]) -> None:
    with pytest.raises(PayloadError):
        parse_reply_submission(body)


def test_a_hostile_response_choice_is_a_payload_error() -> None:
    good = {
        "user": {"id": "U1"},
        "view": {"id": "V1", "callback_id": ui_ids.REPLY_MODAL, "private_metadata": METADATA},
        "actions": [{"selected_option": {"value": "bins:1"}}],
    }
    assert parse_response_choice(good).selected == "bins:1"
    for broken in (
        {**good, "actions": []},
        {**good, "view": {**good["view"], "private_metadata": "[1]"}},
        {**good, "actions": [{"selected_option": {"value": 1}}]},
    ):
        with pytest.raises(PayloadError):
            parse_response_choice(broken)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ([], ListResponses()),
        (["list"], ListResponses()),
        (["show", "Bins_Waste"], ShowResponse("bins_waste")),
        (["history", "highways"], ResponseHistory("highways")),
        (["edit", "highways"], EditResponse("highways")),
        (["add"], EditResponse(None)),
    ],
)
def test_responses_commands(words: list[str], expected: object) -> None:
    assert parse_responses_command(words) == expected


@pytest.mark.parametrize(
    "words", [["edit"], ["edit", "a", "b"], ["show", "<@U1>"], ["add", "x"], ["frobnicate"]]
)
def test_bad_responses_commands_say_how(words: list[str]) -> None:
    with pytest.raises(ResponsesUsage):
        parse_responses_command(words)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"replies": {"variables": {"Bad-Name": "x"}}}, "not a placeholder name"),
        ({"replies": {"variables": {"council_email": "x"}}}, "council section"),
        ({"routing": {"press": {"contact": "press office"}}}, "pattern"),
        ({"routing": {"gossip": {"label": "Gossip"}}}, "routing"),
    ],
)
def test_reply_settings_are_checked(overrides: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(council={"name": "X"}, slack=SLACK, **overrides)
