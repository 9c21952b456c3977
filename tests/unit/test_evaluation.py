"""The evaluation maths, the labelled-CSV reader and slicing, on hand-made data."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.evaluation import (
    Confusion,
    EvalFileError,
    LabelledRow,
    Scored,
    SliceFilter,
    ThresholdSetting,
    check_slice_columns,
    classifier_flags,
    evaluate,
    parse_label,
    parse_labelled_csv,
    parse_slice,
    parse_thresholds,
    read_labelled_csv,
    select_rows,
    threshold_settings,
)
from classifiers.detectors import Detections
from classifiers.policy import SuggestedAction, Suggestion, suggest
from config.settings import PolicySettings, load_settings


def _default_policy() -> PolicySettings:
    """The shipped default policy, whatever SMAT_* variables the developer has set."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("SMAT_", "SLACK_")):
                patch.delenv(name, raising=False)
        return load_settings().policy


POLICY = _default_policy()

# --- the confusion matrix ----------------------------------------------------------------------


def test_confusion_counts_each_cell_from_labels_and_predictions() -> None:
    truth = [True, True, True, False, False, False, False, True]
    flagged = [True, True, False, True, False, False, False, False]
    assert Confusion.of(truth, flagged) == Confusion(tp=2, fp=1, fn=2, tn=3)


def test_rates_match_a_hand_computed_matrix() -> None:
    # 8 abusive, 12 not: 6 caught, 2 missed, 3 false alarms, 9 left alone.
    matrix = Confusion(tp=6, fp=3, fn=2, tn=9)
    assert matrix.positives == 8
    assert matrix.negatives == 12
    assert matrix.precision == pytest.approx(6 / 9)
    assert matrix.recall == pytest.approx(6 / 8)
    assert matrix.fpr == pytest.approx(3 / 12)
    # F1 is the harmonic mean of precision and recall: 2PR/(P+R) = 2TP/(2TP+FP+FN).
    p, r = 6 / 9, 6 / 8
    assert matrix.f1 == pytest.approx(2 * p * r / (p + r))
    assert matrix.f1 == pytest.approx(12 / 17)


def test_nothing_flagged_leaves_precision_undefined_and_f1_zero() -> None:
    matrix = Confusion.of([True, False, False], [False, False, False])
    assert matrix == Confusion(tp=0, fp=0, fn=1, tn=2)
    assert matrix.precision is None
    assert matrix.recall == 0.0
    assert matrix.f1 == 0.0
    assert matrix.fpr == 0.0


def test_no_abusive_rows_leaves_recall_undefined_but_fpr_meaningful() -> None:
    # The criticism slice: nothing in it is abusive; only the false-positive rate means anything.
    matrix = Confusion.of([False] * 4, [True, False, False, False])
    assert matrix.recall is None
    assert matrix.precision == 0.0
    assert matrix.f1 == 0.0
    assert matrix.fpr == pytest.approx(0.25)


def test_no_positives_and_nothing_flagged_is_undefined_not_a_division_error() -> None:
    matrix = Confusion.of([False, False], [False, False])
    assert (matrix.precision, matrix.recall, matrix.f1) == (None, None, None)
    assert matrix.fpr == 0.0


def test_empty_input_is_undefined_everywhere() -> None:
    matrix = Confusion.of([], [])
    assert matrix == Confusion()
    assert (matrix.precision, matrix.recall, matrix.f1, matrix.fpr) == (None,) * 4
    assert matrix.as_dict() == {
        "tp": 0,
        "fp": 0,
        "fn": 0,
        "tn": 0,
        "precision": None,
        "recall": None,
        "f1": None,
        "fpr": None,
    }


def test_only_abusive_rows_leaves_fpr_undefined() -> None:
    matrix = Confusion.of([True, True], [True, False])
    assert matrix.fpr is None
    assert matrix.precision == 1.0
    assert matrix.recall == 0.5


