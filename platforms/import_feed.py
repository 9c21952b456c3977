"""The import feed: comment files (CSV, JSON, NDJSON) parsed into IncomingComment, row by row.

Real export files are messy, so parsing never stops at a bad row: each row becomes either a
comment or a rejection with its line number and reason. Only a file that cannot be read at all
(missing, empty, not the format it claims, required columns absent) raises FeedError.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
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

NESTED_ALIASES: dict[str, tuple[tuple[str, str], ...]] = {
    "author_id": (("from", "id"),),
    "author_name": (("from", "name"),),
    "parent_id": (("parent", "id"),),
}
"""JSON only: Graph API exports nest the author as ``from: {id, name}`` and a reply's parent as
``parent: {id}``. Used when no flat key from COLUMN_ALIASES is present."""

REQUIRED = ("platform", "account", "external_id", "author_name", "text", "created_at")

FEED_FORMATS = ("csv", "json", "ndjson")
EXTENSIONS = {".csv": "csv", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson"}
JSON_ARRAY_KEYS = ("comments", "data")
"""A JSON object's keys that may hold the comments array (``data`` is the Graph API's)."""

MIN_YEAR, MAX_YEAR = 2000, 2100
"""Times outside these years are typos or wrong units, and would overflow on conversion."""

MAX_EPOCH_SECONDS = 1e11
"""Larger numbers are milliseconds (or nonsense): 1e11 seconds is the year 5138."""

MAX_REJECT_CELL_CHARS = 32_000
"""Excel refuses cells over 32,767 characters, so longer ones are cut in the rejects file."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet runs a cell starting with these as a formula (OWASP's list for CSV injection)."""


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
    """Our field names -> the values read for them; empty when the record could not be split."""
    original: dict[str, str] = field(default_factory=dict)
    """The record as the file had it (CSV header names or JSON keys -> values), for rejects."""
    raw: str = ""
    """The record's text when it could not be split into cells (bad JSON, unterminated quote)."""
    item: str = ""
    """Where a JSON array item sits, e.g. ``[3]`` or ``comments[3]``; empty otherwise."""

    @property
    def location(self) -> str:
        """Where the row is, for messages: ``line 7`` or ``line 7, item [3]``."""
        return f"line {self.line}, item {self.item}" if self.item else f"line {self.line}"


FeedRow = ParsedRow | RejectedRow


def parse_feed(path: Path, *, format: str | None, local_tz: tzinfo) -> Iterator[FeedRow]:
    """Parse a feed file as ``format``, or as its extension says; reads it before returning."""
    name = format.lower() if format else EXTENSIONS.get(path.suffix.lower())
    if name is None:
        raise FeedError(
            f"{path}: cannot tell the format from the extension {path.suffix or '(none)'!r}: "
            f"name the file .csv, .json, .ndjson or .jsonl, or pass --format "
            f"{'|'.join(FEED_FORMATS)}"
        )
    if name not in FEED_FORMATS:
        raise FeedError(f"unknown format {format!r} (expected one of: {', '.join(FEED_FORMATS)})")
    text = read_text(path)
    if name == "csv":
        return parse_csv(text, local_tz=local_tz)
    if name == "json":
        return parse_json(text, local_tz=local_tz)
    return parse_ndjson(text, local_tz=local_tz)


