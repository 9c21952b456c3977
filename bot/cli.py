"""The ``smat-bot`` command line.

Exit status: 0 success; 1 the job ran but some input was rejected; 2 unusable input or config.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress
from rich.table import Table
from rich.text import Text

from bot import output
from bot.container import Container, build
from config.settings import ConfigError, Settings, load_settings, require
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
from storage.db import make_engine

EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE = 0, 1, 2

log = logging.getLogger("smat_bot")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.command == "run" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    console = Console(highlight=False, soft_wrap=True)
    try:
        return int(args.func(args, console))
    except (ConfigError, FeedError) as exc:
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

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply migrations").set_defaults(func=_cmd_db_upgrade)
    db_commands.add_parser("current", help="show the schema revision").set_defaults(
        func=_cmd_db_current
    )
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
    container = build(settings, announce=log.info)
    container.classifier  # noqa: B018 - load the model once at start-up, not on the first comment
    from bot.scheduler import start_scheduler
    from bot.slack_app import create_slack_app

    app = create_slack_app(container)
    scheduler = start_scheduler(container)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        if settings.slack.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            assert settings.slack.app_token is not None
            log.info("starting in Socket Mode")
            handler = SocketModeHandler(app, settings.slack.app_token.get_secret_value())
            handler.start()  # type: ignore[no-untyped-call]
        else:
            import waitress

            from bot.web import MAX_BODY_BYTES, create_wsgi_app

            log.info("starting in HTTP mode on %s:%d (POST /slack/events)", args.host, args.port)
            waitress.serve(
                create_wsgi_app(app, container.sessions, container.webhooks()),
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