@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=60))
def test_rates_are_consistent_for_any_labels_and_flags(pairs: list[tuple[bool, bool]]) -> None:
    matrix = Confusion.of([t for t, _ in pairs], [f for _, f in pairs])
    assert matrix.tp + matrix.fp + matrix.fn + matrix.tn == len(pairs)
    assert matrix.positives == sum(t for t, _ in pairs)
    for rate in (matrix.precision, matrix.recall, matrix.f1, matrix.fpr):
        assert rate is None or 0.0 <= rate <= 1.0
    p, r = matrix.precision, matrix.recall
    if p and r:
        assert matrix.f1 == pytest.approx(2 * p * r / (p + r))


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="2 labels but 1 predictions"):
        Confusion.of([True, False], [True])


def test_precision_at_a_natural_prevalence_reweights_the_classes() -> None:
    # Recall 0.8, FPR 0.1: at 2% prevalence, 0.8*0.02 / (0.8*0.02 + 0.1*0.98).
    matrix = Confusion(tp=80, fp=10, fn=20, tn=90)
    assert matrix.precision_at(0.02) == pytest.approx(0.016 / (0.016 + 0.098))
    # At the sample's own prevalence it is the plain precision.
    assert matrix.precision_at(0.5) == pytest.approx(matrix.precision or math.nan)
    assert Confusion(tp=0, fp=0, fn=0, tn=5).precision_at(0.1) is None  # no abusive rows
    assert Confusion(tp=0, fp=0, fn=3, tn=5).precision_at(0.1) is None  # nothing flagged
    with pytest.raises(ValueError, match="prevalence"):
        matrix.precision_at(1.0)


def test_as_dict_rounds_rates_and_adds_precision_at_prevalence() -> None:
    result = Confusion(tp=1, fp=2, fn=0, tn=0).as_dict(prevalence=0.5)
    assert result["precision"] == 0.3333
    assert result["fpr"] == 1.0
    assert result["precision_at_prevalence"] == 0.5


# --- labels and the CSV reader -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abusive", True),
        ("ABUSIVE", True),
        (" abusive ", True),
        ("1", True),
        ("true", True),
        ("True", True),
        ("not_abusive", False),
        ("Not_Abusive", False),
        ("0", False),
        ("false", False),
        ("FALSE", False),
        ("", None),
        ("yes", None),
        ("not abusive", None),
        ("2", None),
        ("0.5", None),
    ],
)
def test_parse_label(value: str, expected: bool | None) -> None:
    assert parse_label(value) is expected


def test_reader_keeps_good_rows_and_reports_bad_ones_by_line() -> None:
    labelled = parse_labelled_csv(
        "id,text,label,source_label\n"
        "a1,Lovely lights,not_abusive,x=1\n"
        'a2,"Two\nlines",abusive,x=2\n'  # lines 3-4
        "a3,Hello,maybe,x=3\n"  # line 5
        "a4,,abusive,x=4\n"  # line 6
        "a1,Again,0,x=5\n"  # line 7
        "a6,Too,many,columns,here\n"  # line 8
        "\n"  # blank line 9 is skipped
        "a7,Fine,1,x=7\n"  # line 10
        ",No id,0,x=8\n"  # line 11
    )
    assert labelled.columns == ("id", "text", "label", "source_label")
    assert [(row.line, row.id, row.abusive) for row in labelled.rows] == [
        (2, "a1", False),
        (3, "a2", True),
        (10, "a7", True),
    ]
    assert labelled.rows[1].text == "Two\nlines"
    assert labelled.rows[0].columns["source_label"] == "x=1"
    assert [(bad.line, bad.reason) for bad in labelled.bad] == [
        (5, "unknown label 'maybe' (use abusive/not_abusive, 1/0 or true/false)"),
        (6, "empty text"),
        (7, "duplicate id 'a1' (first on line 2)"),
        (8, "too many columns: expected 4, found 5"),
        (11, "empty id"),
    ]


def test_header_is_case_insensitive_and_columns_may_come_in_any_order() -> None:
    labelled = parse_labelled_csv("Label,ID,Text\nTRUE,x,Hi there\n")
    assert [(row.id, row.text, row.abusive) for row in labelled.rows] == [("x", "Hi there", True)]


