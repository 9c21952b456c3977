"""The import feed: messy CSV exports parsed row by row into comments or line-numbered rejections.

Files are written as bytes, so encodings, BOMs and line endings are exactly what a council's
spreadsheet or export tool would produce.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from platforms.import_feed import (
    MAX_TEXT_CHARS,
    FeedError,
    FeedRow,
    ParsedRow,
    RejectedRow,
    parse_csv,
    parse_time,
    read_text,
)
from platforms.types import IncomingComment, Platform, Source

LONDON = ZoneInfo("Europe/London")
HEADER = "platform,account,external_id,author_name,text,created_at"
EXAMPLE_FEED = Path(__file__).resolve().parents[2] / "examples" / "council-comments.csv"


def feed(*lines: str, header: str = HEADER, newline: str = "\n") -> str:
    return newline.join([header, *lines]) + newline


def parse(text: str) -> list[FeedRow]:
    return list(parse_csv(text, local_tz=LONDON))


def parse_bytes(tmp_path: Path, data: bytes) -> list[FeedRow]:
    path = tmp_path / "feed.csv"
    path.write_bytes(data)
    return parse(read_text(path))


def good(rows: list[FeedRow]) -> list[ParsedRow]:
    return [row for row in rows if isinstance(row, ParsedRow)]


def bad(rows: list[FeedRow]) -> list[RejectedRow]:
    return [row for row in rows if isinstance(row, RejectedRow)]


def only_comment(rows: list[FeedRow]) -> IncomingComment:
    assert len(rows) == 1, rows
    (row,) = rows
    assert isinstance(row, ParsedRow), row
    return row.comment


def only_rejection(rows: list[FeedRow]) -> RejectedRow:
    assert len(rows) == 1, rows
    (row,) = rows
    assert isinstance(row, RejectedRow), row
    return row


# --- a good row -------------------------------------------------------------------------------


def test_a_complete_row_becomes_an_incoming_comment() -> None:
    text = feed(
        "facebook,ExampleTownCouncil,fb_1,Margaret H,When does it start?,2026-11-16T09:12:00Z",
        header=HEADER,
    )
    comment = only_comment(parse(text))

    assert comment.platform is Platform.FACEBOOK
    assert comment.account == "ExampleTownCouncil"
    assert comment.external_id == "fb_1"
    assert comment.author_name == "Margaret H"
    assert comment.author_id == "name:Margaret H"  # no author_id column: derived from the name
    assert comment.text == "When does it start?"
    assert comment.created_at == datetime(2026, 11, 16, 9, 12, tzinfo=UTC)
    assert comment.source is Source.IMPORT
    assert comment.permalink is None
    assert comment.post_title is None
    assert comment.raw["external_id"] == "fb_1"


def test_optional_columns_are_read_and_blank_ones_become_none() -> None:
    header = HEADER + ",author_id,permalink,parent_id,post_id,post_title"
    text = feed(
        "youtube,UCx,yt_1,Tom W,Shocking,2026-11-17T19:45:00Z,yt_u_7,https://y.test/w?lc=1,,V1,Meeting",
        header=header,
    )
    comment = only_comment(parse(text))

    assert comment.platform is Platform.YOUTUBE
    assert comment.author_id == "yt_u_7"
    assert comment.permalink == "https://y.test/w?lc=1"
    assert comment.parent_id is None
    assert comment.post_id == "V1"
    assert comment.post_title == "Meeting"


def test_cells_are_trimmed_but_text_is_kept_verbatim() -> None:
    text = feed(" Facebook , Acc , id1 , Sue B ,  two  spaces  , 2026-11-16T09:00Z ")
    comment = only_comment(parse(text))

    assert comment.platform is Platform.FACEBOOK
    assert (comment.account, comment.external_id, comment.author_name) == ("Acc", "id1", "Sue B")
    assert comment.text == "  two  spaces  "


def test_bundled_example_feed_parses_completely() -> None:
    rows = parse(read_text(EXAMPLE_FEED))

    assert bad(rows) == []
    comments = [row.comment for row in good(rows)]
    assert len(comments) == 15
    assert [row.line for row in good(rows)] == list(range(2, 17))
    assert {c.platform for c in comments} == set(Platform)
    assert len({(c.platform, c.account, c.external_id) for c in comments}) == len(comments)
    assert all(c.created_at.utcoffset() is not None for c in comments)
    reply = next(c for c in comments if c.external_id == "fb_1008")
    assert reply.parent_id == "fb_1004"
    assert reply.author_id == "u_502"


# --- encodings --------------------------------------------------------------------------------


def test_utf8_with_bom_reads_header_correctly(tmp_path: Path) -> None:
    data = "\ufeff" + feed("facebook,A,1,Siân,Diolch yn fawr ☺,2026-11-16T09:00Z")
    rows = parse_bytes(tmp_path, data.encode("utf-8"))

    comment = only_comment(rows)
    assert comment.platform is Platform.FACEBOOK  # "platform" was found despite the BOM
    assert comment.author_name == "Siân"
    assert comment.text == "Diolch yn fawr ☺"


def test_windows_1252_file_is_decoded(tmp_path: Path) -> None:
    data = feed("facebook,A,1,Zoë,café £5 \u2013 “quoted”,2026-11-16T09:00Z").encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the test really is about a non-UTF-8 file

    comment = only_comment(parse_bytes(tmp_path, data))

    assert comment.text == "café £5 \u2013 “quoted”"
    assert comment.author_name == "Zoë"


def test_plain_utf8_is_not_mistaken_for_cp1252(tmp_path: Path) -> None:
    data = feed("facebook,A,1,Zoë,café £5,2026-11-16T09:00Z").encode("utf-8")
    assert only_comment(parse_bytes(tmp_path, data)).text == "café £5"


def test_missing_file_is_a_feed_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(FeedError, match="file not found") as info:
        read_text(missing)
    assert str(missing) in str(info.value)


def test_directory_instead_of_file_is_a_feed_error(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="cannot read"):
        read_text(tmp_path)


# --- whole-file problems ----------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf"], ids=["empty", "bom only"])
def test_empty_file_is_a_feed_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "feed.csv"
    path.write_bytes(data)
    with pytest.raises(FeedError, match="empty"):
        parse(read_text(path))


@pytest.mark.parametrize(
    "missing", ["platform", "account", "external_id", "author_name", "text", "created_at"]
)
def test_missing_required_column_is_named(missing: str) -> None:
    columns = [c for c in HEADER.split(",") if c != missing]
    with pytest.raises(FeedError, match="missing required column") as info:
        parse(",".join(columns) + "\n")
    message = str(info.value)
    assert missing in message.split("(found:")[0]
    assert "line 1" in message


def test_missing_column_error_lists_what_was_found() -> None:
    with pytest.raises(FeedError) as info:
        parse("name,comment_text,when\nSue,hi,today\n")
    message = str(info.value)
    for name in ("platform", "account", "external_id", "author_name", "created_at"):
        assert name in message
    assert "found: name, comment_text, when" in message


def test_header_only_file_has_no_rows() -> None:
    assert parse(HEADER + "\n") == []


# --- header aliases ---------------------------------------------------------------------------


def test_facebook_style_header_aliases() -> None:
    header = "Platform,Page_ID,ID,From_Name,Message,Created_Time,Permalink_URL,Post"
    text = feed(
        "facebook,9001,c_77,Kev R,Hello,2026-11-16T10:30:00+0000,https://fb.test/p/1,Lights",
        header=header,
    )
    comment = only_comment(parse(text))

    assert comment.account == "9001"
    assert comment.external_id == "c_77"
    assert comment.author_name == "Kev R"
    assert comment.text == "Hello"
    assert comment.created_at == datetime(2026, 11, 16, 10, 30, tzinfo=UTC)
    assert comment.permalink == "https://fb.test/p/1"
    assert comment.post_title == "Lights"


@pytest.mark.parametrize(
    ("header", "field", "expected"),
    [
        ("platform,account,comment_id,author,comment,timestamp", "external_id", "v3"),
        ("platform,channel_id,id,user_name,message,published_at", "account", "v2"),
        ("platform,account_id,external_id,from_name,text,created_time", "author_name", "v4"),
        ("  PLATFORM ,Account,External_Id,AUTHOR_NAME,Text,Created_At ", "text", "v5"),
    ],
)
def test_header_aliases_are_case_insensitive(header: str, field: str, expected: str) -> None:
    row = "facebook,v2,v3,v4,v5,2026-11-16T10:30Z"
    comment = only_comment(parse(feed(row, header=header)))
    assert getattr(comment, field) == expected


def test_extra_unknown_columns_are_ignored_but_kept_out_of_fields() -> None:
    header = "likes," + HEADER + ",sentiment"
    comment = only_comment(
        parse(feed("12,facebook,A,1,Sue,Hi,2026-11-16T10:30Z,positive", header=header))
    )

    assert comment.text == "Hi"
    assert comment.external_id == "1"
    assert "likes" not in comment.raw
    assert "sentiment" not in comment.raw


# --- bad rows, each with its line ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        pytest.param(
            "tiktok,A,1,Sue,Hi,2026-11-16T10:30Z", "unknown platform 'tiktok'", id="platform"
        ),
        pytest.param(
            "facebook,A,1,Sue,Hi,yesterday", "unreadable created_at 'yesterday'", id="date"
        ),
        pytest.param(
            "facebook,A,1,Sue,Hi,31/02/2026 10:00", "unreadable created_at", id="no 31 Feb"
        ),
        pytest.param("facebook,A,1,Sue,Hi,11/16/2026 10:00", "unreadable created_at", id="US date"),
        pytest.param("facebook,A,1,Sue,,2026-11-16T10:30Z", "empty text", id="empty text"),
        pytest.param("facebook,A,1,Sue,   ,2026-11-16T10:30Z", "empty text", id="blank text"),
        pytest.param("facebook,A,,Sue,Hi,2026-11-16T10:30Z", "empty external_id", id="no id"),
        pytest.param("facebook,,1,Sue,Hi,2026-11-16T10:30Z", "empty account", id="no account"),
        pytest.param(",A,1,Sue,Hi,2026-11-16T10:30Z", "empty platform", id="no platform"),
        pytest.param("facebook,A,1,Sue,Hi,", "empty created_at", id="no date"),
        pytest.param("facebook,A,1,Sue,Hi", "too few columns (5 of 6)", id="too few"),
        pytest.param("facebook,A,1", "too few columns (3 of 6)", id="far too few"),
    ],
)
def test_bad_row_is_rejected_with_reason_and_line(row: str, reason: str) -> None:
    rows = parse(
        feed(
            "facebook,A,ok1,Sue,fine,2026-11-16T10:30Z",
            row,
            "facebook,A,ok2,Sue,fine,2026-11-16T10:31Z",
        )
    )

    assert [type(r) for r in rows] == [ParsedRow, RejectedRow, ParsedRow]
    rejected = bad(rows)[0]
    assert rejected.line == 3
    assert reason in rejected.reason
    assert [r.line for r in good(rows)] == [2, 4]  # good rows after the bad one still parse


def test_unknown_platform_lists_the_known_ones() -> None:
    rejected = only_rejection(parse(feed("myspace,A,1,Sue,Hi,2026-11-16T10:30Z")))
    for platform in Platform:
        assert platform.value in rejected.reason


def test_rejection_keeps_the_original_cells() -> None:
    rejected = only_rejection(parse(feed("tiktok,A,1,Sue,Hi there,2026-11-16T10:30Z")))
    assert rejected.cells["platform"] == "tiktok"
    assert rejected.cells["text"] == "Hi there"


def test_short_row_with_every_required_cell_is_accepted() -> None:
    header = HEADER + ",permalink,post_title"
    comment = only_comment(parse(feed("x,Acc,x_1,@jo,Thanks,2026-11-18T08:20:00Z", header=header)))
    assert comment.platform is Platform.X
    assert comment.permalink is None
    assert comment.post_title is None


def test_text_at_the_limit_is_accepted_and_over_it_rejected() -> None:
    at_limit = "a" * MAX_TEXT_CHARS
    over = "b" * (MAX_TEXT_CHARS + 1)
    rows = parse(
        feed(
            f"facebook,A,1,Sue,{at_limit},2026-11-16T10:30Z",
            f'facebook,A,2,Sue,"{over}",2026-11-16T10:30Z',
            "facebook,A,3,Sue,after,2026-11-16T10:30Z",
        )
    )

    assert [type(r) for r in rows] == [ParsedRow, RejectedRow, ParsedRow]
    assert good(rows)[0].comment.text == at_limit
    rejected = bad(rows)[0]
    assert rejected.line == 3
    assert f"{MAX_TEXT_CHARS + 1:,} characters" in rejected.reason
    assert f"{MAX_TEXT_CHARS:,}" in rejected.reason
    assert good(rows)[1].line == 4


def test_text_bigger_than_the_csv_field_limit_is_one_rejection() -> None:
    enormous = "z" * 200_000  # beyond the csv module's own field size limit
    rows = parse(
        feed(
            f'facebook,A,1,Sue,"{enormous}",2026-11-16T10:30Z',
            "facebook,A,2,Sue,after,2026-11-16T10:30Z",
        )
    )

    assert [type(r) for r in rows] == [RejectedRow, ParsedRow]
    assert rows[0].line == 2
    assert rows[1].line == 3


def test_duplicate_id_is_rejected_naming_the_first_line() -> None:
    rows = parse(
        feed(
            "facebook,A,fb_1,Sue,first,2026-11-16T10:30Z",
            "facebook,A,fb_2,Sue,second,2026-11-16T10:31Z",
            "facebook,A,fb_1,Sue,again,2026-11-16T10:32Z",
        )
    )

    assert [type(r) for r in rows] == [ParsedRow, ParsedRow, RejectedRow]
    rejected = bad(rows)[0]
    assert rejected.line == 4
    assert "duplicate id 'fb_1'" in rejected.reason
    assert "first on line 2" in rejected.reason


def test_same_id_on_another_account_or_platform_is_not_a_duplicate() -> None:
    rows = parse(
        feed(
            "facebook,A,1,Sue,one,2026-11-16T10:30Z",
            "facebook,B,1,Sue,two,2026-11-16T10:30Z",
            "instagram,A,1,Sue,three,2026-11-16T10:30Z",
        )
    )
    assert bad(rows) == []


def test_rejected_row_does_not_claim_its_id() -> None:
    rows = parse(
        feed(
            "facebook,A,1,Sue,hi,not a date",
            "facebook,A,1,Sue,hi,2026-11-16T10:30Z",
        )
    )
    assert [type(r) for r in rows] == [RejectedRow, ParsedRow]


# --- line numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_quoted_newlines_keep_later_line_numbers_right(newline: str) -> None:
    multi = f'"first line{newline}second line{newline}third line"'
    rows = parse(
        feed(
            f"facebook,A,1,Sue,{multi},2026-11-16T10:30Z",  # lines 2-4
            "facebook,A,2,Sue,next,2026-11-16T10:30Z",  # line 5
            "tiktok,A,3,Sue,bad,2026-11-16T10:30Z",  # line 6
            f'facebook,A,4,Sue,"two{newline}lines",not-a-date',  # lines 7-8
            "facebook,A,5,Sue,last,2026-11-16T10:30Z",  # line 9
            newline=newline,
        )
    )

    assert [(type(r).__name__, r.line) for r in rows] == [
        ("ParsedRow", 2),
        ("ParsedRow", 5),
        ("RejectedRow", 6),
        ("RejectedRow", 7),
        ("ParsedRow", 9),
    ]
    assert good(rows)[0].comment.text == f"first line{newline}second line{newline}third line"


def test_blank_lines_are_skipped_and_counted() -> None:
    rows = parse(
        feed(
            "",
            "facebook,A,1,Sue,one,2026-11-16T10:30Z",  # line 3
            "",
            ",,,,,",
            "",
            "facebook,A,2,Sue,two,2026-11-16T10:30Z",  # line 7
            "tiktok,A,3,Sue,three,2026-11-16T10:30Z",  # line 8
        )
    )
    assert [(type(r).__name__, r.line) for r in rows] == [
        ("ParsedRow", 3),
        ("ParsedRow", 7),
        ("RejectedRow", 8),
    ]


def test_line_numbers_count_from_the_file_with_a_bom(tmp_path: Path) -> None:
    data = ("\ufeff" + feed("tiktok,A,1,Sue,x,2026-11-16T10:30Z")).encode("utf-8")
    assert only_rejection(parse_bytes(tmp_path, data)).line == 2


# --- times ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "utc"),
    [
        pytest.param(
            "2026-07-01T10:00:00", datetime(2026, 7, 1, 9, 0, tzinfo=UTC), id="summer naive"
        ),
        pytest.param(
            "2026-01-15 10:00", datetime(2026, 1, 15, 10, 0, tzinfo=UTC), id="winter naive"
        ),
        pytest.param("2026-11-16T10:30:00Z", datetime(2026, 11, 16, 10, 30, tzinfo=UTC), id="Z"),
        pytest.param("2026-07-01T10:00Z", datetime(2026, 7, 1, 10, 0, tzinfo=UTC), id="summer Z"),
        pytest.param(
            "2026-07-01T10:00:00+02:00",
            datetime(2026, 7, 1, 8, 0, tzinfo=UTC),
            id="explicit offset",
        ),
        pytest.param("01/07/2026 10:00", datetime(2026, 7, 1, 9, 0, tzinfo=UTC), id="UK summer"),
        pytest.param(
            "16/11/2026 10:30", datetime(2026, 11, 16, 10, 30, tzinfo=UTC), id="UK winter"
        ),
        pytest.param(
            "16/11/2026 10:30:15", datetime(2026, 11, 16, 10, 30, 15, tzinfo=UTC), id="UK secs"
        ),
        pytest.param("01/07/2026", datetime(2026, 6, 30, 23, 0, tzinfo=UTC), id="UK date only"),
        pytest.param(
            "  2026-11-16T10:30Z  ", datetime(2026, 11, 16, 10, 30, tzinfo=UTC), id="spaces"
        ),
    ],
)
def test_parse_time(raw: str, utc: datetime) -> None:
    parsed = parse_time(raw, LONDON)
    assert parsed.utcoffset() is not None
    assert parsed.astimezone(UTC) == utc


def test_day_comes_before_month_in_uk_dates() -> None:
    assert parse_time("02/03/2026 12:00", LONDON).astimezone(UTC).month == 3


@pytest.mark.parametrize(
    "raw", ["", "yesterday", "2026-13-01", "32/01/2026", "16-11-2026 10:30", "10:30"]
)
def test_unreadable_times_raise_value_error_naming_the_value(raw: str) -> None:
    with pytest.raises(ValueError, match="unreadable created_at") as info:
        parse_time(raw, LONDON)
    assert repr(raw.strip()) in str(info.value)


def test_naive_time_in_a_feed_row_is_london_time() -> None:
    rows = parse(
        feed(
            "facebook,A,summer,Sue,x,2026-07-01T10:00:00",
            "facebook,A,winter,Sue,x,2026-12-01T10:00:00",
        )
    )
    summer, winter = (row.comment.created_at.astimezone(UTC) for row in good(rows))
    assert summer == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert winter == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_local_zone_is_the_one_passed_in() -> None:
    (row,) = parse_csv(
        feed("facebook,A,1,Sue,x,2026-07-01T10:00"), local_tz=ZoneInfo("America/New_York")
    )
    assert isinstance(row, ParsedRow)
    assert row.comment.created_at.astimezone(UTC) == datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
