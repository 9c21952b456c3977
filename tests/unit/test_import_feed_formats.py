"""The import feed in all three formats: a corpus of messy CSV, JSON and NDJSON files.

Every file is built here as bytes, so BOMs, encodings, line endings and broken quoting are
exactly what an export tool or a spreadsheet would write. Each case checks both halves of the
promise: the bad row is reported with its line and reason, and the good rows around it still
come through.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platforms.import_feed import (
    FEED_FORMATS,
    MAX_TEXT_CHARS,
    FeedError,
    FeedRow,
    ParsedRow,
    RejectedRow,
    csv_safe,
    parse_feed,
    rejects_path_for,
    write_rejects,
)
from platforms.types import Platform

LONDON = ZoneInfo("Europe/London")
FIELDS = ("platform", "account", "external_id", "author_name", "text", "created_at")
HEADER = ",".join(FIELDS)
WHEN = "2026-11-16T10:30:00Z"
EXTENSION = {"csv": ".csv", "json": ".json", "ndjson": ".ndjson"}


def row(n: int | str = 1, **changes: Any) -> dict[str, Any]:
    """A good comment as field -> value; ``changes`` replace or (with None) drop fields."""
    values: dict[str, Any] = {
        "platform": "facebook",
        "account": "Page1",
        "external_id": f"c{n}",
        "author_name": "Ann",
        "text": f"comment {n}",
        "created_at": WHEN,
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def render(fmt: str, rows: list[dict[str, Any]]) -> str:
    """Rows as a file of ``fmt``; in every format data row i starts on line ``first_line + i``."""
    if fmt == "csv":
        lines = [HEADER]
        for values in rows:
            cells = [str(values.get(name, "")) for name in FIELDS]
            lines.append(",".join(_csv_cell(cell) for cell in cells))
        return "\n".join(lines) + "\n"
    items = [json.dumps(values, ensure_ascii=False) for values in rows]
    if fmt == "json":
        return "[\n" + ",\n".join(items) + "\n]\n"
    return "\n".join(items) + "\n"


def _csv_cell(cell: str) -> str:
    if any(char in cell for char in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def first_line(fmt: str) -> int:
    return 1 if fmt == "ndjson" else 2  # CSV has its header, JSON its "[" on line 1


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def parse_path(path: Path, fmt: str | None = None) -> list[FeedRow]:
    return list(parse_feed(path, format=fmt, local_tz=LONDON))


def parse(tmp_path: Path, fmt: str, data: str | bytes) -> list[FeedRow]:
    return parse_path(write(tmp_path, "feed" + EXTENSION[fmt], data))


def good(rows: list[FeedRow]) -> list[ParsedRow]:
    return [r for r in rows if isinstance(r, ParsedRow)]


def bad(rows: list[FeedRow]) -> list[RejectedRow]:
    return [r for r in rows if isinstance(r, RejectedRow)]


def kinds(rows: list[FeedRow]) -> list[tuple[str, int]]:
    return [("ok" if isinstance(r, ParsedRow) else "rejected", r.line) for r in rows]


def only_rejection(rows: list[FeedRow]) -> RejectedRow:
    assert len(rows) == 1, rows
    (rejected,) = rows
    assert isinstance(rejected, RejectedRow), rejected
    return rejected


# --- choosing the format ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("feed.csv", "csv"),
        ("feed.json", "json"),
        ("feed.ndjson", "ndjson"),
        ("feed.jsonl", "ndjson"),
        ("FEED.JSON", "json"),
    ],
)
def test_format_follows_the_extension(tmp_path: Path, name: str, fmt: str) -> None:
    rows = parse_path(write(tmp_path, name, render(fmt, [row(1), row(2)])))
    assert [r.comment.external_id for r in good(rows)] == ["c1", "c2"]


@pytest.mark.parametrize(
    ("name", "option", "content_fmt"),
    [
        ("feed.txt", "json", "json"),
        ("feed.csv", "NDJSON", "ndjson"),
        ("export", "csv", "csv"),
    ],
)
def test_format_option_overrides_the_extension(
    tmp_path: Path, name: str, option: str, content_fmt: str
) -> None:
    rows = parse_path(write(tmp_path, name, render(content_fmt, [row(1)])), option)
    assert [r.comment.external_id for r in good(rows)] == ["c1"]


@pytest.mark.parametrize("name", ["feed.txt", "feed.xlsx", "feed"])
def test_unknown_extension_without_format_names_the_choices(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, render("csv", [row()]))
    with pytest.raises(FeedError) as info:
        parse_path(path)
    message = str(info.value)
    for choice in (".csv", ".json", ".ndjson", ".jsonl", "--format", *FEED_FORMATS):
        assert choice in message


def test_unknown_format_name_is_a_feed_error(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match=r"unknown format 'xml' \(expected one of: csv, json"):
        parse_path(write(tmp_path, "feed.csv", render("csv", [row()])), "xml")


def test_parse_feed_reads_the_file_before_returning(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="file not found"):
        parse_feed(tmp_path / "missing.json", format=None, local_tz=LONDON)  # no list() needed


def test_an_excel_workbook_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="save it as CSV"):
        parse_path(write(tmp_path, "feed.csv", b"PK\x03\x04\x14\x00\x06\x00rest-of-zip"))


# --- encodings, in every format -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", FEED_FORMATS)
@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda text: text.encode("utf-8-sig"), id="utf-8 BOM"),
        pytest.param(lambda text: text.encode("cp1252"), id="windows-1252"),
        pytest.param(lambda text: text.encode("utf-16"), id="utf-16 BOM"),
    ],
)
def test_encodings(tmp_path: Path, fmt: str, encode: Callable[[str], bytes]) -> None:
    text = "café £5 \u2013 “quoted”"
    rows = parse(tmp_path, fmt, encode(render(fmt, [row(1, author_name="Zoë", text=text)])))
    (parsed,) = good(rows)
    assert parsed.comment.text == text
    assert parsed.comment.author_name == "Zoë"
    assert parsed.comment.platform is Platform.FACEBOOK  # the first field was found past the BOM


# --- the same bad rows, in every format ---------------------------------------------------------

BAD_ROWS = {
    "empty text": (row(9, text=""), "empty text"),
    "blank text": (row(9, text="   "), "empty text"),
    "bad date": (row(9, created_at="yesterday"), "unreadable created_at 'yesterday'"),
    "US date": (row(9, created_at="11/16/2026 10:00"), "unreadable created_at"),
    "year out of range": (row(9, created_at="1900-01-01T00:00Z"), "not between 2000 and 2100"),
    "unknown platform": (row(9, platform="tiktok"), "unknown platform 'tiktok'"),
    "huge text": (
        row(9, text="x" * (MAX_TEXT_CHARS + 1)),
        f"text is {MAX_TEXT_CHARS + 1:,} characters",
    ),
    "NUL in text": (row(9, text="before\x00after"), "text contains a NUL character"),
    "NUL in author": (row(9, author_name="A\x00n"), "author_name contains a NUL character"),
    "duplicate id": (row(1, text="again"), "duplicate id 'c1' (first on line"),
}


@pytest.mark.parametrize("fmt", FEED_FORMATS)
@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_bad_row_is_rejected_and_its_neighbours_kept(tmp_path: Path, fmt: str, case: str) -> None:
    bad_row, reason = BAD_ROWS[case]
    rows = parse(tmp_path, fmt, render(fmt, [row(1), bad_row, row(3)]))

    line = first_line(fmt)
    assert kinds(rows) == [("ok", line), ("rejected", line + 1), ("ok", line + 2)]
    rejected = bad(rows)[0]
    assert reason in rejected.reason
    assert rejected.original  # the cells as the file had them, for the rejects file


@pytest.mark.parametrize("fmt", FEED_FORMATS)
def test_text_with_newlines_and_quotes_survives(tmp_path: Path, fmt: str) -> None:
    text = 'first line\nsecond, with "quotes"\r\nthird\u2028still third'
    rows = parse(tmp_path, fmt, render(fmt, [row(1, text=text), row(2)]))
    assert [r.comment.text for r in good(rows)] == [text, "comment 2"]
    assert bad(rows) == []


@pytest.mark.parametrize("fmt", FEED_FORMATS)
def test_ten_thousand_rows(tmp_path: Path, fmt: str) -> None:
    rows = parse(tmp_path, fmt, render(fmt, [row(n) for n in range(10_000)]))
    assert len(good(rows)) == 10_000
    assert bad(rows) == []
    assert rows[-1].line == first_line(fmt) + 9_999


# --- CSV: broken quoting, NUL bytes, ragged rows ------------------------------------------------


def csv_feed(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


GOOD = "facebook,Page1,c{n},Ann,fine,2026-11-16T10:30Z"


def test_unterminated_quote_is_one_rejection_and_later_rows_still_import(tmp_path: Path) -> None:
    rows = parse(
        tmp_path,
        "csv",
        csv_feed(
            GOOD.format(n=1),  # line 2
            'facebook,Page1,c2,Ann,"never closed,2026-11-16T10:30Z',  # line 3
            GOOD.format(n=3),  # line 4
            GOOD.format(n=4),  # line 5
        ),
    )

    assert kinds(rows) == [("ok", 2), ("rejected", 3), ("ok", 4), ("ok", 5)]
    rejected = bad(rows)[0]
    assert rejected.reason.startswith("unterminated quote starting on line 3")
    assert "never closed" in rejected.raw


def test_unterminated_quote_closed_by_a_later_quoted_field_is_caught(tmp_path: Path) -> None:
    # Lenient CSV reading pairs the stray quote with the next row's opening quote, silently
    # merging rows 3-5 into one comment's text; the rows are recovered instead.
    rows = parse(
        tmp_path,
        "csv",
        csv_feed(
            GOOD.format(n=1),
            'facebook,Page1,c2,Ann,"stray quote,2026-11-16T10:30Z',
            GOOD.format(n=3),
            'facebook,Page1,c4,Ann,"quoted, properly",2026-11-16T10:30Z',
            GOOD.format(n=5),
        ),
    )

    assert kinds(rows) == [("ok", 2), ("rejected", 3), ("ok", 4), ("ok", 5), ("ok", 6)]
    assert bad(rows)[0].reason == (
        "unterminated quote starting on line 3: the quoted field runs into line 5"
    )
    assert good(rows)[2].comment.text == "quoted, properly"


def test_unterminated_quote_on_the_last_line(tmp_path: Path) -> None:
    for ending in ("\n", ""):
        text = csv_feed(GOOD.format(n=1)) + 'facebook,Page1,c2,Ann,"oops,2026-11-16T10:30Z' + ending
        rows = parse(tmp_path, "csv", text)
        assert kinds(rows) == [("ok", 2), ("rejected", 3)]
        assert "unterminated quote starting on line 3" in bad(rows)[0].reason


def test_unterminated_quote_cannot_swallow_a_big_file(tmp_path: Path) -> None:
    # 5,000 rows after the quote are far more than the csv module's field size limit.
    later = [GOOD.format(n=n) for n in range(3, 5_003)]
    rows = parse(
        tmp_path,
        "csv",
        csv_feed(GOOD.format(n=1), 'facebook,Page1,c2,Ann,"oops,2026-11-16T10:30Z', *later),
    )

    assert kinds(rows)[:3] == [("ok", 2), ("rejected", 3), ("ok", 4)]
    assert len(good(rows)) == 5_001
    assert len(bad(rows)) == 1
    assert bad(rows)[0].reason.startswith("unterminated quote starting on line 3")


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_long_quoted_text_is_not_mistaken_for_an_unterminated_quote(newline: str) -> None:
    poem = newline.join(f'line {i} with ""quotes"", commas' for i in range(60))
    text = newline.join(
        [
            HEADER,
            f'facebook,Page1,c1,Ann,"{poem}",2026-11-16T10:30Z',
            GOOD.format(n=2),
            f'facebook,Page1,c3,Ann,"ends{newline}the file",2026-11-16T10:30Z',
        ]
    )
    with tempfile.TemporaryDirectory() as folder:
        rows = parse(Path(folder), "csv", text)

    assert kinds(rows) == [("ok", 2), ("ok", 62), ("ok", 63)]
    assert good(rows)[0].comment.text == poem.replace('""', '"')


def test_sloppy_quotes_on_one_line_are_not_called_unterminated(tmp_path: Path) -> None:
    rows = parse(tmp_path, "csv", csv_feed('facebook,Page1,c1,Ann,"He said "hi"",' + WHEN))
    assert all("unterminated" not in r.reason for r in bad(rows))


def test_nul_bytes_reject_the_row_not_the_file(tmp_path: Path) -> None:
    data = csv_feed(GOOD.format(n=1), "facebook,Page1,c2,Ann,bad\x00byte," + WHEN, GOOD.format(n=3))
    rows = parse(tmp_path, "csv", data.encode("utf-8"))
    assert kinds(rows) == [("ok", 2), ("rejected", 3), ("ok", 4)]
    assert bad(rows)[0].reason == "text contains a NUL character"


def test_nul_byte_in_an_ignored_column_does_not_matter(tmp_path: Path) -> None:
    data = "likes," + HEADER + "\n\x00," + GOOD.format(n=1) + "\n"
    assert kinds(parse(tmp_path, "csv", data)) == [("ok", 2)]


def test_extra_cells_with_content_are_rejected(tmp_path: Path) -> None:
    rows = parse(
        tmp_path,
        "csv",
        csv_feed(
            "facebook,Page1,c1,Ann,Hello, world,2026-11-16T10:30Z",  # an unquoted comma
            GOOD.format(n=2) + ",,",  # trailing empty cells, as spreadsheets write them
        ),
    )
    assert kinds(rows) == [("rejected", 2), ("ok", 3)]
    assert bad(rows)[0].reason.startswith("too many columns (7 of 6)")


def test_rejected_csv_row_keeps_its_cells_under_the_file_s_names(tmp_path: Path) -> None:
    header = "Platform,Page_ID,ID,From_Name,Message,Created_Time,,Message"
    text = header + "\ntiktok,9001,c1,Ann,Hi,2026-11-16T10:30Z,x,dup,extra\n"
    rejected = only_rejection(parse(tmp_path, "csv", text))

    assert rejected.cells["text"] == "Hi"  # our names...
    assert rejected.original == {  # ...and the file's, made unique, for the rejects file
        "Platform": "tiktok",
        "Page_ID": "9001",
        "ID": "c1",
        "From_Name": "Ann",
        "Message": "Hi",
        "Created_Time": "2026-11-16T10:30Z",
        "column 7": "x",
        "Message (column 8)": "dup",
        "column 9": "extra",
    }


def test_missing_columns_message_stays_on_one_line(tmp_path: Path) -> None:
    with pytest.raises(FeedError) as info:
        parse(tmp_path, "csv", 'platform,"multi\nline\x1b[31m"\nfacebook,x\n')
    assert "\n" not in str(info.value)
    assert "\x1b" not in str(info.value)


# --- JSON ---------------------------------------------------------------------------------------


def graph_comment(n: int, **changes: Any) -> dict[str, Any]:
    """A comment as a Graph API export has it: nested author, numbers, its own field names."""
    values: dict[str, Any] = {
        "platform": "facebook",
        "page_id": 9001,
        "id": n,
        "from": {"id": f"u{n}", "name": f"Person {n}"},
        "message": f"message {n}",
        "created_time": 1794820320,  # 2026-11-16T09:12:00Z
        "permalink_url": f"https://fb.test/c/{n}",
        "like_count": 3,
    }
    values.update(changes)
    return values


def test_json_graph_style_objects_become_comments(tmp_path: Path) -> None:
    text = json.dumps(
        {"paging": {"next": None}, "data": [graph_comment(1), graph_comment(2)]}, indent=2
    )
    rows = parse(tmp_path, "json", text)

    first, second = (r.comment for r in good(rows))
    assert first.external_id == "1"
    assert first.account == "9001"
    assert first.author_id == "u1"
    assert first.author_name == "Person 1"
    assert first.text == "message 1"
    assert first.created_at == datetime(2026, 11, 16, 9, 12, tzinfo=UTC)
    assert first.permalink == "https://fb.test/c/1"
    assert second.external_id == "2"


def test_json_flat_fields_win_over_nested_ones(tmp_path: Path) -> None:
    item = graph_comment(1, author_name="Flat Name", author_id="flat-id")
    (parsed,) = good(parse(tmp_path, "json", json.dumps([item])))
    assert (parsed.comment.author_name, parsed.comment.author_id) == ("Flat Name", "flat-id")


def test_json_reply_parent_can_be_nested(tmp_path: Path) -> None:
    item = graph_comment(2, parent={"id": "1", "message": "the original"})
    (parsed,) = good(parse(tmp_path, "json", json.dumps([item])))
    assert parsed.comment.parent_id == "1"


@pytest.mark.parametrize("key", ["comments", "Comments", "data"])
def test_json_object_holding_the_array(tmp_path: Path, key: str) -> None:
    text = json.dumps({"exported": "2026-11-20", key: [row(1), row(2)], "after": [1]})
    assert [r.comment.external_id for r in good(parse(tmp_path, "json", text))] == ["c1", "c2"]


def test_json_keys_are_case_insensitive(tmp_path: Path) -> None:
    item = {key.upper(): value for key, value in row(1).items()}
    assert len(good(parse(tmp_path, "json", json.dumps([item])))) == 1


def test_json_rejections_name_the_item_and_its_line(tmp_path: Path) -> None:
    text = (
        '{"comments": [\n'  # line 1
        f"  {json.dumps(row(1))},\n"  # line 2
        "  {\n"  # line 3: item 1 starts here...
        '    "platform": "tiktok", "account": "A", "id": 2, "author": "B",\n'
        f'    "text": "hi", "created_at": "{WHEN}"\n'
        "  },\n"
        f"  {json.dumps(row(3))}\n"  # line 7
        "]}\n"
    )
    rows = parse(tmp_path, "json", text)

    assert kinds(rows) == [("ok", 2), ("rejected", 3), ("ok", 7)]
    rejected = bad(rows)[0]
    assert rejected.item == "comments[1]"
    assert rejected.location == "line 3, item comments[1]"
    assert rejected.original["platform"] == "tiktok"
    assert rejected.original["id"] == "2"


def test_json_syntax_error_keeps_the_items_before_it(tmp_path: Path) -> None:
    text = "[\n" + json.dumps(row(1)) + ',\n{"platform": "facebook", oops},\n' + json.dumps(row(3))
    rows = parse(tmp_path, "json", text + "\n]")

    assert kinds(rows) == [("ok", 2), ("rejected", 3)]
    rejected = bad(rows)[0]
    assert rejected.item == "[1]"
    assert "invalid JSON" in rejected.reason
    assert "(line 3, column" in rejected.reason
    assert "the rest of the file was not read" in rejected.reason
    assert json.dumps(row(3)) in rejected.raw  # nothing silently lost


def test_json_items_that_are_not_objects_are_rejected(tmp_path: Path) -> None:
    text = json.dumps([row(1), "just text", 42, None, [row(2)], row(3)], indent=None)
    rows = parse(tmp_path, "json", text)
    reasons = [r.reason for r in bad(rows)]
    assert reasons == [
        "expected an object, found a string",
        "expected an object, found the number 42",
        "expected an object, found null",
        "expected an object, found a JSON array",
    ]
    assert [r.item for r in bad(rows)] == ["[1]", "[2]", "[3]", "[4]"]
    assert len(good(rows)) == 2


def test_json_trailing_comma_is_tolerated(tmp_path: Path) -> None:
    text = "[" + json.dumps(row(1)) + ",\n]"
    assert kinds(parse(tmp_path, "json", text)) == [("ok", 1)]


def test_json_text_after_the_array_is_reported(tmp_path: Path) -> None:
    text = "[" + json.dumps(row(1)) + "]\n[" + json.dumps(row(2)) + "]\n"
    rows = parse(tmp_path, "json", text)
    assert kinds(rows) == [("ok", 1), ("rejected", 2)]
    assert "unexpected text after the JSON array" in bad(rows)[0].reason


def test_json_nested_too_deeply_is_a_rejection_not_a_crash(tmp_path: Path) -> None:
    rows = parse(tmp_path, "json", "[" + json.dumps(row(1)) + "," + "[" * 100_000)
    assert kinds(rows) == [("ok", 1), ("rejected", 1)]
    assert "nested too deeply" in bad(rows)[0].reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("  \n\t", "the file is empty"),
        ('"just a string"', "expected a JSON array of comments"),
        ("42", "expected a JSON array of comments"),
        (json.dumps(row(1)) + "\n" + json.dumps(row(2)), "pass --format ndjson"),
        ('{"comments": "none"}', "'comments' or 'data' array"),
        ('{"meta": tru, "comments": []}', "line 1: invalid JSON"),
        ("platform,account\nfacebook,A\n", "expected a JSON array of comments"),
    ],
)
def test_json_files_that_are_not_a_list_of_comments(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(FeedError, match=message.replace("(", r"\(")):
        parse(tmp_path, "json", text)


def test_json_empty_array_has_no_rows(tmp_path: Path) -> None:
    assert parse(tmp_path, "json", "[ ]") == []
    assert parse(tmp_path, "json", '{"comments": []}') == []


def test_json_field_absent_from_every_item_is_a_file_error(tmp_path: Path) -> None:
    items = [graph_comment(1, platform=None), graph_comment(2, platform=None)]
    text = json.dumps([{k: v for k, v in item.items() if v is not None} for item in items])
    with pytest.raises(FeedError) as info:
        parse(tmp_path, "json", text)
    message = str(info.value)
    assert "no item has the required field(s): platform" in message
    assert "found: page_id, id, from, message" in message


def test_json_field_absent_from_one_item_rejects_that_item(tmp_path: Path) -> None:
    rows = parse(tmp_path, "json", json.dumps([row(1), row(2, text=None)]))
    assert bad(rows)[0].reason == "missing text"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"external_id": 123456789012345678901234}, "123456789012345678901234", id="big int id"
        ),
        pytest.param({"account": 9001}, "9001", id="int account"),
        pytest.param({"text": 42}, "42", id="int text"),
        pytest.param({"created_at": 1794820320}, "2026-11-16T09:12:00+00:00", id="epoch"),
        pytest.param(
            {"created_at": 1794820320.5}, "2026-11-16T09:12:00.500000+00:00", id="epoch float"
        ),
        pytest.param({"permalink": None}, None, id="null optional"),
    ],
)
def test_json_values_accepted_where_unambiguous(
    tmp_path: Path, changes: dict[str, Any], expected: str | None
) -> None:
    (parsed,) = good(parse(tmp_path, "json", json.dumps([row(1, **changes)])))
    name = next(iter(changes))
    assert parsed.comment.raw.get(name) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param(
            '"external_id": 1.5', "external_id must be text, not the number 1.5", id="float id"
        ),
        pytest.param('"external_id": true', "external_id is true, not text", id="bool id"),
        pytest.param('"text": {"body": "hi"}', "text must be text, not a JSON object", id="object"),
        pytest.param('"text": ["hi"]', "text must be text, not a JSON array", id="array"),
        pytest.param('"text": null', "empty text", id="null text"),
        pytest.param('"created_at": 1794820320000', "looks like milliseconds", id="ms"),
        pytest.param('"created_at": NaN', "is not a time", id="NaN"),
        pytest.param('"created_at": -1', "not between 2000 and 2100", id="1969"),
        pytest.param('"created_at": false', "created_at is false, not text", id="bool time"),
        pytest.param('"text": "half a \\ud83d"', "unpaired surrogate", id="surrogate"),
        pytest.param('"text": "nul \\u0000"', "text contains a NUL character", id="NUL"),
    ],
)
def test_json_values_refused_rather_than_guessed(tmp_path: Path, text: str, reason: str) -> None:
    name = text.split('"')[1]
    base = ", ".join(f'"{k}": {json.dumps(v)}' for k, v in row(9).items() if k != name)
    rows = parse(tmp_path, "json", f"[{json.dumps(row(1))},\n{{{base}, {text}}}]")
    assert kinds(rows) == [("ok", 1), ("rejected", 2)]
    assert reason in bad(rows)[0].reason


def test_json_int_and_string_ids_are_the_same_id(tmp_path: Path) -> None:
    rows = parse(tmp_path, "json", json.dumps([row(external_id=7), row(external_id="7")]))
    assert "duplicate id '7'" in bad(rows)[0].reason


# --- NDJSON -------------------------------------------------------------------------------------


def test_ndjson_bad_lines_are_rejected_and_the_rest_imported(tmp_path: Path) -> None:
    lines = [
        json.dumps(row(1)),  # 1
        "",  # 2: blank, skipped
        "   ",  # 3: blank, skipped
        '{"platform": "facebook", "account": ',  # 4: cut off
        json.dumps(row(5)),  # 5
        "[1, 2]",  # 6: not an object
        "not json at all",  # 7
        json.dumps(row(8)),  # 8
    ]
    rows = parse(tmp_path, "ndjson", "\r\n".join(lines) + "\r\n")

    assert kinds(rows) == [
        ("ok", 1),
        ("rejected", 4),
        ("ok", 5),
        ("rejected", 6),
        ("rejected", 7),
        ("ok", 8),
    ]
    cut_off, array, junk = bad(rows)
    assert cut_off.reason.startswith("invalid JSON: Expecting value")
    assert cut_off.raw.startswith('{"platform": "facebook"')
    assert array.reason == "expected an object, found a JSON array"
    assert junk.raw == "not json at all\r"
    assert cut_off.item == ""
    assert cut_off.location == "line 4"


def test_ndjson_line_separator_inside_a_string_is_not_a_new_line(tmp_path: Path) -> None:
    item = json.dumps(row(1, text="a\u2028b\u0085c"), ensure_ascii=False)
    rows = parse(tmp_path, "ndjson", item + "\n" + json.dumps(row(2)) + "\n")
    assert kinds(rows) == [("ok", 1), ("ok", 2)]
    assert good(rows)[0].comment.text == "a\u2028b\u0085c"


def test_ndjson_accepts_graph_style_objects(tmp_path: Path) -> None:
    text = "\n".join(json.dumps(graph_comment(n)) for n in (1, 2))
    assert [r.comment.author_name for r in good(parse(tmp_path, "ndjson", text))] == [
        "Person 1",
        "Person 2",
    ]


def test_ndjson_with_no_usable_lines_has_only_rejections(tmp_path: Path) -> None:
    rows = parse(tmp_path, "ndjson", "oops\n\n{\n")
    assert kinds(rows) == [("rejected", 1), ("rejected", 3)]


# --- the rejects file ---------------------------------------------------------------------------


def read_rejects(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+44 7700 900123", "'+44 7700 900123"),
        ("-1 for this", "'-1 for this"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a = b", "a = b"),
        ("", ""),
    ],
)
def test_csv_safe(value: str, safe: str) -> None:
    assert csv_safe(value) == safe


def test_rejects_file_for_a_csv_feed(tmp_path: Path) -> None:
    feed = csv_feed(
        GOOD.format(n=1),
        "facebook,Page1,c2,=cmd|' /C calc'!A0,,2026-11-16T10:30Z",
        'facebook,Page1,c3,Ann,"oops,2026-11-16T10:30Z',
    )
    rows = parse(tmp_path, "csv", feed)
    out = tmp_path / "rejects.csv"
    write_rejects(out, bad(rows))

    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # so that Excel reads it as UTF-8
    header, empty_text, quote = read_rejects(out)
    assert header == ["line", "reason", *FIELDS, "raw"]
    assert empty_text[:2] == ["3", "empty text"]
    assert empty_text[2:8] == [
        "facebook",
        "Page1",
        "c2",
        "'=cmd|' /C calc'!A0",
        "",
        WHEN[:-4] + "Z",
    ]
    assert quote[0] == "4"
    assert quote[1].startswith("unterminated quote starting on line 4")
    assert quote[-1] == 'facebook,Page1,c3,Ann,"oops,2026-11-16T10:30Z\n'


def test_rejects_file_for_a_json_feed_has_the_item_and_json_values(tmp_path: Path) -> None:
    items = [graph_comment(1, message="-1 from me", platform="myspace"), graph_comment(2), 5]
    rows = parse(tmp_path, "json", json.dumps(items, indent=1))
    out = tmp_path / "rejects.csv"
    write_rejects(out, bad(rows))

    header, myspace, number = read_rejects(out)
    assert header[:3] == ["line", "item", "reason"]
    assert header[3:] == [*graph_comment(1), "raw"]
    record = dict(zip(header, myspace, strict=True))
    assert record["item"] == "[0]"
    assert record["message"] == "'-1 from me"
    assert record["from"] == '{"id": "u1", "name": "Person 1"}'
    assert record["id"] == "1"
    assert dict(zip(header, number, strict=True))["raw"] == "5"


def test_rejects_file_cuts_huge_cells_and_shows_nul(tmp_path: Path) -> None:
    rejected = [
        RejectedRow(2, "text is too long", {}, {"text": "y" * 100_000}),
        RejectedRow(3, "text contains a NUL character", {}, {"text": "a\x00b"}),
        RejectedRow(4, "broken", {}, raw="\ud83d lone surrogate"),
    ]
    out = tmp_path / "rejects.csv"
    write_rejects(out, rejected)

    _, huge, nul, surrogate = read_rejects(out)
    assert len(huge[2]) < 32_767  # Excel's limit for one cell
    assert huge[2].endswith("…[cut]")
    assert nul[2] == "a\\x00b"
    assert surrogate[-1] == "\\ud83d lone surrogate"


def test_rejects_file_that_cannot_be_written_is_a_feed_error(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="cannot write the rejects file"):
        write_rejects(tmp_path / "no" / "such" / "dir.csv", [RejectedRow(2, "x", {})])


def test_rejects_path_sits_beside_the_feed() -> None:
    assert rejects_path_for(Path("/data/feed.json")) == Path("/data/feed.json.rejects.csv")


def test_a_fixed_rejects_file_imports(tmp_path: Path) -> None:
    rows = parse(tmp_path, "csv", csv_feed(GOOD.format(n=1), "facebook,Page1,c2,Ann,,2026-11-16"))
    rejects = tmp_path / "feed.csv.rejects.csv"
    write_rejects(rejects, bad(rows))
    rejects.write_text(rejects.read_text("utf-8-sig").replace(",,2026", ",fixed,2026"), "utf-8-sig")

    (fixed,) = parse_path(rejects)
    assert isinstance(fixed, ParsedRow)
    assert fixed.comment.text == "fixed"


# --- nothing crashes ----------------------------------------------------------------------------

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_never_crashes(data: bytes, fmt: str) -> None:
    """Parsing gives FeedError or typed rows in line order, and their rejects can be written."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("feed" + EXTENSION[fmt])
        path.write_bytes(data)
        try:
            rows = parse_path(path)
        except FeedError:
            return
        assert all(isinstance(r, ParsedRow | RejectedRow) for r in rows)
        lines = [r.line for r in rows]
        assert lines == sorted(lines)
        assert all(line >= 1 for line in lines)
        for r in rows:
            if isinstance(r, ParsedRow):
                assert r.comment.text.strip()
                assert "\x00" not in r.comment.text
                assert r.comment.created_at.utcoffset() is not None
            else:
                assert r.reason
        write_rejects(Path(folder) / "rejects.csv", bad(rows))


