"""Listeners for replies: the Reply… button, its form, and the Clerk's standard-response editor.

Reply… opens the form (after the role check, so a non-member sees a refusal and nothing
opens); choosing a standard response refreshes the form in place; submitting it is checked at
the edge — an unfilled placeholder, a reply longer than the platform allows, or a missing
contact is shown next to its field — and again by the service, which records the reply and
carries it out. Every payload, ``private_metadata`` included, is untrusted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import ui_ids
from bot.modals import modal_metadata
from bot.reply_modal import (
    OWN_WORDS,
    ROUTE_ONLY,
    parse_option_value,
    reply_modal,
    response_metadata,
)
from bot.services.canned_responses import ResponseLibrary, ResponseRefused
from bot.services.replies import ReplyForm, ReplyService, known_variables
from bot.services.review import Refused
from bot.services.triage import DecisionForms
from handlers.payloads import (
    PayloadError,
    form_field,
    parse_modal_button,
    state_values,
    submitter,
)
from handlers.telling import tell

if TYPE_CHECKING:
    from bot.container import Container

log = logging.getLogger(__name__)

UNREADABLE = (
    "Sorry, that form could not be read, so nothing was changed. Please click Reply… on the "
    "card again."
)
NOT_OPENED = "The form could not be opened in time. Please click Reply… again."
MAX_TEXT = 3000
FIELD_BLOCKS = {"route": ui_ids.REPLY_ROUTE_BLOCK}
EDITOR_FIELDS = {
    "key": ui_ids.RESPONSE_KEY_BLOCK,
    "title": ui_ids.RESPONSE_TITLE_BLOCK,
    "body": ui_ids.RESPONSE_BODY_BLOCK,
}


def response_library(container: Container) -> ResponseLibrary:
    """The standard responses library for these settings."""
    return ResponseLibrary(
        container.sessions,
        container.members,
        known_variables(container.settings),
        container.clock,
    )


def reply_service(container: Container) -> ReplyService:
    """The reply service for this container."""
    return ReplyService(
        container.sessions,
        container.review,
        container.outbox,
        DecisionForms(container.sessions, container.members, container.settings),
        response_library(container),
        container.settings,
        container.clock,
        on_reply=container.escalations().close_with_reply,
    )


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class ReplySubmission:
    """A submitted Reply form: the form, where its card is, and its text box's block id."""

    form: ReplyForm
    channel_id: str
    text_block: str | None


@dataclass(frozen=True)
class ResponseChoice:
    """A change of the response select inside an open Reply form."""

    user_id: str
    view_id: str
    view_hash: str | None
    review_item_id: int
    review_version: int
    channel_id: str
    message_ts: str
    selected: str


def _selected(values: Mapping[str, Any], block_id: str, action_id: str) -> str | None:
    found = form_field(values, block_id, action_id)
    option = found.get("selected_option") if found is not None else None
    if option is None:
        return None
    if not isinstance(option, Mapping) or not isinstance(option.get("value"), str):
        raise TypeError(f"{block_id} option is not an option")
    value: str = option["value"]
    return value[:300]


def parse_reply_submission(body: dict[str, Any]) -> ReplySubmission:
    """Read a submitted Reply form; raise PayloadError if it is not shaped like ours."""
    try:
        view = body["view"]
        if view.get("callback_id") != ui_ids.REPLY_MODAL:
            raise ValueError("not the reply form")
        metadata = modal_metadata(view)
        user_id = body["user"]["id"]
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("no user id")
        values = state_values(view)
        text_blocks = [
            block
            for block in values
            if isinstance(block, str)
            and (
                block == ui_ids.REPLY_TEXT_BLOCK or block.startswith(ui_ids.REPLY_TEXT_BLOCK + ":")
            )
        ]
        if len(text_blocks) > 1:
            raise ValueError("more than one reply text")
        text_block = text_blocks[0] if text_blocks else None
        text = None
        if text_block is not None:
            found = form_field(values, text_block, ui_ids.REPLY_TEXT_INPUT)
            raw = found.get("value") if found is not None else None
            if raw is not None and not isinstance(raw, str):
                raise TypeError("the reply is not text")
            text = (raw or "").strip()[: MAX_TEXT * 4] or None
        choice = _selected(values, ui_ids.REPLY_RESPONSE_BLOCK, ui_ids.REPLY_RESPONSE_INPUT)
        key, version = parse_option_value(choice)
        route = _selected(values, ui_ids.REPLY_ROUTE_BLOCK, ui_ids.REPLY_ROUTE_INPUT)
        boxes = form_field(values, ui_ids.REPLY_ONLY_ROUTE_BLOCK, ui_ids.REPLY_ONLY_ROUTE_INPUT)
        chosen = boxes.get("selected_options") if boxes is not None else None
        if chosen is not None and not isinstance(chosen, list):
            raise TypeError("selected_options is not a list")
        ticked = any(isinstance(o, Mapping) and o.get("value") == ROUTE_ONLY for o in chosen or [])
        form = ReplyForm(
            review_item_id=metadata["item"],
            expected_version=metadata["version"],
            actor_slack_id=user_id,
            canned_key=key,
            canned_version=version,
            text=text,
            route=route,
            # No text box at all: the form offered only passing it on (no reply possible).
            route_only=ticked or text_block is None,
        )
        return ReplySubmission(form, metadata["channel"], text_block)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise PayloadError(f"unexpected reply form: {type(exc).__name__}: {exc}") from None


