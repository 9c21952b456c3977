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

from bot import output
from bot.container import Container, build
from config.settings import ConfigError, Settings, load_settings, require
from platforms.import_feed import FeedError, ParsedRow, RejectedRow, parse_csv, read_text
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
    imp.add_argument("file", type=Path, help="a CSV file (see the README for its columns)")
    imp.add_argument("--dry-run", action="store_true", help="check the file, store nothing")
    imp.set_defaults(func=_cmd_import)

    queue = commands.add_parser("queue", help="print the triage queue")
    queue.add_argument("--limit", type=int, default=50, help="show at most N items (default 50)")
    queue.set_defaults(func=_cmd_queue)

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
        rows = list(parse_csv(read_text(args.file), local_tz=settings.council.tz))
    except FeedError as exc:
        message = str(exc)
        raise FeedError(
            message if message.startswith(str(args.file)) else f"{args.file}: {message}"
        ) from None
    good = [row for row in rows if isinstance(row, ParsedRow)]
    rejected = [row for row in rows if isinstance(row, RejectedRow)]
    for row in rejected:
        console.print(f"{args.file}: line {row.line}: rejected: {row.reason}", markup=False)
    if args.dry_run:
        console.print(
            f"Dry run: {len(good)} row(s) would be imported, {len(rejected)} rejected.",
            markup=False,
        )
        return EXIT_REJECTED if rejected else EXIT_OK
    container = build(settings, announce=lambda line: console.print(line, markup=False))
    report = container.ingest().ingest(row.comment for row in good)
    console.print(
        f"Imported {args.file}: {report.new} new, {report.edited} edited, "
        f"{report.unchanged} already known, {len(rejected)} rejected.",
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

            from bot.web import create_wsgi_app

            log.info("starting in HTTP mode on %s:%d (POST /slack/events)", args.host, args.port)
            waitress.serve(
                create_wsgi_app(app, container.sessions), host=args.host, port=args.port, threads=8
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
