"""A shape check on requests to /slack/events before Bolt parses them.

Bolt reads a request's envelope (who, which channel, which action) while building it, before it
checks the signature, and assumes Slack's shapes: a ``channel`` that is ``false`` or an empty
``actions`` list raises inside Bolt and becomes a 500. Anyone can send such a body, signed or
not, so it is refused here with a 400 that names the problem. Requests Slack really sends always
pass; what the listeners need beyond the envelope is checked in ``handlers.payloads``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

OBJECT_FIELDS = ("user", "team", "channel", "container", "view", "message", "event")
"""Envelope fields Bolt indexes into: each must be a JSON object when present (Slack leaves
them out rather than sending null)."""
NULLABLE_OBJECT_FIELDS = ("enterprise",)
"""Slack sends ``"enterprise": null`` outside Enterprise Grid."""
STRING_FIELDS = ("type", "trigger_id", "response_url", "token", "api_app_id", "callback_id")
VIEW_TYPES = ("view_submission", "view_closed")


def envelope_problem(body: bytes, content_type: str) -> str | None:
    """Why this body is not a Slack request Bolt can safely read, or None when it is."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if content_type.split(";")[0].strip().lower() == "application/json":
        return _json_problem(text)
    try:
        form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        return "body is not form-encoded"
    payloads = form.get("payload")
    if payloads is None:
        return None  # a slash command: every field is a plain string
    if len(payloads) != 1:
        return "more than one payload field"
    return _payload_problem(payloads[0])


def _json_problem(text: str) -> str | None:
    try:
        data = json.loads(text) if text else {}
    except (ValueError, RecursionError):
        return "body is not JSON"
    return _envelope_problem(data)


def _payload_problem(text: str) -> str | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return "payload is not JSON"
    problem = _envelope_problem(data)
    if problem:
        return problem
    kind = data.get("type")
    if kind == "block_actions":
        return _actions_problem(data.get("actions"))
    if kind in VIEW_TYPES and not isinstance((data.get("view") or {}).get("callback_id"), str):
        return "view has no callback_id"
    return None


def _envelope_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "payload is not a JSON object"
    for name in OBJECT_FIELDS:
        if name in data and not isinstance(data[name], dict):
            return f"{name} is not an object"
    for name in NULLABLE_OBJECT_FIELDS:
        if data.get(name) is not None and not isinstance(data[name], dict):
            return f"{name} is not an object"
    for name in STRING_FIELDS:
        if data.get(name) is not None and not isinstance(data[name], str):
            return f"{name} is not a string"
    return None


def _actions_problem(actions: Any) -> str | None:
    if not isinstance(actions, list) or not actions:
        return "block_actions without actions"
    for action in actions:
        if not isinstance(action, dict):
            return "an action is not an object"
        if not isinstance(action.get("action_id"), str):
            return "an action has no action_id"
        for name in ("block_id", "type", "value"):
            if action.get(name) is not None and not isinstance(action[name], str):
                return f"an action's {name} is not a string"
    return None
