"""`smat-bot export ...` and `smat-bot records verify-signature` as an IT volunteer runs them."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.container import build
from bot.services.review import Action, DecisionRequest
from config.settings import load_settings
from storage.models import Comment, ReviewItem
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.integration.helpers import incoming

HOSTILE = "=cmd|' /C calc'!A0 you stupid idiot <script>alert(1)</script> \u202eexe.txt"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A SQLite database holding one hidden comment (decided on 16 November 2026)."""
    database = tmp_path / "cli.db"
    monkeypatch.setenv("SMAT_DATABASE_URL", f"sqlite:///{database}")
    config = tmp_path / "config.yaml"
    config.write_text(
        "members:\n  - {slack_user_id: U0SMAT1, role: smat, name: Jo}\n", encoding="utf-8"
    )
    monkeypatch.setenv("SMAT_CONFIG", str(config))
    container = build(load_settings(), classifier=KeywordClassifier(), clock=FakeClock())
    container.ingest().ingest([incoming("c1", HOSTILE, author="@Evil")])
    with container.sessions() as session:
        item = session.scalars(select(ReviewItem)).one()
    container.review.decide(
        DecisionRequest(item.id, item.version, Action.HIDE, "U0SMAT1", reason_code="spam")
    )
    container.engine.dispose()
    return tmp_path


def _comment_id(env: Path) -> int:
    container = build(load_settings())
    with container.sessions() as session:
        comment_id = session.scalars(select(Comment.id)).one()
    container.engine.dispose()
    return comment_id


def test_export_evidence_then_verify_it(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = env / "pack.zip"
    comment_id = _comment_id(env)
    assert main(["export", "evidence", str(comment_id), "--out", str(out)]) == 0
    said = capsys.readouterr()
    assert "SHA-256 of MANIFEST.sha256:" in said.out
    assert "signature and content hash verified" in said.out
    assert "Created a new signing key" not in said.err  # made when the comment was hidden
    assert (out.stat().st_mode & 0o077) == 0
    assert main(["records", "verify-signature", str(out)]) == 0
    assert "verified with key" in capsys.readouterr().out
    # The same comment by platform and id; an existing file is not overwritten.
    assert main(["export", "evidence", "facebook:c1", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    # One file changed inside the zip: the check fails.
    tampered = env / "tampered.zip"
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("/record.json"):
                data = data.replace(b"stupid", b"lovely")
            target.writestr(info, data)
    assert main(["records", "verify-signature", str(tampered)]) == 1
    assert "FAILED: record.json: SHA-256 does not match" in capsys.readouterr().out


def test_verify_one_preserved_record_file(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = env / "pack.zip"
    assert main(["export", "evidence", str(_comment_id(env)), "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        archive.extractall(env / "unzipped")
    [record] = list((env / "unzipped").glob("*/preserved/record-*.json"))
    capsys.readouterr()
    assert main(["records", "verify-signature", str(record)]) == 0
    assert main(["records", "verify-signature", str(record), "--signature", "00" * 32]) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "evidence", "999", "--out", "{tmp}/x.zip"], "no comment with id 999"),
        (["export", "evidence", "nonsense", "--out", "{tmp}/x.zip"], "neither a comment id"),
        (["export", "evidence", "facebook:nope", "--out", "{tmp}/x.zip"], "no comment"),
        (["export", "decisions", "--from", "2026-13-01", "--to", "2026-12-01"], "not a date"),
        (["export", "decisions", "--from", "2026-11-20", "--to", "2026-11-01"], "is after --to"),
        (["export", "subject", "facebook:nobody", "--out", "{tmp}/s.json"], "no author"),
        (["export", "subject", "1", "--out", "{tmp}/s.txt"], "must end in .zip or .json"),
        (
            [
                "export",
                "decisions",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-30",
                "--out",
                "{tmp}/missing/d.csv",
            ],
            "does not exist",
        ),
        (["records", "verify-signature", "{tmp}/absent.zip"], "no such file"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(
    env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([a.replace("{tmp}", str(env)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_decisions_export_to_stdout_and_file(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "decisions", "--from", "2026-11-16", "--to", "2026-11-16"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff"))))
    assert rows[1][rows[0].index("action")] == "hide"
    assert rows[1][rows[0].index("comment_text")] == "'" + HOSTILE
    out = env / "d.json"
    argv = ["export", "decisions", "--from", "2026-11-01", "--to", "2026-11-30"]
    assert main([*argv, "--format", "json", "--out", str(out), "--without-personal-data"]) == 0
    document = json.loads(out.read_text())
    assert document["count"] == 1
    assert document["decisions"][0]["comment_text"] is None
    capsys.readouterr()
    assert main(["export", "decisions", "--from", "2026-11-17", "--to", "2026-11-30"]) == 0
    assert len(list(csv.reader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff"))))) == 1


def test_subject_export_json_and_zip(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    as_json = env / "subject.json"
    assert main(["export", "subject", "facebook:id-@Evil", "--out", str(as_json)]) == 0
    data = json.loads(as_json.read_text())
    assert data["comments"][0]["versions"][0]["text"] == HOSTILE
    as_zip = env / "subject.zip"
    assert main(["export", "subject", str(data["author"]["id"]), "--out", str(as_zip)]) == 0
    assert main(["records", "verify-signature", str(as_zip)]) == 0


@pytest.mark.postgres
def test_run_on_postgresql_without_a_records_key_refuses_to_start(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SMAT_DATABASE_URL", postgres_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "records.signing_key" in err
    assert err.count("\n") == 1
