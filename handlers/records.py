"""Listeners for the block review reminder: Keep blocked, Unblock…, and the unblock form.

Keep blocked is the Clerk's (or the Deputy's) review: the service checks the role, logs the
review and sets the next date; the reminder is then rewritten in place without buttons.
Unblock… opens a form (after checking the clicker may decide); its submission is an ordinary
``unblock`` decision through the triage desk, role-checked again there, since a submission can
be forged by anyone in the workspace.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import ui_ids
from bot.records_messages import (
    NOTE_MAX,
    UNBLOCK_NOTE_BLOCK,
    UNBLOCK_NOTE_INPUT,
    kept_text,
    parse_due,
    review_done,
    unblock_modal,
)
from bot.rendering import mention
from bot.services.blocks import BlockRefused
from bot.services.review import Action, DecisionRequest, Refused
from handlers.payloads import PayloadError
from handlers.telling import (
    UNREADABLE_FORM,
    refuse_unreadable_click,
    refuse_unreadable_form,
    tell,
)

if TYPE_CHECKING:
    from bot.container import Container

log = logging.getLogger(__name__)

MAX_METADATA = 500


@dataclass(frozen=True)
class ReviewClick:
    """A click on Keep blocked or Unblock… in a block review reminder."""

    user_id: str
    channel_id: str
    message_ts: str
    block_id: int
    due: date
    trigger_id: str | None


def parse_review_click(body: Mapping[str, Any]) -> ReviewClick:
    """Read who clicked which reminder button; raise PayloadError if it is not shaped like ours."""
    try:
        action = body["actions"][0]
        value = json.loads(action["value"])
        container = body["container"]
        trigger = body.get("trigger_id")
        return ReviewClick(
            user_id=_text(body["user"]["id"]),
            channel_id=_text(container["channel_id"]),
            message_ts=_text(container["message_ts"]),
            block_id=_positive(value["block"]),
            due=parse_due(value["due"]),
            trigger_id=trigger if isinstance(trigger, str) and trigger else None,
        )
    except (KeyError, IndexError, TypeError, ValueError, RecursionError) as exc:
        raise PayloadError(f"unexpected reminder button: {type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class UnblockSubmission:
    """The submitted unblock form."""

    user_id: str
    block_id: int
    review_item_id: int
    review_version: int
    channel_id: str
    message_ts: str
    note: str | None


def parse_unblock_submission(body: Mapping[str, Any]) -> UnblockSubmission:
    """Read the unblock form; raise PayloadError if it is not shaped like ours."""
    try:
        view = body["view"]
        raw = view["private_metadata"]
        if not isinstance(raw, str) or len(raw) > MAX_METADATA:
            raise ValueError("bad private_metadata")
        metadata = json.loads(raw)
        if not isinstance(metadata, dict):
            raise TypeError("private_metadata is not an object")
        values = view["state"]["values"]
        field = values.get(UNBLOCK_NOTE_BLOCK, {}).get(UNBLOCK_NOTE_INPUT, {})
        note = field.get("value") if isinstance(field, Mapping) else None
        if note is not None and not isinstance(note, str):
            raise TypeError("note is not text")
        return UnblockSubmission(
            user_id=_text(body["user"]["id"]),
            block_id=_positive(metadata["block"]),
            review_item_id=_positive(metadata["item"]),
            review_version=_positive(metadata["version"]),
            channel_id=_text(metadata["channel"]),
            message_ts=_text(metadata["ts"]),
            note=(note or "").strip() or None,
        )
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise PayloadError(f"unexpected unblock form: {type(exc).__name__}: {exc}") from None


def register(app: App, container: Container) -> None:
    """Attach the block review reminder's listeners to the Bolt app."""
    settings = container.settings
    tz = settings.council.tz
    labels = {code: reason.label for code, reason in settings.policy.reason_codes.items()}

    @app.action(ui_ids.KEEP_BLOCKED)
    def keep(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        try:
            click = parse_review_click(body)
        except PayloadError as exc:
            refuse_unreadable_click(client, body, "block review click", exc)
            return
        try:
            entry = container.blocks.keep_blocked(
                click.block_id, click.user_id, expected_due=click.due
            )
        except BlockRefused as refusal:
            tell(client, click.user_id, click.channel_id, refusal.message)
            return
        done = review_done(kept_text(entry, click.user_id, tz))
        try:
            respond(replace_original=True, text=done.text, blocks=done.blocks)
        except (SlackClientError, OSError) as exc:
            log.warning("could not update block review reminder %d: %s", entry.id, exc)

    @app.action(ui_ids.UNBLOCK_FROM_REVIEW)
    def open_unblock(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            click = parse_review_click(body)
            if click.trigger_id is None:
                raise PayloadError("no trigger id")
        except PayloadError as exc:
            refuse_unreadable_click(client, body, "block review click", exc)
            return
        try:
            target = container.blocks.unblock_target(click.block_id, click.user_id)
        except BlockRefused as refusal:
            tell(client, click.user_id, click.channel_id, refusal.message)
            return
        view = unblock_modal(target, labels, tz, click.channel_id, click.message_ts)
        try:
            client.views_open(trigger_id=click.trigger_id, view=view)
        except (SlackApiError, SlackClientError) as exc:
            log.warning("could not open the unblock form for %s: %s", click.user_id, exc)
            tell(
                client,
                click.user_id,
                click.channel_id,
                "The form could not be opened in time. Please click the button again.",
            )

    @app.view(ui_ids.UNBLOCK_MODAL)
    def submit_unblock(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        try:
            form = parse_unblock_submission(body)
        except PayloadError as exc:
            ack()
            refuse_unreadable_form(client, body, "unblock form", exc)
            return
        if form.note is not None and len(form.note) > NOTE_MAX:
            ack(
                response_action="errors",
                errors={UNBLOCK_NOTE_BLOCK: f"Keep the note to {NOTE_MAX:,} characters"},
            )
            return
        ack()
        entry = container.blocks.entry(form.block_id)
        if entry is None or entry.review_item_id != form.review_item_id:
            log.warning("unblock form for block %d names another card", form.block_id)
            tell(client, form.user_id, None, UNREADABLE_FORM)
            return
        note = "Block review: " + (form.note or "unblocked after review")
        try:
            container.desk.decide(
                DecisionRequest(
                    review_item_id=form.review_item_id,
                    expected_version=form.review_version,
                    action=Action.UNBLOCK,
                    actor_slack_id=form.user_id,
                    note=note,
                )
            )
        except Refused as refusal:
            tell(client, form.user_id, None, refusal.message)
            return
        text = (
            f":leftwards_arrow_with_hook: Unblocked by {mention(form.user_id, form.user_id)} "
            f"after review (register entry {entry.id}, comment {entry.comment_id}); the "
            "decision is on the comment's card in the triage channel."
        )
        done = review_done(text)
        try:
            client.chat_update(
                channel=form.channel_id, ts=form.message_ts, text=done.text, blocks=done.blocks
            )
        except (SlackApiError, SlackClientError) as exc:
            log.info("could not update the block review reminder: %s", exc)
            tell(client, form.user_id, None, text)


def _text(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 255:
        raise ValueError("expected a non-empty string")
    return value


def _positive(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("expected a positive integer")
    return value
