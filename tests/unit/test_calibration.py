"""Threshold suggestions from synthetic decisions: the rule, the counts, and too few decisions."""

from __future__ import annotations

import pytest

from bot.calibration import (
    DecidedScores,
    calibrate,
    calibrate_label,
    decision_label,
    measure,
)
from bot.evaluation import Confusion


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("approve", False),
        ("hide", True),
        ("delete", True),
        ("block", True),
        ("escalate", None),
        ("reply", None),
        ("ignore", None),
        ("", None),
    ],
)
def test_decision_label(action: str, expected: bool | None) -> None:
    assert decision_label(action) is expected


def _samples(abusive: list[float], not_abusive: list[float]) -> list[tuple[float, bool]]:
    return [(score, True) for score in abusive] + [(score, False) for score in not_abusive]


def test_measure_counts_scores_at_or_above_the_threshold() -> None:
    point = measure(_samples([0.9, 0.7, 0.3], [0.7, 0.2]), 0.7)
    assert point.confusion == Confusion(tp=2, fp=1, fn=1, tn=1)


def test_suggests_the_highest_recall_threshold_that_keeps_the_precision() -> None:
    # 21 removed comments scoring 0.60..0.79 and 0.95; 22 approved scoring 0.05..0.24, one at
    # 0.50 and one at 0.62 (sharp criticism the model disliked).
    abusive = [round(0.60 + i / 100, 2) for i in range(20)] + [0.95]
    not_abusive = [round(0.05 + i / 100, 2) for i in range(20)] + [0.62, 0.50]
    result = calibrate_label(
        _samples(abusive, not_abusive),
        model_name="m",
        label="toxicity",
        current_threshold=0.8,
    )
    assert result.status == "ok"
    assert (result.abusive, result.not_abusive) == (21, 22)
    # From the top down precision holds (21/22 at 0.60, 21/23 = 0.913 at 0.50) until the
    # approved 0.24 comes in at 0.24 (21/24 = 0.875): 0.25 is the lowest that holds …
    assert result.lowest_equivalent == 0.25 == _brute_force(abusive, not_abusive, 0.9)
    # … but everything from 0.25 to 0.60 catches all 21; 0.60 flags the fewest approved ones.
    assert result.suggested is not None
    assert result.suggested.threshold == 0.60
    assert result.suggested.confusion == Confusion(tp=21, fp=1, fn=0, tn=21)
    assert result.current is not None
    assert result.current.threshold == 0.8
    assert result.current.confusion == Confusion(tp=1, fp=0, fn=20, tn=22)
    assert result.best_f1 is not None
    assert result.best_f1.threshold == 0.60
    assert result.best_f1.confusion.f1 == pytest.approx(2 * 21 / (2 * 21 + 1))
    assert result.message == (
        "Suggest 0.60: recall 1.00 with precision ≥ 0.90 from there up; "
        "on these decisions anything from 0.25 to 0.60 catches as many."
    )


def _brute_force(abusive: list[float], not_abusive: list[float], target: float) -> float | None:
    """The lowest grid threshold from which precision ≥ target at every higher flagging one."""
    grid = [round(step / 100, 2) for step in range(1, 101)]
    best = None
    for threshold in reversed(grid):
        tp = sum(1 for s in abusive if s >= threshold - 1e-9)
        fp = sum(1 for s in not_abusive if s >= threshold - 1e-9)
        if tp + fp == 0:
            continue
        if tp / (tp + fp) < target:
            break
        best = threshold
    return best


def test_a_lucky_dip_below_a_failing_threshold_is_not_suggested() -> None:
    # Precision fails at 0.70 (two approved comments at 0.70) but recovers lower down because
    # many removed comments score 0.40-0.60: the rule stops at the first failure from the top.
    abusive = [0.9] * 2 + [0.4 + i / 100 for i in range(21)]
    not_abusive = [0.70, 0.70] + [0.1] * 20
    result = calibrate_label(
        _samples(abusive, not_abusive), model_name="m", label="x", current_threshold=None
    )
    assert result.lowest_equivalent == 0.71
    assert result.suggested is not None
    assert result.suggested.threshold == 0.9
    assert result.suggested.confusion == Confusion(tp=2, fp=0, fn=21, tn=22)
    assert result.current is None