def read_text(path: Path) -> str:
    """Read a feed file as text: UTF-8 (with or without BOM), UTF-16 with a BOM, else cp1252."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FeedError(f"{path}: file not found") from None
    except OSError as exc:
        raise FeedError(f"{path}: cannot read: {exc.strerror}") from None
    if data.startswith(b"PK\x03\x04"):
        raise FeedError(f"{path}: this is a zip file (an Excel workbook?): save it as CSV first")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export; the codec reads the byte order from the BOM.
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet exports on Windows are often cp1252; decoding cannot fail for it except
        # on five unused bytes, which we replace rather than lose the whole file.
        return data.decode("cp1252", errors="replace")


# --- CSV --------------------------------------------------------------------------------------


class _Lines:
    """A text's physical lines, fed to csv.reader one at a time.

    Knowing which line a record started on lets the parser rewind past a broken quote instead of
    letting it swallow the rest of the file.
    """

    def __init__(self, text: str) -> None:
        # StringIO with newline="" splits on \n, \r\n and \r exactly as csv.reader expects.
        self.lines = io.StringIO(text, newline="").readlines()
        self.pos = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]

    def joined(self, start: int, end: int) -> str:
        return "".join(self.lines[start:end])


def parse_csv(text: str, *, local_tz: tzinfo) -> Iterator[FeedRow]:
    """Parse CSV text into rows; times without an offset are taken as the council's local time."""
    lines = _Lines(text)
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise FeedError("the file is empty: expected a header row") from None
    except csv.Error as exc:
        raise FeedError(f"line 1: unreadable header: {exc}") from None
    columns = _map_columns(header)
    names = _column_names(header)
    seen: dict[tuple[str, str, str], int] = {}
    while True:
        start = lines.pos
        line = start + 1
        try:
            cells_list = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if lines.pos - start > 1:
                # Only a quoted field can run over lines; one that hits the csv module's field
                # size limit is almost always a quote that never closed.
                limit = f"the quoted field is longer than {csv.field_size_limit():,} characters"
                yield _unterminated_quote(lines, start, limit)
            else:
                yield RejectedRow(
                    line, f"malformed CSV: {exc}", {}, raw=lines.joined(start, start + 1)
                )
            continue
        quote_problem = _quote_problem(lines, start)
        if quote_problem:
            yield _unterminated_quote(lines, start, quote_problem)
            continue
        if not any(cell.strip() for cell in cells_list):
            continue
        cells = {name: cells_list[i] for name, i in columns.items() if i < len(cells_list)}
        width_problem = _csv_width_problem(cells, cells_list, len(header))
        outcome = width_problem or _to_comment(line, cells, local_tz, seen)
        if isinstance(outcome, IncomingComment):
            yield ParsedRow(line, outcome)
        else:
            yield RejectedRow(line, outcome, cells, _original_cells(names, cells_list))


def _quote_problem(lines: _Lines, start: int) -> str | None:
    """Why the record just read from ``start`` has a broken quote, or None if it is sound."""
    end = lines.pos
    at_eof = end == len(lines.lines)
    if end - start == 1 and not at_eof:
        return None  # the common case: a one-line record cannot have swallowed anything
    record = lines.joined(start, end)
    if _ends_inside_quotes(record):
        return "it runs to the end of the file"
    if end - start > 1 and not _strictly_well_formed(record):
        # A quote left open is closed by the next quoted field's opening quote, and the text
        # after that is not a delimiter: strict parsing sees it, lenient parsing does not.
        return f"the quoted field runs into line {end}"
    return None


def _unterminated_quote(lines: _Lines, start: int, detail: str) -> RejectedRow:
    """Reject the line the bad quote is on and rewind, so later rows still parse."""
    lines.pos = start + 1
    reason = f"unterminated quote starting on line {start + 1}: {detail}"
    return RejectedRow(start + 1, reason, {}, raw=lines.joined(start, start + 1))


def _ends_inside_quotes(record: str) -> bool:
    """Whether a CSV record ends inside a quoted field (csv.reader accepts that silently)."""
    inside = False
    field_start = True
    i = 0
    while i < len(record):
        char = record[i]
        if inside:
            close = record.find('"', i)
            if close == -1:
                return True
            if record.startswith('""', close):
                i = close + 2  # an escaped quote
                continue
            inside, field_start, i = False, False, close + 1
            continue
        if char == '"' and field_start:
            inside = True
        field_start = char in ",\r\n"
        i += 1
    return inside


def _strictly_well_formed(record: str) -> bool:
    try:
        for _ in csv.reader(io.StringIO(record, newline=""), strict=True):
            pass
    except csv.Error:
        return False
    return True


def _csv_width_problem(
    cells: dict[str, str], cells_list: list[str], header_width: int
) -> str | None:
    width = len(cells_list)
    if width < header_width and any(not cells.get(name) for name in REQUIRED):
        return f"too few columns ({width} of {header_width})"
    if any(cell.strip() for cell in cells_list[header_width:]):
        # Usually a comma in unquoted text: the values after it have shifted a column.
        return f"too many columns ({width} of {header_width}): is a comma in the text unquoted?"
    return None


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
        found = ", ".join(_shown(h) for h in header if h) or "none"
        raise FeedError(
            f"line 1: missing required column(s): {', '.join(missing)} (found: {found})"
        )
    return columns


