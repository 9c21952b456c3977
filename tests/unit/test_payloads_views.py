"""Modal submissions and removal-request clicks parsed at the edge, and what a form decides.

Anyone in the workspace can post a view_submission naming any item, so parsing must turn every
odd shape into PayloadError (never KeyError or TypeError, which Bolt would answer with a 500),
and a real modal's submission must parse back to exactly the card it was opened for.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError

from bot import ui_ids
from bot.cards import TriageCard
from bot.modals import block_modal, delete_modal, hide_modal, warn_modal
from bot.services.review import Action, Requested
from config.settings import ReasonCode
from handlers.payloads import (
    MAX_NOTE,
    ModalSubmission,
    PayloadError,
    parse_modal_button,
    parse_request_click,
    parse_view_submission,
    submitter,
)
from handlers.telling import tell
from handlers.views import awaiting_message, decision_action
from platforms.types import Platform
from tests.fakes.slack_requests import block_actions_payload, view_submission_payload

DEFAULTS = Path(__file__).resolve().parents[2] / "config" / "defaults.yaml"
REASONS: dict[str, ReasonCode] = {
    code: ReasonCode(**fields)
    for code, fields in yaml.safe_load(DEFAULTS.read_text())["policy"]["reason_codes"].items()
}
CHANNEL, TS = "C0TRIAGE", "1763285400.000100"
CARD = TriageCard(
    review_item_id=42,
    review_version=3,
    status="pending",
    platform=Platform.FACEBOOK,
    account_name="Example Town Council",
    post_title="Christmas lights switch-on",
    permalink="https://www.facebook.com/posts/1?comment_id=1_2",
    author_name="A Resident",
    author_earlier_comments=0,
    created_at=datetime(2026, 11, 16, 8, 30, tzinfo=UTC),
    comment_version=1,
    text="You are all useless idiots",
    deleted=False,
    model_name="keyword-test",
    scores={"insult": 0.95},
    thresholds={"insult": 0.6},
    detections={},
    suggested_action="hide",
    reason_code="bullying_or_harassment",
    clause="Biggleswade 6.5",
    explanation="Insult above threshold.",
    decision=None,
    slack_channel=CHANNEL,
    slack_ts=TS,
)


def _modal(callback_id: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"reason_codes": REASONS, "channel": CHANNEL, "ts": TS}
    if callback_id == ui_ids.HIDE_MODAL:
        return hide_modal(CARD, **kwargs)
    if callback_id == ui_ids.DELETE_MODAL:
        return delete_modal(CARD, **kwargs)
    if callback_id == ui_ids.BLOCK_MODAL:
        return block_modal(CARD, **kwargs)
    return warn_modal(CARD, warning_preview="We have removed a comment.", **kwargs)


def submission(
    callback_id: str = ui_ids.HIDE_MODAL,
    *,
    reason: str | None = "bullying_or_harassment",
    note: str | None = "Name-calling",
    choice: str | None = None,
    metadata: str | None = None,
    user: str = "U0SMAT1",
) -> dict[str, Any]:
    """The body Slack sends when the modal built for CARD is submitted."""
    view = _modal(callback_id)
    values: dict[str, dict[str, Any]] = {
        ui_ids.REASON_BLOCK: {
            ui_ids.REASON_INPUT: {
                "type": "static_select",
                "selected_option": (
                    {"text": {"type": "plain_text", "text": reason}, "value": reason}
                    if reason
                    else None
                ),
            }
        },
        ui_ids.NOTE_BLOCK: {ui_ids.NOTE_INPUT: {"type": "plain_text_input", "value": note}},
    }
    if choice is not None:
        values[ui_ids.CHOICE_BLOCK] = {
            ui_ids.CHOICE_INPUT: {"type": "radio_buttons", "selected_option": {"value": choice}}
        }
    return view_submission_payload(
        user_id=user,
        callback_id=callback_id,
        private_metadata=view["private_metadata"] if metadata is None else metadata,
        values=values,
    )


def request_click(value: str = '{"request": 9}') -> dict[str, Any]:
    return block_actions_payload(
        user_id="U0SMAT2",
        action_id=ui_ids.APPROVE_REMOVAL,
        value=value,
        channel_id=CHANNEL,
        message_ts=TS,
        response_url="https://hooks.slack.test/actions/T0/1/abc",
    )


def modal_click(value: str = '{"item": 42, "version": 3}') -> dict[str, Any]:
    return block_actions_payload(
        user_id="U0SMAT1",
        action_id=ui_ids.HIDE,
        value=value,
        channel_id=CHANNEL,
        message_ts=TS,
        response_url="https://hooks.slack.test/actions/T0/1/abc",
        trigger_id="123.456.abc",
    )


# ---------------------------------------------------------------------- view submissions


@pytest.mark.parametrize(
    "callback_id",
    [ui_ids.HIDE_MODAL, ui_ids.DELETE_MODAL, ui_ids.BLOCK_MODAL, ui_ids.WARN_MODAL],
)
def test_a_real_modals_submission_parses_back_to_its_card(callback_id: str) -> None:
    parsed = parse_view_submission(submission(callback_id))
    assert parsed == ModalSubmission(
        user_id="U0SMAT1",
        callback_id=callback_id,
        review_item_id=42,
        review_version=3,
        channel_id=CHANNEL,
        message_ts=TS,
        reason_code="bullying_or_harassment",
        note="Name-calling",
        choice=None,
    )
    assert parsed.field_errors() == {}


def test_a_missing_reason_is_a_field_error_not_a_payload_error() -> None:
    parsed = parse_view_submission(submission(reason=None))
    assert parsed.reason_code is None
    assert parsed.field_errors() == {ui_ids.REASON_BLOCK: "Pick a reason"}


def test_a_blank_note_is_no_note_and_a_long_one_is_a_field_error() -> None:
    assert parse_view_submission(submission(note=None)).note is None
    assert parse_view_submission(submission(note="   \n ")).note is None
    assert parse_view_submission(submission(note=" keep  ")).note == "keep"
    exactly = parse_view_submission(submission(note="x" * MAX_NOTE))
    assert exactly.field_errors() == {}
    too_long = parse_view_submission(submission(note="x" * (MAX_NOTE + 1)))
    assert set(too_long.field_errors()) == {ui_ids.NOTE_BLOCK}


@pytest.mark.parametrize(
    ("choice", "action"),
    [("warn_first", Action.WARN), ("block_now", Action.BLOCK), (None, Action.BLOCK)],
)
def test_the_block_modal_warns_first_when_asked(choice: str | None, action: Action) -> None:
    parsed = parse_view_submission(submission(ui_ids.BLOCK_MODAL, choice=choice))
    assert parsed.choice == choice
    assert decision_action(parsed) is action


@pytest.mark.parametrize(
    ("callback_id", "action"),
    [
        (ui_ids.HIDE_MODAL, Action.HIDE),
        (ui_ids.DELETE_MODAL, Action.DELETE),
        (ui_ids.WARN_MODAL, Action.WARN),
    ],
)
def test_each_modal_decides_its_action(callback_id: str, action: Action) -> None:
    assert decision_action(parse_view_submission(submission(callback_id))) is action


@pytest.mark.parametrize(
    ("callback_id", "choice"),
    [
        (ui_ids.BLOCK_MODAL, "delete_everything"),
        (ui_ids.BLOCK_MODAL, ""),
        (ui_ids.HIDE_MODAL, "warn_first"),  # only the block modal has a choice
    ],
)
def test_an_unexpected_choice_is_refused(callback_id: str, choice: str) -> None:
    with pytest.raises(PayloadError):
        parse_view_submission(submission(callback_id, choice=choice))


@pytest.mark.parametrize(
    "metadata",
    [
        "",
        "not json",
        "[]",
        '{"item": 42, "version": 3}',
        '{"item": "42", "version": 3, "channel": "C1", "ts": "1.2"}',
        '{"item": true, "version": 3, "channel": "C1", "ts": "1.2"}',
        '{"item": 0, "version": 3, "channel": "C1", "ts": "1.2"}',
        '{"item": 42, "version": 0, "channel": "C1", "ts": "1.2"}',
        '{"item": 42, "version": 3, "channel": "", "ts": "1.2"}',
        '{"item": 42, "version": 3, "channel": 7, "ts": "1.2"}',
        '{"item": 42, "version": 3.5, "channel": "C1", "ts": "1.2"}',
        "[" * 100_000,
        '{"item":' * 50_000,
    ],
)
def test_malformed_metadata_is_a_payload_error(metadata: str) -> None:
    with pytest.raises(PayloadError):
        parse_view_submission(submission(metadata=metadata))


def test_an_unknown_callback_is_a_payload_error() -> None:
    body = submission()
    body["view"]["callback_id"] = "smat_something_else"
    with pytest.raises(PayloadError):
        parse_view_submission(body)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


ODD_VALUES = [None, 0, -1, True, 1.5, "", "x", [], {}, [None], {"value": None}]


def _mutations(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The body with each field in turn removed or replaced by an odd value."""
    for path in list(_paths(body))[1:]:
        for odd in [*ODD_VALUES, "delete"]:
            mutated = copy.deepcopy(body)
            parent = mutated
            for key in path[:-1]:
                parent = parent[key]
            if odd == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = odd
            yield mutated


