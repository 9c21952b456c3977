"""`classify`, `eval` and `calibrate` as a person runs them, with the real offline classifier.

The labelled file is written here, from made-up comments; no evaluation data is used.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.cli import main
from storage.models import Comment, Decision, ReviewItem

# id, text, label, source_label. Profane abuse the model sees; a threat without swearing it
# cannot; sharp criticism that must not be removed; an e-mail address (a personal-data reason).
LABELLED = [
    ("c1", "Great work on the new play park", "not_abusive", "healthy=1;antagonize=0"),
    ("c2", "Will the library be open on Monday?", "0", "healthy=1;antagonize=0"),
    ("c3", "Call Jo on jo.bloggs@example.org to book", "false", "healthy=1;antagonize=0"),
    ("c4", "Thanks for the update about bin day", "not_abusive", "healthy=1;antagonize=0"),
    ("k1", "The councillors are incompetent and should all resign", "0", "antagonize=1"),
    ("k2", "Another rubbish decision from a council that never listens", "0", "healthy=0"),
    ("a1", "Shut the hell up you stupid cow", "abusive", "hostile=1"),
    ("a2", "Get stuffed you useless bastards", "1", "hostile=1"),
    ("a3", "What a load of shit, you lot are a bunch of idiots", "TRUE", "hostile=1"),
    ("a4", "I know where you live and I will find you", "abusive", "hostile=1"),
]


def _write_labelled(path: Path, rows: list[tuple[str, ...]] | None = None) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label", "source_label"])
        writer.writerows(rows if rows is not None else LABELLED)
    return path


@pytest.fixture
def offline_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SMAT_DATABASE_URL", url)
    monkeypatch.setenv("SMAT_CLASSIFIER__BACKEND", "profanity-check")
    return url


def _json(capsys: pytest.CaptureFixture[str]) -> Any:
    captured = capsys.readouterr()
    return json.loads(captured.out)  # the whole of stdout is one JSON object


# --- classify ----------------------------------------------------------------------------------


def test_classify_json_shows_scores_model_thresholds_and_suggestion(
    offline_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["classify", "--json", "The council is wasting our money on these lights"]) == 0
    result = _json(capsys)
    assert result["model"]["name"] == "alt-profanity-check"
    assert "alt-profanity-check" in result["model"]["version"]
    assert set(result["scores"]) == {"profanity"}
    assert result["scores"]["profanity"] < 0.5
    assert result["thresholds"] == {"profanity": 0.8}
    assert result["detections"] == {}
    suggestion = result["suggestion"]
    assert suggestion["action"] == "approve"
    assert suggestion["reason_code"] is None
    assert "Criticism of the council is not a reason" in suggestion["explanation"]


def test_classify_json_names_the_reason_and_clause(
    offline_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["classify", "--json", "Get stuffed you useless bastards, mail a@b.example"]) == 0
    result = _json(capsys)
    assert result["scores"]["profanity"] >= 0.8
    assert set(result["detections"]) == {"email_address"}
    suggestion = result["suggestion"]
    assert suggestion["action"] == "hide"
    assert suggestion["reason_code"] == "offensive_or_discriminatory"
    assert suggestion["reason"] == "Offensive or discriminatory"
    assert suggestion["clause"] == "Biggleswade 6.5; St Helens 9.7"
    assert suggestion["flagged_labels"] == ["profanity"]


def test_classify_prints_untrusted_text_literally(
    offline_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "Nice [bold red]lights[/] :smile: [link=x]here[/link] [/]"
    assert main(["classify", text]) == 0
    out = capsys.readouterr().out
    assert text in out
    assert "Suggested: APPROVE" in out
    assert "Model: alt-profanity-check" in out
    assert "Criticism of the council is not a reason" in out


# --- eval --------------------------------------------------------------------------------------


def _result(group: dict[str, Any], setting: str) -> Any:
    [found] = [result for result in group["results"] if result["setting"] == setting]
    return found


def test_eval_json_reports_classifier_and_policy_per_threshold(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labelled = _write_labelled(tmp_path / "labelled.csv")
    assert (
        main(
            [
                "eval",
                str(labelled),
                "--json",
                "--thresholds",
                "0.5,0.9",
                "--slice",
                "source_label=antagonize=1|healthy=0",
                "--slice",
                "label=^(not_abusive|0|false)$",
            ]
        )
        == 0
    )
    report = _json(capsys)
    assert report["model"]["name"] == "alt-profanity-check"
    assert report["configured_thresholds"] == {"profanity": 0.8}
    assert report["bad_rows"] == []
    overall = report["overall"]
    assert (overall["rows"], overall["abusive"], overall["not_abusive"]) == (10, 4, 6)
    assert [result["setting"] for result in overall["results"]] == ["default", "0.50", "0.90"]
    default = _result(overall, "default")
    # The three profane insults are caught; the threat without swearing is not.
    classifier = default["classifier"]
    assert (classifier["tp"], classifier["fp"], classifier["fn"], classifier["tn"]) == (3, 0, 1, 6)
    assert classifier["precision"] == 1.0
    assert classifier["recall"] == 0.75
    assert classifier["f1"] == pytest.approx(6 / 7, abs=1e-4)
    assert classifier["fpr"] == 0.0
    # The policy also flags the e-mail address (personal data): one false positive more.
    policy = default["policy"]
    assert (policy["fp"], policy["tn"]) == (1, 5)
    assert policy["tp"] >= 3  # a threat watch list may catch the threat the model misses
    assert policy["fpr"] == pytest.approx(1 / 6, abs=1e-4)
    assert set(policy["review"]) == {"abusive", "not_abusive"}
    # At 0.5 the model flags the councillors-should-resign criticism (it scores ~0.58).
    assert _result(overall, "0.50")["classifier"]["fp"] == 1

    criticism = report["slice"]
    assert criticism["filters"] == [
        "source_label=antagonize=1|healthy=0",
        "label=^(not_abusive|0|false)$",
    ]
    assert (criticism["rows"], criticism["abusive"], criticism["not_abusive"]) == (2, 0, 2)
    at_default = _result(criticism, "default")
    assert at_default["classifier"]["fpr"] == 0.0
    assert at_default["policy"]["fpr"] == 0.0
    assert at_default["classifier"]["recall"] is None  # nothing abusive in the slice
    assert _result(criticism, "0.50")["classifier"]["fpr"] == 0.5


def test_eval_prints_tables(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labelled = _write_labelled(tmp_path / "labelled.csv")
    assert (
        main(["eval", str(labelled), "--slice", "source_label=hostile", "--prevalence", "0.05"])
        == 0
    )
    out = capsys.readouterr().out
    assert "all rows: 10 rows, 4 abusive, 6 not abusive" in out
    assert "slice source_label=hostile: 4 rows, 4 abusive, 0 not abusive" in out
    for header in ("Prec.", "Recall", "F1", "FPR", "P@0.05", "TP", "FN", "Review"):
        assert header in out
    assert "default model  1.000  0.750 0.857 0.000" in out


def test_eval_reports_bad_rows_with_line_numbers_and_exits_1(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labelled = _write_labelled(
        tmp_path / "labelled.csv",
        [
            LABELLED[0],
            ("x1", "Fine words", "maybe", ""),
            ("x2", "", "0", ""),
            LABELLED[6],
            ("c1", "Same id again", "0", ""),
        ],
    )
    assert main(["eval", str(labelled), "--json"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["bad_rows"] == [
        {
            "line": 3,
            "reason": "unknown label 'maybe' (use abusive/not_abusive, 1/0 or true/false)",
        },
        {"line": 4, "reason": "empty text"},
        {"line": 6, "reason": "duplicate id 'c1' (first on line 2)"},
    ]
    assert f"{labelled}: line 3: rejected: unknown label 'maybe'" in captured.err
    assert report["overall"]["rows"] == 2  # the good rows are still evaluated


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "file not found"),
        ("", "the file is empty"),
        ("id,text\nx,hello\n", "missing required column(s): label"),
        ("id,text,label\n", "no rows to evaluate"),
    ],
)
def test_eval_unusable_files_exit_2_with_one_line(
    offline_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    expected: str,
) -> None:
    path = tmp_path / "labelled.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["eval", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("smat-bot: error: ")
    assert expected in err
    assert len(err.splitlines()) == 1


def test_eval_slice_on_a_missing_column_exits_2(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labelled = _write_labelled(tmp_path / "labelled.csv")
    assert main(["eval", str(labelled), "--slice", "annotator=x"]) == 2
    assert "no column 'annotator'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments",
    [["--thresholds", "0.5,1.5"], ["--thresholds", "x"], ["--slice", "nocolumn"]],
)
def test_eval_bad_options_are_usage_errors(
    offline_env: str, tmp_path: Path, arguments: list[str]
) -> None:
    labelled = _write_labelled(tmp_path / "labelled.csv")
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", str(labelled), *arguments])
    assert exit_info.value.code == 2


# --- calibrate ---------------------------------------------------------------------------------

HEADER = "platform,account,id,author,text,created_at"


def _import_comments(tmp_path: Path, clean: int, profane: int) -> None:
    rows = [
        f"facebook,Page1,ok{n},Ann,Thanks for the update about bin day number {n},"
        "2026-11-16T10:00:00Z"
        for n in range(clean)
    ] + [
        f"facebook,Page1,bad{n},Bob,What a load of shit about bin day number {n},"
        "2026-11-16T10:00:00Z"
        for n in range(profane)
    ]
    feed = tmp_path / "feed.csv"
    feed.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    assert main(["import", str(feed)]) == 0


DECIDED_AT = datetime(2026, 11, 16, 12, tzinfo=UTC)


def _decide(
    database_url: str,
    actions: dict[str, str],
    *,
    actor_kind: str = "member",
    decided_at: datetime = DECIDED_AT,
) -> None:
    """Record a decision per comment (by its external id), as the review service would."""
    engine = create_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            items = session.scalars(select(ReviewItem).order_by(ReviewItem.id)).all()
            for number, item in enumerate(items):
                comment = session.get_one(Comment, item.comment_id)
                action = actions.get(comment.external_id)
                if action is None:
                    continue
                session.add(
                    Decision(
                        review_item_id=item.id,
                        comment_id=item.comment_id,
                        comment_version_id=item.comment_version_id,
                        review_version=item.version,
                        action=action,
                        actor_kind=actor_kind,
                        actor_slack_id="U02SMAT",
                        actor_name="Jo",
                        reason_code="offensive_or_discriminatory" if action == "hide" else None,
                        classification_id=item.classification_id,
                        decided_at=decided_at + timedelta(seconds=number),
                    )
                )
    finally:
        engine.dispose()


def _decide_all(database_url: str, *, actor_kind: str = "member") -> None:
    """What a SMAT member would do: approve the polite comments, hide the sweary ones."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            ids = connection.execute(select(Comment.external_id)).scalars().all()
    finally:
        engine.dispose()
    _decide(
        database_url,
        {key: "hide" if key.startswith("bad") else "approve" for key in ids},
        actor_kind=actor_kind,
    )


