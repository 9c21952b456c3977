"""The signed document of a preserved record: what is signed, and checking it again later.

The document is rebuilt from the stored record whenever it is needed (signing, exporting,
checking), so a record changed in the database after it was preserved no longer matches its
signature. Only fields that never change after preservation are in it; retention class and
legal hold change by design and are not signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.records.signing import SigningKey, canonical_json, sha256_hex
from storage.models import Account, Comment, CommentVersion, PreservedRecord

RECORD_FORMAT = "smat-bot/preserved-record/1"


def utc_iso(moment: datetime) -> str:
    """A time as ISO 8601 in UTC (``2026-11-16T10:00:00+00:00``), as every record writes it."""
    return moment.astimezone(UTC).isoformat()


def record_content(
    *,
    comment_external_id: str,
    version: int,
    text: str,
    author_id: str,
    author_name: str,
    created_at: datetime,
    permalink: str | None,
    thread: dict[str, Any],
    raw: dict[str, Any],
) -> dict[str, Any]:
    """The preserved content whose canonical JSON the record's ``content_sha256`` covers."""
    return {
        "comment_id": comment_external_id,
        "version": version,
        "text": text,
        "author_id": author_id,
        "author_name": author_name,
        "created_at": utc_iso(created_at),
        "permalink": permalink,
        "thread": thread,
        "raw": raw,
    }


def content_digest(content: dict[str, Any]) -> str:
    """SHA-256 of the content's canonical JSON."""
    return sha256_hex(canonical_json(content))


def signed_document(session: Session, record: PreservedRecord) -> dict[str, Any]:
    """The document a record's signature covers, rebuilt from what is stored."""
    comment = session.get_one(Comment, record.comment_id)
    version = session.get_one(CommentVersion, record.comment_version_id)
    platform = session.get_one(Account, comment.account_id).platform
    content = record_content(
        comment_external_id=comment.external_id,
        version=version.version,
        text=record.text,
        author_id=record.author_external_id,
        author_name=record.author_display_name,
        created_at=record.comment_created_at,
        permalink=record.permalink,
        thread=record.thread_context,
        raw=record.raw_payload,
    )
    return {
        "format": RECORD_FORMAT,
        "record_id": record.id,
        "platform": platform,
        "content": content,
        "content_sha256": record.content_sha256,
        "preserved_at": utc_iso(record.preserved_at),
    }


def sign_record(session: Session, record: PreservedRecord, key: SigningKey) -> None:
    """Sign a freshly preserved (and flushed) record in the caller's transaction."""
    record.signature = key.sign(canonical_json(signed_document(session, record)))
    record.signature_key_id = key.key_id


@dataclass(frozen=True)
class RecordCheck:
    """What checking a preserved record found."""

    record_id: int
    document: bytes
    """The canonical signed document, exactly the bytes the signature covers."""
    signature: str | None
    key_id: str | None
    content_ok: bool
    """The content still hashes to the ``content_sha256`` taken at preservation."""
    signature_ok: bool | None
    """True or False when checked; None when unsigned, or signed with a key not at hand."""

    @property
    def status(self) -> str:
        """One line for people: verified, or what is wrong."""
        if not self.content_ok:
            return "CONTENT CHANGED: it no longer matches the hash taken when it was preserved"
        if self.signature is None:
            return "not signed (preserved before records were signed); content hash matches"
        if self.signature_ok is None:
            return f"signed with another key ({self.key_id}); content hash matches"
        if not self.signature_ok:
            return "SIGNATURE DOES NOT MATCH: the record changed after it was signed"
        return "signature and content hash verified"


def check_record(session: Session, record: PreservedRecord, key: SigningKey | None) -> RecordCheck:
    """Rebuild a record's signed document and check its content hash and signature."""
    document = signed_document(session, record)
    data = canonical_json(document)
    content_ok = content_digest(document["content"]) == record.content_sha256
    signature_ok: bool | None = None
    if record.signature is not None and key is not None and record.signature_key_id == key.key_id:
        signature_ok = key.verify(data, record.signature)
    return RecordCheck(
        record_id=record.id,
        document=data,
        signature=record.signature,
        key_id=record.signature_key_id,
        content_ok=content_ok,
        signature_ok=signature_ok,
    )
