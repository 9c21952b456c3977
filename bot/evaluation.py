"""Measure the classifier and the policy against a labelled CSV file (``smat-bot eval``).

Pure logic: reading and checking the file, slicing it, and the metric maths. The command line
scores the texts and prints what this module computes.

Two things are measured for every threshold setting:

- the **classifier alone**: a comment counts as flagged when any label's score is at or above
  its threshold;
- the **policy**: a comment counts as flagged when the suggested action is ``hide`` or
  ``escalate`` (what a removal would rest on). ``review`` is no removal; it is counted
  separately, for abusive and for not-abusive rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers.detectors import Detections
from classifiers.policy import EPSILON, SuggestedAction, Suggestion
from config.settings import PolicySettings

REQUIRED_COLUMNS = ("id", "text", "label")
ABUSIVE = frozenset({"abusive", "1", "true"})
NOT_ABUSIVE = frozenset({"not_abusive", "0", "false"})
LABEL_HELP = "use abusive/not_abusive, 1/0 or true/false"
FLAGGING_ACTIONS = frozenset({SuggestedAction.HIDE, SuggestedAction.ESCALATE})
"""Suggested actions that count as the policy flagging a comment for removal."""
DEFAULT_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


class EvalFileError(Exception):
    """The labelled file cannot be used at all; the message says why (exit status 2)."""


# --- reading the labelled file ---------------------------------------------------------------


def parse_label(value: str) -> bool | None:
    """``True`` for abusive, ``False`` for not abusive, ``None`` when the value is unknown.

    Accepts ``abusive``/``not_abusive``, ``1``/``0`` and ``true``/``false``, in any case and
    with surrounding spaces.
    """
    cleaned = value.strip().lower()
    if cleaned in ABUSIVE:
        return True
    if cleaned in NOT_ABUSIVE:
        return False
    return None


@dataclass(frozen=True)
class LabelledRow:
    """One good row of the file."""

    line: int
    """The line the record starts on (the header is line 1)."""
    id: str
    text: str
    abusive: bool
    columns: Mapping[str, str]
    """Every column of the row by its (lower-case) header name, as written in the file."""


@dataclass(frozen=True)
class BadRow:
    """A row that was left out, with the reason."""

    line: int
    reason: str


@dataclass(frozen=True)
class LabelledFile:
    """What was read from a labelled CSV file."""

    columns: tuple[str, ...]
    rows: list[LabelledRow]
    bad: list[BadRow]


def read_labelled_csv(path: Path) -> LabelledFile:
    """Read ``id,text,label`` rows (other columns are kept for slicing, otherwise ignored).

    Raises:
        EvalFileError: the file is missing, unreadable, not UTF-8, empty, or lacks a required
            column. Bad rows are not errors: they are returned in ``bad``.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return parse_labelled_csv(handle)
    except FileNotFoundError:
        raise EvalFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise EvalFileError(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise EvalFileError(f"{path}: permission denied") from None
    except UnicodeDecodeError as exc:
        raise EvalFileError(
            f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV"
        ) from None
    except EvalFileError as exc:
        raise EvalFileError(f"{path}: {exc}") from None


def parse_labelled_csv(handle: Iterable[str] | str) -> LabelledFile:
    """Parse labelled CSV text (an open file, any iterable of lines, or a string)."""
    lines = io.StringIO(handle, newline="") if isinstance(handle, str) else handle
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)  # blank lines before the header
        if header is None:
            raise EvalFileError("the file is empty")
        columns = tuple(cell.strip().lower() for cell in header)
        _check_header(columns)
        rows: list[LabelledRow] = []
        bad: list[BadRow] = []
        first_seen: dict[str, int] = {}
        last_line = reader.line_num
        for record in reader:
            start, last_line = last_line + 1, reader.line_num
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line
            problem = _row_problem(record, columns, start, last_line)
            if problem is None:
                values = dict(zip(columns, record, strict=True))
                row_id, text = values["id"].strip(), values["text"]
                label = parse_label(values["label"])
                if row_id in first_seen:
                    problem = f"duplicate id {row_id!r} (first on line {first_seen[row_id]})"
                elif label is None:
                    problem = f"unknown label {values['label'].strip()!r} ({LABEL_HELP})"
                else:
                    first_seen[row_id] = start
                    rows.append(LabelledRow(start, row_id, text, label, values))
            if problem is not None:
                bad.append(BadRow(start, problem))
    except csv.Error as exc:
        raise EvalFileError(f"line {reader.line_num}: unreadable CSV: {exc}") from None
    return LabelledFile(columns, rows, bad)


