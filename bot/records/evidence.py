"""The evidence pack for one comment: everything needed to hand it to the police or a platform.

Files, in one folder named after the comment:

- ``index.html``: the page a person reads (``bot.records.html_page``);
- ``record.json``: the comment, its author, every version of its text, its review item;
- ``preserved/record-<id>.json`` + ``.hmac``: each preserved original's signed document,
  byte for byte what the signature covers (``bot.records.preserved``);
- ``thread.json``: the post, the comment it replied to and the replies to it, as held;
- ``classification.json``: scores, model, thresholds, detections and suggestion per version;
- ``decisions.json``, ``timeline.json`` and ``timeline.csv``: what was decided, by whom, when;
- ``escalation.json``: the escalation(s), the offences picked and the legislation they name;
- ``author-history.json``: the author's other comments, decisions and strikes;
- ``README.txt`` and the manifest files (``bot.records.package``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records import gather
from bot.records.csv_cells import csv_bytes
from bot.records.html_page import evidence_page
from bot.records.package import Pack, PackWriter, pretty_json
from bot.records.preserved import RecordCheck, check_record
from bot.records.signing import SigningKey
from storage.models import Author, Comment, CommentVersion, PreservedRecord

PACK_FORMAT = "smat-bot/evidence-pack/1"
TIMELINE_COLUMNS = ("at", "at_local", "event", "by", "detail")


class UnknownComment(LookupError):
    """No comment with that id is held."""


@dataclass(frozen=True)
class EvidencePack:
    """A built pack, and what checking its preserved records found."""

    pack: Pack
    comment_id: int
    records: tuple[RecordCheck, ...]


def build_evidence_pack(
    session: Session,
    comment_id: int,
    *,
    ctx: gather.Context,
    key: SigningKey,
    council: str,
    generated_by: str,
    now: datetime,
) -> EvidencePack:
    """Gather, check, write and sign the evidence pack for one comment."""
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise UnknownComment(f"no comment with id {comment_id}")
    names = gather.member_names(session)
    ids = [comment.id]
    summary = gather.comment_dict(session, comment, ctx)
    decisions = gather.decision_dicts(session, ids, ctx, names)
    escalations = gather.escalation_dicts(session, ids, ctx, names)
    classifications = gather.classification_dicts(session, ids)
    requests = gather.removal_request_dicts(session, ids, names)
    preserved_rows = session.scalars(
        select(PreservedRecord)
        .where(PreservedRecord.comment_id == comment.id)
        .order_by(PreservedRecord.id)
    ).all()
    checks = [check_record(session, row, key) for row in preserved_rows]
    folder = f"evidence-comment-{comment.id}-{now.strftime('%Y%m%dT%H%M%SZ')}"
    writer = PackWriter(folder, now)
    preserved: list[dict[str, Any]] = []
    for row, check in zip(preserved_rows, checks, strict=True):
        path = f"preserved/record-{row.id}.json"
        if check.signature is not None:
            writer.add_signed(path, check.document, check.signature)
        else:
            writer.add(path, check.document)
        preserved.append(
            {
                "id": row.id,
                "file": path,
                "signature_file": path + ".hmac" if check.signature else None,
                "signature": check.signature,
                "key_id": check.key_id,
                "status": check.status,
                "verified": bool(check.content_ok and check.signature_ok),
                "content_sha256": row.content_sha256,
                "preserved_at": gather.iso(row.preserved_at),
                "text": row.text,
                "thread": row.thread_context,
            }
        )
    thread = _thread(session, comment)
    history = _author_history(session, comment, ctx, names)
    timeline = _timeline(
        summary, classifications, decisions, requests, escalations, preserved, ctx, names
    )
    page = {
        "council": council,
        "generated_by": generated_by,
        "generated_at_local": gather.local_time(now, ctx.tz),
        "folder": folder,
        "comment": summary,
        "preserved": preserved,
        "thread": thread,
        "escalations": escalations,
        "classifications": classifications,
        "timeline": timeline,
        "author_history": history,
    }
    writer.add("index.html", evidence_page(page).encode("utf-8"))
    writer.add("record.json", pretty_json(summary))
    writer.add("thread.json", pretty_json(thread))
    writer.add("classification.json", pretty_json(classifications))
    writer.add(
        "decisions.json", pretty_json({"decisions": decisions, "removal_requests": requests})
    )
    writer.add("timeline.json", pretty_json(timeline))
    writer.add(
        "timeline.csv",
        csv_bytes(TIMELINE_COLUMNS, ([e[c] for c in TIMELINE_COLUMNS] for e in timeline)),
    )
    writer.add("escalation.json", pretty_json(escalations))
    writer.add("author-history.json", pretty_json(history))
    writer.add("README.txt", readme(folder, comment.id).encode("utf-8"))
    about = {
        "format": PACK_FORMAT,
        "council": council,
        "generated_by": generated_by,
        "comment_id": comment.id,
        "platform": summary["platform"],
        "comment_external_id": comment.external_id,
        "preserved_records": [
            {k: p[k] for k in ("id", "file", "signature_file", "key_id", "status")}
            for p in preserved
        ],
    }
    return EvidencePack(writer.finish(key, about), comment.id, tuple(checks))


def _current_text(session: Session, comment: Comment) -> str | None:
    return session.scalar(
        select(CommentVersion.text).where(
            CommentVersion.comment_id == comment.id,
            CommentVersion.version == comment.current_version,
        )
    )


def _thread(session: Session, comment: Comment) -> dict[str, Any]:
    """The post, the comment this one replied to, and the replies to it, as held now."""
    related: list[tuple[str, Comment]] = []
    if comment.parent_external_id:
        parent = session.scalar(
            select(Comment).where(
                Comment.account_id == comment.account_id,
                Comment.external_id == comment.parent_external_id,
            )
        )
        if parent is not None:
            related.append(("replied to", parent))
    replies = session.scalars(
        select(Comment)
        .where(
            Comment.account_id == comment.account_id,
            Comment.parent_external_id == comment.external_id,
        )
        .order_by(Comment.created_at, Comment.id)
    ).all()
    related.extend(("reply", reply) for reply in replies)
    comments = []
    for relation, other in related:
        author = gather.author_dict(session.get_one(Author, other.author_id))
        comments.append(
            {
                "relation": relation,
                "comment_id": other.id,
                "external_id": other.external_id,
                "author": author["display_name"],
                "author_external_id": author["external_id"],
                "created_at": gather.iso(other.created_at),
                "text": _current_text(session, other),
            }
        )
    return {
        "post_id": comment.post_external_id,
        "post_title": comment.post_title,
        "parent_id": comment.parent_external_id,
        "comments": comments,
    }


def _author_history(
    session: Session, comment: Comment, ctx: gather.Context, names: Mapping[str, str]
) -> dict[str, Any]:
    """The author's other comments held, their decisions, and the strikes among them."""
    others = session.scalars(
        select(Comment)
        .where(Comment.author_id == comment.author_id, Comment.id != comment.id)
        .order_by(Comment.created_at, Comment.id)
    ).all()
    decisions = gather.decision_dicts(session, [c.id for c in others], ctx, names) if others else []
    by_comment: dict[int, list[dict[str, Any]]] = {}
    for decision in decisions:
        by_comment.setdefault(decision["comment_id"], []).append(decision)
    strikes = gather.strikes(decisions)
    return {
        "author": gather.author_dict(session.get_one(Author, comment.author_id)),
        "strike_count": len(strikes),
        "strikes": [
            {k: s[k] for k in ("id", "comment_id", "action", "reason_code", "decided_at")}
            for s in strikes
        ],
        "comments": [
            {
                "comment_id": other.id,
                "external_id": other.external_id,
                "created_at": gather.iso(other.created_at),
                "before_this_comment": other.created_at <= comment.created_at,
                "text": _current_text(session, other),
                "decisions": [
                    {
                        k: d[k]
                        for k in ("id", "action", "reason_code", "decided_at", "undoes_decision_id")
                    }
                    for d in by_comment.get(other.id, [])
                ],
            }
            for other in others
        ],
    }


