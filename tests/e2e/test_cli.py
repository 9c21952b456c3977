"""The command line as a person uses it: exit statuses, one-line errors, `run` as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from bot.cli import main
from storage.models import Comment
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.fake_slack import FakeSlack

GOOD_ROW = "facebook,Page1,c{n},Ann,Lovely lights,2026-11-16T10:00:00Z"
HEADER = "platform,account,id,author,text,created_at"


def _write(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _comments(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(Comment)).scalar_one()
    finally:
        engine.dispose()


@pytest.fixture
def offline_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SMAT_DATABASE_URL", url)
    monkeypatch.setenv("SMAT_CLASSIFIER__BACKEND", "profanity-check")
    return url


def test_import_reports_bad_rows_with_line_numbers_and_exits_1(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = _write(
        tmp_path / "feed.csv",
        GOOD_ROW.format(n=1),
        "facebook,Page1,c2,Bob,,2026-11-16T10:00:00Z",
        "myspace,Page1,c3,Cat,Hello,2026-11-16T10:00:00Z",
        "facebook,Page1,c4,Dan,Hi,yesterday",
        GOOD_ROW.format(n=5),
    )
    assert main(["import", str(feed)]) == 1
    out = capsys.readouterr().out
    assert "line 3: rejected: empty text" in out
    assert "line 4: rejected: unknown platform 'myspace'" in out
    assert "line 5: rejected: unreadable created_at 'yesterday'" in out
    assert "2 new" in out
    assert _comments(offline_env) == 2


def test_dry_run_stores_nothing(offline_env: str, tmp_path: Path) -> None:
    feed = _write(tmp_path / "feed.csv", GOOD_ROW.format(n=1))
    assert main(["import", "--dry-run", str(feed)]) == 0
    engine = create_engine(offline_env)
    with engine.connect() as connection:
        tables = connection.execute(text("SELECT name FROM sqlite_master")).scalars().all()
    assert "comments" not in tables


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "the file is empty"),
        ("platform,text\nfacebook,hi\n", "missing required column(s): account, external_id"),
    ],
)
def test_unusable_files_exit_2_with_one_line(
    offline_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    expected: str,
) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(content)
    assert main(["import", str(feed)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert len(err.strip().splitlines()) == 1


def test_missing_file_exits_2(offline_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "/nonexistent/feed.csv"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_invalid_setting_stops_start_up_with_one_line_naming_it(
    offline_env: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "smat.yaml"
    config.write_text("policy:\n  thresholds:\n    toxicity: 1.5\n")
    monkeypatch.setenv("SMAT_CONFIG", str(config))
    assert main(["queue"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("smat-bot: error: Invalid setting policy.thresholds")
    assert len(err.splitlines()) == 1


def test_run_without_a_bot_token_names_the_setting(
    offline_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 2
    assert "Missing setting SLACK_BOT_TOKEN" in capsys.readouterr().err


def test_run_in_http_mode_without_signing_secret_names_it(
    offline_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    assert main(["run"]) == 2
    assert "Missing setting SLACK_SIGNING_SECRET" in capsys.readouterr().err


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "import", "queue", "db"):
        assert command in out


def test_db_upgrade_and_current(offline_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "current"]) == 0
    assert "revision: none" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "current"]) == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.slow
def test_run_serves_http_mode_and_stops_on_sigterm(tmp_path: Path, fake_slack: FakeSlack) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SMAT_", "SLACK_"))},
        "SMAT_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "SMAT_CLASSIFIER__BACKEND": "profanity-check",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.base_url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = _wait_for_health(f"http://127.0.0.1:{port}/healthz", process)
        assert health == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.json() == {
            "status": "ready",
            "checks": {"database": "ok", "slack": "ok", "classifier": "ok"},
        }
        assert (
            "smat_scheduler_leader 1.0"
            in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        )
        unsigned = httpx.post(f"http://127.0.0.1:{port}/slack/events", content=b"payload={}")
        assert unsigned.status_code == 401
        fake_slack.wait_for("auth.test")  # the token was verified at start-up
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert BOT_TOKEN not in output
    assert SIGNING_SECRET not in output


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_health(url: str, process: subprocess.Popen[str]) -> object:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"smat-bot run exited early: {process.stdout.read() if process.stdout else ''}"
            )
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("smat-bot run did not become healthy within 60 s")
