"""Retention classes and dates, the settings that define them, and the records' Slack commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from bot.records_messages import register_message, review_reminder
from bot.services.blocks import BlockEntry
from bot.services.retention_policy import CommentFacts, expires_at, retention_class
from config.settings import RetentionSettings, Settings
from handlers.records_commands import (
    ListBlocks,
    ListHolds,
    RecordsProblem,
    ReleaseHold,
    SetHold,
    parse_records_command,
)
from platforms.types import Platform

WHEN = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def retention() -> RetentionSettings:
    return Settings().retention  # the shipped defaults


def facts(*actions: str, **kw: Any) -> CommentFacts:
    return CommentFacts(decided=kw.pop("decided", True), actions=actions, last_activity=WHEN, **kw)


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        (facts("approve"), "approved_comment"),
        (facts("approve", "hide", reason_codes=("spam",)), "removed_comment"),
        (facts("warn", reason_codes=("bullying_or_harassment",)), "removed_comment"),
        (facts("hide", "unhide", reason_codes=("spam",)), "removed_comment"),
        (facts("hide", reason_codes=("violent_or_threatening",)), "evidence_criminal"),
        (
            facts("hide", reason_codes=("spam",), escalation_reasons=("abuse_of_staff",)),
            "evidence_disciplinary",
        ),
        (facts("approve", escalation_reasons=("complaint",)), "evidence_audit"),
        (
            facts(
                "hide",
                escalation_reasons=("complaint",),
                escalation_outcomes=("hidden_referred_police",),
            ),
            "evidence_criminal",
        ),
        (facts("approve", decided=False), None),
        (facts(), None),
        (facts("hide", escalation_reasons=("threat",), open_escalation=True), None),
    ],
)
def test_each_comment_falls_into_the_class_the_policy_describes(
    retention: RetentionSettings, comment: CommentFacts, expected: str | None
) -> None:
    assert retention_class(comment, retention) == expected


def test_the_longest_evidence_period_wins(retention: RetentionSettings) -> None:
    settings = retention.model_copy(
        update={
            "classes": {
                **retention.classes,
                "evidence_audit": retention.classes["evidence_audit"].model_copy(
                    update={"days": 4000}
                ),
            }
        }
    )
    both = facts("hide", escalation_reasons=("threat", "complaint"))
    assert retention_class(both, settings) == "evidence_audit"
    assert retention_class(both, retention) == "evidence_criminal"  # equal: listed first


def test_the_period_runs_from_the_last_activity(retention: RetentionSettings) -> None:
    assert expires_at(facts("approve"), retention) == WHEN + timedelta(days=365)
    assert expires_at(facts("hide", reason_codes=("spam",)), retention) == WHEN + timedelta(
        days=730
    )
    assert expires_at(facts("approve", decided=False), retention) is None


def test_retention_settings_name_the_problem() -> None:
    classes = {"approved_comment": {"days": 365}, "removed_comment": {"days": 730}}
    with pytest.raises(ValidationError, match="missing class"):
        RetentionSettings(classes={"approved_comment": {"days": 1}})
    with pytest.raises(ValidationError, match="unknown class 'evidence_x'"):
        RetentionSettings(classes=classes, evidence_by_escalation={"threat": "evidence_x"})
    with pytest.raises(ValidationError, match="unknown escalation reason 'riot'"):
        RetentionSettings(classes=classes, evidence_by_escalation={"riot": "removed_comment"})
    with pytest.raises(ValidationError):
        RetentionSettings(classes=classes, purge_at="25:00")
    with pytest.raises(ValidationError):
        RetentionSettings(classes={**classes, "x": {"days": 10, "action": "shred"}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hold 12 Police ref 4471", SetHold("comment", "12", "Police ref 4471")),
        ("hold author 12 Harassment case", SetHold("author", "12", "Harassment case")),
        (
            "hold <https://www.facebook.com/x?comment_id=9> A &amp; B",
            SetHold("comment", "https://www.facebook.com/x?comment_id=9", "A & B"),
        ),
        ("release 12", ReleaseHold("comment", "12", None)),
        ("release author 12 case closed", ReleaseHold("author", "12", "case closed")),
        ("holds", ListHolds()),
        ("blocks", ListBlocks()),
        ("blocks due", ListBlocks(due_only=True)),
    ],
)
def test_records_commands_parse(text: str, expected: object) -> None:
    assert parse_records_command(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("hold 12", "reason for the hold"),
        ("hold", "which comment"),
        ("release", "which comment"),
        ("blocks soon", "didn't expect 'soon'"),
        ("holds <!channel>", "didn't expect '&lt;!channel&gt;'"),
    ],
)
def test_records_commands_name_the_problem(text: str, problem: str) -> None:
    parsed = parse_records_command(text)
    assert isinstance(parsed, RecordsProblem)
    assert problem in parsed.message


def _entry(name: str, platform: Platform = Platform.FACEBOOK) -> BlockEntry:
    return BlockEntry(
        id=3,
        author_id=7,
        author_name=name,
        platform=platform,
        account_name="Example Town Council",
        comment_id=41,
        review_item_id=40,
        reason_code="bullying_or_harassment",
        blocked_by="U0SMAT1",
        blocked_at=WHEN,
        review_due=WHEN + timedelta(days=182),
        block_decision_id=5,
        platform_outcome="done",
    )


def test_a_residents_name_is_never_markup_in_the_reminder_or_register() -> None:
    hostile = "<!channel> *Kev*"
    london = Settings().council.tz
    reminder = review_reminder(_entry(hostile), {}, london)
    names = [b["text"] for b in reminder.blocks if b.get("text", {}).get("text") == hostile]
    assert names
    assert all(text["type"] == "plain_text" for text in names)
    listing = register_message([_entry(hostile)], {}, london, WHEN, due_only=False)
    assert "<!channel>" not in str(
        [e for b in listing.blocks for e in b.get("elements", []) if e["type"] == "mrkdwn"]
    )


def test_on_x_the_reminder_speaks_of_muting() -> None:
    reminder = review_reminder(_entry("Kev", Platform.X), {}, Settings().council.tz)
    labels = [
        e["text"]["text"]
        for b in reminder.blocks
        for e in b.get("elements", [])
        if e.get("type") == "button"
    ]
    assert "Keep muted" in labels
    assert "Unmute…" in labels
