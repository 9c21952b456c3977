"""``smat-bot audit verify`` and ``audit head`` as the Clerk or IT volunteer runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.cli import main
from bot.container import build
from bot.services.review import Action, DecisionRequest
from config.settings import Settings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.integration.helpers import incoming

JO = "U0SMAT1"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A SQLite database with a hide on record, named by SMAT_DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    monkeypatch.setenv("SMAT_DATABASE_URL", url)
    settings = Settings(
        database_url=url, members=[{"slack_user_id": JO, "role": "smat", "name": "Jo"}]
    )
    container = build(settings, classifier=KeywordClassifier(), clock=FakeClock())
    container.ingest().ingest([incoming("c1", "You stupid useless idiot")])
    container.review.decide(DecisionRequest(1, 1, Action.HIDE, JO, reason_code="obscene_or_sexual"))
    container.engine.dispose()
    return url


def _tamper(url: str, *statements: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()


def test_an_intact_log_verifies_with_exit_0(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "The decision log is intact" in out
    from sqlalchemy import create_engine

    engine = create_engine(database)
    with engine.connect() as connection:
        events = connection.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
    engine.dispose()
    assert events > 5  # the seeds, the member, the comment, its classification, the hide…
    assert f"Checked {events} events" in out


def test_head_prints_a_line_to_publish_and_verify_accepts_it(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "head", "--json"]) == 0
    head = json.loads(capsys.readouterr().out)
    seq = head["seq"]
    assert seq > 5
    assert main(["audit", "head"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line == f"{seq}:{head['hash']}"
    assert main(["audit", "verify", "--anchor", line]) == 0
    wrong = f"{seq}:{'0' * 64}"
    assert main(["audit", "verify", "--anchor", wrong]) == 1
    assert "the published head says" in capsys.readouterr().out


def test_a_tampered_preserved_record_is_named_with_exit_1(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _tamper(database, "UPDATE preserved_records SET text = 'Lovely lights' WHERE id = 1")
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "TAMPERED: preserved_records #1 differs from what event" in out
    assert "(text)" in out


def test_the_console_script_reports_a_removed_event_as_json_with_exit_1(database: str) -> None:
    _tamper(
        database,
        "DROP TRIGGER audit_events_no_delete",
        "DELETE FROM audit_events WHERE seq = 3",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SMAT_DATABASE_URL": database}
    done = subprocess.run(  # the real entry point, as a process
        [sys.executable, "-m", "bot.cli", "audit", "verify", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["chain_problem"]["what"] == "removed"
    assert report["chain_problem"]["seq"] == 3


def test_a_database_without_the_log_is_unusable_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SMAT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert main(["audit", "verify"]) == 2
    assert "run `smat-bot db upgrade` first" in capsys.readouterr().err


def test_a_malformed_anchor_is_refused_with_exit_2(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["audit", "verify", "--anchor", "7:abc"])
    assert exited.value.code == 2
    assert "not SEQ:HASH" in capsys.readouterr().err
