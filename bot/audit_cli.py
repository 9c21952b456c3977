"""``smat-bot audit``: check the decision log, and print its head for the council's minutes."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from rich.console import Console
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from config.settings import ConfigError, load_settings
from storage.audit.chain import head
from storage.audit.verify import Anchor as AnchorValue
from storage.audit.verify import LogUnavailable, Report, verify
from storage.db import READ_ONLY_SQLITE, make_engine

EXIT_OK, EXIT_TAMPERED, EXIT_UNUSABLE = 0, 1, 2
_ANCHOR = re.compile(r"^(\d+):([0-9a-fA-F]{64})$")


def add_audit_commands(commands: Any) -> None:
    """Add ``audit verify`` and ``audit head`` to the command line's subcommands."""
    audit = commands.add_parser("audit", help="check the tamper-evident decision log")
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check = actions.add_parser(
        "verify",
        help="check the whole log and every logged record; exit 1 if anything was tampered with",
    )
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument(
        "--anchor",
        type=_anchor_arg,
        metavar="SEQ:HASH",
        help="also check the log against a head published earlier (from `smat-bot audit head`)",
    )
    check.set_defaults(func=_cmd_verify)
    latest = actions.add_parser(
        "head", help="print the latest event's number and hash, to publish (e.g. in minutes)"
    )
    latest.add_argument("--json", action="store_true", help="print one JSON object")
    latest.set_defaults(func=_cmd_head)


def _anchor_arg(value: str) -> AnchorValue:
    match = _ANCHOR.match(value.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not SEQ:HASH (an event number, a colon, 64 hex digits)"
        )
    return AnchorValue(int(match.group(1)), match.group(2).lower())


def _cmd_verify(args: argparse.Namespace, console: Console) -> int:
    engine = make_engine(load_settings().database_url)
    try:
        report = verify(engine, args.anchor)
    except LogUnavailable as exc:
        raise ConfigError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise ConfigError(f"cannot read the database: {type(exc).__name__}") from None
    finally:
        engine.dispose()
    if args.json:
        _print_json(report.as_dict())
    else:
        _print_report(console, report)
    return EXIT_OK if report.ok else EXIT_TAMPERED


def _print_report(console: Console, report: Report) -> None:
    rows = sum(report.rows_checked.values())
    console.print(
        Text(
            f"Checked {report.events:,} events (head: event {report.head_seq}, "
            f"{report.head_hash}) and {rows:,} logged records."
        )
    )
    if report.ok:
        console.print(Text("The decision log is intact: nothing was altered, inserted or removed."))
        return
    if report.chain_problem is not None:
        console.print(Text(f"TAMPERED: {report.chain_problem.message}", style="bold red"))
        console.print(Text("Events after it cannot be trusted either.", style="red"))
    if report.anchor_problem is not None:
        console.print(Text(f"TAMPERED: {report.anchor_problem.message}", style="bold red"))
    for problem in report.row_problems:
        console.print(Text(f"TAMPERED: {problem.message}", style="red"))
    hidden = report.row_problem_count - len(report.row_problems)
    if hidden > 0:
        console.print(Text(f"… and {hidden:,} more altered records (use --json for the count)."))


def _cmd_head(args: argparse.Namespace, console: Console) -> int:
    engine = make_engine(load_settings().database_url)
    try:
        with engine.connect().execution_options(**{READ_ONLY_SQLITE: True}) as connection:
            latest = head(connection)
    except SQLAlchemyError:
        raise ConfigError("cannot read the decision log; run `smat-bot db upgrade` first") from None
    finally:
        engine.dispose()
    if args.json:
        _print_json(
            {
                "seq": latest.seq if latest else 0,
                "hash": latest.hash if latest else None,
                "occurred_at": latest.occurred_at.isoformat()
                if latest and latest.occurred_at
                else None,
            }
        )
        return EXIT_OK
    if latest is None:
        console.print("The decision log is empty.", markup=False)
        return EXIT_OK
    when = latest.occurred_at.isoformat() if latest.occurred_at else "unknown time"
    console.print(Text(f"{latest.seq}:{latest.hash}"))
    console.print(
        Text(
            f"Event {latest.seq}, logged {when}. Record this line (e.g. in the minutes); later, "
            f"`smat-bot audit verify --anchor {latest.seq}:{latest.hash}` proves the log up to "
            "here has not been rewritten.",
            style="dim",
        )
    )
    return EXIT_OK


def _print_json(value: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()