def parse_response_choice(body: dict[str, Any]) -> ResponseChoice:
    """Read a change of the response select in an open Reply form; PayloadError if odd."""
    try:
        view = body["view"]
        if view.get("callback_id") != ui_ids.REPLY_MODAL:
            raise ValueError("not the reply form")
        metadata = modal_metadata(view)
        action = body["actions"][0]
        option = action["selected_option"]
        value = option["value"]
        user_id = body["user"]["id"]
        view_id = view["id"]
        view_hash = view.get("hash")
        for name, text in (("value", value), ("user id", user_id), ("view id", view_id)):
            if not isinstance(text, str) or not text or len(text) > 300:
                raise ValueError(f"{name} is not usable")
        if view_hash is not None and not isinstance(view_hash, str):
            raise ValueError("hash is not text")
        return ResponseChoice(
            user_id=user_id,
            view_id=view_id,
            view_hash=view_hash,
            review_item_id=metadata["item"],
            review_version=metadata["version"],
            channel_id=metadata["channel"],
            message_ts=metadata["ts"],
            selected=value,
        )
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise PayloadError(f"unexpected response choice: {type(exc).__name__}: {exc}") from None


def _input(values: Mapping[str, Any], block_id: str, action_id: str) -> str:
    found = form_field(values, block_id, action_id)
    raw = found.get("value") if found is not None else None
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise TypeError(f"{block_id} is not text")
    return raw.strip()[:10000]


# --------------------------------------------------------------------------- listeners


def register(app: App, container: Container) -> None:
    """Attach the Reply… button, the Reply form and the response editor listeners."""
    service = reply_service(container)
    library = service.library

    @app.action(ui_ids.REPLY)
    def open_reply(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            press = parse_modal_button(body)
        except PayloadError as exc:
            log.warning("ignored a malformed Reply click: %s", exc)
            user = submitter(body)
            if user:
                tell(client, user, None, UNREADABLE)
            return
        click = press.click
        try:
            data = service.form_data(click.review_item_id, click.review_version, click.user_id)
            view = reply_modal(data, channel=click.channel_id, ts=click.message_ts)
        except Refused as refusal:
            tell(client, click.user_id, click.channel_id, refusal.message)
            return
        try:
            client.views_open(trigger_id=press.trigger_id, view=view)
        except (SlackApiError, SlackClientError) as exc:
            log.warning("could not open the reply form for %s: %s", click.user_id, exc)
            tell(client, click.user_id, click.channel_id, NOT_OPENED)

    @app.action(ui_ids.REPLY_RESPONSE_INPUT)
    def choose_response(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            choice = parse_response_choice(body)
        except PayloadError as exc:
            log.warning("ignored a malformed response choice: %s", exc)
            return
        key, _ = parse_option_value(choice.selected)
        try:
            data = service.form_data(
                choice.review_item_id,
                choice.review_version,
                choice.user_id,
                selected=key if key is not None else OWN_WORDS,
            )
        except Refused as refusal:
            tell(client, choice.user_id, choice.channel_id, refusal.message)
            return
        view = reply_modal(data, channel=choice.channel_id, ts=choice.message_ts)
        try:
            if choice.view_hash:
                client.views_update(view_id=choice.view_id, hash=choice.view_hash, view=view)
            else:
                client.views_update(view_id=choice.view_id, view=view)
        except (SlackApiError, SlackClientError) as exc:
            # hash_conflict: the form changed again meanwhile; the later change wins.
            log.info("could not refresh the reply form for %s: %s", choice.user_id, exc)

    @app.view(ui_ids.REPLY_MODAL)
    def submit_reply(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        try:
            submission = parse_reply_submission(body)
        except PayloadError as exc:
            ack()
            log.warning("ignored a malformed reply form: %s", exc)
            user = submitter(body)
            if user:
                tell(client, user, None, UNREADABLE)
            return
        form = submission.form
        try:
            problems = service.check(form)
        except Refused as refusal:
            ack()
            tell(client, form.actor_slack_id, submission.channel_id, refusal.message)
            return
        if problems:
            errors = {}
            for name, message in problems.errors.items():
                block = submission.text_block if name == "text" else FIELD_BLOCKS.get(name)
                if block:
                    errors[block] = message[:2000]
            if errors:
                ack(response_action="errors", errors=errors)
                return
        ack()  # the decision and the platform call come after Slack's 3 seconds
        try:
            service.reply(form)
        except Refused as refusal:
            tell(client, form.actor_slack_id, submission.channel_id, refusal.message)

    @app.view(ui_ids.RESPONSE_MODAL)
    def save_response(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        user_id = submitter(body)
        try:
            if user_id is None:
                raise ValueError("no user id")
            view = body["view"]
            key, version = response_metadata(view)
            values = state_values(view)
            if key is None:
                key = _input(values, ui_ids.RESPONSE_KEY_BLOCK, ui_ids.RESPONSE_KEY_INPUT).lower()
            title = _input(values, ui_ids.RESPONSE_TITLE_BLOCK, ui_ids.RESPONSE_TITLE_INPUT)
            text = _input(values, ui_ids.RESPONSE_BODY_BLOCK, ui_ids.RESPONSE_BODY_INPUT)
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            ack()
            log.warning("ignored a malformed response editor submission: %s", exc)
            if user_id:
                tell(client, user_id, None, "Sorry, that form could not be read; nothing saved.")
            return
        try:
            saved = library.save(user_id, key, title, text, expected_version=version)
        except ResponseRefused as refusal:
            block = EDITOR_FIELDS.get(refusal.field or "")
            if block == ui_ids.RESPONSE_KEY_BLOCK and version != 0:
                block = None  # editing: there is no key field to show it on
            if block:
                ack(response_action="errors", errors={block: refusal.message[:2000]})
            else:
                ack()
                tell(client, user_id, None, refusal.message)
            return
        ack()
        tell(
            client,
            user_id,
            None,
            f"Saved the standard response `{saved.key}` as version {saved.version}. "
            f"`/smat responses history {saved.key}` shows every version.",
        )
