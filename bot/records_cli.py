"""``smat-bot export ...`` and ``smat-bot records ...``: evidence packs, exports, checks.

Bad arguments (an unknown comment or author, a date that is not YYYY-MM-DD, --from after
--to, an output file that exists) get one line naming the problem and exit status 2.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.container import Container, build
from bot.records import exports, gather
from bot.records.evidence import UnknownComment, build_evidence_pack
from bot.records.package import SIGNATURE_SUFFIX
from bot.records.verify import NotAPack, read_pack, verify_pack, verify_signed_file
from config.settings import load_settings
from storage.db import reading
from storage.models import Account, Comment

EXIT_OK, EXIT_PROBLEM, EXIT_UNUSABLE = 0, 1, 2

Command = Callable[[argparse.Namespace, Console], int]


class UsageError(Exception):
    """A bad argument: the message is one line naming it."""


def register(commands: Any) -> None:
    """Add the ``export`` and ``records`` subcommands to the CLI's subparsers."""
    export = commands.add_parser("export", help="evidence packs and exports of records")
    kinds = export.add_subparsers(dest="export_command", required=True, metavar="WHAT")

    evidence = kinds.add_parser(
        "evidence", help="the evidence pack for one comment (for the police or a platform)"
    )
    evidence.add_argument(
        "comment", metavar="COMMENT_ID", help="SMAT Bot's comment id, or PLATFORM:COMMENT_ID"
    )
    evidence.add_argument("--out", type=Path, required=True, metavar="FILE.zip")
    evidence.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    evidence.set_defaults(func=_guarded(_cmd_evidence))

    decisions = kinds.add_parser(
        "decisions", help="decisions taken between two dates, as CSV or JSON (records, FOI)"
    )
    decisions.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
    decisions.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD")
    decisions.add_argument("--format", choices=("csv", "json"), default="csv")
    decisions.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")
    decisions.add_argument(
        "--without-personal-data",
        action="store_true",
        help="leave out authors, comment text, links, notes and replies (e.g. for FOI)",
    )
    decisions.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    decisions.set_defaults(func=_guarded(_cmd_decisions))

    subject = kinds.add_parser(
        "subject", help="everything held about one author (subject-access request)"
    )
    subject.add_argument(
        "author", metavar="AUTHOR", help="SMAT Bot's author id, or PLATFORM:ID (facebook:1234)"
    )
    subject.add_argument("--out", type=Path, required=True, metavar="FILE.zip|FILE.json")
    subject.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    subject.set_defaults(func=_guarded(_cmd_subject))

    records = commands.add_parser("records", help="check signed records and packs")
    actions = records.add_subparsers(dest="records_command", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify-signature",
        help="check an evidence pack (.zip) or one signed file against the records key",
    )
    verify.add_argument("file", type=Path, metavar="FILE")
    verify.add_argument(
        "--signature", metavar="HEX", help="the expected HMAC (default: FILE.hmac beside it)"
    )
    verify.set_defaults(func=_guarded(_cmd_verify))


def _guarded(command: Command) -> Command:
    def run(args: argparse.Namespace, console: Console) -> int:
        try:
            return command(args, console)
        except (UsageError, UnknownComment, exports.UnknownAuthor, NotAPack) as exc:
            message = exc.args[0] if exc.args else str(exc)
            Console(stderr=True, highlight=False, soft_wrap=True).print(
                f"smat-bot: error: {message}", markup=False
            )
            return EXIT_UNUSABLE

    return run


def parse_day(value: str, option: str) -> date:
    """A YYYY-MM-DD date, or UsageError naming the option."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date (use YYYY-MM-DD)") from None


def find_comment(session: Session, reference: str) -> int:
    """A comment id from ``42`` or ``facebook:1_101`` (unique among the accounts held)."""
    platform, sep, external_id = reference.partition(":")
    if not sep:
        if not reference.strip().isdigit():
            raise UsageError(f"{reference!r} is neither a comment id nor PLATFORM:COMMENT_ID")
        comment_id = int(reference)
        if session.get(Comment, comment_id) is None:
            raise UsageError(f"no comment with id {comment_id} is held")
        return comment_id
    ids = session.scalars(
        select(Comment.id)
        .join(Account, Account.id == Comment.account_id)
        .where(Account.platform == platform.strip().lower(), Comment.external_id == external_id)
    ).all()
    if not ids:
        raise UsageError(f"no comment {reference!r} is held")
    if len(ids) > 1:
        raise UsageError(f"{reference!r} matches {len(ids)} comments; give SMAT Bot's comment id")
    return ids[0]


def _context(container: Container) -> gather.Context:
    settings = container.settings
    return gather.Context(settings.council.tz, settings.policy.reason_codes)


def _container() -> Container:
    return build(load_settings(), announce=lambda line: _stderr().print(line, markup=False))


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _check_out(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"--out {path} already exists (choose another name, or --force)")
    if not path.parent.is_dir():
        raise UsageError(f"--out {path}: the folder {path.parent} does not exist")


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable only by this user (exports hold personal data), atomically."""
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown user"
    return f"smat-bot export (command line, {user})"


