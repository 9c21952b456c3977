"""Block Kit for replies: the Reply form on a card, and the Clerk's editor of a standard response.

The Reply form lists the standard responses that fit the comment first (from enquiry
detection), then the rest, then "my own words". Choosing one refreshes the form (the select
dispatches an action): the text box is refilled (its block id changes, which is how Slack is
told to replace what was typed) and the preview shows the reply as it will be posted, or which
values are missing. The form also offers to pass the enquiry on to its routing contact.

Each option's value is ``key:version``, so the submission says which version was used. Nothing
a resident wrote is put in ``mrkdwn``; ``private_metadata`` is as in ``bot.modals``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot import ui_ids
from bot.rendering import escape_mrkdwn, mrkdwn, plain
from bot.services.canned_responses import MAX_BODY, MAX_TITLE, ResponseVersion
from bot.services.replies import ReplyFormData, missing_values, preview

Block = dict[str, Any]

OWN_WORDS = "own"
"""The response select's value for a reply written from scratch."""
ROUTE_ONLY = "route_only"
OPTION_TEXT = 75
MAX_GROUP = 100
TEXT_INPUT_LIMIT = 3000
"""Slack's limit on a plain_text_input; each platform's own limit is checked on submission."""


def option_value(response: ResponseVersion) -> str:
    """A response's option value: which response, at which version."""
    return f"{response.key}:{response.version}"


def parse_option_value(value: str | None) -> tuple[str | None, int | None]:
    """``(key, version)`` from an option value; ``(None, None)`` for own words or nonsense."""
    if not value or value == OWN_WORDS or ":" not in value:
        return None, None
    key, _, version = value.rpartition(":")
    if not key or not version.isascii() or not version.isdigit() or len(version) > 9:
        return None, None
    return key, int(version)


def text_block_id(data: ReplyFormData) -> str:
    """The text box's block id for the current choice (a new id makes Slack refill it)."""
    chosen = option_value(data.selected) if data.selected else OWN_WORDS
    return f"{ui_ids.REPLY_TEXT_BLOCK}:{chosen}"[:255]


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, OPTION_TEXT), "value": value}


def _response_option(response: ResponseVersion) -> dict[str, Any]:
    return _option(response.title, option_value(response))


def _select_block(data: ReplyFormData) -> Block:
    groups = []
    if data.suggested:
        groups.append(
            {
                "label": plain("Suggested for this comment", 75),
                "options": [_response_option(r) for r in data.suggested][:MAX_GROUP],
            }
        )
    if data.others:
        groups.append(
            {
                "label": plain("Other standard responses", 75),
                "options": [_response_option(r) for r in data.others][:MAX_GROUP],
            }
        )
    own = _option("My own words (no standard response)", OWN_WORDS)
    groups.append({"label": plain("Write it yourself", 75), "options": [own]})
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": ui_ids.REPLY_RESPONSE_INPUT,
        "placeholder": plain("Choose a standard response", 150),
        "option_groups": groups,
    }
    if data.selected is not None:
        element["initial_option"] = _response_option(data.selected)
    else:
        element["initial_option"] = own
    return {
        "type": "input",
        "block_id": ui_ids.REPLY_RESPONSE_BLOCK,
        "dispatch_action": True,
        "label": plain("Standard response", 2000),
        "element": element,
    }


def _text_block(data: ReplyFormData) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ui_ids.REPLY_TEXT_INPUT,
        "multiline": True,
        "max_length": TEXT_INPUT_LIMIT,
    }
    if data.selected is not None:
        element["initial_value"] = data.selected.body[:TEXT_INPUT_LIMIT]
    return {
        "type": "input",
        "block_id": text_block_id(data),
        "label": plain("Reply", 2000),
        "hint": plain(
            "Edit as you like. {placeholders} are filled in when it is posted; one with no "
            f"value stops it being posted. {data.card.platform.display_name} allows "
            f"{data.limit:,} characters.",
            2000,
        ),
        "element": element,
    }


def _preview_blocks(data: ReplyFormData) -> list[Block]:
    if data.selected is None:
        return [
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        "Write the reply above. Placeholders such as {council_email} are filled "
                        "in when it is posted."
                    )
                ],
            }
        ]
    body = data.selected.body
    missing = missing_values(body, data.values)
    blocks: list[Block] = [
        {
            "type": "context",
            "elements": [mrkdwn("*Preview* of the standard response as it will be posted:")],
        },
        {"type": "section", "text": plain(preview(body, data.values), 2900)},
    ]
    if missing:
        names = ", ".join("{" + name + "}" for name in missing)
        blocks.append(
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        f":warning: *No value for {escape_mrkdwn(names)}.* Replace it in the "
                        "reply with the details, or ask whoever configures SMAT Bot to fill it "
                        "in (replies.variables); it cannot be posted as it is."
                    )
                ],
            }
        )
    return blocks


def _route_blocks(data: ReplyFormData, *, only_route: bool) -> list[Block]:
    if not data.routes:
        return []
    options = [_option(f"{route.label} → {route.contact}", route.kind) for route in data.routes]
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": ui_ids.REPLY_ROUTE_INPUT,
        "placeholder": plain("Don't pass it on", 150),
        "options": options,
    }
    initial = next((o for o in options if o["value"] == data.suggested_route), None)
    if initial is not None:
        element["initial_option"] = initial
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": ui_ids.REPLY_ROUTE_BLOCK,
            "optional": True,
            "label": plain("Pass it on to", 2000),
            "hint": plain(
                "Service requests, complaints and press enquiries go to the right people "
                "(St Helens 6.16 to 6.18): they get a note with the comment and a link to it.",
                2000,
            ),
            "element": element,
        }
    ]
    if not only_route:
        blocks.append(
            {
                "type": "input",
                "block_id": ui_ids.REPLY_ONLY_ROUTE_BLOCK,
                "optional": True,
                "label": plain("Public reply", 2000),
                "element": {
                    "type": "checkboxes",
                    "action_id": ui_ids.REPLY_ONLY_ROUTE_INPUT,
                    "options": [
                        _option("Only pass it on: post no public reply", ROUTE_ONLY),
                    ],
                },
            }
        )
    return blocks


