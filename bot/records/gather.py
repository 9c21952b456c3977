"""Everything SMAT Bot holds about a comment or an author, read into plain JSON-ready dicts.

The evidence pack and the exports are built from these, so each fact is read (and named) in
one place. Times are ISO 8601 in UTC, with the council's local time beside them where a person
reads them. Untrusted text (comments, names, notes) is kept exactly as stored: escaping is the
job of whatever writes it out (HTML, CSV).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records.preserved import utc_iso
from config.settings import ReasonCode
from storage.models import (
    Account,
    Author,
    Classification,
    Comment,
    CommentVersion,
    Decision,
    DecisionOutcome,
    Escalation,
    Member,
    PreservedRecord,
    RemovalRequest,
    Reply,
    ReviewItem,
)

STRIKES = ("hide", "delete", "block", "warn")
"""Decisions that count against an author (unless undone)."""
UNDO_OF = {"unhide": "hide", "unblock": "block"}


def local_time(moment: datetime | None, tz: ZoneInfo) -> str | None:
    """A time as the council reads it: ``2026-11-16 10:00:00 GMT``."""
    if moment is None:
        return None
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def iso(moment: datetime | None) -> str | None:
    """A time in UTC, ISO 8601, or None."""
    return utc_iso(moment) if moment is not None else None


@dataclass(frozen=True)
class Context:
    """What the readers need besides the database: time zone, reason codes, member names."""

    tz: ZoneInfo
    reason_codes: Mapping[str, ReasonCode]


def member_names(session: Session) -> dict[str, str]:
    """Slack user id -> the name SMAT Bot knows them by."""
    return {
        member.slack_user_id: member.display_name or member.slack_user_id
        for member in session.scalars(select(Member))
    }


def person(slack_id: str | None, names: Mapping[str, str]) -> dict[str, str] | None:
    """A SMAT member as a record names them: Slack id and name."""
    if slack_id is None:
        return None
    return {"slack_id": slack_id, "name": names.get(slack_id, slack_id)}


def author_dict(author: Author) -> dict[str, Any]:
    """An author as held."""
    return {
        "id": author.id,
        "platform": author.platform,
        "external_id": author.external_id,
        "display_name": author.display_name,
        "first_seen_at": iso(author.first_seen_at),
    }


def comment_dict(session: Session, comment: Comment, ctx: Context) -> dict[str, Any]:
    """A comment with its account, author, every version of its text, and its review item."""
    account = session.get_one(Account, comment.account_id)
    author = session.get_one(Author, comment.author_id)
    versions = session.scalars(
        select(CommentVersion)
        .where(CommentVersion.comment_id == comment.id)
        .order_by(CommentVersion.version)
    ).all()
    item = session.scalar(select(ReviewItem).where(ReviewItem.comment_id == comment.id))
    return {
        "id": comment.id,
        "platform": account.platform,
        "account": {
            "name": account.name,
            "external_id": account.external_id,
            "display_name": account.display_name,
        },
        "external_id": comment.external_id,
        "post_id": comment.post_external_id,
        "post_title": comment.post_title,
        "parent_id": comment.parent_external_id,
        "permalink": comment.permalink,
        "created_at": iso(comment.created_at),
        "created_at_local": local_time(comment.created_at, ctx.tz),
        "first_seen_at": iso(comment.first_seen_at),
        "deleted_at": iso(comment.deleted_at),
        "current_version": comment.current_version,
        "author": author_dict(author),
        "versions": [
            {
                "version": v.version,
                "text": v.text,
                "content_sha256": v.content_sha256,
                "source": v.source,
                "seen_at": iso(v.seen_at),
            }
            for v in versions
        ],
        "review_item": (
            {"id": item.id, "status": item.status, "version": item.version} if item else None
        ),
    }


def version_numbers(session: Session, comment_ids: Sequence[int]) -> dict[int, int]:
    """Comment version row id -> its version number, for these comments."""
    rows = session.execute(
        select(CommentVersion.id, CommentVersion.version).where(
            CommentVersion.comment_id.in_(comment_ids)
        )
    ).all()
    return {row_id: number for row_id, number in rows}


def classification_dicts(session: Session, comment_ids: Sequence[int]) -> list[dict[str, Any]]:
    """What the classifier and rules said about every version of these comments."""
    numbers = version_numbers(session, comment_ids)
    rows = session.execute(
        select(Classification, CommentVersion.comment_id)
        .join(CommentVersion, CommentVersion.id == Classification.comment_version_id)
        .where(CommentVersion.comment_id.in_(comment_ids))
        .order_by(Classification.id)
    ).all()
    return [
        {
            "id": c.id,
            "comment_id": comment_id,
            "comment_version": numbers.get(c.comment_version_id),
            "model_name": c.model_name,
            "model_version": c.model_version,
            "scores": c.scores,
            "thresholds": c.thresholds,
            "detections": c.detections,
            "suggested_action": c.suggested_action,
            "reason_code": c.reason_code,
            "clause": c.clause,
            "explanation": c.explanation,
            "classified_at": iso(c.classified_at),
        }
        for c, comment_id in rows
    ]


def decision_dicts(
    session: Session, comment_ids: Sequence[int], ctx: Context, names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Every decision on these comments, with what the platform did and any reply posted."""
    numbers = version_numbers(session, comment_ids)
    decisions = session.scalars(
        select(Decision).where(Decision.comment_id.in_(comment_ids)).order_by(Decision.id)
    ).all()
    ids = [d.id for d in decisions]
    outcomes = {
        o.decision_id: o
        for o in session.scalars(
            select(DecisionOutcome).where(DecisionOutcome.decision_id.in_(ids))
        )
    }
    replies = {
        r.decision_id: r for r in session.scalars(select(Reply).where(Reply.decision_id.in_(ids)))
    }
    return [
        decision_dict(d, numbers, outcomes.get(d.id), replies.get(d.id), ctx, names)
        for d in decisions
    ]


