"""Preserving the public record: the original of a comment, kept before anything removes it.

The record is written in the same transaction as the removal decision that points at it, from
what SMAT Bot already stored (text, author, times, permalink, the post and parent comment, the
platform's raw payload), so no platform call can remove a comment whose original was not kept.
Its SHA-256 covers a canonical form of all of it, and an HMAC signature with the council's
records key covers that and the preservation time (``bot.records.preserved``), so a copy taken
out of the system can be checked later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.records.preserved import content_digest, record_content, sign_record, utc_iso
from bot.records.signing import SigningKey
from bot.services.legal_holds import comment_is_held
from storage.models import Author, Comment, CommentVersion, PreservedRecord

RETENTION_REMOVED = "removed_comment"


def record_digest(fields: dict[str, Any]) -> str:
    """SHA-256 of a preserved record's canonical JSON (sorted keys, no spaces, UTF-8)."""
    return content_digest(fields)


def preserve(
    session: Session,
    comment: Comment,
    version: CommentVersion,
    now: datetime,
    key: SigningKey,
) -> PreservedRecord:
    """Write and sign the preserved record of this comment version (in the caller's transaction)."""
    author = session.get_one(Author, comment.author_id)
    fields = record_content(
        comment_external_id=comment.external_id,
        version=version.version,
        text=version.text,
        author_id=author.external_id,
        author_name=author.display_name,
        created_at=comment.created_at,
        permalink=comment.permalink,
        thread=_thread(session, comment),
        raw=version.raw_payload,
    )
    record = PreservedRecord(
        comment_id=comment.id,
        comment_version_id=version.id,
        text=version.text,
        author_external_id=author.external_id,
        author_display_name=author.display_name,
        permalink=comment.permalink,
        comment_created_at=comment.created_at,
        thread_context=fields["thread"],
        raw_payload=version.raw_payload,
        content_sha256=record_digest(fields),
        retention_class=RETENTION_REMOVED,
        legal_hold=comment_is_held(session, comment),  # mirrors legal_holds (docs/records.md)
        preserved_at=now,
    )
    session.add(record)
    session.flush()
    sign_record(session, record, key)
    session.flush()
    return record


def _thread(session: Session, comment: Comment) -> dict[str, Any]:
    """The post and the parent comment, as far as SMAT Bot has seen them."""
    thread: dict[str, Any] = {"post_id": comment.post_external_id, "post_title": comment.post_title}
    if comment.parent_external_id:
        parent = session.scalar(
            select(Comment).where(
                Comment.account_id == comment.account_id,
                Comment.external_id == comment.parent_external_id,
            )
        )
        thread["parent_id"] = comment.parent_external_id
        if parent is not None:
            text = session.scalar(
                select(CommentVersion.text).where(
                    CommentVersion.comment_id == parent.id,
                    CommentVersion.version == parent.current_version,
                )
            )
            parent_author = session.get_one(Author, parent.author_id)
            thread["parent"] = {
                "author": parent_author.display_name,
                "text": text,
                "created_at": utc_iso(parent.created_at),
            }
    return thread