def _column_names(header: list[str]) -> list[str]:
    """The header's names made unique and non-blank, to key a rejected row's original cells."""
    names: list[str] = []
    for number, name in enumerate(header, start=1):
        name = name.strip() or f"column {number}"
        names.append(f"{name} (column {number})" if name in names else name)
    return names


def _original_cells(names: list[str], cells_list: list[str]) -> dict[str, str]:
    return {
        names[i] if i < len(names) else f"column {i + 1}": cell for i, cell in enumerate(cells_list)
    }


def _shown(name: str, limit: int = 40) -> str:
    """A header name fit for a one-line message: control characters escaped, length capped."""
    shown = name if name.isprintable() else repr(name)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


# --- JSON and NDJSON --------------------------------------------------------------------------

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class _Record:
    """One JSON value read from a feed, or why the text at that place could not be read."""

    line: int
    item: str
    raw: str
    value: object = None
    error: str | None = None


def parse_json(text: str, *, local_tz: tzinfo) -> Iterator[FeedRow]:
    """Parse a JSON array of comment objects, or an object holding one under ``comments``."""
    return _rows_from_records(list(_json_records(text)), local_tz)


def parse_ndjson(text: str, *, local_tz: tzinfo) -> Iterator[FeedRow]:
    """Parse NDJSON (one comment object per line); blank lines are skipped."""
    return _rows_from_records(list(_ndjson_records(text)), local_tz)


def _json_records(text: str) -> Iterator[_Record]:
    pos = _skip_space(text, 0)
    if pos == len(text):
        raise FeedError("the file is empty: expected a JSON array of comments")
    if text[pos] == "[":
        end = yield from _array_items(text, pos, "")
        after = len(text) if end is None else _skip_space(text, end)
        if after < len(text):
            # Two exports pasted together, say: say so rather than quietly drop the second.
            reason = "unexpected text after the JSON array; it was not read"
            yield _Record(_line_at(text, after), "", text[after:], error=reason)
        return
    if text[pos] == "{":
        array_key, array_pos = _find_comments_array(text, pos)
        yield from _array_items(text, array_pos, array_key)
        return
    raise FeedError(
        f"line {_line_at(text, pos)}: expected a JSON array of comments or an object with a "
        '"comments" array (for CSV or NDJSON, pass --format)'
    )


def _find_comments_array(text: str, pos: int) -> tuple[str, int]:
    """The key and position of the comments array in the top-level object at ``pos``."""
    expected = f"expected an object with a {' or '.join(map(repr, JSON_ARRAY_KEYS))} array"
    try:
        pos = _skip_space(text, pos + 1)
        while text.startswith('"', pos):
            key, pos = _DECODER.raw_decode(text, pos)
            pos = _skip_space(text, pos)
            if not text.startswith(":", pos):
                break
            pos = _skip_space(text, pos + 1)
            if str(key).lower() in JSON_ARRAY_KEYS and text.startswith("[", pos):
                return str(key), pos
            _, pos = _DECODER.raw_decode(text, pos)
            pos = _skip_space(text, pos)
            if not text.startswith(",", pos):
                break
            pos = _skip_space(text, pos + 1)
    except (ValueError, RecursionError) as exc:
        raise FeedError(f"line {_line_at(text, pos)}: invalid JSON: {_json_error(exc)}") from None
    # The usual mistake is NDJSON saved as .json: one object, then "extra data".
    raise FeedError(f"{expected} (for one object per line, pass --format ndjson)")


def _array_items(text: str, pos: int, key: str) -> Generator[_Record, None, int | None]:
    """Each item of the array at ``pos``; a syntax error ends it as one bad record.

    Returns the position after the closing bracket, or None when a syntax error stopped it.
    """
    line = _line_at(text, pos)
    counted = pos
    pos = _skip_space(text, pos + 1)
    index = 0
    while not text.startswith("]", pos):
        line += text.count("\n", counted, pos)
        counted = pos
        item = f"{key}[{index}]"
        try:
            value, end = _DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError) as exc:
            # JSON cannot be resynchronised after a syntax error: keep what came before it.
            reason = f"invalid JSON: {_json_error(exc)}; the rest of the file was not read"
            yield _Record(line, item, text[pos:], error=reason)
            return None
        yield _Record(line, item, text[pos:end], value=value)
        pos = _skip_space(text, end)
        if text.startswith(",", pos):
            pos = _skip_space(text, pos + 1)  # a trailing comma before "]" is tolerated
            index += 1
        elif not text.startswith("]", pos):
            line += text.count("\n", counted, pos)
            reason = "invalid JSON: expected ',' or ']' after the item; the rest was not read"
            yield _Record(line, f"{key}[{index + 1}]", text[pos:], error=reason)
            return None
    return pos + 1


