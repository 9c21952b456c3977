"""The shape check in front of Bolt: Slack's own requests pass, malformed ones are named."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.slack_gate import envelope_problem
from tests.fakes.slack_requests import (
    block_actions_payload,
    encode_form,
    form_body,
    slash_command_form,
    view_submission_payload,
)

FORM = "application/x-www-form-urlencoded"


def click(**changes: Any) -> dict[str, Any]:
    """A real-looking block_actions payload with some fields changed."""
    payload = block_actions_payload(
        user_id="U0SMAT1",
        action_id="smat_approve",
        value='{"item": 1, "version": 1}',
        channel_id="C0TRIAGE",
        message_ts="1763285400.000100",
        response_url="https://hooks.slack.test/actions/T0/1/abc",
    )
    payload.update(changes)
    return payload


def test_what_slack_sends_passes() -> None:
    assert envelope_problem(form_body(click()), FORM) is None
    assert envelope_problem(form_body(click(enterprise=None)), FORM) is None
    submission = view_submission_payload(
        user_id="U0SMAT1", callback_id="smat_hide_modal", private_metadata="{}", values={}
    )
    assert envelope_problem(form_body(submission), FORM) is None
    command = slash_command_form(
        command="/smat", user_id="U0SMAT1", response_url="https://hooks.slack.test/c", text="help"
    )
    assert envelope_problem(encode_form(command), FORM) is None
    event = {"type": "event_callback", "event": {"type": "app_home_opened", "user": "U1"}}
    assert envelope_problem(json.dumps(event).encode(), "application/json") is None
    challenge = {"type": "url_verification", "challenge": "abc", "token": "t"}
    json_utf8 = "application/json; charset=utf-8"
    assert envelope_problem(json.dumps(challenge).encode(), json_utf8) is None


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"channel": False}, "channel is not an object"),
        ({"view": None}, "view is not an object"),
        ({"user": "U0SMAT1"}, "user is not an object"),
        ({"enterprise": []}, "enterprise is not an object"),
        ({"type": 7}, "type is not a string"),
        ({"trigger_id": {"x": 1}}, "trigger_id is not a string"),
        ({"actions": []}, "block_actions without actions"),
        ({"actions": "smat_approve"}, "block_actions without actions"),
        ({"actions": [None]}, "an action is not an object"),
        ({"actions": [{"value": "x"}]}, "an action has no action_id"),
        ({"actions": [{"action_id": "a", "block_id": 3}]}, "an action's block_id is not a string"),
    ],
)
def test_malformed_payloads_are_named(changes: dict[str, Any], problem: str) -> None:
    assert envelope_problem(form_body(click(**changes)), FORM) == problem


def test_a_view_submission_needs_its_callback_id() -> None:
    payload = {"type": "view_submission", "user": {"id": "U1"}, "view": {"id": "V1"}}
    assert envelope_problem(form_body(payload), FORM) == "view has no callback_id"


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (b"\xff\xfe", FORM, "body is not UTF-8"),
        (b"payload=%7B", FORM, "payload is not JSON"),
        (urlencode({"payload": "[1, 2]"}).encode(), FORM, "payload is not a JSON object"),
        (b"payload=%7B%7D&payload=%7B%7D", FORM, "more than one payload field"),
        (b"{not json", "application/json", "body is not JSON"),
        (b"[]", "application/json", "payload is not a JSON object"),
        (b'{"event": "x"}', "application/json", "event is not an object"),
        (b"a=1&&=", FORM, "body is not form-encoded"),
    ],
)
def test_malformed_bodies_are_named(body: bytes, content_type: str, problem: str) -> None:
    assert envelope_problem(body, content_type) == problem
