"""The ``smat-bot`` command line.

Exit status: 0 success; 1 the job ran but some input was rejected; 2 unusable input or config.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress
from rich.table import Table
from rich.text import Text

from bot import calibration, evaluation, output, records_cli, retention_cli
from bot.audit_cli import add_audit_commands
from bot.container import Container, build
from bot.digest.period import BadWeek, Week
from bot.evaluation import EvalFileError, GroupResult, LabelledRow, Scored, SuggestFn
from bot.logs import configure_logging
from classifiers.base import Classifier, ClassifierUnavailable, ModelInfo
from classifiers.detectors import Detections, RuleDetectors
from classifiers.policy import CRITICISM_NOTE, EPSILON, Suggestion, suggest
from config.settings import ConfigError, PolicySettings, Settings, load_settings, require
from platforms.import_feed import (
    FEED_FORMATS,
    FeedError,
    ParsedRow,
    RejectedRow,
    parse_feed,
    rejects_path_for,
    write_rejects,
)
from storage import migrate
from storage.db import make_engine, reading

EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE = 0, 1, 2

log = logging.getLogger("smat_bot")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    # Text until the settings are read (`run` then switches to the configured format); every
    # line is redacted (bot/logs.py).
    configure_logging("text", logging.INFO if args.command == "run" else logging.WARNING)
    console = Console(highlight=False, soft_wrap=True)
    try:
        return int(args.func(args, console))
    except (ConfigError, FeedError, EvalFileError, ClassifierUnavailable, BadWeek) as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"smat-bot: error: {exc}", markup=False
        )
        return EXIT_UNUSABLE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smat-bot",
        description="Moderate a council's public social media comments from Slack.",
        epilog="Configuration comes from SMAT_CONFIG (a YAML file) and the environment; "
        "see the README.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="start the bot (Socket Mode or HTTP) and its scheduler")
    run.add_argument("--port", type=int, default=3000, help="HTTP mode port (default 3000)")
    run.add_argument("--host", default="0.0.0.0", help="HTTP mode address (default 0.0.0.0)")  # noqa: S104
    run.set_defaults(func=_cmd_run)

    imp = commands.add_parser("import", help="import, classify and queue comments from a file")
    imp.add_argument("file", type=Path, help="a CSV, JSON or NDJSON file (see the README)")
    imp.add_argument(
        "--format",
        type=str.lower,
        choices=FEED_FORMATS,
        help="the file's format (default: from its extension: .csv, .json, .ndjson or .jsonl)",
    )
    imp.add_argument(
        "--rejects",
        type=Path,
        metavar="PATH",
        help="where to write rejected rows as CSV (default: FILE.rejects.csv beside FILE)",
    )
    imp.add_argument("--dry-run", action="store_true", help="check the file, store nothing")
    imp.set_defaults(func=_cmd_import)

    queue = commands.add_parser("queue", help="print the triage queue")
    queue.add_argument("--limit", type=int, default=50, help="show at most N items (default 50)")
    queue.set_defaults(func=_cmd_queue)

    accounts = commands.add_parser("accounts", help="the register of council accounts")
    account_commands = accounts.add_subparsers(
        dest="accounts_command", required=True, metavar="ACTION"
    )
    account_commands.add_parser("list", help="list accounts and their status").set_defaults(
        func=_cmd_accounts_list
    )

    poll = commands.add_parser("poll", help="poll the platforms once, now")
    poll.add_argument("--account", help="poll only this account (default: all)")
    poll.set_defaults(func=_cmd_poll)

    classify = commands.add_parser(
        "classify", help="show what the classifier, detectors and policy make of one text"
    )
    classify.add_argument("text", help="the comment text (quote it)")
    classify.add_argument("--json", action="store_true", help="print one JSON object")
    classify.add_argument(
        "--date",
        type=_date_arg,
        metavar="YYYY-MM-DD",
        help="judge it as on this local date (the pre-election period; default today)",
    )
    classify.set_defaults(func=_cmd_classify)

    evaluate = commands.add_parser(
        "eval", help="measure the classifier and the policy against a labelled CSV file"
    )
    evaluate.add_argument(
        "file", type=Path, help="CSV with columns id,text,label (label abusive/not_abusive)"
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument(
        "--thresholds",
        type=_thresholds_arg,
        default=evaluation.DEFAULT_THRESHOLDS,
        metavar="T1,T2,...",
        help="thresholds to try for every label, besides the configured ones "
        "(default 0.5,0.6,0.7,0.8,0.9)",
    )
    evaluate.add_argument(
        "--slice",
        type=_slice_arg,
        action="append",
        default=[],
        metavar="COLUMN=REGEX",
        help="also report the rows whose COLUMN matches REGEX (re.search); "
        "repeat to narrow (all must match)",
    )
    evaluate.add_argument(
        "--prevalence",
        type=_prevalence_arg,
        metavar="P",
        help="also report precision as if P of comments were abusive (e.g. 0.023)",
    )
    evaluate.add_argument(
        "--date",
        type=_date_arg,
        metavar="YYYY-MM-DD",
        help="apply the policy as on this local date (the pre-election period; default today)",
    )
    evaluate.set_defaults(func=_cmd_eval)

    calibrate = commands.add_parser(
        "calibrate", help="suggest thresholds from SMAT's decisions so far (changes nothing)"
    )
    calibrate.add_argument("--json", action="store_true", help="print one JSON object")
    calibrate.add_argument(
        "--precision",
        type=_probability_arg,
        default=calibration.DEFAULT_TARGET_PRECISION,
        metavar="P",
        help="the precision a suggested threshold must keep (default 0.9)",
    )
    calibrate.add_argument(
        "--min-per-class",
        type=_positive_int_arg,
        default=calibration.DEFAULT_MIN_PER_CLASS,
        metavar="N",
        help="decisions needed in each class before suggesting (default 20)",
    )
    calibrate.set_defaults(func=_cmd_calibrate)

    retention_cli.add_commands(commands)
    digest = commands.add_parser(
        "digest", help="make the weekly committee paper (HTML, PDF, CSV, charts)"
    )
    digest.add_argument(
        "--week",
        metavar="YYYY-Www",
        help="the ISO week to report, e.g. 2026-W47 (default: last week, council time)",
    )
    digest.add_argument(
        "--out", type=Path, metavar="DIR", help="save the files here (default: digest.out_dir)"
    )
    digest.add_argument(
        "--post", action="store_true", help="also post it to the digest channel in Slack"
    )
    digest.set_defaults(func=_cmd_digest)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply migrations").set_defaults(func=_cmd_db_upgrade)
    db_commands.add_parser("current", help="show the schema revision").set_defaults(
        func=_cmd_db_current
    )
    add_audit_commands(commands)
    records_cli.register(commands)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("smat-bot")
    except PackageNotFoundError:
        return "unknown"


def _cmd_import(args: argparse.Namespace, console: Console) -> int:
    settings = load_settings()
    try:
        rows = list(parse_feed(args.file, format=args.format, local_tz=settings.council.tz))
    except FeedError as exc:
        message = str(exc)
        raise FeedError(
            message if message.startswith(str(args.file)) else f"{args.file}: {message}"
        ) from None
    good = [row for row in rows if isinstance(row, ParsedRow)]
    rejected = [row for row in rows if isinstance(row, RejectedRow)]
    # Thousands of lines would bury the summary; the rejects file has every one.
    listed = 100
    for row in rejected[:listed]:
        console.print(f"{args.file}: {row.location}: rejected: {row.reason}", markup=False)
    if len(rejected) > listed:
        console.print(f"… and {len(rejected) - listed} more rejected row(s).", markup=False)
    if rejected:
        # Written before anything is stored, so a rejects file that cannot be written stops
        # the import with nothing half done.
        rejects = args.rejects or rejects_path_for(args.file)
        if rejects.resolve() == args.file.resolve():
            raise FeedError(f"{rejects}: the rejects file must not be the file being imported")
        try:
            write_rejects(rejects, rejected)
        except FeedError as exc:
            raise FeedError(f"{exc} (--rejects PATH writes it elsewhere)") from None
        console.print(f"Rejected rows written to {rejects}", markup=False)
    if args.dry_run:
        console.print(
            f"Dry run: {len(good)} row(s) would be imported, {len(rejected)} rejected.",
            markup=False,
        )
        return EXIT_REJECTED if rejected else EXIT_OK
    container = build(settings, announce=lambda line: console.print(line, markup=False))
    ingest = container.ingest()
    comments = [row.comment for row in good]
    new = edited = unchanged = 0
    # Storing and classifying in chunks is what ingest() does in one go; chunks let the bar
    # move. It is only worth drawing for long imports, and only on a terminal (not in logs).
    chunk = 250
    show_bar = len(comments) > 1_000 and sys.stderr.isatty()
    bar_console = Console(stderr=True)
    with Progress(
        *Progress.get_default_columns(),
        MofNCompleteColumn(),
        console=bar_console,
        transient=True,
        disable=not show_bar,
    ) as progress:
        task = progress.add_task("Importing", total=len(comments))
        for start in range(0, len(comments), chunk):
            batch = comments[start : start + chunk]
            stored = ingest.store(batch)
            ingest.classify_pending()
            new += stored.new
            edited += stored.edited
            unchanged += stored.unchanged
            progress.advance(task, len(batch))
    ingest.classify_pending()  # versions left unclassified by an earlier, interrupted run
    console.print(
        f"Imported {args.file}: {new} new, {edited} edited, "
        f"{unchanged} already known, {len(rejected)} rejected.",
        markup=False,
    )
    _deliver_to_slack(container, console)
    output.print_queue(console, container, limit=50)
    return EXIT_REJECTED if rejected else EXIT_OK


def _deliver_to_slack(container: Container, console: Console) -> None:
    if container.slack_client is None:
        console.print(
            "Slack is not configured (SLACK_BOT_TOKEN): cards will be posted when it is.",
            markup=False,
        )
        return
    delivered = 0
    while (report := container.outbox.deliver_due()).delivered:
        delivered += report.delivered
    waiting = container.outbox.pending_count()
    console.print(
        f"Posted or updated {delivered} card(s) in Slack"
        + (f"; {waiting} waiting to retry." if waiting else "."),
        markup=False,
    )


def _cmd_queue(args: argparse.Namespace, console: Console) -> int:
    container = build(load_settings())
    output.print_queue(console, container, limit=args.limit)
    return EXIT_OK


def _cmd_accounts_list(args: argparse.Namespace, console: Console) -> int:
    container = build(load_settings())
    configured = {account.name for account in container.settings.accounts}
    statuses = container.accounts.statuses(configured)
    if not statuses:
        console.print("No accounts yet: add them under `accounts:` in your SMAT_CONFIG file.")
        return EXIT_OK
    table = Table(title="Council accounts")
    for column in ("Name", "Platform", "Id", "Display name", "Token", "Status"):
        table.add_column(column)
    for status in statuses:
        state = status.status + (f": {status.status_detail}" if status.status_detail else "")
        if not status.configured:
            state += " (not in the configuration; seen in an import)"
        table.add_row(
            *(
                Text(value)
                for value in (
                    status.name,
                    status.platform,
                    status.external_id,
                    status.display_name,
                    status.token_ref or "—",
                    state,
                )
            )
        )
    console.print(table)
    return EXIT_OK


def _cmd_poll(args: argparse.Namespace, console: Console) -> int:
    settings = load_settings()
    container = build(settings, announce=lambda line: console.print(line, markup=False))
    accounts = [container.account(args.account)] if args.account else list(settings.accounts)
    if not accounts:
        console.print("No accounts to poll: add them under `accounts:` in your SMAT_CONFIG file.")
        return EXIT_OK
    poller = container.poller()
    failed = 0
    for account in accounts:
        outcome = poller.poll(account)
        if outcome.error:
            failed += 1
            console.print(f"{account.name}: failed: {outcome.error}", markup=False)
        elif outcome.skipped:
            console.print(f"{account.name}: skipped: {outcome.skipped}", markup=False)
        else:
            console.print(
                f"{account.name}: {outcome.fetched} fetched, {outcome.new} new, "
                f"{outcome.edited} edited",
                markup=False,
            )
    _deliver_to_slack(container, console)
    return EXIT_REJECTED if failed else EXIT_OK


# --- classify, eval, calibrate -----------------------------------------------------------

SCORE_BATCH = 256
"""Texts per classifier call in `eval`: keeps memory flat and lets the progress bar move."""


def _thresholds_arg(value: str) -> tuple[float, ...]:
    try:
        return evaluation.parse_thresholds(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _slice_arg(value: str) -> evaluation.SliceFilter:
    try:
        return evaluation.parse_slice(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None


def _prevalence_arg(value: str) -> float:
    number = _number(value)
    if not 0.0 < number < 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not in (0, 1)")
    return number


def _probability_arg(value: str) -> float:
    number = _number(value)
    if not 0.0 < number <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not in (0, 1]")
    return number


def _positive_int_arg(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return number


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _print_json(value: Mapping[str, Any]) -> None:
    # Not through rich: it would treat :name: in a comment as an emoji code.
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def _load_classifier(settings: Settings) -> tuple[Container, Classifier]:
    """The configured classifier, loaded as everywhere else; its announcements go to stderr."""
    errors = _stderr()
    container = build(settings, announce=lambda line: errors.print(line, markup=False))
    return container, container.classifier


def _local_today(container: Container) -> date:
    return container.clock().astimezone(container.settings.council.tz).date()


def _date_arg(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _suggest_on(day: date) -> SuggestFn:
    """``classifiers.policy.suggest`` as on that local date (the pre-election period)."""

    def bound(
        scores: Mapping[str, float], detections: Detections, policy: PolicySettings
    ) -> Suggestion:
        return suggest(scores, detections, policy, on=day)

    return bound


def _model_dict(model: ModelInfo) -> dict[str, Any]:
    return {
        "name": model.name,
        "version": model.version,
        "labels": list(model.labels),
        "notes": list(model.notes),
    }


def _cmd_classify(args: argparse.Namespace, console: Console) -> int:
    settings = load_settings()
    container, classifier = _load_classifier(settings)
    policy = settings.policy
    [scores] = classifier.score([args.text])
    detections = container.detectors.detect(args.text)
    day = args.date or _local_today(container)
    suggestion = _suggest_on(day)(scores, detections, policy)
    reason = policy.reason_codes.get(suggestion.reason_code or "")
    thresholds = {label: policy.thresholds[label] for label in scores if label in policy.thresholds}
    if args.json:
        _print_json(
            {
                "text": args.text,
                "model": _model_dict(classifier.model),
                "scores": scores,
                "thresholds": thresholds,
                "review_margin": policy.review_margin,
                "detections": detections,
                "suggestion": {
                    "action": suggestion.action.value,
                    "reason_code": suggestion.reason_code,
                    "reason": reason.label if reason else None,
                    "clause": suggestion.clause,
                    "legislation": list(suggestion.legislation),
                    "explanation": suggestion.explanation,
                    "flagged_labels": list(suggestion.flagged_labels),
                },
            }
        )
        return EXIT_OK
    console.print(Text.assemble("Text: ", output.safe_text(args.text, limit=500)))
    table = Table(title="Scores")
    for column in ("Label", "Score", "Threshold", ""):
        table.add_column(column)
    for label, score in sorted(scores.items(), key=lambda item: -item[1]):
        threshold = policy.thresholds.get(label)
        if threshold is None:
            state = Text("no threshold configured", style="dim")
        elif score >= threshold - EPSILON:
            state = Text("at or above threshold", style="red")
        elif score >= policy.review_margin * threshold - EPSILON:
            state = Text("close to threshold", style="yellow")
        else:
            state = Text("below", style="green")
        table.add_row(
            Text(label),
            f"{score:.3f}",
            f"{threshold:.2f}" if threshold is not None else "—",
            state,
        )
    console.print(table)
    if detections:
        console.print("Detected:", markup=False)
        for kind, hits in detections.items():
            console.print(
                Text.assemble(f"  {kind.replace('_', ' ')}: ", output.safe_text(", ".join(hits)))
            )
    else:
        console.print("Detected: nothing", markup=False)
    action = suggestion.action.value
    line = Text("Suggested: ").append(action.upper(), style=output.ACTION_STYLE.get(action, ""))
    if suggestion.reason_code:
        line.append(f" — {suggestion.reason_code}")
        if reason:
            line.append(f" ({reason.label})")
    console.print(line)
    if suggestion.clause:
        console.print(Text(f"Policy clause: {suggestion.clause}"))
    console.print(Text(suggestion.explanation))
    model = classifier.model
    console.print(Text(f"Model: {model.name} ({model.version})"))
    for note in model.notes:
        console.print(Text(f"  note: {note}", style="dim"))
    console.print(Text(f"Suggestions only: a SMAT member decides. {CRITICISM_NOTE}", style="dim"))
    return EXIT_OK


def _cmd_eval(args: argparse.Namespace, console: Console) -> int:
    settings = load_settings()
    labelled = evaluation.read_labelled_csv(args.file)
    evaluation.check_slice_columns(args.slice, labelled.columns)
    messages = _stderr() if args.json else console
    listed = 100
    for bad in labelled.bad[:listed]:
        messages.print(
            Text(f"{args.file}: line {bad.line}: rejected: {bad.reason}"), soft_wrap=True
        )
    if len(labelled.bad) > listed:
        messages.print(f"… and {len(labelled.bad) - listed} more rejected row(s).", markup=False)
    status = EXIT_REJECTED if labelled.bad else EXIT_OK
    if not labelled.rows:
        if not labelled.bad:
            raise EvalFileError(f"{args.file}: no rows to evaluate (only a header)")
        messages.print(Text(f"{args.file}: no good rows to evaluate."))
        if args.json:
            _print_json(
                {
                    "file": str(args.file),
                    "rows": 0,
                    "bad_rows": [{"line": bad.line, "reason": bad.reason} for bad in labelled.bad],
                    "overall": None,
                    "slice": None,
                }
            )
        return status
    container, classifier = _load_classifier(settings)
    scored = _score_rows(labelled.rows, classifier, container.detectors)
    suggest_fn = _suggest_on(args.date or _local_today(container))
    policy = settings.policy
    model = classifier.model
    threshold_settings = evaluation.threshold_settings(policy, model.labels, args.thresholds)
    overall = evaluation.evaluate(scored, threshold_settings, policy, suggest_fn)
    sliced: GroupResult | None = None
    if args.slice:
        chosen = {row.line for row in evaluation.select_rows(labelled.rows, args.slice)}
        sliced = evaluation.evaluate(
            [item for item in scored if item.row.line in chosen],
            threshold_settings,
            policy,
            suggest_fn,
        )
    if args.json:
        _print_json(
            {
                "file": str(args.file),
                "model": _model_dict(model),
                "configured_thresholds": {
                    label: policy.thresholds[label]
                    for label in model.labels
                    if label in policy.thresholds
                },
                "review_margin": policy.review_margin,
                "flagged_means": {
                    "classifier": "any label's score at or above its threshold",
                    "policy": "suggested action hide or escalate (review counted separately)",
                },
                "prevalence": args.prevalence,
                "rows": len(labelled.rows),
                "bad_rows": [{"line": bad.line, "reason": bad.reason} for bad in labelled.bad],
                "overall": overall.as_dict(args.prevalence),
                "slice": (
                    {
                        "filters": [item.spec for item in args.slice],
                        **sliced.as_dict(args.prevalence),
                    }
                    if sliced is not None
                    else None
                ),
            }
        )
        return status
    configured = ", ".join(
        f"{label} {policy.thresholds[label]:.2f}"
        for label in model.labels
        if label in policy.thresholds
    )
    console.print(Text(f"Model: {model.name} ({model.version})"))
    console.print(Text(f'Configured thresholds ("default"): {configured or "none"}'))
    _print_group(console, f"{args.file}: all rows", overall, args.prevalence)
    if sliced is not None:
        filters = " and ".join(item.spec for item in args.slice)
        _print_group(console, f"{args.file}: slice {filters}", sliced, args.prevalence)
    console.print(
        Text(
            "Thresh.: default is the configured thresholds; a number is that threshold for "
            "every label. model: the classifier alone, flagged when any label's score is at or "
            "above its threshold. policy: flagged when it suggests hide or escalate; review is "
            "no removal and is counted on its own (abusive/not abusive rows). FPR: "
            "false-positive rate, the share of not-abusive rows flagged. P@p: precision if "
            "a share p of comments were abusive. — means undefined (division by zero).",
            style="dim",
        )
    )
    return status


def _score_rows(
    rows: Sequence[LabelledRow], classifier: Classifier, detectors: RuleDetectors
) -> list[Scored]:
    scored: list[Scored] = []
    show_bar = len(rows) > 1_000 and sys.stderr.isatty()
    with Progress(
        *Progress.get_default_columns(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not show_bar,
    ) as progress:
        task = progress.add_task("Scoring", total=len(rows))
        for start in range(0, len(rows), SCORE_BATCH):
            batch = rows[start : start + SCORE_BATCH]
            scores = classifier.score([row.text for row in batch])
            if len(scores) != len(batch):
                raise RuntimeError(f"the classifier returned {len(scores)} scores for {len(batch)}")
            scored.extend(
                Scored(row, row_scores, detectors.detect(row.text))
                for row, row_scores in zip(batch, scores, strict=True)
            )
            progress.advance(task, len(batch))
    return scored


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _print_group(
    console: Console, title: str, group: GroupResult, prevalence: float | None
) -> None:
    console.print(
        Text(
            f"{title}: {group.rows} rows, {group.abusive} abusive, {group.not_abusive} not abusive",
            style="bold",
        )
    )
    # Compact enough for an 80-column terminal: no rules between columns, one space apart.
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 0), pad_edge=False)
    columns = ["Thresh.", "By", "Prec.", "Recall", "F1", "FPR"]
    if prevalence is not None:
        columns.append(f"P@{prevalence:g}")
    columns += ["TP", "FP", "FN", "TN", "Review"]
    for column in columns:
        table.add_column(
            column, justify="left" if column in ("Thresh.", "By") else "right", no_wrap=True
        )
    for result in group.results:
        name = result.setting.name
        for who, matrix in (("model", result.classifier), ("policy", result.policy)):
            cells = [
                name if who == "model" else "",
                who,
                _rate(matrix.precision),
                _rate(matrix.recall),
                _rate(matrix.f1),
                _rate(matrix.fpr),
            ]
            if prevalence is not None:
                cells.append(_rate(matrix.precision_at(prevalence)))
            cells += [str(matrix.tp), str(matrix.fp), str(matrix.fn), str(matrix.tn)]
            cells.append(
                f"{result.review_abusive}/{result.review_not_abusive}" if who == "policy" else ""
            )
            table.add_row(*cells, end_section=who == "policy")
    console.print(table)


def _cmd_calibrate(args: argparse.Namespace, console: Console) -> int:
    settings = load_settings()
    container = build(settings, announce=lambda line: _stderr().print(line, markup=False))
    with reading(container.sessions) as session:
        decided = calibration.read_decided(session)
    results = calibration.calibrate(
        decided,
        settings.policy.thresholds,
        target_precision=args.precision,
        min_per_class=args.min_per_class,
    )
    abusive = sum(1 for item in decided if item.abusive)
    rule = (
        "the threshold that catches the most comments SMAT removed while precision on SMAT's "
        f"decisions stays at least {args.precision:.2f} there and at every higher threshold; "
        "of equals, the highest (fewest approved comments flagged)"
    )
    if args.json:
        _print_json(
            {
                "decisions": {"abusive": abusive, "not_abusive": len(decided) - abusive},
                "rule": rule,
                "target_precision": args.precision,
                "min_per_class": args.min_per_class,
                "labels": [result.as_dict() for result in results],
                "changed_config": False,
            }
        )
        return EXIT_OK
    console.print(
        f"Decisions with scores: {len(decided)} ({abusive} hidden, deleted or blocked; "
        f"{len(decided) - abusive} approved). Other actions are left out.",
        markup=False,
    )
    if not results:
        console.print(
            "No decisions to learn from yet: suggestions need at least "
            f"{args.min_per_class} approved and {args.min_per_class} removed comments.",
            markup=False,
        )
    else:
        console.print(Text("Threshold suggestions (nothing has been changed):", style="bold"))
        for result in results:
            console.print(
                Text.assemble(
                    (f"{result.model_name} · {result.label}", "bold"),
                    f": {result.abusive} removed, {result.not_abusive} approved",
                )
            )
            for name, point in (
                ("current", result.current),
                ("suggested", result.suggested),
                ("best F1", result.best_f1),
            ):
                if point is not None:
                    console.print(Text(f"  {name:<9} {_point(point)}"))
            style = "green" if result.status == "ok" else "yellow"
            console.print(Text(f"  {result.message}", style=style))
    console.print(
        Text(
            f"Suggested = {rule}. A precision floor keeps a flag worth trusting and keeps "
            "criticism from being swept up with abuse. "
            "Decisions were taken with the current suggestions in view, so they lean towards "
            "the current thresholds. To adopt a suggestion, set policy.thresholds.<label> in "
            "your SMAT_CONFIG file; this command never changes the configuration.",
            style="dim",
        )
    )
    return EXIT_OK


def _point(point: calibration.ThresholdPoint) -> str:
    matrix = point.confusion
    return (
        f"{point.threshold:.2f}: precision {_rate(matrix.precision)}, recall "
        f"{_rate(matrix.recall)}, F1 {_rate(matrix.f1)}, FP rate {_rate(matrix.fpr)} "
        f"(TP {matrix.tp}, FP {matrix.fp}, FN {matrix.fn}, TN {matrix.tn})"
    )


def _cmd_db_upgrade(args: argparse.Namespace, console: Console) -> int:
    engine = make_engine(load_settings().database_url)
    migrate.upgrade(engine)
    console.print(f"Database is at revision {migrate.current_revision(engine)}.", markup=False)
    return EXIT_OK


def _cmd_db_current(args: argparse.Namespace, console: Console) -> int:
    engine = make_engine(load_settings().database_url)
    current, head = migrate.current_revision(engine), migrate.head_revision(engine)
    state = "up to date" if current == head else f"behind (latest is {head})"
    console.print(f"Database revision: {current or 'none'} — {state}.", markup=False)
    return EXIT_OK


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    settings = load_settings()
    _require_slack(settings)
    from bot import operations

    operations.configure_run_logging(settings)
    container = build(settings, announce=log.info)
    container.signing_key.get()  # no removal without a signed original: refuse now, not later
    container.classifier  # noqa: B018 - load the model once at start-up, not on the first comment
    container.detectors.warm_up()  # and the language models (a few seconds)
    from bot.scheduler import start_scheduler
    from bot.slack_app import create_slack_app

    app = create_slack_app(container)
    frozen = operations.freeze_start_up_objects()
    log.info("start-up objects frozen out of garbage collection: %d", frozen)
    scheduler = start_scheduler(container)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        if settings.slack.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            assert settings.slack.app_token is not None
            log.info("starting in Socket Mode")
            if settings.operations.metrics_port is not None:
                operations.serve_operations_port(
                    container, args.host, settings.operations.metrics_port
                )
            handler = SocketModeHandler(app, settings.slack.app_token.get_secret_value())
            handler.start()  # type: ignore[no-untyped-call]
        else:
            import waitress

            from bot.web import MAX_BODY_BYTES, create_wsgi_app

            log.info("starting in HTTP mode on %s:%d (POST /slack/events)", args.host, args.port)
            waitress.serve(
                create_wsgi_app(
                    app,
                    container.sessions,
                    container.webhooks(),
                    operations.readiness_probe(container),
                ),
                host=args.host,
                port=args.port,
                threads=8,
                # Refuse big bodies before they are read into memory; the app checks again.
                max_request_body_size=MAX_BODY_BYTES,
            )
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        scheduler.shutdown(wait=True)
    return EXIT_OK


def _cmd_digest(args: argparse.Namespace, console: Console) -> int:
    week = Week.parse(args.week) if args.week is not None else None  # before any slow start-up
    settings = load_settings()
    if args.post:
        require(settings.slack.bot_token, "slack.bot_token", "--post needs the bot token (xoxb-…)")
    container = build(settings)
    service = container.digest()
    files = service.generate(week, args.out)
    console.print(f"{files.period}: saved in {files.folder}", markup=False)
    for path in files.all:
        console.print(f"  {path.name}", markup=False)
    console.print(files.summary, markup=False)
    if args.post:
        if not service.queue_post(files):
            console.print(
                f"Already posted to Slack for {files.week.label}; not posted again.", markup=False
            )
            return EXIT_OK
        report = container.outbox.deliver_due(key_prefixes=["slack.digest:"])
        if report.delivered:
            console.print(f"Posted to {service.channel} in Slack.", markup=False)
        else:
            console.print(
                "Slack did not take it yet; the running bot will retry (see its log).",
                markup=False,
            )
    return EXIT_OK


def _require_slack(settings: Settings) -> None:
    require(settings.slack.bot_token, "slack.bot_token", "`run` needs the bot token (xoxb-…)")
    if not settings.slack.socket_mode:
        require(
            settings.slack.signing_secret,
            "slack.signing_secret",
            "HTTP mode needs it to verify requests (or set SLACK_APP_TOKEN for Socket Mode)",
        )


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
