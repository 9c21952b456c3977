"""Button clicks under load: signed Approve clicks against `smat-bot run` in HTTP mode.

What it does, end to end on loopback:

1. starts the fake Slack Web API (``tests/fakes/fake_slack.py``) in this process;
2. seeds the database (SQLite file or PostgreSQL) with ``rate x duration`` comments and posts
   their triage cards to the fake Slack, so every click has a real card to press;
3. starts the real ``smat-bot run`` (HTTP mode, waitress, the configured classifier loaded;
   by default Detoxify ``unbiased`` with random weights of the real architecture, built by
   ``bench/build_checkpoints.py``) and waits until ``/readyz`` says ready;
4. warms the bot up with ``--warmup`` seconds of clicks at 10 a second on cards of their own
   (the first clicks after a start pay for compiling SQL, opening connections and starting
   threads; they are reported apart, as ``warmup``, and checked like the others);
5. sends ``--rate`` correctly signed Approve clicks per second for ``--duration`` seconds,
   open loop (a slow answer never delays the next click); ``--duplicates`` of them are a second
   SMAT member pressing a card someone already pressed, as happens when two people triage;
6. measures each click's acknowledgement time (request sent to HTTP answer, which Bolt sends
   once the listener has acked) and checks the database: exactly one decision per pressed
   card, every duplicate refused, every card decided;
7. reads the peak resident memory (``VmHWM``) of the ``smat-bot run`` process after the load.

Usage::

    .venv/bin/python bench/clicks.py                       # 60 s at 50 clicks/s, SQLite
    .venv/bin/python bench/clicks.py --duration 10 --database postgresql://postgres@127.0.0.1/test
    .venv/bin/python bench/clicks.py --classifier profanity-check --json

Exit status 0 when every click was acknowledged within 3 s and every decision was recorded
exactly once; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import func, select  # noqa: E402

from bot.container import build  # noqa: E402
from bot.services.pacing import ChannelPacer  # noqa: E402
from config.settings import Settings, deep_merge  # noqa: E402
from platforms.types import IncomingComment, Platform, Source  # noqa: E402
from storage.models import Decision, ReviewItem  # noqa: E402
from tests.fakes.classifier import KeywordClassifier  # noqa: E402
from tests.fakes.fake_slack import FakeSlack  # noqa: E402
from tests.fakes.slack_requests import block_actions_payload, form_body, sign  # noqa: E402

BOT_TOKEN = "xoxb-bench-token"
WARMUP_RATE = 10.0
"""Clicks per second while warming the bot up, before the measured clicks."""
SIGNING_SECRET = "bench-signing-secret"
MEMBERS = ("U0BENCH1", "U0BENCH2")
SLACK_ACK_LIMIT = 3.0


@dataclass
class Card:
    item_id: int
    channel: str
    ts: str
    value: str


@dataclass
class Click:
    card: Card
    user: str
    duplicate: bool
    planned: float
    started: float = 0.0
    latency: float | None = None
    status: int | None = None
    error: str | None = None


@dataclass
class Result:
    clicks: list[Click] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _comments(count: int) -> list[IncomingComment]:
    created = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
    return [
        IncomingComment(
            platform=Platform.FACEBOOK,
            account="ExampleTownCouncil",
            external_id=f"bench-{i}",
            author_id=f"resident-{i % 500}",
            author_name=f"Resident {i % 500}",
            text=f"When will the Christmas lights on street {i} be switched on?",
            created_at=created,
            source=Source.IMPORT,
            permalink=None,
            post_title="Christmas lights switch-on",
            raw={"id": f"bench-{i}"},
        )
        for i in range(count)
    ]


def _slack_settings(slack: FakeSlack) -> dict[str, Any]:
    return {
        "slack": {
            "bot_token": BOT_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "api_url": slack.base_url,
        },
        "members": [{"slack_user_id": user, "role": "smat", "name": user} for user in MEMBERS],
    }


def seed(database_url: str, slack: FakeSlack, count: int) -> list[Card]:
    """Store ``count`` comments and post their cards; return the cards to press."""
    # Every card on its own and at once: the fake Slack has no rate limit, and this measures
    # clicks, not surges (bench/surge.py does those).
    seeding = {"database_url": database_url, "surge": {"batch_backlog": 1_000_000}}
    settings = Settings(**deep_merge(seeding, _slack_settings(slack)))
    unpaced = ChannelPacer(1_000_000.0, 1_000_000)
    container = build(
        settings, classifier=KeywordClassifier(), announce=lambda _line: None, pacer=unpaced
    )
    container.ingest().ingest(_comments(count))
    while container.outbox.deliver_due(limit=500).delivered:
        pass
    triage = slack.channel_id(settings.slack.channels.triage)
    cards = []
    for message in slack.messages(triage):
        for block in message.get("blocks", []):
            for element in block.get("elements", []):
                if element.get("action_id") == "smat_approve":
                    value = str(element["value"])
                    cards.append(Card(json.loads(value)["item"], triage, message["ts"], value))
    container.engine.dispose()
    if len(cards) != count:
        raise SystemExit(f"seeding posted {len(cards)} cards, expected {count}")
    return cards


def classifier_config(name: str) -> dict[str, Any]:
    """The classifier section for the bot under test."""
    if name == "profanity-check":
        return {"backend": "profanity-check"}
    import build_checkpoints

    built = build_checkpoints.build(name)
    return {
        "backend": "detoxify",
        "detoxify": {
            "model": name,
            "checkpoint": str(built.checkpoint),
            "huggingface_config_path": str(built.hf_dir),
            "checkpoint_sha256": built.sha256,
        },
    }


def start_bot(
    database_url: str, slack: FakeSlack, classifier: str, workdir: Path, port: int
) -> subprocess.Popen[bytes]:
    """Start `smat-bot run` in HTTP mode; return once /readyz answers ready."""
    config = workdir / "smat.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "classifier": classifier_config(classifier),
                "members": _slack_settings(slack)["members"],
                "operations": {"log_format": "json"},
            }
        )
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SMAT_", "SLACK_"))},
        "PYTHONPATH": str(ROOT),
        "SMAT_CONFIG": str(config),
        "SMAT_DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        # On PostgreSQL the bot refuses to start without a records signing key (no key file
        # is generated beside a server database); a throwaway one serves the benchmark.
        "SMAT_RECORDS__SIGNING_KEY": "env:SMAT_BENCH_RECORDS_KEY",
        "SMAT_BENCH_RECORDS_KEY": secrets.token_hex(32),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    log_path = workdir / f"bot-{port}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"smat-bot run exited early; see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("smat-bot run did not become ready in 10 minutes")


def plan(cards: list[Card], rate: float, duration: float, duplicates: float) -> list[Click]:
    """Clicks at even intervals; every 1/duplicates-th one re-presses an earlier card."""
    total = int(rate * duration)
    every = round(1 / duplicates) if duplicates > 0 else 0
    clicks: list[Click] = []
    fresh = iter(cards)
    for i in range(total):
        planned = i / rate
        if every and i % every == every - 1 and clicks:
            earlier = clicks[max(0, len(clicks) - int(rate))]  # about a second earlier
            clicks.append(Click(earlier.card, MEMBERS[1], True, planned))
        else:
            clicks.append(Click(next(fresh), MEMBERS[0], False, planned))
    return clicks


def fire(base_urls: list[str], slack: FakeSlack, clicks: list[Click]) -> None:
    """Send the clicks open loop at their planned times; record each acknowledgement time.

    With several bots the clicks go to each in turn, as a round-robin load balancer sends them.
    """
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    with (
        httpx.Client(timeout=30, limits=limits) as http,
        ThreadPoolExecutor(max_workers=128) as pool,
    ):

        def send(click: Click, base_url: str) -> None:
            payload = block_actions_payload(
                user_id=click.user,
                action_id="smat_approve",
                value=click.card.value,
                channel_id=click.card.channel,
                message_ts=click.card.ts,
                response_url=slack.response_url(f"bench-{click.card.item_id}"),
            )
            body = form_body(payload)
            headers = sign(SIGNING_SECRET, body)
            click.started = time.perf_counter()
            try:
                response = http.post(f"{base_url}/slack/events", content=body, headers=headers)
                click.status = response.status_code
            except httpx.HTTPError as exc:
                click.error = type(exc).__name__
            click.latency = time.perf_counter() - click.started

        futures: list[Future[None]] = []
        start = time.perf_counter()
        for click in clicks:
            delay = start + click.planned - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(send, click, base_urls[len(futures) % len(base_urls)]))
        for future in futures:
            future.result()


def check_decisions(database_url: str, clicks: list[Click], timeout: float = 120) -> dict[str, Any]:
    """Wait until every pressed card is decided; count decisions per card."""
    from storage.db import make_engine, session_factory

    engine = make_engine(database_url)
    sessions = session_factory(engine)
    pressed = {c.card.item_id for c in clicks if not c.duplicate}
    deadline = time.monotonic() + timeout
    while True:
        with sessions() as session:
            per_item = dict(
                session.execute(
                    select(Decision.review_item_id, func.count()).group_by(Decision.review_item_id)
                ).all()
            )
            decided = set(
                session.scalars(select(ReviewItem.id).where(ReviewItem.status == "decided"))
            )
        if pressed <= decided or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    engine.dispose()
    twice = sorted(item for item, count in per_item.items() if count > 1)
    return {
        "cards_pressed": len(pressed),
        "decisions": sum(per_item.values()),
        "cards_decided": len(pressed & decided),
        "cards_with_more_than_one_decision": len(twice),
        "decisions_for_unpressed_cards": len(set(per_item) - pressed),
        "exactly_once": not twice and set(per_item) == pressed and pressed <= decided,
    }


@contextmanager
def database(url: str | None, workdir: Path) -> Iterator[str]:
    """A fresh SQLite file, or a fresh schema on the given PostgreSQL server (dropped after)."""
    if url is None:
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    if not url.startswith("postgresql"):
        raise SystemExit("--database must be a postgresql:// URL (SQLite is the default)")
    from sqlalchemy import create_engine, text

    schema = f"bench_clicks_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def memory_of(pid: int) -> dict[str, float]:
    """Peak and current resident memory of a process, in MiB (Linux /proc)."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0]) / 1024
    return {"peak_rss_mib": values["VmHWM"], "rss_mib": values["VmRSS"]}


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5)) if ordered else 0
    return ordered[min(rank, len(ordered)) - 1] if ordered else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--rate", type=float, default=50.0, help="clicks per second (default 50)")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="bot processes sharing the clicks round-robin, as behind a load balancer "
        "(PostgreSQL only; default 1)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help=f"seconds of clicks at {WARMUP_RATE:g}/s before the measured ones (default 5)",
    )
    parser.add_argument(
        "--duplicates",
        type=float,
        default=0.05,
        help="share of clicks that re-press a card already pressed (default 0.05)",
    )
    parser.add_argument(
        "--database",
        help="a PostgreSQL server URL: the run uses a fresh schema there, dropped afterwards "
        "(default: a fresh SQLite file in a temporary directory)",
    )
    parser.add_argument(
        "--classifier",
        default="unbiased",
        choices=["unbiased", "original", "multilingual", "profanity-check"],
        help="what `smat-bot run` loads (Detoxify models use random weights of the real "
        "architecture from bench/build_checkpoints.py; default unbiased)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.processes < 1 or (args.processes > 1 and not args.database):
        parser.error("--processes above 1 needs --database postgresql://… (SQLite: one process)")

    with (
        tempfile.TemporaryDirectory(prefix="smat-clicks-") as tmp,
        FakeSlack(tokens=(BOT_TOKEN,)) as slack,
        database(args.database, Path(tmp)) as database_url,
    ):
        workdir = Path(tmp)
        clicks_total = int(args.rate * args.duration)
        warmup_total = int(WARMUP_RATE * args.warmup)
        cards = seed(database_url, slack, warmup_total + clicks_total)
        port = _free_port()
        processes: list[subprocess.Popen[bytes]] = []
        try:
            urls = []
            for _ in range(args.processes):
                port = _free_port()
                processes.append(start_bot(database_url, slack, args.classifier, workdir, port))
                urls.append(f"http://127.0.0.1:{port}")
            memory_ready = memory_of(processes[0].pid)
            warmup = plan(cards[:warmup_total], WARMUP_RATE, args.warmup, 0)
            fire(urls, slack, warmup)
            clicks = plan(cards[warmup_total:], args.rate, args.duration, args.duplicates)
            started = time.perf_counter()
            fire(urls, slack, clicks)
            elapsed = time.perf_counter() - started
            decisions = check_decisions(database_url, warmup + clicks)
            memory_after = memory_of(processes[0].pid)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        refusals = [
            c
            for c in slack.calls("chat.postEphemeral")
            if "Already handled" in str(c.params.get("text", ""))
        ]

    latencies = [c.latency for c in clicks if c.latency is not None and c.status == 200]
    warmup_latencies = [c.latency for c in warmup if c.latency is not None and c.status == 200]
    failed = [c for c in warmup + clicks if c.status != 200]
    duplicates = sum(1 for c in clicks if c.duplicate)
    report = {
        "clicks": len(clicks),
        "duplicate_clicks": duplicates,
        "duplicates_refused": len(refusals),
        "rate_per_s": args.rate,
        "duration_s": args.duration,
        "sent_in_s": round(elapsed, 2),
        "failed": len(failed),
        "ack_ms": {
            "p50": round(1000 * statistics.median(latencies), 1) if latencies else None,
            "p90": round(1000 * percentile(latencies, 0.90), 1) if latencies else None,
            "p99": round(1000 * percentile(latencies, 0.99), 1) if latencies else None,
            "max": round(1000 * max(latencies), 1) if latencies else None,
        },
        "over_3s": sum(1 for v in warmup_latencies + latencies if v >= SLACK_ACK_LIMIT),
        "warmup": {
            "clicks": len(warmup),
            "rate_per_s": WARMUP_RATE,
            "ack_ms_p50": round(1000 * statistics.median(warmup_latencies), 1)
            if warmup_latencies
            else None,
            "ack_ms_max": round(1000 * max(warmup_latencies), 1) if warmup_latencies else None,
        },
        **decisions,
        "classifier": args.classifier,
        "database": database_url.split("://")[0],
        "processes": args.processes,
        "memory_after_start": memory_ready,
        "memory_after_load": memory_after,
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
    }
    ok = (
        not failed
        and report["over_3s"] == 0
        and decisions["exactly_once"]
        and len(refusals) == duplicates
    )
    report["ok"] = ok
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        ack = report["ack_ms"]
        print(
            f"{len(clicks)} clicks ({duplicates} duplicates) at {args.rate:g}/s over "
            f"{args.duration:g} s against smat-bot run ({args.classifier}, "
            f"{report['database']}, {args.processes} process(es)):\n"
            f"  ack p50 {ack['p50']} ms, p90 {ack['p90']} ms, p99 {ack['p99']} ms, "
            f"max {ack['max']} ms; {len(failed)} failed, {report['over_3s']} over 3 s\n"
            f"  warm-up before them: {len(warmup)} clicks at {WARMUP_RATE:g}/s, ack p50 "
            f"{report['warmup']['ack_ms_p50']} ms, max {report['warmup']['ack_ms_max']} ms\n"
            f"  decisions: {decisions['decisions']} for {decisions['cards_pressed']} cards pressed "
            f"({decisions['cards_with_more_than_one_decision']} cards decided twice); "
            f"{len(refusals)}/{duplicates} duplicate clicks refused\n"
            f"  smat-bot run memory: {memory_ready['peak_rss_mib']:.0f} MiB peak after start, "
            f"{memory_after['peak_rss_mib']:.0f} MiB peak after the load "
            f"({memory_after['rss_mib']:.0f} MiB resident)\n"
            f"  {'OK' if ok else 'FAILED'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