def _check_header(columns: tuple[str, ...]) -> None:
    duplicates = sorted({name for name in columns if name and columns.count(name) > 1})
    if duplicates:
        raise EvalFileError(f"duplicate column(s) in the header: {', '.join(duplicates)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise EvalFileError(
            f"missing required column(s): {', '.join(missing)} "
            f"(the header must name {', '.join(REQUIRED_COLUMNS)})"
        )


def _row_problem(record: list[str], columns: tuple[str, ...], start: int, end: int) -> str | None:
    if len(record) != len(columns):
        more = "many" if len(record) > len(columns) else "few"
        reason = f"too {more} columns: expected {len(columns)}, found {len(record)}"
        if end > start:
            reason += f" (the record runs on to line {end}: an unterminated quote?)"
        return reason
    values = dict(zip(columns, record, strict=True))
    if not values["id"].strip():
        return "empty id"
    if not values["text"].strip():
        return "empty text"
    return None


# --- slices ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SliceFilter:
    """``COLUMN=REGEX``: rows whose COLUMN matches REGEX anywhere (``re.search``)."""

    column: str
    pattern: re.Pattern[str]

    @property
    def spec(self) -> str:
        """The filter as it was written."""
        return f"{self.column}={self.pattern.pattern}"

    def matches(self, row: LabelledRow) -> bool:
        """Whether the row's column matches."""
        return self.pattern.search(row.columns.get(self.column, "")) is not None


def parse_slice(spec: str) -> SliceFilter:
    """Parse ``COLUMN=REGEX``; the first ``=`` separates them, so the regex may contain ``=``.

    Raises:
        ValueError: no ``=``, an empty column name, or an invalid regular expression.
    """
    column, equals, pattern = spec.partition("=")
    column = column.strip().lower()
    if not equals or not column:
        raise ValueError(f"{spec!r}: write COLUMN=REGEX, e.g. source_label=antagonize=1")
    try:
        return SliceFilter(column, re.compile(pattern))
    except re.error as exc:
        raise ValueError(f"{spec!r}: invalid regular expression: {exc}") from None


def check_slice_columns(filters: Sequence[SliceFilter], columns: Sequence[str]) -> None:
    """Raise EvalFileError naming a filter's column that the file does not have."""
    for item in filters:
        if item.column not in columns:
            raise EvalFileError(
                f"--slice {item.spec!r}: no column {item.column!r} "
                f"(the file has: {', '.join(c for c in columns if c)})"
            )


def select_rows(rows: Iterable[LabelledRow], filters: Sequence[SliceFilter]) -> list[LabelledRow]:
    """The rows that match every filter (all rows when there are none)."""
    return [row for row in rows if all(item.matches(row) for item in filters)]


# --- metrics ---------------------------------------------------------------------------------


