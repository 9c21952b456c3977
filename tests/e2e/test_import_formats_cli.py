"""`smat-bot import` with JSON and NDJSON files, --format, the rejects file and exit statuses."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, inspect, select

from bot.cli import main
from storage.models import Comment

WHEN = "2026-11-16T10:00:00Z"
CSV_HEADER = "platform,account,id,author,text,created_at"


def comment(n: int, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "platform": "facebook",
        "page_id": "Page1",
        "id": n,
        "from": {"id": f"u{n}", "name": f"Person {n}"},
        "message": f"Lovely lights {n}",
        "created_time": WHEN,
    }
    values.update(changes)
    return values


def write_json(path: Path, items: list[Any]) -> Path:
    path.write_text(json.dumps({"comments": items}, indent=2), encoding="utf-8")
    return path


def write_ndjson(path: Path, lines: list[Any]) -> Path:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def write_csv(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([CSV_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def csv_row(n: int, text: str = "Lovely lights") -> str:
    return f"facebook,Page1,c{n},Ann,{text},{WHEN}"


def comments_stored(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(Comment)).scalar_one()
    finally:
        engine.dispose()


def read_rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def offline_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SMAT_DATABASE_URL", url)
    monkeypatch.setenv("SMAT_CLASSIFIER__BACKEND", "profanity-check")
    return url


# --- JSON and NDJSON --------------------------------------------------------------------------


def test_json_import(offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    feed = write_json(tmp_path / "export.json", [comment(1), comment(2), comment(3)])

    assert main(["import", str(feed)]) == 0

    out = capsys.readouterr().out
    assert "3 new, 0 edited, 0 already known, 0 rejected" in out
    assert comments_stored(offline_env) == 3
    assert not (tmp_path / "export.json.rejects.csv").exists()


def test_ndjson_import_rejects_a_bad_line_and_imports_the_rest(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = write_ndjson(
        tmp_path / "feed.jsonl",
        [comment(1), "", '{"platform": "facebook", "page_id": ', comment(4), comment(5, id=1)],
    )

    assert main(["import", str(feed)]) == 1

    out = capsys.readouterr().out
    assert f"{feed}: line 3: rejected: invalid JSON" in out
    assert f"{feed}: line 5: rejected: duplicate id '1' (first on line 1)" in out
    assert "2 new" in out
    assert comments_stored(offline_env) == 2


def test_json_rejections_name_the_array_item(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = write_json(tmp_path / "export.json", [comment(1), comment(2, message="")])
    assert main(["import", str(feed)]) == 1
    assert "line 14, item comments[1]: rejected: empty text" in capsys.readouterr().out


# --- the rejects file -------------------------------------------------------------------------


def test_rejects_file_is_written_beside_the_input_with_formulas_neutralised(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = write_csv(
        tmp_path / "feed.csv",
        csv_row(1),
        'facebook,Page1,c2,=HYPERLINK("http://evil.test"),,2026-11-16T10:00:00Z',
        csv_row(3, text="@SUM(1+1)*cmd"),
        "myspace,Page1,c4,-Ann,+44 7700 900123,2026-11-16T10:00:00Z",
    )

    assert main(["import", str(feed)]) == 1

    rejects = tmp_path / "feed.csv.rejects.csv"
    assert f"Rejected rows written to {rejects}" in capsys.readouterr().out
    empty_text, myspace = read_rejects(rejects)
    assert empty_text["line"] == "3"
    assert empty_text["reason"] == "empty text"
    assert empty_text["author"] == '\'=HYPERLINK("http://evil.test")'
    assert myspace["line"] == "5"
    assert myspace["author"] == "'-Ann"
    assert myspace["text"] == "'+44 7700 900123"
    assert comments_stored(offline_env) == 2  # the @SUM text is a comment like any other


def test_rejects_option_chooses_where_the_file_goes(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = write_ndjson(tmp_path / "feed.ndjson", [comment(1), [1, 2]])
    target = tmp_path / "reports" / "bad-rows.csv"
    target.parent.mkdir()

    assert main(["import", str(feed), "--rejects", str(target)]) == 1

    assert f"Rejected rows written to {target}" in capsys.readouterr().out
    (rejected,) = read_rejects(target)
    assert rejected["reason"] == "expected an object, found a JSON array"
    assert rejected["raw"] == "[1, 2]"
    assert not (tmp_path / "feed.ndjson.rejects.csv").exists()


def test_dry_run_writes_the_rejects_file_but_stores_nothing(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = write_csv(tmp_path / "feed.csv", csv_row(1), "facebook,Page1,c2,Ann,hi,soon")

    assert main(["import", "--dry-run", str(feed)]) == 1

    out = capsys.readouterr().out
    assert "Dry run: 1 row(s) would be imported, 1 rejected." in out
    assert read_rejects(tmp_path / "feed.csv.rejects.csv")[0]["created_at"] == "soon"
    assert comments_stored_or_zero(offline_env) == 0


def comments_stored_or_zero(database_url: str) -> int:
    """Comments stored, where a run that stored nothing may not have created the tables."""
    engine = create_engine(database_url)
    try:
        if not inspect(engine).has_table("comments"):
            return 0
    finally:
        engine.dispose()
    return comments_stored(database_url)


def test_rejects_file_that_cannot_be_written_stops_before_importing(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = write_csv(tmp_path / "feed.csv", csv_row(1), "facebook,Page1,c2,Ann,,soon")

    assert main(["import", str(feed), "--rejects", str(tmp_path / "no" / "dir.csv")]) == 2

    err = capsys.readouterr().err
    assert "cannot write the rejects file" in err
    assert comments_stored_or_zero(offline_env) == 0


def test_rejects_file_must_not_overwrite_the_input(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = write_csv(tmp_path / "feed.csv", csv_row(1), "facebook,Page1,c2,Ann,,soon")
    assert main(["import", str(feed), "--rejects", str(feed)]) == 2
    assert "must not be the file being imported" in capsys.readouterr().err
    assert feed.read_text(encoding="utf-8").startswith(CSV_HEADER)


# --- --format -------------------------------------------------------------------------------


def test_format_option_overrides_the_extension(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = write_ndjson(tmp_path / "export.txt", [comment(1), comment(2)])

    assert main(["import", str(feed), "--format", "NDJSON"]) == 0

    assert "2 new" in capsys.readouterr().out
    assert comments_stored(offline_env) == 2


def test_unknown_extension_without_format_exits_2_naming_the_choices(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = write_ndjson(tmp_path / "export.txt", [comment(1)])

    assert main(["import", str(feed)]) == 2

    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(feed) in err
    assert "--format csv|json|ndjson" in err


def test_unknown_format_is_refused_by_the_option_parser(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["import", str(tmp_path / "feed.csv"), "--format", "xml"])
    assert exited.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


# --- re-importing and exit statuses -----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson"])
def test_importing_the_same_file_again_adds_nothing(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    if fmt == "csv":
        feed = write_csv(tmp_path / "feed.csv", csv_row(1), csv_row(2), csv_row(3))
    elif fmt == "json":
        feed = write_json(tmp_path / "feed.json", [comment(1), comment(2), comment(3)])
    else:
        feed = write_ndjson(tmp_path / "feed.ndjson", [comment(1), comment(2), comment(3)])

    assert main(["import", str(feed)]) == 0
    assert "3 new" in capsys.readouterr().out
    assert main(["import", str(feed)]) == 0

    assert "0 new, 0 edited, 3 already known, 0 rejected" in capsys.readouterr().out
    assert comments_stored(offline_env) == 3


@pytest.mark.parametrize(
    ("name", "content", "status", "expected"),
    [
        ("ok.json", json.dumps([comment(1)]), 0, "1 new"),
        ("some-bad.json", json.dumps([comment(1), comment(2, created_time="soon")]), 1, "1 new"),
        ("all-bad.ndjson", "nope\n", 1, "0 new"),
        ("not-a-list.json", '"hello"', 2, "expected a JSON array of comments"),
        ("fields.json", json.dumps([{"message": "hi"}]), 2, "no item has the required field"),
        ("empty.ndjson", "", 0, "0 new"),
        ("workbook.csv", "PK\x03\x04...", 2, "save it as CSV"),
    ],
)
def test_exit_statuses(
    offline_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str,
    status: int,
    expected: str,
) -> None:
    feed = tmp_path / name
    feed.write_text(content, encoding="utf-8")
    assert main(["import", str(feed)]) == status
    captured = capsys.readouterr()
    assert expected in (captured.err if status == 2 else captured.out)


def test_unterminated_quote_loses_no_later_rows(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = write_csv(
        tmp_path / "feed.csv",
        csv_row(1),
        csv_row(2, text='"this quote never closes'),
        csv_row(3),
        csv_row(4, text='"properly, quoted"'),
    )

    assert main(["import", str(feed)]) == 1

    out = capsys.readouterr().out
    assert "line 3: rejected: unterminated quote starting on line 3" in out
    assert "3 new" in out
    assert comments_stored(offline_env) == 3


# --- the progress bar -------------------------------------------------------------------------


def test_long_import_shows_no_progress_bar_when_stderr_is_not_a_terminal(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = write_csv(tmp_path / "feed.csv", *(csv_row(n) for n in range(1_001)))

    assert main(["import", str(feed)]) == 0

    captured = capsys.readouterr()
    assert "1001 new" in captured.out
    assert captured.err == ""


def test_long_import_shows_a_progress_bar_on_a_terminal(
    offline_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed = write_csv(tmp_path / "feed.csv", *(csv_row(n) for n in range(1_001)))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    # What rich reads to decide whether a terminal can animate, whatever the CI sets.
    monkeypatch.setenv("TERM", "xterm-256color")
    for name in ("TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_COLOR", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)

    assert main(["import", str(feed)]) == 0

    captured = capsys.readouterr()
    assert "Importing" in captured.err
    assert "Importing" not in captured.out


def test_short_import_on_a_terminal_shows_no_progress_bar(
    offline_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed = write_csv(tmp_path / "feed.csv", csv_row(1), csv_row(2))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)

    assert main(["import", str(feed)]) == 0

    assert capsys.readouterr().err == ""