def test_no_mutation_of_a_submission_raises_anything_but_payload_error() -> None:
    body = submission(ui_ids.BLOCK_MODAL, choice="warn_first")
    checked = 0
    for mutated in _mutations(body):
        with contextlib.suppress(PayloadError):
            parse_view_submission(mutated)
        checked += 1
    assert checked > 200


def test_no_mutation_of_a_click_raises_anything_but_payload_error() -> None:
    for parse, body in (
        (parse_request_click, request_click()),
        (parse_modal_button, modal_click()),
    ):
        for mutated in _mutations(body):
            with contextlib.suppress(PayloadError):
                parse(mutated)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(metadata=json_values, values=json_values)
def test_any_json_in_metadata_or_state_is_parsed_or_refused(metadata: Any, values: Any) -> None:
    body = submission()
    body["view"]["private_metadata"] = json.dumps(metadata)
    body["view"]["state"]["values"] = values
    with contextlib.suppress(PayloadError):
        parse_view_submission(body)


def test_submitter_reads_only_a_plain_user_id() -> None:
    assert submitter(submission()) == "U0SMAT1"
    assert submitter({"user": {"id": 7}}) is None
    assert submitter({"user": "U0SMAT1"}) is None
    assert submitter({}) is None


# ---------------------------------------------------------------------- clicks