def _cmd_evidence(args: argparse.Namespace, console: Console) -> int:
    _check_out(args.out, args.force)
    container = _container()
    with reading(container.sessions) as session:
        comment_id = find_comment(session, args.comment)
        built = build_evidence_pack(
            session,
            comment_id,
            ctx=_context(container),
            key=container.signing_key.get(),
            council=container.settings.council.name,
            generated_by=_who(),
            now=container.clock(),
        )
    write_private(args.out, built.pack.data)
    console.print(
        f"Wrote the evidence pack for comment {comment_id} to {args.out} "
        f"({len(built.pack.files)} files).",
        markup=False,
    )
    console.print(f"SHA-256 of the zip: {built.pack.sha256}", markup=False)
    console.print(f"SHA-256 of MANIFEST.sha256: {built.pack.manifest_sha256}", markup=False)
    failed = False
    for check in built.records:
        console.print(f"Preserved record {check.record_id}: {check.status}", markup=False)
        failed |= not (check.content_ok and check.signature_ok is not False)
    if not built.records:
        console.print("No original was preserved for this comment (nothing removed).", markup=False)
    return EXIT_PROBLEM if failed else EXIT_OK


def _cmd_decisions(args: argparse.Namespace, console: Console) -> int:
    start, end = parse_day(args.start, "--from"), parse_day(args.end, "--to")
    if start > end:
        raise UsageError(f"--from {start} is after --to {end}")
    if args.out is not None:
        _check_out(args.out, args.force)
    container = _container()
    ctx = _context(container)
    personal = not args.without_personal_data
    with reading(container.sessions) as session:
        rows = exports.decision_rows(session, start, end, ctx, personal_data=personal)
    data = exports.decisions_document(
        rows,
        args.format,
        start=start,
        end=end,
        ctx=ctx,
        council=container.settings.council.name,
        now=container.clock(),
        personal_data=personal,
    )
    if args.out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return EXIT_OK
    write_private(args.out, data)
    console.print(
        f"Wrote {len(rows)} decision(s) from {start} to {end} to {args.out}.", markup=False
    )
    return EXIT_OK


def _cmd_subject(args: argparse.Namespace, console: Console) -> int:
    suffix = args.out.suffix.lower()
    if suffix not in (".zip", ".json"):
        raise UsageError(f"--out {args.out}: the name must end in .zip or .json")
    _check_out(args.out, args.force)
    container = _container()
    now = container.clock()
    with reading(container.sessions) as session:
        author = exports.find_author(session, args.author)
        data = exports.subject_data(session, author, _context(container), now)
    as_zip = suffix == ".zip"
    export = exports.subject_export(
        data, as_zip=as_zip, key=container.signing_key.get() if as_zip else None, now=now
    )
    write_private(args.out, export.pack.data if export.pack else export.document)
    console.print(
        f"Wrote everything held about author {data['author']['id']} "
        f"({len(data['comments'])} comment(s), {len(data['decisions'])} decision(s)) "
        f"to {args.out}. Check it for other people's personal data before sending it.",
        markup=False,
    )
    if export.pack:
        console.print(f"SHA-256 of the zip: {export.pack.sha256}", markup=False)
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace, console: Console) -> int:
    path: Path = args.file
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    key = _container().signing_key.get()
    if path.suffix.lower() == ".zip":
        result = verify_pack(read_pack(path.read_bytes()), key)
    else:
        if path.name.endswith(SIGNATURE_SUFFIX):
            raise UsageError(f"{path}: give the signed file, not its signature")
        result = verify_signed_file(path, args.signature, key)
    for line in result.checked:
        console.print(f"ok: {line}", markup=False)
    for line in result.problems:
        console.print(f"FAILED: {line}", markup=False)
    console.print(
        f"{path}: verified with key {key.key_id}."
        if result.ok
        else f"{path}: {len(result.problems)} problem(s) found.",
        markup=False,
    )
    return EXIT_OK if result.ok else EXIT_PROBLEM