def test_an_unterminated_quote_is_reported_with_the_lines_it_swallowed() -> None:
    labelled = parse_labelled_csv('id,text,label\na,"oops,0\nb,fine,0\nc,fine,1\n')
    assert labelled.rows == []
    [bad] = labelled.bad
    assert bad.line == 2
    assert "too few columns" in bad.reason
    assert "unterminated quote" in bad.reason


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        ("id,text\na,b\n", "missing required column(s): label"),
        ("id,text,label,text\n", "duplicate column(s) in the header: text"),
    ],
)
def test_unusable_files_raise(content: str, message: str) -> None:
    with pytest.raises(EvalFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_labelled_csv(content)


def test_read_file_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes("\ufeffid,text,label\r\nx,Hi,0\r\n".encode())
    assert [row.id for row in read_labelled_csv(path).rows] == ["x"]


def test_read_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(EvalFileError, match="file not found"):
        read_labelled_csv(tmp_path / "missing.csv")
    binary = tmp_path / "workbook.csv"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00junk")
    with pytest.raises(EvalFileError, match=r"workbook\.csv: not UTF-8"):
        read_labelled_csv(binary)
    with pytest.raises(EvalFileError, match="is a directory"):
        read_labelled_csv(tmp_path)


# --- slices ------------------------------------------------------------------------------------


def _row(line: int, source_label: str, *, abusive: bool = False) -> LabelledRow:
    return LabelledRow(
        line,
        f"r{line}",
        "text",
        abusive,
        {
            "id": f"r{line}",
            "text": "text",
            "label": "abusive" if abusive else "not_abusive",
            "source_label": source_label,
        },
    )


def test_slice_spec_splits_on_the_first_equals_sign() -> None:
    item = parse_slice("source_label=antagonize=1|healthy=0")
    assert item.column == "source_label"
    assert item.pattern.pattern == "antagonize=1|healthy=0"
    assert item.spec == "source_label=antagonize=1|healthy=0"
    assert parse_slice("Label=^abusive$").column == "label"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("source_label", "write COLUMN=REGEX"),
        ("=abc", "write COLUMN=REGEX"),
        ("source_label=(", "invalid regular expression"),
    ],
)
def test_bad_slice_specs_are_refused(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_slice(spec)


def test_slice_selects_rows_matching_every_filter() -> None:
    rows = [
        _row(2, "healthy=1;hostile=0;antagonize=1"),
        _row(3, "healthy=0;hostile=0;antagonize=0"),
        _row(4, "healthy=1;hostile=0;antagonize=0"),
        _row(5, "healthy=0;hostile=1;antagonize=1", abusive=True),
    ]
    criticism = parse_slice("source_label=antagonize=1|healthy=0")
    assert [row.line for row in select_rows(rows, [criticism])] == [2, 3, 5]
    not_abusive = parse_slice("label=^not_abusive$")
    assert [row.line for row in select_rows(rows, [criticism, not_abusive])] == [2, 3]
    assert [row.line for row in select_rows(rows, [])] == [2, 3, 4, 5]


def test_slice_on_a_missing_column_is_an_error() -> None:
    check_slice_columns([parse_slice("label=x")], ("id", "text", "label"))
    with pytest.raises(EvalFileError, match="no column 'source_label'"):
        check_slice_columns([parse_slice("source_label=x")], ("id", "text", "label"))


def test_slice_filter_treats_a_missing_value_as_empty() -> None:
    row = LabelledRow(2, "x", "t", False, {"id": "x"})
    assert not SliceFilter("note", parse_slice("note=.").pattern).matches(row)


# --- thresholds and the evaluation ----------------------------------------------------------


def test_parse_thresholds_sorts_dedupes_and_checks_range() -> None:
    assert parse_thresholds("0.9, 0.5,0.7,0.5,") == (0.5, 0.7, 0.9)
    for bad, message in (("", "at least one"), ("0.5,x", "'x' is not a number"), ("1.5", "not in")):
        with pytest.raises(ValueError, match=message):
            parse_thresholds(bad)
    with pytest.raises(ValueError, match="not in"):
        parse_thresholds("0")


def test_classifier_flags_any_label_at_or_above_its_threshold() -> None:
    thresholds = {"toxicity": 0.8, "insult": 0.6}
    assert classifier_flags({"toxicity": 0.8, "insult": 0.1}, thresholds)
    assert classifier_flags({"toxicity": 0.1, "insult": 0.6}, thresholds)
    assert not classifier_flags({"toxicity": 0.79, "insult": 0.59}, thresholds)
    assert not classifier_flags({"unknown": 0.99}, thresholds)  # no threshold, no flag


def test_threshold_settings_start_with_the_configured_ones() -> None:
    settings = threshold_settings(POLICY, ("profanity",), (0.5, 0.9))
    assert [setting.name for setting in settings] == ["default", "0.50", "0.90"]
    assert settings[0].thresholds == POLICY.thresholds
    assert set(settings[1].thresholds.values()) == {0.5}
    assert "profanity" in settings[1].thresholds
    assert "toxicity" in settings[1].thresholds


def _scored(
    line: int, score: float, *, abusive: bool, detections: Detections | None = None
) -> Scored:
    return Scored(_row(line, "", abusive=abusive), {"profanity": score}, detections or {})


def test_evaluate_compares_classifier_and_policy_at_each_setting() -> None:
    scored = [
        _scored(2, 0.95, abusive=True),  # caught by both
        _scored(3, 0.65, abusive=True),  # caught at 0.5; the policy says review at 0.8
        _scored(4, 0.10, abusive=True),  # missed by both
        _scored(5, 0.85, abusive=False),  # false alarm for both at 0.8
        _scored(6, 0.05, abusive=False, detections={"email_address": ["a@b.example"]}),
        _scored(7, 0.02, abusive=False),
    ]
    settings = [
        ThresholdSetting("default", {"profanity": 0.8}),
        ThresholdSetting("0.50", {"profanity": 0.5}),
    ]
    default, low = evaluate(scored, settings, POLICY, suggest).results
    assert default.classifier == Confusion(tp=1, fp=1, fn=2, tn=2)
    # The e-mail address is a personal-data reason to hide: the policy's one extra flag.
    assert default.policy == Confusion(tp=1, fp=2, fn=2, tn=1)
    assert (default.review_abusive, default.review_not_abusive) == (1, 0)  # 0.65 ≥ 0.75 x 0.8
    assert low.classifier == Confusion(tp=2, fp=1, fn=1, tn=2)
    assert low.policy == Confusion(tp=2, fp=2, fn=1, tn=1)
    result = evaluate(scored, settings, POLICY, suggest)
    assert (result.rows, result.abusive, result.not_abusive) == (6, 3, 3)
    as_json = result.as_dict(prevalence=0.1)
    assert as_json["results"][0]["policy"]["review"] == {"abusive": 1, "not_abusive": 0}
    assert "precision_at_prevalence" in as_json["results"][0]["classifier"]


def test_evaluate_passes_the_adjusted_thresholds_to_the_policy() -> None:
    seen: list[Mapping[str, float]] = []

    def recording(
        scores: Mapping[str, float], detections: Detections, policy: PolicySettings
    ) -> Suggestion:
        seen.append(dict(policy.thresholds))
        return Suggestion(SuggestedAction.ESCALATE, "violent_or_threatening", "c", "e")

    result = evaluate(
        [_scored(2, 0.1, abusive=False)],
        [ThresholdSetting("0.30", {"profanity": 0.3})],
        POLICY,
        recording,
    )
    assert seen == [{"profanity": 0.3}]
    assert result.results[0].policy == Confusion(fp=1)  # escalate counts as flagged
    assert POLICY.thresholds["profanity"] == 0.8  # the settings themselves are untouched


def test_evaluate_on_no_rows_is_all_undefined() -> None:
    result = evaluate([], [ThresholdSetting("default", {"profanity": 0.8})], POLICY, suggest)
    assert result.rows == 0
    assert result.results[0].classifier == Confusion()
