"""The digest: and sla: settings, and the plain-English pieces of the paper."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.digest.period import Week, date_range
from bot.digest.report import Trend
from bot.digest.wording import change, count_words, duration
from config.settings import ConfigError, Settings, load_settings


def test_defaults() -> None:
    settings = Settings(database_url="sqlite://")
    assert (settings.digest.day, settings.digest.time) == ("mon", "08:00")
    assert settings.digest.target_working_days == 2
    assert settings.sla.days == ("mon", "tue", "wed", "thu", "fri")


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("digest:\n  time: 9:30\n", "Invalid setting digest.time: write the time as a quoted"),
        ("digest:\n  time: '25:00'\n", "Invalid setting digest.time"),
        ("digest:\n  day: monday\n", "Invalid setting digest.day"),
        ("sla:\n  days: []\n", "Invalid setting sla.days: name at least one day"),
        ("digest:\n  target_working_days: 0\n", "Invalid setting digest.target_working_days"),
        ("digest:\n  colour: blue\n", "Invalid setting digest.colour"),
    ],
)
def test_bad_settings_name_the_setting(
    yaml_text: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "smat.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    monkeypatch.setenv("SMAT_CONFIG", str(path))
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_wording() -> None:
    assert count_words(1, "comment") == "one comment"
    assert count_words(0, "matter") == "no matters"
    assert count_words(1204, "comment") == "1,204 comments"
    assert duration(0) == "0 min"
    assert duration(45 * 60) == "45 min"
    assert duration(3 * 3600 + 20 * 60) == "3 h 20 min"
    assert duration(86400 + 4 * 3600) == "1 day 4 h"
    assert duration(None) == "\u2013"
    assert change(Trend(3, 5, 4)) == "\u22122"
    assert change(Trend(5, 3, 4)) == "+2"


def test_periods() -> None:
    assert Week.parse("2026-W47").describe() == "week 47 (16\u201322 November 2026)"
    assert Week.parse("2026-W53").describe() == ("week 53 (28 December 2026 \u2013 3 January 2027)")
    assert date_range(Week.parse("2026-W49").monday, Week.parse("2026-W49").sunday) == (
        "30 November \u2013 6 December 2026"
    )
