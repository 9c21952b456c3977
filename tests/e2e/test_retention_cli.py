"""`smat-bot retention`, `smat-bot hold` and `smat-bot blocks` as the IT volunteer runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.services.purge import PLACEHOLDER
from storage.models import CommentVersion, LegalHold, PurgeRun
from tests.conftest import MakeSettings
from tests.integration.records_world import World, build_world


@pytest.fixture
def world(make_settings: MakeSettings, database_url: str, monkeypatch: pytest.MonkeyPatch) -> World:
    # Decided seven years ago by the bot's clock, so the CLI (the real clock) finds it all expired.
    start = datetime.now(UTC) - timedelta(days=7 * 365)
    world = build_world(make_settings, start=start.replace(microsecond=0))
    monkeypatch.setenv("SMAT_DATABASE_URL", database_url)
    monkeypatch.setenv("SMAT_CLASSIFIER__BACKEND", "profanity-check")
    monkeypatch.setenv("COLUMNS", "250")  # tables on one line each
    return world


def _text(world: World, name: str) -> str:
    with world.container.sessions() as session:
        return session.scalars(
            select(CommentVersion.text).where(CommentVersion.comment_id == world.ids[name])
        ).one()


def test_holds_from_the_command_line_keep_comments_out_of_the_purge(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    held = str(world.ids["removed"])
    assert main(["hold", "set", held, "--reason", "Police request PC 1234", "--by", "Jo"]) == 0
    assert f"set on comment {held} by Jo" in capsys.readouterr().out
    assert main(["hold", "set", held, "--reason", "Again", "--by", "Jo"]) == 2
    assert "already on legal hold" in capsys.readouterr().err
    assert main(["hold", "list"]) == 0
    assert "Police request PC 1234" in capsys.readouterr().out

    assert main(["retention", "purge", "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] is True
    assert dry["purged"] == {
        "approved_comment": [world.ids["approved"], world.ids["approved_held"]],
        "evidence_criminal": [world.ids["criminal"]],
        "evidence_disciplinary": [world.ids["disciplinary_held"]],
        "removed_comment": [world.ids["removed_held"]],  # no hold on it here
    }
    assert dry["kept"]["legal_hold"] == [world.ids["removed"]]
    assert _text(world, "approved") != PLACEHOLDER  # the dry run changed nothing

    assert main(["retention", "purge", "--by", "Jo"]) == 0
    out = capsys.readouterr().out
    assert "approved_comment: 2 comment(s) purged (delete)" in out
    assert "Kept though expired (legal hold): 1" in out
    assert _text(world, "approved") == PLACEHOLDER
    assert _text(world, "removed") == "You stupid useless idiot"
    with world.container.sessions() as session:
        run = session.scalars(select(PurgeRun)).one()
    assert run.started_by == "cli:Jo"

    assert main(["hold", "release", held, "--by", "Jo", "--reason", "Case closed"]) == 0
    capsys.readouterr()
    assert main(["retention", "purge"]) == 0
    assert f"removed_comment: 1 comment(s) purged (anonymise): {held}" in capsys.readouterr().out
    assert _text(world, "removed") == PLACEHOLDER
    with world.container.sessions() as session:
        hold = session.scalars(select(LegalHold)).one()
    assert (hold.set_by, hold.released_by, hold.release_reason) == (
        "cli:Jo",
        "cli:Jo",
        "Case closed",
    )


def test_hold_problems_exit_2_with_one_line(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hold", "release", "1", "--by", "Jo"]) == 2
    assert capsys.readouterr().err.strip() == (
        "smat-bot: error: Comment 1 is not on legal hold. Nothing was changed."
    )
    assert main(["hold", "set", "nope", "--reason", "x y z", "--by", "Jo"]) == 2
    assert "No comment 'nope' is on record" in capsys.readouterr().err
    assert main(["hold", "set", "1", "--reason", "  ", "--by", "Jo"]) == 2
    assert "Give the reason" in capsys.readouterr().err


def test_blocks_list_shows_reviews_due(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["blocks", "list", "--due"]) == 0
    out = capsys.readouterr().out
    assert "Gus Blocked" in out
    assert "review due" in out
    assert main(["retention", "classes"]) == 0
    assert "evidence_criminal" in capsys.readouterr().out
