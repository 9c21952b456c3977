"""Slack block_actions bodies parsed at the edge: a ButtonClick, or PayloadError and nothing else.

Handlers catch PayloadError to answer "that button is out of date"; any other exception would
escape into Bolt as a 500, so malformed input must never surface as KeyError or TypeError.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.cards import TriageCard
from bot.rendering import ACTION_APPROVE, button_value
from handlers.payloads import ButtonClick, PayloadError, parse_button_click
from platforms.types import Platform
from tests.fakes.slack_requests import block_actions_payload


def body(value: str = '{"item": 7, "version": 2}') -> dict[str, Any]:
    """A block_actions body as Slack sends it for a click on a triage card's Approve button."""
    return block_actions_payload(
        user_id="U0SMAT1",
        action_id=ACTION_APPROVE,
        value=value,
        channel_id="C0TRIAGE",
        message_ts="1763285400.000100",
        response_url="https://hooks.slack.test/actions/T0/1/abc",
        block_id="triage:7:2",
    )


def value_json(**fields: Any) -> str:
    return json.dumps(fields)


def test_valid_body_parses() -> None:
    assert parse_button_click(body()) == ButtonClick(
        user_id="U0SMAT1",
        channel_id="C0TRIAGE",
        message_ts="1763285400.000100",
        action_id=ACTION_APPROVE,
        review_item_id=7,
        review_version=2,
    )


def test_value_rendered_on_a_card_round_trips() -> None:
    card = TriageCard(
        review_item_id=4242,
        review_version=5,
        status="pending",
        platform=Platform.YOUTUBE,
        account_name="Example Town Council",
        post_title=None,
        permalink=None,
        author_name="Tom W",
        author_earlier_comments=0,
        created_at=datetime(2026, 11, 17, 19, 45, tzinfo=UTC),
        comment_version=1,
        text="Shocking lack of transparency.",
        deleted=False,
        model_name=None,
        scores={},
        thresholds={},
        detections={},
        suggested_action="approve",
        reason_code=None,
        clause=None,
        explanation="",
        decision=None,
        slack_channel=None,
        slack_ts=None,
    )

    click = parse_button_click(body(button_value(card)))

    assert (click.review_item_id, click.review_version) == (4242, 5)


def test_extra_fields_in_value_are_ignored() -> None:
    click = parse_button_click(body(value_json(item=3, version=1, hint="later")))
    assert (click.review_item_id, click.review_version) == (3, 1)


def test_parsing_does_not_modify_the_body() -> None:
    original = body()
    snapshot = copy.deepcopy(original)
    parse_button_click(original)
    assert original == snapshot


# --- malformed bodies -------------------------------------------------------------------------


def without(path: tuple[Any, ...]) -> dict[str, Any]:
    """The valid body with the key at ``path`` removed."""
    broken = body()
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return broken


def replaced(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """The valid body with the value at ``path`` replaced."""
    broken = body()
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return broken


MALFORMED = {
    # missing keys
    "no actions": without(("actions",)),
    "empty actions": replaced(("actions",), []),
    "no value": without(("actions", 0, "value")),
    "no action_id": without(("actions", 0, "action_id")),
    "no container": without(("container",)),
    "no channel_id": without(("container", "channel_id")),
    "no message_ts": without(("container", "message_ts")),
    "no user": without(("user",)),
    "no user id": without(("user", "id")),
    # wrong shapes
    "actions not a list": replaced(("actions",), {"value": "x"}),
    "action not a dict": replaced(("actions",), ["smat_approve"]),
    "user is a string": replaced(("user",), "U0SMAT1"),
    "container is null": replaced(("container",), None),
    "value is null": replaced(("actions", 0, "value"), None),
    "value is a number": replaced(("actions", 0, "value"), 7),
    # value not what our buttons produce
    "value not JSON": body("approve-7"),
    "value empty": body(""),
    "value truncated JSON": body('{"item": 7, "vers'),
    "value is a JSON list": body("[7, 2]"),
    "value is a JSON string": body('"7:2"'),
    "value is JSON null": body("null"),
    "value lacks version": body(value_json(item=7)),
    "value lacks item": body(value_json(version=2)),
    "item not a number": body(value_json(item="seven", version=2)),
    "version is null": body(value_json(item=7, version=None)),
    "version is a dict": body(value_json(item=7, version={"n": 2})),
    "item is NaN": body('{"item": NaN, "version": 2}'),
    # out of range
    "negative item": body(value_json(item=-7, version=2)),
    "negative version": body(value_json(item=7, version=-1)),
    "zero item": body(value_json(item=0, version=2)),
    "zero version": body(value_json(item=7, version=0)),
}


@pytest.mark.parametrize("broken", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_body_raises_payload_error(broken: dict[str, Any]) -> None:
    with pytest.raises(PayloadError):
        parse_button_click(broken)


@pytest.mark.parametrize("broken", [None, [], "payload", 42, {}], ids=repr)
def test_body_that_is_not_a_dict_raises_payload_error(broken: Any) -> None:
    with pytest.raises(PayloadError):
        parse_button_click(broken)


def test_payload_error_is_a_value_error_with_a_reason() -> None:
    with pytest.raises(ValueError, match="unexpected button payload: KeyError"):
        parse_button_click(body(value_json(item=7)))


def test_out_of_range_message_names_the_field() -> None:
    with pytest.raises(PayloadError, match="item"):
        parse_button_click(body(value_json(item=-1, version=1)))


# --- edge cases: each was once an uncaught crash or a silent coercion ----------------------------


@pytest.mark.parametrize(
    "value",
    ['{"item": 1e400, "version": 2}', '{"item": 7, "version": -1e400}'],
    ids=["infinite item", "minus infinite version"],
)
def test_infinite_number_raises_payload_error(value: str) -> None:
    with pytest.raises(PayloadError):
        parse_button_click(body(value))


def test_deeply_nested_value_raises_payload_error() -> None:
    with pytest.raises(PayloadError):
        parse_button_click(body("[" * 999 + "]" * 999))


@pytest.mark.parametrize(
    "value",
    [
        value_json(item=7.9, version=2),
        value_json(item=True, version=2),
        value_json(item=7, version=1.5),
    ],
    ids=["fractional item", "boolean item", "fractional version"],
)
def test_non_integer_ids_raise_payload_error(value: str) -> None:
    with pytest.raises(PayloadError):
        parse_button_click(body(value))


@pytest.mark.parametrize(
    "path",
    [("user", "id"), ("container", "channel_id"), ("container", "message_ts")],
    ids=["user id", "channel id", "message ts"],
)
@pytest.mark.parametrize("missing", [None, ""], ids=["null", "empty"])
def test_null_or_empty_ids_raise_payload_error(path: tuple[str, str], missing: str | None) -> None:
    with pytest.raises(PayloadError):
        parse_button_click(replaced(path, missing))
