"""Exports for records, Freedom of Information requests and subject-access requests.

``decisions_export`` lists the decisions taken between two local dates (inclusive), as CSV or
JSON; ``subject_export`` gathers everything held about one author. CSV cells are neutralised
(``bot.records.csv_cells``); JSON keeps text exactly as held.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records import gather
from bot.records.csv_cells import csv_bytes
from bot.records.package import Pack, PackWriter, pretty_json
from bot.records.signing import SigningKey
from storage.models import (
    Account,
    Author,
    Comment,
    CommentVersion,
    Decision,
    DecisionOutcome,
    PreservedRecord,
    Reply,
)

DECISION_COLUMNS = (
    "decision_id",
    "decided_at_utc",
    "decided_at_local",
    "action",
    "actor_name",
    "actor_slack_id",
    "approved_by",
    "reason_code",
    "reason_label",
    "policy_clause",
    "note",
    "undoes_decision_id",
    "comment_id",
    "platform",
    "account",
    "comment_external_id",
    "comment_version",
    "author_name",
    "author_external_id",
    "comment_text",
    "permalink",
    "suggested_action",
    "model",
    "platform_outcome",
    "preserved_record_id",
    "preserved_sha256",
    "reply_text",
)
PERSONAL_COLUMNS = frozenset(
    {
        "author_name",
        "author_external_id",
        "comment_text",
        "permalink",
        "comment_external_id",
        "note",
        "reply_text",
    }
)
"""Left empty with --without-personal-data (e.g. for a Freedom of Information disclosure)."""

ExportFormat = Literal["csv", "json"]


class UnknownAuthor(LookupError):
    """No author matches."""


def local_day_bounds(start: date, end: date, ctx: gather.Context) -> tuple[datetime, datetime]:
    """From the local start of ``start`` to the local start of the day after ``end``."""
    begin = datetime.combine(start, time.min, tzinfo=ctx.tz)
    finish = datetime.combine(end + timedelta(days=1), time.min, tzinfo=ctx.tz)
    return begin, finish


def decision_rows(
    session: Session,
    start: date,
    end: date,
    ctx: gather.Context,
    *,
    personal_data: bool = True,
) -> list[dict[str, Any]]:
    """One flat row per decision taken on the local dates start..end inclusive, oldest first."""
    begin, finish = local_day_bounds(start, end, ctx)
    names = gather.member_names(session)
    rows = session.execute(
        select(Decision, Comment, Account, Author, CommentVersion)
        .join(Comment, Comment.id == Decision.comment_id)
        .join(Account, Account.id == Comment.account_id)
        .join(Author, Author.id == Comment.author_id)
        .join(CommentVersion, CommentVersion.id == Decision.comment_version_id)
        .where(Decision.decided_at >= begin, Decision.decided_at < finish)
        .order_by(Decision.decided_at, Decision.id)
    ).all()
    ids = [row[0].id for row in rows]
    outcomes = {
        o.decision_id: o
        for o in session.scalars(
            select(DecisionOutcome).where(DecisionOutcome.decision_id.in_(ids))
        )
    }
    replies = {
        r.decision_id: r for r in session.scalars(select(Reply).where(Reply.decision_id.in_(ids)))
    }
    classifications = {
        c["id"]: c
        for c in gather.classification_dicts(session, sorted({row[1].id for row in rows}))
    }
    preserved = {
        p.id: p.content_sha256
        for p in session.scalars(
            select(PreservedRecord).where(
                PreservedRecord.id.in_(
                    [row[0].preserved_record_id for row in rows if row[0].preserved_record_id]
                )
            )
        )
    }
    out: list[dict[str, Any]] = []
    for decision, comment, account, author, version in rows:
        reason = ctx.reason_codes.get(decision.reason_code or "")
        classification = classifications.get(decision.classification_id or 0)
        outcome = outcomes.get(decision.id)
        reply = replies.get(decision.id)
        row = {
            "decision_id": decision.id,
            "decided_at_utc": gather.iso(decision.decided_at),
            "decided_at_local": gather.local_time(decision.decided_at, ctx.tz),
            "action": decision.action,
            "actor_name": (
                gather.person(decision.actor_slack_id, names) or {"name": decision.actor_name}
            )["name"],
            "actor_slack_id": decision.actor_slack_id,
            "approved_by": decision.approved_by,
            "reason_code": decision.reason_code,
            "reason_label": reason.label if reason else None,
            "policy_clause": reason.clause if reason else None,
            "note": decision.note,
            "undoes_decision_id": decision.undoes_decision_id,
            "comment_id": comment.id,
            "platform": account.platform,
            "account": account.display_name,
            "comment_external_id": comment.external_id,
            "comment_version": version.version,
            "author_name": author.display_name,
            "author_external_id": author.external_id,
            "comment_text": version.text,
            "permalink": comment.permalink,
            "suggested_action": classification["suggested_action"] if classification else None,
            "model": (
                f"{classification['model_name']} ({classification['model_version']})"
                if classification
                else None
            ),
            "platform_outcome": outcome.status if outcome else None,
            "preserved_record_id": decision.preserved_record_id,
            "preserved_sha256": preserved.get(decision.preserved_record_id or 0),
            "reply_text": reply.text if reply else None,
        }
        if not personal_data:
            row.update({column: None for column in PERSONAL_COLUMNS})
        out.append(row)
    return out


def decisions_document(
    rows: Sequence[dict[str, Any]],
    export_format: ExportFormat,
    *,
    start: date,
    end: date,
    ctx: gather.Context,
    council: str,
    now: datetime,
    personal_data: bool,
) -> bytes:
    """The decisions export as CSV (one row per decision) or JSON (with what it covers)."""
    if export_format == "csv":
        return csv_bytes(DECISION_COLUMNS, ([row[c] for c in DECISION_COLUMNS] for row in rows))
    document = {
        "council": council,
        "exported_at": gather.iso(now),
        "from": start.isoformat(),
        "to": end.isoformat(),
        "timezone": str(ctx.tz),
        "personal_data": personal_data,
        "count": len(rows),
        "decisions": list(rows),
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def find_author(session: Session, reference: str) -> Author:
    """An author by SMAT Bot id (``42``) or platform and platform id (``facebook:1234``)."""
    platform, sep, external_id = reference.partition(":")
    if sep:
        author = session.scalar(
            select(Author).where(
                Author.platform == platform.strip().lower(), Author.external_id == external_id
            )
        )
    elif reference.strip().isdigit():
        author = session.get(Author, int(reference))
    else:
        raise UnknownAuthor(
            f"{reference!r} is neither an author id nor PLATFORM:ID (e.g. facebook:1234)"
        )
    if author is None:
        raise UnknownAuthor(f"no author {reference!r} is held")
    return author


def subject_data(
    session: Session, author: Author, ctx: gather.Context, now: datetime
) -> dict[str, Any]:
    """Everything held about one author, from their comments to the escalations about them.

    Comments and every version, classifications, decisions, removal requests, preserved
    originals, replies and escalations.
    """
    names = gather.member_names(session)
    comments = session.scalars(
        select(Comment)
        .where(Comment.author_id == author.id)
        .order_by(Comment.created_at, Comment.id)
    ).all()
    ids = [c.id for c in comments]
    decisions = gather.decision_dicts(session, ids, ctx, names) if ids else []
    return {
        "format": "smat-bot/subject-access/1",
        "exported_at": gather.iso(now),
        "author": gather.author_dict(author),
        "comments": [gather.comment_dict(session, c, ctx) for c in comments],
        "classifications": gather.classification_dicts(session, ids) if ids else [],
        "decisions": decisions,
        "strikes": len(gather.strikes(decisions)),
        "removal_requests": gather.removal_request_dicts(session, ids, names) if ids else [],
        "preserved_records": gather.preserved_dicts(session, ids) if ids else [],
        "replies": [d["reply"] | {"decision_id": d["id"]} for d in decisions if d["reply"]],
        "escalations": gather.escalation_dicts(session, ids, ctx, names) if ids else [],
    }


@dataclass(frozen=True)
class SubjectExport:
    """A subject-access export: the JSON document, and the zip when one was asked for."""

    document: bytes
    pack: Pack | None


def subject_export(
    data: dict[str, Any], *, as_zip: bool, key: SigningKey | None, now: datetime
) -> SubjectExport:
    """The export as one JSON document, or a signed zip with CSV tables beside it."""
    document = pretty_json(data)
    if not as_zip:
        return SubjectExport(document, None)
    assert key is not None
    author = data["author"]
    writer = PackWriter(
        f"subject-access-author-{author['id']}-{now.strftime('%Y%m%dT%H%M%SZ')}", now
    )
    writer.add("subject.json", document)
    writer.add(
        "comments.csv",
        csv_bytes(
            ("comment_id", "platform", "account", "posted_utc", "version", "text", "permalink"),
            (
                [
                    c["id"],
                    c["platform"],
                    c["account"]["display_name"],
                    c["created_at"],
                    v["version"],
                    v["text"],
                    c["permalink"],
                ]
                for c in data["comments"]
                for v in c["versions"]
            ),
        ),
    )
    writer.add(
        "decisions.csv",
        csv_bytes(
            (
                "decision_id",
                "comment_id",
                "decided_at_utc",
                "action",
                "reason_code",
                "reason_label",
                "note",
            ),
            (
                [
                    d["id"],
                    d["comment_id"],
                    d["decided_at"],
                    d["action"],
                    d["reason_code"],
                    d["reason_label"],
                    d["note"],
                ]
                for d in data["decisions"]
            ),
        ),
    )
    writer.add("README.txt", SUBJECT_README.encode("utf-8"))
    about = {"format": "smat-bot/subject-access-pack/1", "author_id": author["id"]}
    return SubjectExport(document, writer.finish(key, about))


SUBJECT_README = """SMAT Bot subject-access export
==============================

subject.json holds everything SMAT Bot holds about one author of comments on the council's
pages: their comments and every version of them, what the classifier said, the decisions
taken and by whom, removal requests, preserved originals, public replies and escalations.
comments.csv and decisions.csv are the same facts as spreadsheets (a cell that began with
=, +, - or @ starts with an extra ' so it cannot run as a formula).

Before disclosing it, check for other people's personal data (e.g. a parent comment quoted
in a thread) and for anything exempt under the Data Protection Act 2018.

To check that no file has changed: in this folder run `sha256sum -c MANIFEST.sha256`.
"""