def reply_modal(data: ReplyFormData, *, channel: str, ts: str) -> dict[str, Any]:
    """The Reply form for a card whose message is at (channel, ts)."""
    card = data.card
    name = card.platform.display_name
    where = f"{card.author_name} on {name} · {card.account_name} wrote:"
    blocks: list[Block] = [
        {"type": "context", "elements": [plain(where, 2000)]},
        {"type": "section", "text": plain(card.text, 2000)},
    ]
    if data.enquiries:
        topics = ", ".join(match.label for match in data.enquiries)
        blocks.append(
            {
                "type": "context",
                "elements": [
                    mrkdwn(f":mag: Looks like an enquiry about *{escape_mrkdwn(topics)}*.")
                ],
            }
        )
    if data.post_blocked is None:
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(
                    f":speech_balloon: *The reply is posted publicly on {escape_mrkdwn(name)} "
                    "under the council's account,* in answer to this comment, and logged. "
                    "Sensitive matters belong in private: use “Please contact us privately”."
                ),
            }
        )
        blocks += [_select_block(data), _text_block(data), *_preview_blocks(data)]
        blocks += _route_blocks(data, only_route=False)
        submit = "Post reply"
    else:
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(
                    f":information_source: {escape_mrkdwn(data.post_blocked)} You can still pass "
                    "it on."
                ),
            }
        )
        blocks += _route_blocks(data, only_route=True)
        submit = "Pass it on"
    metadata = json.dumps(
        {"item": card.review_item_id, "version": card.review_version, "channel": channel, "ts": ts},
        separators=(",", ":"),
    )
    return {
        "type": "modal",
        "callback_id": ui_ids.REPLY_MODAL,
        "title": plain("Reply", 24),
        "submit": plain(submit, 24),
        "close": plain("Cancel", 24),
        "private_metadata": metadata,
        "blocks": blocks,
    }


# --- the Clerk's editor -------------------------------------------------------------------------


def response_modal(
    current: ResponseVersion | None, known_variables: Sequence[str]
) -> dict[str, Any]:
    """The editor for one standard response (``current`` None: a new one)."""
    names = ", ".join("{" + name + "}" for name in sorted(known_variables))
    blocks: list[Block] = []
    if current is None:
        blocks.append(
            {
                "type": "input",
                "block_id": ui_ids.RESPONSE_KEY_BLOCK,
                "label": plain("Short name", 2000),
                "hint": plain(
                    "Lower-case letters, digits and _, e.g. street_lights. It cannot be changed.",
                    2000,
                ),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ui_ids.RESPONSE_KEY_INPUT,
                    "max_length": 50,
                },
            }
        )
    else:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        f"Editing `{escape_mrkdwn(current.key)}`, version {current.version}. "
                        "Saving adds a new version; earlier versions are kept, and replies "
                        "already posted record the version they used."
                    )
                ],
            }
        )
    title: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ui_ids.RESPONSE_TITLE_INPUT,
        "max_length": MAX_TITLE,
    }
    body: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ui_ids.RESPONSE_BODY_INPUT,
        "multiline": True,
        "max_length": MAX_BODY,
    }
    if current is not None:
        title["initial_value"] = current.title
        body["initial_value"] = current.body
    blocks += [
        {
            "type": "input",
            "block_id": ui_ids.RESPONSE_TITLE_BLOCK,
            "label": plain("Title (what SMAT sees in the list)", 2000),
            "element": title,
        },
        {
            "type": "input",
            "block_id": ui_ids.RESPONSE_BODY_BLOCK,
            "label": plain("Response", 2000),
            "hint": plain(f"Placeholders you can use: {names}."[:2000], 2000),
            "element": body,
        },
    ]
    metadata = json.dumps(
        {"key": current.key if current else None, "version": current.version if current else 0},
        separators=(",", ":"),
    )
    return {
        "type": "modal",
        "callback_id": ui_ids.RESPONSE_MODAL,
        "title": plain("Standard response", 24),
        "submit": plain("Save new version" if current else "Add response", 24),
        "close": plain("Cancel", 24),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def response_metadata(view: Mapping[str, Any]) -> tuple[str | None, int]:
    """``(key, version)`` from the editor's ``private_metadata``; ValueError if malformed."""
    raw = view.get("private_metadata") if isinstance(view, Mapping) else None
    if not isinstance(raw, str) or not raw or len(raw) > 500:
        raise ValueError("the editor has no usable private_metadata")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError("private_metadata is not JSON") from error
    if not isinstance(data, dict) or set(data) != {"key", "version"}:
        raise ValueError("private_metadata has the wrong fields")
    key, version = data["key"], data["version"]
    if key is not None and (not isinstance(key, str) or not key or len(key) > 100):
        raise ValueError("private_metadata key is not a response key")
    if type(version) is not int or version < 0:
        raise ValueError("private_metadata version is not a version number")
    if (key is None) != (version == 0):
        raise ValueError("private_metadata key and version disagree")
    return key, version
