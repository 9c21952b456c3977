"""``smat-bot retention``, ``smat-bot hold`` and ``smat-bot blocks``: the records, from a shell.

Exit status as for every command: 0 done; 2 unusable input (an unknown comment, a hold that
is not there, a missing reason), with one line saying why.
"""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import tzinfo
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.container import build
from bot.records_messages import block_word
from bot.services.blocks import BlockEntry
from bot.services.legal_holds import AUTHOR, COMMENT, HoldActor, HoldInfo, HoldRefused
from bot.services.purge import PurgeReport
from config.settings import load_settings

EXIT_OK, EXIT_UNUSABLE = 0, 2


def add_commands(commands: Any) -> None:
    """Add the records' subcommands to the ``smat-bot`` parser's subparsers."""
    retention = commands.add_parser("retention", help="retention: purge what has expired")
    retention_commands = retention.add_subparsers(
        dest="retention_command", required=True, metavar="ACTION"
    )
    purge = retention_commands.add_parser(
        "purge", help="erase comments whose retention period has ended (never what is held)"
    )
    purge.add_argument(
        "--dry-run", action="store_true", help="list what would go, per class, and change nothing"
    )
    purge.add_argument("--json", action="store_true", help="print one JSON object")
    purge.add_argument("--by", metavar="NAME", help="who is running it (default: your login)")
    purge.set_defaults(func=_cmd_purge)
    classes = retention_commands.add_parser("classes", help="the retention classes and periods")
    classes.set_defaults(func=_cmd_classes)

    hold = commands.add_parser("hold", help="legal holds: keep records out of the purge")
    hold_commands = hold.add_subparsers(dest="hold_command", required=True, metavar="ACTION")
    for action, help_text in (
        ("set", "put a comment (or, with --author, everything by its author) on legal hold"),
        ("release", "release a legal hold (its history is kept)"),
    ):
        sub = hold_commands.add_parser(action, help=help_text)
        sub.add_argument(
            "comment", help="SMAT Bot's comment number, the platform's comment id, or its link"
        )
        sub.add_argument(
            "--reason",
            required=action == "set",
            help="why (the matter or case)" + ("" if action == "set" else "; optional"),
        )
        sub.add_argument("--by", required=True, metavar="NAME", help="who asked for it")
        sub.add_argument(
            "--author", action="store_true", help="the comment's author: everything by them"
        )
        sub.set_defaults(func=_cmd_hold_set if action == "set" else _cmd_hold_release)
    hold_commands.add_parser("list", help="the holds in force").set_defaults(func=_cmd_hold_list)

    blocks = commands.add_parser("blocks", help="the blocked-author register")
    block_commands = blocks.add_subparsers(dest="blocks_command", required=True, metavar="ACTION")
    listing = block_commands.add_parser("list", help="blocks in force, soonest review first")
    listing.add_argument("--due", action="store_true", help="only those whose review is due")
    listing.add_argument("--all", action="store_true", help="include lifted blocks")
    listing.set_defaults(func=_cmd_blocks_list)


def _cmd_purge(args: argparse.Namespace, console: Console) -> int:
    container = build(load_settings())
    purge = container.purge()
    if args.dry_run:
        report = purge.dry_run()
    else:
        by = " ".join((args.by or getpass.getuser() or "unknown").split())
        report = purge.purge(started_by=f"cli:{by}")
    if args.json:
        console.print_json(json.dumps(_report_dict(report)))
        return EXIT_OK
    if report.dry_run:
        console.print("Dry run: nothing was changed.", markup=False)
    verb = "would be purged" if report.dry_run else "purged"
    if not report.purged:
        console.print(f"No comments {verb}: nothing has passed its retention period.", markup=False)
    for name, ids in sorted(report.purged.items()):
        action = container.settings.retention.classes[name].action
        console.print(
            Text(f"{name}: {len(ids)} comment(s) {verb} ({action}): {_ids(ids)}"), soft_wrap=True
        )
    for reason, ids in sorted(report.kept.items()):
        console.print(
            Text(f"Kept though expired ({reason.replace('_', ' ')}): {len(ids)}: {_ids(ids)}"),
            soft_wrap=True,
        )
    if report.authors_anonymised:
        console.print(
            f"Authors {'to be ' if report.dry_run else ''}anonymised (nothing of theirs is kept): "
            f"{len(report.authors_anonymised)}",
            markup=False,
        )
    if report.run_id is not None:
        console.print(f"Logged as purge run {report.run_id}.", markup=False)
    return EXIT_OK