def _ndjson_records(text: str) -> Iterator[_Record]:
    # Split on "\n" only: JSON strings may hold U+2028 and friends, which splitlines() splits on.
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip(" \t\r")
        if not stripped:
            continue
        try:
            yield _Record(number, "", line, value=json.loads(stripped))
        except (ValueError, RecursionError) as exc:
            yield _Record(number, "", line, error=f"invalid JSON: {_json_error(exc)}")


def _skip_space(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _json_error(exc: ValueError | RecursionError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)  # e.g. an integer with more digits than Python will convert


def _rows_from_records(records: list[_Record], local_tz: tzinfo) -> Iterator[FeedRow]:
    _require_fields([r.value for r in records if isinstance(r.value, dict)])
    seen: dict[tuple[str, str, str], int] = {}
    for record in records:
        if record.error is not None:
            yield RejectedRow(record.line, record.error, {}, raw=record.raw, item=record.item)
            continue
        if not isinstance(record.value, dict):
            reason = f"expected an object, found {_json_kind(record.value)}"
            yield RejectedRow(record.line, reason, {}, raw=record.raw, item=record.item)
            continue
        outcome: IncomingComment | str
        try:
            cells = _object_cells(record.value)
        except _Refused as exc:
            cells, outcome = {}, str(exc)
        else:
            outcome = _to_comment(record.line, cells, local_tz, seen)
        if isinstance(outcome, IncomingComment):
            yield ParsedRow(record.line, outcome)
        else:
            original = {str(k): _as_text(v) for k, v in record.value.items()}
            yield RejectedRow(record.line, outcome, cells, original, item=record.item)


def _require_fields(objects: Sequence[dict[str, object]]) -> None:
    """Like a CSV header without a required column: no object has the field at all."""
    if not objects:
        return
    present: set[str] = set()
    keys: dict[str, None] = {}
    for obj in objects:
        lowered = _lowered(obj)
        keys.update(dict.fromkeys(lowered))
        present.update(name for name in REQUIRED if _lookup(lowered, name) is not _ABSENT)
    missing = [name for name in REQUIRED if name not in present]
    if missing:
        found = ", ".join(_shown(k) for k in list(keys)[:20]) or "none"
        raise FeedError(f"no item has the required field(s): {', '.join(missing)} (found: {found})")


class _Refused(Exception):
    """A JSON value cannot stand for the field it is under; the message is the reason."""


_ABSENT = object()


def _object_cells(obj: dict[str, object]) -> dict[str, str]:
    """Our field name -> text for a JSON object, accepting numbers where they are unambiguous."""
    lowered = _lowered(obj)
    cells: dict[str, str] = {}
    for name in COLUMN_ALIASES:
        value = _lookup(lowered, name)
        if value is not _ABSENT:
            cells[name] = _field_text(name, value)
    return cells


def _lowered(obj: dict[str, object]) -> dict[str, object]:
    lowered: dict[str, object] = {}
    for key, value in obj.items():
        lowered.setdefault(str(key).strip().lower(), value)  # the first spelling wins
    return lowered


def _lookup(lowered: dict[str, object], name: str) -> object:
    for alias in COLUMN_ALIASES[name]:
        if alias in lowered:
            return lowered[alias]
    for outer, inner in NESTED_ALIASES.get(name, ()):
        nested = lowered.get(outer)
        if isinstance(nested, dict):
            nested_lowered = _lowered(nested)
            if inner in nested_lowered:
                return nested_lowered[inner]
    return _ABSENT


def _field_text(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: bool is a subclass of int
        raise _Refused(f"{name} is {json.dumps(value)}, not text")
    if name == "created_at" and isinstance(value, int | float):
        return _epoch_seconds(value)
    if isinstance(value, int):
        return str(value)
    # Floats lose digits (ids) and dicts or lists have no one reading: refuse rather than guess.
    raise _Refused(f"{name} must be text, not {_json_kind(value)}")


def _epoch_seconds(value: float) -> str:
    """An epoch-seconds created_at as ISO 8601 text (UTC)."""
    if not math.isfinite(value):
        raise _Refused(f"created_at {value} is not a time")
    if abs(value) >= MAX_EPOCH_SECONDS:
        raise _Refused(
            f"created_at {value} looks like milliseconds: give seconds since 1970 or ISO 8601"
        )
    try:
        return datetime.fromtimestamp(value, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        raise _Refused(f"created_at {value} is not a time in seconds since 1970") from None


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, str):
        return "a string"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return f"the number {value}"


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


# --- validation shared by every format --------------------------------------------------------


def _to_comment(
    line: int, cells: dict[str, str], local_tz: tzinfo, seen: dict[tuple[str, str, str], int]
) -> IncomingComment | str:
    """The comment a row's cells describe, or the reason they do not describe one."""
    for name, value in cells.items():
        problem = _bad_characters(value)
        if problem:
            return f"{name} contains {problem}"
    for name in REQUIRED:
        if name not in cells:
            return f"missing {name}"
        if not cells[name].strip():
            return f"empty {name}"
    try:
        platform = Platform(cells["platform"].strip().lower())
    except ValueError:
        known = ", ".join(p.value for p in Platform)
        return f"unknown platform {cells['platform']!r} (expected one of: {known})"
    text = cells["text"]
    if len(text) > MAX_TEXT_CHARS:
        return f"text is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}"
    try:
        created_at = parse_time(cells["created_at"], local_tz)
    except ValueError as exc:
        return str(exc)
    account = cells["account"].strip()
    external_id = cells["external_id"].strip()
    key = (platform.value, account, external_id)
    if key in seen:
        return f"duplicate id {external_id!r} (first on line {seen[key]})"
    seen[key] = line
    author_name = cells["author_name"].strip()
    return IncomingComment(
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


def _bad_characters(value: str) -> str | None:
    """Characters no database column should hold: NUL (PostgreSQL refuses it), lone surrogates."""
    if "\x00" in value:
        return "a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Only JSON can produce these, from a "\ud83d" escape without its other half.
        return "an unpaired surrogate (broken \\u escape)"
    return None


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
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"created_at {raw!r} is not between {MIN_YEAR} and {MAX_YEAR}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=local_tz)
    return parsed


# --- the rejects file -------------------------------------------------------------------------


def rejects_path_for(path: Path) -> Path:
    """Where a feed's rejected rows go by default: ``feed.json.rejects.csv`` beside it."""
    return path.with_name(f"{path.name}.rejects.csv")


def csv_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: one that would run as a formula gets a leading '."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def write_rejects(path: Path, rejected: Sequence[RejectedRow]) -> None:
    """Write rejected rows as CSV: line, reason, then the original cells (or the raw text)."""
    columns = list(dict.fromkeys(name for row in rejected for name in row.original))
    with_item = any(row.item for row in rejected)
    with_raw = any(row.raw for row in rejected)
    header = ["line", *(["item"] if with_item else []), "reason", *columns]
    header += ["raw"] if with_raw else []
    try:
        # utf-8-sig: Excel reads a file without the BOM as the local code page.
        with path.open("w", encoding="utf-8-sig", errors="backslashreplace", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([_reject_cell(name) for name in header])
            for row in rejected:
                cells = [str(row.line), *([row.item] if with_item else []), row.reason]
                cells += [row.original.get(name, "") for name in columns]
                cells += [row.raw] if with_raw else []
                writer.writerow([_reject_cell(cell) for cell in cells])
    except OSError as exc:
        raise FeedError(f"{path}: cannot write the rejects file: {exc.strerror}") from None


def _reject_cell(value: str) -> str:
    if len(value) > MAX_REJECT_CELL_CHARS:
        value = value[:MAX_REJECT_CELL_CHARS] + " …[cut]"
    # A NUL is usually why the row was rejected; written raw, tools take the file for binary.
    return csv_safe(value.replace("\x00", "\\x00"))