@PROPERTY
@given(data=st.binary(max_size=2_000), fmt=st.sampled_from(FEED_FORMATS))
def test_arbitrary_bytes_never_crash(data: bytes, fmt: str) -> None:
    check_never_crashes(data, fmt)


CSV_SOUP = st.lists(
    st.sampled_from(
        [
            *'",\r\n\x00 ax=',
            '""',
            "\u2028",
            "é",
            "Page1",
            WHEN,
            *(GOOD.format(n=n) for n in (1, 2, 3)),
        ]
    ),
    max_size=120,
).map("".join)
"""Pieces that make CSV quoting go wrong, mixed with ones that make rows look real."""


@PROPERTY
@given(body=CSV_SOUP)
def test_arbitrary_csv_rows_after_a_good_header_never_crash(body: str) -> None:
    check_never_crashes((HEADER + "\n" + body).encode("utf-8"), "csv")


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["facebook", "x", WHEN, "16/11/2026 10:30", ""])
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELD_NAMES = st.sampled_from(
    ["platform", "account", "ID", "author", "from", "text", "created_time", "parent", "url"]
)
JSON_ITEMS = st.lists(
    st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=9) | JSON_VALUES, max_size=8
)


@PROPERTY
@given(items=JSON_ITEMS, fmt=st.sampled_from(["json", "ndjson"]))
def test_arbitrary_json_items_never_crash(items: list[Any], fmt: str) -> None:
    if fmt == "json":
        text = json.dumps(items, indent=1)
    else:
        text = "\n".join(json.dumps(item) for item in items)
    check_never_crashes(text.encode("utf-8", errors="surrogatepass"), fmt)