def ratio(numerator: int | float, denominator: int | float) -> float | None:
    """``numerator / denominator``, or ``None`` when the denominator is zero (undefined)."""
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class Confusion:
    """A confusion matrix: abusive is the positive class, "flagged" the positive prediction."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @classmethod
    def of(cls, truth: Sequence[bool], flagged: Sequence[bool]) -> Confusion:
        """Count the four cells from parallel sequences of labels and predictions."""
        if len(truth) != len(flagged):
            raise ValueError(f"{len(truth)} labels but {len(flagged)} predictions")
        pairs = list(zip(truth, flagged, strict=True))
        return cls(
            tp=sum(1 for t, f in pairs if t and f),
            fp=sum(1 for t, f in pairs if not t and f),
            fn=sum(1 for t, f in pairs if t and not f),
            tn=sum(1 for t, f in pairs if not t and not f),
        )

    @property
    def positives(self) -> int:
        """Abusive rows."""
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        """Not-abusive rows."""
        return self.fp + self.tn

    @property
    def precision(self) -> float | None:
        """Of the flagged rows, the share that is abusive; undefined when nothing is flagged."""
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        """Of the abusive rows, the share flagged; undefined when there are none."""
        return ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        """``2TP / (2TP + FP + FN)``, the harmonic mean of precision and recall.

        0 when nothing abusive is caught; undefined when nothing is abusive or flagged.
        """
        return ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def fpr(self) -> float | None:
        """False-positive rate: of the not-abusive rows, the share flagged."""
        return ratio(self.fp, self.fp + self.tn)

    def precision_at(self, prevalence: float) -> float | None:
        """Precision if abusive rows made up ``prevalence`` of the data.

        Recall and FP rate are taken as measured: ``R*p / (R*p + FPR*(1-p))``. Undefined
        without both classes.
        """
        if not 0.0 < prevalence < 1.0:
            raise ValueError(f"prevalence must be in (0, 1), got {prevalence}")
        recall, fpr = self.recall, self.fpr
        if recall is None or fpr is None:
            return None
        return ratio(recall * prevalence, recall * prevalence + fpr * (1.0 - prevalence))

    def as_dict(self, prevalence: float | None = None) -> dict[str, Any]:
        """The counts and rates, rates rounded to 4 places (``None`` where undefined)."""
        result: dict[str, Any] = {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
            "fpr": _round(self.fpr),
        }
        if prevalence is not None:
            result["precision_at_prevalence"] = _round(self.precision_at(prevalence))
        return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# --- threshold settings and evaluation -------------------------------------------------------


@dataclass(frozen=True)
class ThresholdSetting:
    """A set of per-label thresholds to evaluate at: the configured ones, or one for all."""

    name: str
    thresholds: Mapping[str, float]


def parse_thresholds(value: str) -> tuple[float, ...]:
    """Parse ``0.5,0.6,0.7`` into sorted unique thresholds, each in (0, 1].

    Raises:
        ValueError: an empty list, a value that is not a number, or one outside (0, 1].
    """
    found: set[float] = set()
    for part in value.split(","):
        if not part.strip():
            continue
        try:
            number = float(part)
        except ValueError:
            raise ValueError(f"{part.strip()!r} is not a number") from None
        if not 0.0 < number <= 1.0:
            raise ValueError(f"threshold {part.strip()} is not in (0, 1]")
        found.add(number)
    if not found:
        raise ValueError("give at least one threshold, e.g. 0.5,0.7,0.9")
    return tuple(sorted(found))


def threshold_settings(
    policy: PolicySettings, labels: Iterable[str], uniform: Sequence[float]
) -> list[ThresholdSetting]:
    """The configured thresholds ("default"), then each uniform threshold for every label."""
    every = sorted(set(policy.thresholds) | set(labels))
    return [ThresholdSetting("default", dict(policy.thresholds))] + [
        ThresholdSetting(f"{value:.2f}", dict.fromkeys(every, value)) for value in uniform
    ]


def classifier_flags(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> bool:
    """Whether any label with a threshold scores at or above it (as the policy compares)."""
    return any(
        score >= thresholds[label] - EPSILON
        for label, score in scores.items()
        if label in thresholds
    )


SuggestFn = Callable[[Mapping[str, float], Detections, PolicySettings], Suggestion]
"""``classifiers.policy.suggest`` (with any extra arguments, such as the date, bound)."""


@dataclass(frozen=True)
class Scored:
    """A labelled row with what the classifier and the rule detectors made of it."""

    row: LabelledRow
    scores: Mapping[str, float]
    detections: Detections


@dataclass(frozen=True)
class SettingResult:
    """Classifier alone and policy, at one threshold setting."""

    setting: ThresholdSetting
    classifier: Confusion
    policy: Confusion
    review_abusive: int
    """Abusive rows the policy suggested ``review`` for (not counted as flagged)."""
    review_not_abusive: int

    def as_dict(self, prevalence: float | None = None) -> dict[str, Any]:
        """JSON-ready form."""
        policy = self.policy.as_dict(prevalence)
        policy["review"] = {"abusive": self.review_abusive, "not_abusive": self.review_not_abusive}
        return {
            "setting": self.setting.name,
            "thresholds": dict(self.setting.thresholds),
            "classifier": self.classifier.as_dict(prevalence),
            "policy": policy,
        }


@dataclass(frozen=True)
class GroupResult:
    """The results for a set of rows (the whole file, or a slice)."""

    rows: int
    abusive: int
    not_abusive: int
    results: list[SettingResult]

    def as_dict(self, prevalence: float | None = None) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "rows": self.rows,
            "abusive": self.abusive,
            "not_abusive": self.not_abusive,
            "results": [result.as_dict(prevalence) for result in self.results],
        }


def evaluate(
    scored: Sequence[Scored],
    settings: Sequence[ThresholdSetting],
    policy: PolicySettings,
    suggest: SuggestFn,
) -> GroupResult:
    """Confusion matrices for the classifier alone and for the policy, at each setting."""
    truth = [item.row.abusive for item in scored]
    results = []
    for setting in settings:
        adjusted = policy.model_copy(update={"thresholds": dict(setting.thresholds)})
        actions = [suggest(item.scores, item.detections, adjusted).action for item in scored]
        review = [action is SuggestedAction.REVIEW for action in actions]
        results.append(
            SettingResult(
                setting,
                Confusion.of(
                    truth, [classifier_flags(item.scores, setting.thresholds) for item in scored]
                ),
                Confusion.of(truth, [action in FLAGGING_ACTIONS for action in actions]),
                review_abusive=sum(1 for t, r in zip(truth, review, strict=True) if t and r),
                review_not_abusive=sum(
                    1 for t, r in zip(truth, review, strict=True) if not t and r
                ),
            )
        )
    positives = sum(truth)
    return GroupResult(len(scored), positives, len(scored) - positives, results)
