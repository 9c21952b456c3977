"""Build and sign the requests Slack sends to our app, to drive a real Bolt app over HTTP.

Payload shapes follow Slack's block_actions / view_submission / slash command docs (see
shared/reference/slack-bolt.md section 4); only the fields Bolt and our handlers read are
filled in, plus enough of the rest to look real.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

DEFAULT_TEAM_ID = "T0COUNCIL"
DEFAULT_TEAM_DOMAIN = "examplecouncil"
DEFAULT_APP_ID = "A0SMATBOT"
DEFAULT_BOT_ID = "B0SMATBOT"
DEFAULT_CHANNEL_ID = "C0MODQUEUE"

_trigger_seq = itertools.count(1)


def new_trigger_id() -> str:
    """A fresh trigger_id: Slack issues one per interaction and views.open accepts it once."""
    seq = next(_trigger_seq)
    tail = hashlib.sha256(f"{time.time_ns()}:{seq}".encode()).hexdigest()[:16]
    return f"{int(time.time())}.{seq}.{tail}"


def sign(
    secret: str,
    body: bytes,
    timestamp: int | None = None,
    *,
    content_type: str = FORM_CONTENT_TYPE,
) -> dict[str, str]:
    """Headers Slack would send with ``body``: v0 HMAC-SHA256 signature, timestamp, type.

    Computed independently of slack_sdk so a test can catch a verifier that is wired wrong.
    Pass an old ``timestamp`` (now - 400) to exercise the 5-minute replay window.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "x-slack-signature": f"v0={digest}",
        "x-slack-request-timestamp": ts,
        "content-type": content_type,
    }


def block_actions_payload(
    *,
    user_id: str,
    action_id: str,
    value: str,
    channel_id: str,
    message_ts: str,
    response_url: str,
    block_id: str = "mod_actions",
    team_id: str = DEFAULT_TEAM_ID,
    trigger_id: str | None = None,
    user_name: str | None = None,
    message: dict[str, Any] | None = None,
    state_values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` payload for a button clicked on a message in ``channel_id``.

    ``trigger_id`` defaults to a fresh one per call, as real clicks get; ``message`` is the
    message clicked on (defaults to a bare bot message with ``message_ts``).
    """
    name = user_name or user_id.lower()
    now = f"{time.time():.6f}"
    return {
        "type": "block_actions",
        "team": {"id": team_id, "domain": DEFAULT_TEAM_DOMAIN},
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": DEFAULT_APP_ID,
        "token": "legacy-verification-token",
        "trigger_id": trigger_id or new_trigger_id(),
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "channel": {"id": channel_id, "name": "social-moderation"},
        "message": message
        or {
            "type": "message",
            "ts": message_ts,
            "bot_id": DEFAULT_BOT_ID,
            "text": "",
            "blocks": [],
        },
        "response_url": response_url,
        "state": {"values": state_values or {}},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "text": {"type": "plain_text", "text": action_id},
                "action_ts": now,
            }
        ],
    }


def view_submission_payload(
    *,
    user_id: str,
    callback_id: str,
    private_metadata: str,
    values: dict[str, dict[str, Any]],
    team_id: str = DEFAULT_TEAM_ID,
    view_id: str = "V0FAKEVIEW",
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A ``view_submission`` payload; ``values`` is ``state.values`` (block -> action -> x).

    A plain string ``x`` is shorthand for a plain_text_input ``{"type": ..., "value": x}``;
    dicts are used as given (for selects and the like).
    """
    state: dict[str, dict[str, Any]] = {
        block_id: {
            action_id: (
                {"type": "plain_text_input", "value": field} if isinstance(field, str) else field
            )
            for action_id, field in actions.items()
        }
        for block_id, actions in values.items()
    }
    name = user_id.lower()
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": DEFAULT_TEAM_DOMAIN},
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": DEFAULT_APP_ID,
        "token": "legacy-verification-token",
        "trigger_id": trigger_id or new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "blocks": [],
            "state": {"values": state},
            "hash": f"{int(time.time())}.fakehash",
            "title": {"type": "plain_text", "text": "Moderate"},
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": DEFAULT_APP_ID,
            "bot_id": DEFAULT_BOT_ID,
        },
        "response_urls": [],
    }


def slash_command_form(
    *,
    command: str,
    user_id: str,
    response_url: str,
    text: str = "",
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = "social-moderation",
    team_id: str = DEFAULT_TEAM_ID,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """The form fields of a slash command; encode with :func:`encode_form`."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "team_domain": DEFAULT_TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": DEFAULT_APP_ID,
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }


def encode_form(fields: dict[str, str]) -> bytes:
    """URL-encode form fields into a request body (slash commands)."""
    return urlencode(fields).encode()


def form_body(payload: dict[str, Any]) -> bytes:
    """Encode an interactive payload the way Slack does: ``payload=<urlencoded JSON>``."""
    return encode_form({"payload": json.dumps(payload)})


def post_signed(
    client: httpx.Client,
    url: str,
    body: bytes,
    secret: str,
    timestamp: int | None = None,
    *,
    content_type: str = FORM_CONTENT_TYPE,
) -> httpx.Response:
    """POST ``body`` to the app at ``url`` with valid Slack signature headers."""
    headers = sign(secret, body, timestamp, content_type=content_type)
    return client.post(url, content=body, headers=headers)