def _cmd_classes(args: argparse.Namespace, console: Console) -> int:
    retention = load_settings().retention
    table = Table(title="Retention classes")
    for column in ("Class", "Kept for", "Then", "What it is"):
        table.add_column(column)
    for name, cls in retention.classes.items():
        table.add_row(Text(name), f"{cls.days} days", cls.action, Text(cls.description))
    console.print(table)
    schedule = f"daily at {retention.purge_at}" if retention.purge_enabled else "not scheduled"
    console.print(f"Scheduled purge: {schedule}.", markup=False)
    return EXIT_OK


def _cmd_hold_set(args: argparse.Namespace, console: Console) -> int:
    container = build(load_settings())
    try:
        info = container.holds.set(
            args.comment, args.reason, HoldActor.cli(args.by), scope=_scope(args)
        )
    except HoldRefused as refusal:
        return _refused(refusal)
    console.print(
        Text(f"Legal hold {info.id} set on {_target(info)} by {args.by}: {info.reason}"),
        soft_wrap=True,
    )
    return EXIT_OK


def _cmd_hold_release(args: argparse.Namespace, console: Console) -> int:
    container = build(load_settings())
    try:
        info = container.holds.release(
            args.comment, HoldActor.cli(args.by), scope=_scope(args), reason=args.reason
        )
    except HoldRefused as refusal:
        return _refused(refusal)
    console.print(
        Text(f"Legal hold {info.id} on {_target(info)} released by {args.by}."), soft_wrap=True
    )
    return EXIT_OK


def _cmd_hold_list(args: argparse.Namespace, console: Console) -> int:
    container = build(load_settings())
    holds = container.holds.active()
    if not holds:
        console.print("No legal holds are in force.", markup=False)
        return EXIT_OK
    tz = container.settings.council.tz
    table = Table(title="Legal holds in force")
    for column in ("Hold", "On", "Author", "Set", "By", "Reason"):
        table.add_column(column)
    for info in holds:
        table.add_row(
            str(info.id),
            Text(_target(info)),
            Text(info.author_name or "—"),
            _when(info, tz),
            Text(info.set_by),
            Text(info.reason),
        )
    console.print(table)
    return EXIT_OK


def _cmd_blocks_list(args: argparse.Namespace, console: Console) -> int:
    container = build(load_settings())
    entries = container.blocks.entries(due_only=args.due, include_unblocked=args.all)
    if not entries:
        console.print(
            "No block reviews are due." if args.due else "No authors are blocked.", markup=False
        )
        return EXIT_OK
    tz = container.settings.council.tz
    now = container.clock()
    labels = {code: r.label for code, r in container.settings.policy.reason_codes.items()}
    table = Table(title="Blocked authors" + (": reviews due" if args.due else ""))
    for column in (
        "#",
        "Author",
        "Account",
        "Since",
        "By",
        "Reason",
        "Comment",
        "Review due",
        "State",
    ):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            str(entry.id),
            Text(entry.author_name),
            Text(f"{entry.platform.display_name} · {entry.account_name}"),
            entry.blocked_at.astimezone(tz).strftime("%d %b %Y"),
            Text(entry.blocked_by),
            Text(labels.get(entry.reason_code or "", entry.reason_code or "—")),
            str(entry.comment_id),
            entry.review_due.astimezone(tz).strftime("%d %b %Y"),
            Text(_state(entry, now, tz)),
        )
    console.print(table)
    return EXIT_OK


def _state(entry: BlockEntry, now: Any, tz: tzinfo) -> str:
    if not entry.in_force and entry.unblocked_at is not None:
        return f"lifted {entry.unblocked_at.astimezone(tz):%d %b %Y} by {entry.unblocked_by}"
    state = block_word(entry) + (", review due" if entry.due(now) else "")
    if entry.platform_outcome and entry.platform_outcome != "done":
        state += f" (platform: {entry.platform_outcome})"
    return state


def _scope(args: argparse.Namespace) -> str:
    return AUTHOR if args.author else COMMENT


def _target(info: HoldInfo) -> str:
    if info.scope == AUTHOR:
        return f"everything by the author of comment {info.comment_id}"
    return f"comment {info.comment_id}"


def _when(info: HoldInfo, tz: tzinfo) -> str:
    return info.set_at.astimezone(tz).strftime("%d %b %Y %H:%M")


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)


def _refused(refusal: HoldRefused) -> int:
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"smat-bot: error: {refusal.message}", markup=False
    )
    return EXIT_UNUSABLE


def _report_dict(report: PurgeReport) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run,
        "run_id": report.run_id,
        "purged": {name: sorted(ids) for name, ids in sorted(report.purged.items())},
        "kept": {reason: sorted(ids) for reason, ids in sorted(report.kept.items())},
        "authors_anonymised": len(report.authors_anonymised),
        "total": report.total,
    }
