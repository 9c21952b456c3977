"""Passing enquiries on: the note to the contact centre, complaints officer or press office.

The outbox handler for ``slack.route_note``. The note names the kind of enquiry, who passed it
on, where the comment is (a link to it on the platform and to its triage card) and what the
council replied; the resident's words go in ``plain_text`` only. A contact that is a person
gets a DM; a channel gets a message. A contact Slack cannot deliver to (an unknown channel, a
channel the bot is not in) is recorded as failed and shown on the card; anything else is
retried by the outbox. A note already sent is never sent again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.rendering import Block, SlackMessage, escape_mrkdwn, mention, mrkdwn, plain
from bot.services.outbox import RetryLater, enqueue
from config.settings import Settings
from platforms.types import Platform
from storage.db import reading
from storage.models import Account, Author, Comment, CommentVersion, Decision, Reply, ReviewItem

log = logging.getLogger(__name__)

UNDELIVERABLE = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "restricted_action",
        "invalid_users",
    }
)
"""Slack errors a retry will not fix: a person must correct the routing contact."""
_PERSON = re.compile(r"^[UW][A-Z0-9]{2,}$")


def contact_words(contact: str) -> str:
    """How a routing contact is written in our own mrkdwn: a mention or a channel name."""
    if _PERSON.match(contact):
        return f"<@{contact}>"
    if re.match(r"^[CG][A-Z0-9]{2,}$", contact):
        return f"<#{contact}>"
    return escape_mrkdwn(contact)


def route_note(
    *,
    kind_label: str,
    platform: Platform,
    account_name: str,
    post_title: str | None,
    author_name: str,
    comment_text: str,
    permalink: str | None,
    card_link: str | None,
    actor_slack_id: str | None,
    actor_name: str,
    reply_text: str,
    tz: tzinfo,
    created_at: Any,
) -> SlackMessage:
    """The note a routing contact receives (pure)."""
    who = mention(actor_slack_id, actor_name)
    headline = (
        f":incoming_envelope: *{escape_mrkdwn(kind_label)}* passed on by {who} (SMAT) from the "
        f"council's {escape_mrkdwn(platform.display_name)} account"
    )
    where = f"{author_name} on {platform.display_name} · {account_name}"
    if post_title:
        where += f' · on "{post_title}"'
    where += f" · {created_at.astimezone(tz):%-d %b %Y, %H:%M} wrote:"
    links = []
    if permalink and permalink.startswith("https://"):
        links.append(f"<{escape_mrkdwn(permalink)}|View the comment on {platform.display_name}>")
    if card_link and card_link.startswith("https://"):
        links.append(f"<{escape_mrkdwn(card_link)}|Its card in the triage channel>")
    blocks: list[Block] = [
        {"type": "section", "text": mrkdwn(headline)},
        {"type": "context", "elements": [plain(where, 2000)]},
        {"type": "section", "text": plain(comment_text)},
    ]
    if reply_text:
        blocks.append({"type": "context", "elements": [mrkdwn("The council replied publicly:")]})
        blocks.append({"type": "section", "text": plain(reply_text)})
    else:
        blocks.append({"type": "context", "elements": [mrkdwn("No public reply was posted.")]})
    if links:
        blocks.append({"type": "context", "elements": [mrkdwn(" · ".join(links))]})
    blocks.append(
        {
            "type": "context",
            "elements": [
                mrkdwn(
                    "Please deal with it through the council's usual procedure; the resident "
                    "has been pointed to the right channel."
                )
            ],
        }
    )
    text = f"{kind_label} passed on from {platform.display_name}"
    return SlackMessage(escape_mrkdwn(text), blocks)


class RouteNotifier:
    """Sends the note for a routed reply to its contact and records whether it arrived."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: WebClient,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._settings = settings
        self._clock = clock

    def deliver(self, payload: Mapping[str, Any]) -> None:
        """Send the note for ``payload["reply_id"]`` (an outbox handler)."""
        reply_id = int(payload["reply_id"])
        with reading(self._sessions) as session:
            reply = session.get(Reply, reply_id)
            if reply is None or reply.routed_to is None or reply.route_status == "sent":
                return
            decision = session.get_one(Decision, reply.decision_id)
            item = session.get_one(ReviewItem, decision.review_item_id)
            comment = session.get_one(Comment, decision.comment_id)
            version = session.get_one(CommentVersion, decision.comment_version_id)
            account = session.get_one(Account, comment.account_id)
            author = session.get_one(Author, comment.author_id)
            route = self._settings.routing.get(reply.route) if reply.route else None  # type: ignore[call-overload]
            message = route_note(
                kind_label=route.label if route else (reply.route or "Enquiry"),
                platform=Platform(account.platform),
                account_name=account.display_name,
                post_title=comment.post_title,
                author_name=author.display_name,
                comment_text=version.text,
                permalink=comment.permalink,
                card_link=self._card_link(item.slack_channel, item.slack_ts),
                actor_slack_id=decision.actor_slack_id,
                actor_name=decision.actor_name,
                reply_text=reply.text,
                tz=self._settings.council.tz,
                created_at=comment.created_at,
            )
            contact = reply.routed_to
            item_id = item.id
        try:
            channel = self._channel_for(contact)
            self._client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if exc.response.status_code == 429:
                headers = {k.lower(): v for k, v in exc.response.headers.items()}
                raise RetryLater("Slack rate limit", float(headers.get("retry-after", 1))) from None
            if error in UNDELIVERABLE:
                log.warning(
                    "routing note for reply %d undeliverable to %s: %s", reply_id, contact, error
                )
                self._record(reply_id, item_id, "failed", _explain(error, contact))
                return
            raise
        self._record(reply_id, item_id, "sent", None)

    def _channel_for(self, contact: str) -> str:
        if _PERSON.match(contact):
            opened = self._client.conversations_open(users=contact)
            return str(opened["channel"]["id"])
        return contact

    def _card_link(self, channel: str | None, ts: str | None) -> str | None:
        if not channel or not ts:
            return None
        try:
            answer = self._client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError as exc:
            log.info("no permalink for the card %s/%s: %s", channel, ts, exc.response.get("error"))
            return None
        link = answer.get("permalink")
        return str(link) if isinstance(link, str) else None

    def _record(self, reply_id: int, item_id: int, status: str, detail: str | None) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            reply = session.get_one(Reply, reply_id)
            reply.route_status = status
            reply.route_detail = detail
            if status == "sent":
                reply.routed_at = now
            enqueue(
                session,
                kind="slack.sync_card",
                key=f"slack.sync_card:{item_id}:route:{reply_id}:{status}",
                payload={"review_item_id": item_id},
                priority=95,
                now=now,
            )


def _explain(error: str, contact: str) -> str:
    if error == "not_in_channel":
        return f"SMAT Bot is not in {contact}: invite it there (/invite @SMAT Bot)"
    if error in ("channel_not_found", "is_archived"):
        return f"Slack has no open channel {contact}: check routing in the settings"
    if error in ("user_not_found", "user_disabled", "invalid_users"):
        return f"Slack has no active person {contact}: check routing in the settings"
    return f"Slack refused the note ({error})"
