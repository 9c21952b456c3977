"""Batch cards: several clean comments in one Slack message, loaded as data and rendered purely.

Each comment is one line (author, platform, a short version of its words) with a Review
separately button; Approve all approves every line still waiting, one decision each. As with
single cards, nothing a resident wrote is put in ``mrkdwn``: lines are ``plain_text``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import ui_ids
from bot.cards import TriageCard, load_cards
from bot.rendering import (
    DECISION_WORDS,
    Block,
    SlackMessage,
    counted,
    escape_mrkdwn,
    mention,
    mrkdwn,
    plain,
)
from storage.models import SlackBatch, SlackBatchItem

SHORT_TEXT = 140
"""Characters of a comment shown on its batch line; Review separately shows it all."""
SYSTEM = "system"

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class BatchLine:
    """One comment in a batch card, and whether it was moved to its own card."""

    card: TriageCard
    pulled_out_by: str | None = None
    pulled_out_at: datetime | None = None

    @property
    def pulled_out(self) -> bool:
        """Whether the comment now has its own card."""
        return self.pulled_out_at is not None

    @property
    def waiting(self) -> bool:
        """Whether Approve all would approve it (still pending, still in the batch)."""
        return not self.pulled_out and self.card.status == "pending"


@dataclass(frozen=True)
class BatchCard:
    """A batch card as data: its Slack message, if posted, and its comments in order."""

    batch_id: int
    channel: str
    slack_channel: str | None
    slack_ts: str | None
    shown_digest: str | None
    lines: tuple[BatchLine, ...]

    @property
    def waiting(self) -> list[BatchLine]:
        """Lines Approve all would approve."""
        return [line for line in self.lines if line.waiting]


def load_batch_card(session: Session, batch_id: int) -> BatchCard:
    """Load one batch card; LookupError if there is no such batch."""
    batch = session.get(SlackBatch, batch_id)
    if batch is None:
        raise LookupError(f"no batch {batch_id}")
    members = session.scalars(
        select(SlackBatchItem)
        .where(SlackBatchItem.batch_id == batch_id)
        .order_by(SlackBatchItem.position)
    ).all()
    cards = {
        card.review_item_id: card
        for card in load_cards(session, [m.review_item_id for m in members])
    }
    lines = tuple(
        BatchLine(cards[m.review_item_id], m.pulled_out_by, m.pulled_out_at) for m in members
    )
    return BatchCard(
        batch_id=batch.id,
        channel=batch.channel,
        slack_channel=batch.slack_channel,
        slack_ts=batch.slack_ts,
        shown_digest=batch.shown_digest,
        lines=lines,
    )


def short_text(text: str, limit: int = SHORT_TEXT) -> str:
    """The comment on one line, cut to ``limit`` characters."""
    flat = _SPACES.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def line_text(number: int, card: TriageCard) -> str:
    """``3. Kev R · Facebook · “words…”`` (plain text: shown literally)."""
    edited = " (edited)" if card.comment_version > 1 else ""
    return (
        f"{number}. {card.author_name} · {card.platform.display_name}{edited} · "
        f"“{short_text(card.text)}”"
    )


def approve_all_value(card: BatchCard) -> str:
    """What Approve all carries: the batch, and each waiting comment at the version shown."""
    items = [[line.card.review_item_id, line.card.review_version] for line in card.waiting]
    return json.dumps({"batch": card.batch_id, "items": items}, separators=(",", ":"))


def separate_value(card: BatchCard, line: BatchLine) -> str:
    """What a line's Review separately button carries."""
    return json.dumps(
        {"batch": card.batch_id, "item": line.card.review_item_id},
        separators=(",", ":"),
    )