def test_calibrate_with_no_decisions_says_so(
    offline_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["calibrate"]) == 0
    out = capsys.readouterr().out
    assert "Decisions with scores: 0" in out
    assert "No decisions to learn from yet" in out
    assert "never changes the configuration" in out


def test_calibrate_with_too_few_decisions_suggests_nothing(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _import_comments(tmp_path, clean=25, profane=5)
    _decide_all(offline_env)
    capsys.readouterr()
    assert main(["calibrate", "--json"]) == 0
    report = _json(capsys)
    assert report["decisions"] == {"abusive": 5, "not_abusive": 25}
    assert report["changed_config"] is False
    [label] = report["labels"]
    assert (label["model"], label["label"]) == ("alt-profanity-check", "profanity")
    assert label["status"] == "needs_more"
    assert label["suggested"] is None
    assert "5 abusive" in label["message"]
    assert label["current"]["threshold"] == 0.8


def test_calibrate_suggests_a_threshold_from_decisions(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _import_comments(tmp_path, clean=22, profane=21)
    _decide_all(offline_env)
    capsys.readouterr()
    assert main(["calibrate", "--json"]) == 0
    report = _json(capsys)
    assert report["decisions"] == {"abusive": 21, "not_abusive": 22}
    assert "precision" in report["rule"]
    [label] = report["labels"]
    assert label["status"] == "ok"
    suggested = label["suggested"]
    assert suggested["precision"] == 1.0
    assert suggested["recall"] == 1.0
    # Polite comments score near 0 and sweary ones above 0.9: the configured 0.8 does as well
    # as anything, so the suggestion is to keep it.
    assert suggested["threshold"] == 0.8
    assert label["message"].startswith("Keep 0.80")
    assert label["best_f1"]["f1"] == 1.0

    assert main(["calibrate"]) == 0
    out = capsys.readouterr().out
    assert "Threshold suggestions (nothing has been changed)" in out
    assert "alt-profanity-check · profanity: 21 removed, 22 approved" in out
    assert "  suggested " in out
    assert "precision 1.000, recall 1.000" in out


def test_calibrate_ignores_the_systems_own_decisions(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _import_comments(tmp_path, clean=3, profane=3)
    _decide_all(offline_env, actor_kind="system")
    capsys.readouterr()
    assert main(["calibrate", "--json"]) == 0
    assert _json(capsys)["decisions"] == {"abusive": 0, "not_abusive": 0}


def test_calibrate_counts_the_latest_telling_decision_per_comment(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _import_comments(tmp_path, clean=3, profane=1)
    _decide(offline_env, {"ok0": "approve", "ok1": "approve", "ok2": "approve", "bad0": "approve"})
    # Later: one approved comment is hidden after all; another is escalated (which says
    # nothing about the score) and a reply is not a judgement either.
    _decide(
        offline_env,
        {"ok0": "hide", "ok1": "escalate", "ok2": "reply"},
        decided_at=DECIDED_AT + timedelta(hours=1),
    )
    capsys.readouterr()
    assert main(["calibrate", "--json", "--min-per-class", "1"]) == 0
    report = _json(capsys)
    assert report["decisions"] == {"abusive": 1, "not_abusive": 3}
    assert report["min_per_class"] == 1


def test_eval_with_only_bad_rows_exits_1_and_still_prints_json(
    offline_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labelled = _write_labelled(tmp_path / "labelled.csv", [("x1", "Fine words", "maybe", "")])
    assert main(["eval", str(labelled), "--json"]) == 1
    report = _json(capsys)
    assert report["rows"] == 0
    assert report["overall"] is None
    assert report["bad_rows"][0]["line"] == 2