def test_a_removal_request_click_parses() -> None:
    click = parse_request_click(request_click())
    assert (click.user_id, click.channel_id, click.message_ts, click.action_id) == (
        "U0SMAT2",
        CHANNEL,
        TS,
        ui_ids.APPROVE_REMOVAL,
    )
    assert click.request_id == 9


@pytest.mark.parametrize(
    "value",
    ['{"request": 0}', '{"request": "9"}', '{"request": true}', '{"item": 9}', "9", "", "[]"],
)
def test_a_malformed_removal_request_click_is_a_payload_error(value: str) -> None:
    with pytest.raises(PayloadError):
        parse_request_click(request_click(value))


def test_a_modal_button_click_carries_its_trigger() -> None:
    press = parse_modal_button(modal_click())
    assert press.trigger_id == "123.456.abc"
    assert (press.click.review_item_id, press.click.review_version) == (42, 3)
    body = modal_click()
    del body["trigger_id"]
    with pytest.raises(PayloadError):
        parse_modal_button(body)


# ---------------------------------------------------------------------- telling the person


def test_the_awaiting_message_says_who_must_approve() -> None:
    second = awaiting_message(Action.HIDE, Requested(1, 2, "second_member"))
    clerk = awaiting_message(Action.DELETE, Requested(1, 2, "clerk"))
    assert second == (
        "Your request to hide this comment is waiting for a second SMAT member to approve it "
        "on the card."
    )
    assert "delete" in clerk
    assert "Town Clerk" in clerk


class _Client:
    """A WebClient stand-in that records calls and fails the ephemeral when told to."""

    def __init__(self, *, ephemeral_fails: bool) -> None:
        self.ephemeral_fails = ephemeral_fails
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def chat_postEphemeral(self, **kwargs: Any) -> None:
        self.calls.append(("chat.postEphemeral", kwargs))
        if self.ephemeral_fails:
            raise SlackApiError(  # type: ignore[no-untyped-call]
                "channel_not_found", {"ok": False, "error": "channel_not_found"}
            )

    def conversations_open(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("conversations.open", kwargs))
        return {"channel": {"id": "D0DM"}}

    def chat_postMessage(self, **kwargs: Any) -> None:
        self.calls.append(("chat.postMessage", kwargs))


def test_tell_is_ephemeral_in_the_channel() -> None:
    client = _Client(ephemeral_fails=False)
    tell(client, "U0SMAT1", CHANNEL, "No.")  # type: ignore[arg-type]
    assert client.calls == [
        ("chat.postEphemeral", {"channel": CHANNEL, "user": "U0SMAT1", "text": "No."})
    ]


def test_tell_falls_back_to_a_dm() -> None:
    client = _Client(ephemeral_fails=True)
    tell(client, "U0SMAT1", "C0FORGED", "No.")  # type: ignore[arg-type]
    assert [name for name, _ in client.calls] == [
        "chat.postEphemeral",
        "conversations.open",
        "chat.postMessage",
    ]
    assert client.calls[-1][1]["channel"] == "D0DM"
    client = _Client(ephemeral_fails=False)
    tell(client, "U0SMAT1", None, "No.")  # type: ignore[arg-type]
    assert [name for name, _ in client.calls] == ["conversations.open", "chat.postMessage"]