def _at(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("at %H:%M on %-d %b %Y")


def _status(line: BatchLine, tz: tzinfo) -> str | None:
    """What happened to a line that is no longer waiting, in our own (escaped) words."""
    parts: list[str] = []
    card = line.card
    if line.pulled_out and line.pulled_out_at is not None:
        if line.pulled_out_by == SYSTEM:
            parts.append(":arrow_heading_down: Moved to its own card: edited, and now flagged")
        else:
            who = mention(line.pulled_out_by, line.pulled_out_by or "someone")
            parts.append(
                f":arrow_heading_down: Moved to its own card by {who} {_at(line.pulled_out_at, tz)}"
            )
    elif card.decision is not None and card.status != "pending":
        decision = card.decision
        word, icon, _ = DECISION_WORDS.get(
            decision.action, (decision.action.title(), ":ballot_box_with_check:", "")
        )
        who = mention(decision.actor_slack_id, decision.actor_name)
        parts.append(f"{icon} {escape_mrkdwn(word)} by {who} {_at(decision.decided_at, tz)}")
    elif card.status != "pending":
        parts.append(f"Now {escape_mrkdwn(card.status.replace('_', ' '))}")
    if card.deleted:
        parts.append(":wastebasket: deleted by its author")
    return " · ".join(parts) or None


def _summary(card: BatchCard) -> str:
    approved = sum(
        1
        for line in card.lines
        if not line.pulled_out
        and line.card.decision is not None
        and line.card.decision.action == "approve"
        and line.card.status != "pending"
    )
    separate = sum(1 for line in card.lines if line.pulled_out)
    waiting = len(card.waiting)
    other = len(card.lines) - approved - separate - waiting
    parts = [f"{approved} approved", f"{separate} reviewed separately", f"{waiting} waiting"]
    if other:
        parts.append(f"{other} decided otherwise")
    return " · ".join(parts)


def render_batch_card(card: BatchCard, *, tz: tzinfo) -> SlackMessage:
    """Render a batch card in its current state."""
    total = len(card.lines)
    blocks: list[Block] = [
        {
            "type": "section",
            "text": mrkdwn(
                f":package: *{counted(total, 'comment')} the classifier did not flag*, "
                "grouped because comments are arriving faster than Slack can show them one "
                "by one."
            ),
        },
        {
            "type": "context",
            "elements": [
                mrkdwn(
                    "Read each line. *Approve all* approves every comment still waiting "
                    "(one decision each); *Review separately* moves a comment to its own card "
                    "to hide, warn or reply."
                )
            ],
        },
    ]
    for number, line in enumerate(card.lines, start=1):
        section: Block = {
            "type": "section",
            "block_id": f"batch_line:{line.card.review_item_id}",
            "text": plain(line_text(number, line.card), 2000),
        }
        if line.waiting:
            section["accessory"] = {
                "type": "button",
                "action_id": ui_ids.BATCH_SEPARATE,
                "text": plain("Review separately", 75),
                "value": separate_value(card, line),
            }
        blocks.append(section)
        status = _status(line, tz)
        if status:
            blocks.append({"type": "context", "elements": [mrkdwn(status)]})
    blocks.append({"type": "context", "elements": [mrkdwn(_summary(card))]})
    waiting = len(card.waiting)
    if waiting:
        approve = {
            "type": "button",
            "action_id": ui_ids.BATCH_APPROVE_ALL,
            "text": plain(f"Approve all ({waiting})", 75),
            "value": approve_all_value(card),
            "style": "primary",
            "confirm": {
                "title": plain("Approve these comments?", 100),
                "text": plain(
                    f"{counted(waiting, 'comment')} will be approved and left up, each recorded "
                    "as your decision. Move any you are unsure of to its own card first.",
                    300,
                ),
                "confirm": plain("Approve all", 30),
                "deny": plain("Cancel", 30),
            },
        }
        blocks.append(
            {"type": "actions", "block_id": f"batch:{card.batch_id}", "elements": [approve]}
        )
    text = (
        f"{counted(total, 'comment')} to check together ({waiting} waiting)"
        if waiting
        else f"{counted(total, 'comment')} checked together: {_summary(card)}"
    )
    return SlackMessage(text, blocks)
