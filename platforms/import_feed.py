"""The import feed: comment files (CSV for now) parsed into IncomingComment, row by row.

Real export files are messy, so parsing never stops at a bad row: each row becomes either a
comment or a rejection with its line number and reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from platforms.types import IncomingComment, Platform, Source

MAX_TEXT_CHARS = 25_000
"""Longer than any platform allows (X's longest posts are 25,000 characters)."""

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "platform": ("platform",),
    "account": ("account", "account_id", "page_id", "channel_id"),
    "external_id": ("external_id", "id", "comment_id"),
    "author_id": ("author_id", "from_id", "user_id"),
    "author_name": ("author_name", "author", "from_name", "user_name"),
    "text": ("text", "message", "comment"),
    "created_at": ("created_at", "created_time", "timestamp", "published_at"),
    "permalink": ("permalink", "permalink_url", "url"),
    "parent_id": ("parent_id", "reply_to"),
    "post_id": ("post_id", "video_id", "media_id"),
    "post_title": ("post_title", "post", "video_title"),
}
"""Our field name -> the header names accepted for it (case-insensitive), first match wins."""

REQUIRED = ("platform", "account", "external_id", "author_name", "text", "created_at")


class FeedError(Exception):
    """The file as a whole cannot be read (missing, wrong format, required columns absent)."""


@dataclass(frozen=True)
class ParsedRow:
    """A good row."""

    line: int
    comment: IncomingComment


@dataclass(frozen=True)
class RejectedRow:
    """A bad row, with the line it starts on, why it was refused and its original cells."""

    line: int
    reason: str
    cells: dict[str, str]


FeedRow = ParsedRow | RejectedRow


def read_text(path: Path) -> str:
    """Read a feed file as text: UTF-8 (with or without BOM), else Windows-1252."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FeedError(f"{path}: file not found") from None
    except OSError as exc:
        raise FeedError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet exports on Windows are often cp1252; decoding cannot fail for it except
        # on five unused bytes, which we replace rather than lose the whole file.
        return data.decode("cp1252", errors="replace")


def parse_csv(text: str, *, local_tz: tzinfo) -> Iterator[FeedRow]:
    """Parse CSV text into rows; times without an offset are taken as the council's local time."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise FeedError("the file is empty: expected a header row") from None
    except csv.Error as exc:
        raise FeedError(f"line 1: unreadable header: {exc}") from None
    columns = _map_columns(header)
    seen: dict[tuple[str, str, str], int] = {}
    line = reader.line_num + 1
    while True:
        try:
            cells_list = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RejectedRow(line, f"malformed CSV: {exc}", {})
            line = reader.line_num + 1
            continue
        if not any(cell.strip() for cell in cells_list):
            line = reader.line_num + 1
            continue
        cells = {name: cells_list[i] for name, i in columns.items() if i < len(cells_list)}
        yield _parse_row(line, cells, len(cells_list), len(header), local_tz, seen)
        line = reader.line_num + 1


def _map_columns(header: list[str]) -> dict[str, int]:
    lowered = [h.strip().lower() for h in header]
    columns: dict[str, int] = {}
    for field_name, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in lowered:
                columns[field_name] = lowered.index(alias)
                break
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise FeedError(
            f"line 1: missing required column(s): {', '.join(missing)} "
            f"(found: {', '.join(h for h in header if h) or 'none'})"
        )
    return columns


def _parse_row(
    line: int,
    cells: dict[str, str],
    width: int,
    header_width: int,
    local_tz: tzinfo,
    seen: dict[tuple[str, str, str], int],
) -> FeedRow:
    def reject(reason: str) -> RejectedRow:
        return RejectedRow(line, reason, cells)

    if width < header_width and any(not cells.get(name) for name in REQUIRED):
        return reject(f"too few columns ({width} of {header_width})")
    for name in REQUIRED:
        if not cells.get(name, "").strip():
            return reject(f"empty {name}")
    try:
        platform = Platform(cells["platform"].strip().lower())
    except ValueError:
        known = ", ".join(p.value for p in Platform)
        return reject(f"unknown platform {cells['platform']!r} (expected one of: {known})")
    text = cells["text"]
    if len(text) > MAX_TEXT_CHARS:
        return reject(f"text is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}")
    try:
        created_at = parse_time(cells["created_at"], local_tz)
    except ValueError as exc:
        return reject(str(exc))
    account = cells["account"].strip()
    external_id = cells["external_id"].strip()
    key = (platform.value, account, external_id)
    if key in seen:
        return reject(f"duplicate id {external_id!r} (first on line {seen[key]})")
    seen[key] = line
    author_name = cells["author_name"].strip()
    comment = IncomingComment(
        platform=platform,
        account=account,
        external_id=external_id,
        author_id=(cells.get("author_id") or "").strip() or f"name:{author_name}",
        author_name=author_name,
        text=text,
        created_at=created_at,
        source=Source.IMPORT,
        permalink=_optional(cells, "permalink"),
        parent_id=_optional(cells, "parent_id"),
        post_id=_optional(cells, "post_id"),
        post_title=_optional(cells, "post_title"),
        raw=dict(cells),
    )
    return ParsedRow(line, comment)


def _optional(cells: dict[str, str], name: str) -> str | None:
    value = cells.get(name, "").strip()
    return value or None


UK_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y")


def parse_time(value: str, local_tz: tzinfo) -> datetime:
    """Parse an ISO 8601 or UK-style (DD/MM/YYYY HH:MM) time; a bare time is local time."""
    raw = value.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        for fmt in UK_FORMATS:
            try:
                parsed = datetime.strptime(raw, fmt)  # noqa: DTZ007 - zone applied below
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(f"unreadable created_at {raw!r} (use ISO 8601, e.g. 2026-11-16T10:30Z)")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=local_tz)
    return parsed
