"""`smat-bot digest` as the Clerk or an IT volunteer runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.container import build
from config.settings import load_settings
from tests.conftest import BOT_TOKEN
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.fake_slack import FakeSlack
from tests.integration.digest_week import build_known_week


@pytest.fixture
def known_week_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("SMAT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SMAT_COUNCIL__NAME", "Biggleswade Town Council")
    container = build(load_settings(), classifier=KeywordClassifier(), announce=lambda _: None)
    build_known_week(container.sessions)
    container.engine.dispose()
    return tmp_path


def test_digest_writes_the_paper_for_a_given_week(
    known_week_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = known_week_db / "papers"
    assert main(["digest", "--week", "2026-W47", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "week 47 (16\u201322 November 2026)" in printed
    assert "10 comments were received" in printed
    folder = out / "2026-W47"
    assert sorted(p.name for p in folder.iterdir()) == [
        "smat-digest-2026-W47-figures.csv",
        "smat-digest-2026-W47-removals-by-reason.png",
        "smat-digest-2026-W47-time-to-first-action.png",
        "smat-digest-2026-W47-volume-by-day.png",
        "smat-digest-2026-W47.html",
        "smat-digest-2026-W47.pdf",
    ]


@pytest.mark.parametrize("week", ["47", "2026-W99", "2026-w47x"])
def test_a_bad_week_is_one_line_and_exit_2(
    known_week_db: Path, capsys: pytest.CaptureFixture[str], week: str
) -> None:
    assert main(["digest", "--week", week]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("smat-bot: error: --week")
    assert "\n" not in err


def test_post_needs_slack(known_week_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["digest", "--week", "2026-W47", "--out", str(known_week_db), "--post"]) == 2
    assert "SLACK_BOT_TOKEN" in capsys.readouterr().err


def test_post_sends_it_to_the_digest_channel_once(
    known_week_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.base_url)
    args = ["digest", "--week", "2026-W47", "--out", str(known_week_db), "--post"]
    assert main(args) == 0
    assert "Posted to #smat-reports" in capsys.readouterr().out
    assert len(fake_slack.files("#smat-reports")) == 6
    assert main(args) == 0
    assert "Already posted to Slack for 2026-W47" in capsys.readouterr().out
    assert len(fake_slack.messages("#smat-reports")) == 1


def test_help_lists_digest(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "digest" in capsys.readouterr().out