def test_too_few_decisions_in_a_class_suggests_nothing() -> None:
    result = calibrate_label(
        _samples([0.9] * 19, [0.1] * 50), model_name="m", label="toxicity", current_threshold=0.8
    )
    assert result.status == "needs_more"
    assert result.suggested is None
    assert result.best_f1 is None
    assert "19 abusive" in result.message
    assert "50 not abusive" in result.message
    assert "at least 20 of each" in result.message
    # The current threshold is still measured, for information.
    assert result.current is not None
    assert result.current.confusion == Confusion(tp=19, fp=0, fn=0, tn=50)


def test_no_decisions_at_all_needs_more() -> None:
    result = calibrate_label([], model_name="m", label="x", current_threshold=0.5)
    assert result.status == "needs_more"
    assert (result.abusive, result.not_abusive) == (0, 0)


def test_unreachable_precision_suggests_nothing_but_shows_best_f1() -> None:
    # Every removed comment scores exactly like an approved one: no threshold separates them.
    result = calibrate_label(
        _samples([0.9] * 20 + [0.5] * 5, [0.9] * 20 + [0.5] * 5),
        model_name="m",
        label="x",
        current_threshold=0.8,
    )
    assert result.status == "unreachable"
    assert result.suggested is None
    assert result.best_f1 is not None
    assert "keep the current threshold" in result.message


def test_a_current_threshold_that_does_as_well_is_kept() -> None:
    result = calibrate_label(
        _samples([0.9] * 20, [0.1] * 20), model_name="m", label="x", current_threshold=0.8
    )
    assert result.status == "ok"
    assert result.suggested is not None
    assert result.suggested.threshold == 0.8
    assert result.suggested.confusion == Confusion(tp=20, fp=0, fn=0, tn=20)
    assert result.lowest_equivalent == 0.11
    assert result.message == (
        "Keep 0.80: recall 1.00 with precision ≥ 0.90; "
        "on these decisions anything from 0.11 to 0.90 does as well."
    )


def test_a_current_threshold_outside_the_range_is_not_kept() -> None:
    # 0.05 flags the approved comments at 0.1 too (precision 0.5): move up.
    result = calibrate_label(
        _samples([0.9] * 20, [0.1] * 20), model_name="m", label="x", current_threshold=0.05
    )
    assert result.suggested is not None
    assert result.suggested.threshold == 0.9
    assert result.current is not None
    assert result.current.confusion.precision == 0.5


def test_min_per_class_and_target_are_checked() -> None:
    with pytest.raises(ValueError, match="min_per_class"):
        calibrate_label([], model_name="m", label="x", current_threshold=None, min_per_class=0)
    with pytest.raises(ValueError, match="target precision"):
        calibrate_label([], model_name="m", label="x", current_threshold=None, target_precision=0)


def test_calibrate_groups_by_model_and_label() -> None:
    # insult: removed 0.9, approved 0.7, so the configured 0.6 flags every approved comment;
    # toxicity: removed 0.9, approved 0.1, and the configured 0.8 already does as well.
    decided = [DecidedScores("detoxify", {"toxicity": 0.9, "insult": 0.9}, True)] * 20 + [
        DecidedScores("detoxify", {"toxicity": 0.1, "insult": 0.7}, False)
    ] * 20
    decided += [DecidedScores("alt-profanity-check", {"profanity": 0.9}, True)] * 3
    results = calibrate(decided, {"toxicity": 0.8, "insult": 0.6})
    assert [(r.model_name, r.label, r.status) for r in results] == [
        ("alt-profanity-check", "profanity", "needs_more"),
        ("detoxify", "insult", "ok"),
        ("detoxify", "toxicity", "ok"),
    ]
    assert results[2].suggested is not None
    assert results[2].suggested.threshold == 0.8
    insult = results[1]
    assert insult.suggested is not None
    assert insult.suggested.threshold == 0.9
    assert insult.lowest_equivalent == 0.71
    assert insult.current is not None
    assert insult.current.confusion.precision == 0.5
    as_json = insult.as_dict()
    assert as_json["suggested"]["threshold"] == 0.9
    assert as_json["suggested"]["precision"] == 1.0
    assert results[0].as_dict()["suggested"] is None


def test_a_lower_target_and_smaller_minimum_can_be_chosen() -> None:
    decided = [DecidedScores("m", {"x": 0.9}, True)] * 5 + [
        DecidedScores("m", {"x": 0.1}, False)
    ] * 5
    [result] = calibrate(decided, {}, target_precision=0.8, min_per_class=5)
    assert result.status == "ok"
    assert result.current is None