def _timeline(
    summary: Mapping[str, Any],
    classifications: Sequence[Mapping[str, Any]],
    decisions: Sequence[Mapping[str, Any]],
    requests: Sequence[Mapping[str, Any]],
    escalations: Sequence[Mapping[str, Any]],
    preserved: Sequence[Mapping[str, Any]],
    ctx: gather.Context,
    names: Mapping[str, str],
) -> list[dict[str, Any]]:
    """Every dated event about the comment, oldest first."""
    author = summary["author"]["display_name"]
    events: list[tuple[str | None, str, str, str]] = [
        (
            summary["created_at"],
            "posted",
            author,
            f"comment {summary['external_id']} on {summary['platform']}",
        ),
        (summary["first_seen_at"], "first seen by SMAT Bot", "system", ""),
    ]
    for version in summary["versions"][1:]:
        events.append((version["seen_at"], f"edited (version {version['version']})", author, ""))
    if summary["deleted_at"]:
        events.append((summary["deleted_at"], "deleted by its author", author, ""))
    for c in classifications:
        events.append(
            (
                c["classified_at"],
                "classified",
                "system",
                f"version {c['comment_version']}: suggested {c['suggested_action']} "
                f"{c['reason_code'] or ''}".strip(),
            )
        )
    for r in requests:
        events.append(
            (
                r["requested_at"],
                f"{r['action']} requested",
                _who(r["requested_by"]),
                f"needs {r['needs']}; reason {r['reason_code']}",
            )
        )
        if r["resolved_at"]:
            events.append(
                (
                    r["resolved_at"],
                    f"{r['action']} request {r['status']}",
                    _who(r["resolved_by"]),
                    "",
                )
            )
    for p in preserved:
        events.append(
            (
                p["preserved_at"],
                "original preserved",
                "system",
                f"record {p['id']}, sha256 {p['content_sha256']}",
            )
        )
    for d in decisions:
        detail = f"reason {d['reason_code']}" if d["reason_code"] else ""
        if d["approved_by"]:
            detail += f"; approved by {_who(d['approved_by'])}"
        if d["note"]:
            detail += f"; note: {d['note']}"
        events.append(
            (d["decided_at"], f"decision: {d['action']}", _who(d["actor"]), detail.strip("; "))
        )
        outcome = d["platform_outcome"]
        if outcome and outcome["status"] not in ("pending", "not_needed"):
            events.append(
                (
                    outcome["updated_at"],
                    f"platform: {d['action']} {outcome['status']}",
                    "system",
                    outcome["detail"] or "",
                )
            )
        if d["reply"]:
            events.append(
                (
                    d["reply"]["created_at"],
                    "public reply recorded",
                    _who(d["actor"]),
                    d["reply"]["text"],
                )
            )
    for e in escalations:
        offences = "; ".join(f"{o['label']} ({', '.join(o['legislation'])})" for o in e["offences"])
        events.append(
            (e["escalated_at"], f"escalated: {e['reason']}", _who(e["escalated_by"]), offences)
        )
        if e["acknowledged_at"]:
            events.append(
                (e["acknowledged_at"], "escalation acknowledged", _who(e["acknowledged_by"]), "")
            )
        if e["outcome_at"]:
            events.append(
                (
                    e["outcome_at"],
                    f"escalation outcome: {e['outcome']}",
                    _who(e["outcome_by"]),
                    e["outcome_note"] or "",
                )
            )
    dated = [event for event in events if event[0] is not None]
    dated.sort(key=lambda event: str(event[0]))
    return [
        {
            "at": at,
            "at_local": gather.local_time(datetime.fromisoformat(str(at)), ctx.tz),
            "event": event,
            "by": by,
            "detail": detail,
        }
        for at, event, by, detail in dated
    ]


def _who(value: Mapping[str, Any] | None) -> str:
    if not value:
        return "—"
    return str(value.get("name") or value.get("slack_id") or "—")


def readme(folder: str, comment_id: int) -> str:
    """How to check the pack, in plain words (no resident-written text)."""
    return f"""SMAT Bot evidence pack for comment {comment_id}
{"=" * 60}

Open index.html in a web browser to read it. It runs no scripts and loads nothing.

To check that no file has changed since the pack was made, in this folder ({folder}) run:

    sha256sum -c MANIFEST.sha256          (Linux)
    shasum -a 256 -c MANIFEST.sha256      (macOS)

Every line must end in "OK". Note the SHA-256 of MANIFEST.sha256 itself on the handover form.

Whoever holds the council's records signing key can also check that SMAT Bot made the manifest
and the preserved originals (the signature is HMAC-SHA256, in hex, in the .hmac file):

    openssl dgst -sha256 -hmac "$KEY" manifest.json
    openssl dgst -sha256 -hmac "$KEY" preserved/record-N.json

Each printed value must equal the contents of the matching .hmac file. The preserved records'
format is described in SMAT Bot's docs/records.md ("Signed preserved records").
"""