def decision_dict(
    d: Decision,
    numbers: Mapping[int, int],
    outcome: DecisionOutcome | None,
    reply: Reply | None,
    ctx: Context,
    names: Mapping[str, str],
) -> dict[str, Any]:
    """One decision as a record shows it."""
    reason = ctx.reason_codes.get(d.reason_code or "")
    return {
        "id": d.id,
        "comment_id": d.comment_id,
        "comment_version": numbers.get(d.comment_version_id),
        "review_item_id": d.review_item_id,
        "action": d.action,
        "actor_kind": d.actor_kind,
        "actor": person(d.actor_slack_id, names) or {"slack_id": None, "name": d.actor_name},
        "approved_by": person(d.approved_by, names),
        "reason_code": d.reason_code,
        "reason_label": reason.label if reason else None,
        "policy_clause": reason.clause if reason else None,
        "legislation": list(reason.legislation) if reason else [],
        "note": d.note,
        "classification_id": d.classification_id,
        "preserved_record_id": d.preserved_record_id,
        "undoes_decision_id": d.undoes_decision_id,
        "decided_at": iso(d.decided_at),
        "decided_at_local": local_time(d.decided_at, ctx.tz),
        "platform_outcome": (
            {
                "status": outcome.status,
                "detail": outcome.detail,
                "platform_ref": outcome.platform_ref,
                "attempts": outcome.attempts,
                "updated_at": iso(outcome.updated_at),
            }
            if outcome
            else None
        ),
        "reply": (
            {
                "text": reply.text,
                "canned_key": reply.canned_key,
                "canned_version": reply.canned_version,
                "route": reply.route,
                "routed_to": reply.routed_to,
                "created_at": iso(reply.created_at),
            }
            if reply
            else None
        ),
    }


def removal_request_dicts(
    session: Session, comment_ids: Sequence[int], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Removals asked for on these comments, and who approved or declined them."""
    rows = session.scalars(
        select(RemovalRequest)
        .join(ReviewItem, ReviewItem.id == RemovalRequest.review_item_id)
        .where(ReviewItem.comment_id.in_(comment_ids))
        .order_by(RemovalRequest.id)
    ).all()
    return [
        {
            "id": r.id,
            "action": r.action,
            "reason_code": r.reason_code,
            "note": r.note,
            "requested_by": person(r.requested_by, names),
            "requested_at": iso(r.requested_at),
            "needs": r.needs,
            "status": r.status,
            "resolved_by": person(r.resolved_by, names),
            "resolved_at": iso(r.resolved_at),
        }
        for r in rows
    ]


def offence_dict(entry: str, reason_codes: Mapping[str, ReasonCode]) -> dict[str, Any]:
    """An offence picked at escalation, with the legislation it names.

    An entry is either a policy reason code (whose legislation the settings list) or the
    citation itself, e.g. "Malicious Communications Act 1988, s1".
    """
    reason = reason_codes.get(entry)
    if reason is not None:
        return {"offence": entry, "label": reason.label, "legislation": list(reason.legislation)}
    return {"offence": entry, "label": entry, "legislation": [entry]}


def escalation_dicts(
    session: Session, comment_ids: Sequence[int], ctx: Context, names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Escalations of these comments to the Clerk, the offences named, and the outcome."""
    rows = session.scalars(
        select(Escalation).where(Escalation.comment_id.in_(comment_ids)).order_by(Escalation.id)
    ).all()
    return [
        {
            "id": e.id,
            "comment_id": e.comment_id,
            "decision_id": e.decision_id,
            "reason": e.reason,
            "offences": [offence_dict(str(o), ctx.reason_codes) for o in (e.offences or [])],
            "note": e.note,
            "escalated_by": person(e.escalated_by, names),
            "escalated_at": iso(e.escalated_at),
            "escalated_at_local": local_time(e.escalated_at, ctx.tz),
            "immediate": e.immediate,
            "status": e.status,
            "acknowledged_by": person(e.acknowledged_by, names),
            "acknowledged_at": iso(e.acknowledged_at),
            "outcome": e.outcome,
            "outcome_by": person(e.outcome_by, names),
            "outcome_at": iso(e.outcome_at),
            "outcome_note": e.outcome_note,
        }
        for e in rows
    ]


def preserved_dicts(session: Session, comment_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The preserved originals of these comments, as stored (with their signatures)."""
    rows = session.scalars(
        select(PreservedRecord)
        .where(PreservedRecord.comment_id.in_(comment_ids))
        .order_by(PreservedRecord.id)
    ).all()
    numbers = version_numbers(session, comment_ids)
    return [
        {
            "id": r.id,
            "comment_id": r.comment_id,
            "comment_version": numbers.get(r.comment_version_id),
            "text": r.text,
            "author_external_id": r.author_external_id,
            "author_display_name": r.author_display_name,
            "permalink": r.permalink,
            "comment_created_at": iso(r.comment_created_at),
            "thread_context": r.thread_context,
            "raw_payload": r.raw_payload,
            "content_sha256": r.content_sha256,
            "retention_class": r.retention_class,
            "legal_hold": r.legal_hold,
            "preserved_at": iso(r.preserved_at),
            "signature": r.signature,
            "signature_key_id": r.signature_key_id,
        }
        for r in rows
    ]


def strikes(decisions: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The hides, deletions, blocks and warnings among these decisions that were not undone."""
    listed = list(decisions)
    undone = {d["undoes_decision_id"] for d in listed if d["undoes_decision_id"]}
    return [d for d in listed if d["action"] in STRIKES and d["id"] not in undone]
