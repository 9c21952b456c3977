"""How long ``smat-bot digest`` takes over 1,000,000 comments and their decisions.

Generates a year of moderation (deterministic, seeded) into SQLite and into PostgreSQL with
fast bulk loads (``executemany`` in one transaction; ``COPY``), then times the real command,
``smat-bot digest --week 2026-W47``, in a fresh process each run: start-up, the figures'
queries, the charts, the PDF and the HTML, all included. The figures' queries alone
(``build_report``) are timed as well.

Usage::

    .venv/bin/python bench/digest.py                       # 1,000,000 comments, both databases
    .venv/bin/python bench/digest.py --comments 100000     # smaller
    .venv/bin/python bench/digest.py --only sqlite         # one database
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from storage import migrate  # noqa: E402
from storage.db import make_engine  # noqa: E402

WEEK = "2026-W47"
END = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # the end of the reported week
SPAN = timedelta(weeks=52)
POSTGRES = os.environ.get(
    "SMAT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SCHEMA = "bench_digest"
CHUNK = 50_000
ACCOUNTS = [
    ("fb-main", "facebook", "Example Town Council"),
    ("ig-main", "instagram", "exampletowncouncil"),
    ("yt-main", "youtube", "Example Town Council TV"),
    ("x-main", "x", "ExampleTC"),
]
AUTHORS = 50_000
SUGGESTIONS = [("approve", 0.85), ("review", 0.08), ("hide", 0.06), ("escalate", 0.01)]
ACTIONS = [
    ("approve", 0.80),
    ("reply", 0.08),
    ("hide", 0.07),
    ("warn", 0.01),
    ("block", 0.01),
    ("delete", 0.005),
    ("escalate", 0.025),
]
REASONS = ["offensive_or_discriminatory", "bullying_or_harassment", "spam", "personal_data"]
CANNED = ["contact_privately", "removal_warning", None]
OUTCOMES = ["upheld", "overruled", "hidden_referred_police", "reported_to_platform", None]


@dataclass
class Rows:
    """One chunk of generated rows, per table, in column order."""

    authors: list[tuple[Any, ...]]
    comments: list[tuple[Any, ...]]
    versions: list[tuple[Any, ...]]
    classifications: list[tuple[Any, ...]]
    items: list[tuple[Any, ...]]
    decisions: list[tuple[Any, ...]]
    replies: list[tuple[Any, ...]]
    preserved: list[tuple[Any, ...]]
    escalations: list[tuple[Any, ...]]


COLUMNS = {
    "authors": "id, platform, external_id, display_name, first_seen_at",
    "comments": "id, account_id, author_id, external_id, post_title, created_at, first_seen_at, "
    "current_version",
    "comment_versions": "id, comment_id, version, text, content_sha256, source, raw_payload, "
    "seen_at",
    "classifications": "id, comment_version_id, model_name, model_version, scores, thresholds, "
    "detections, suggested_action, reason_code, explanation, classified_at",
    "review_items": "id, comment_id, comment_version_id, classification_id, status, version, "
    "priority, created_at, updated_at",
    "decisions": "id, review_item_id, comment_id, comment_version_id, review_version, action, "
    "actor_kind, actor_slack_id, actor_name, reason_code, classification_id, "
    "preserved_record_id, undoes_decision_id, decided_at",
    "replies": "id, decision_id, canned_key, text, created_at",
    "preserved_records": "id, comment_id, comment_version_id, text, author_external_id, "
    "author_display_name, comment_created_at, thread_context, raw_payload, content_sha256, "
    "retention_class, legal_hold, preserved_at",
    "escalations": "id, review_item_id, comment_id, decision_id, reason, offences, escalated_by, "
    "escalated_at, immediate, status, outcome, outcome_at, reminders_sent, updated_at",
}
TABLE_ROWS = {
    "authors": "authors",
    "comments": "comments",
    "comment_versions": "versions",
    "classifications": "classifications",
    "review_items": "items",
    "preserved_records": "preserved",
    "decisions": "decisions",
    "replies": "replies",
    "escalations": "escalations",
}


def _pick(rng: random.Random, weighted: list[tuple[Any, float]]) -> Any:
    roll, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][0]


def generate(comments: int, seed: int = 47) -> Iterator[Rows]:
    """A year of comments before END, with first actions, removals, undos and escalations."""
    rng = random.Random(seed)
    start = END - SPAN
    span_s = SPAN.total_seconds()
    decision_id = preserved_id = reply_id = escalation_id = 0
    members = ["U0CLERK", "U0SMATONE", "U0SMATTWO", "U0SMATTHREE"]
    # Ingest stores comments as they arrive, so ids follow posting time (as in production).
    offsets = sorted(rng.random() * span_s for _ in range(comments))
    for first in range(1, comments + 1, CHUNK):
        rows = Rows([], [], [], [], [], [], [], [], [])
        if first == 1:
            rows.authors = [
                (a, ACCOUNTS[a % 4][1], f"author-{a}", f"Resident {a}", start)
                for a in range(1, AUTHORS + 1)
            ]
        for cid in range(first, min(first + CHUNK, comments + 1)):
            created = start + timedelta(seconds=offsets[cid - 1])
            account = rng.randrange(len(ACCOUNTS)) + 1
            author = rng.randrange(AUTHORS) + 1
            suggested = _pick(rng, SUGGESTIONS)
            reason = rng.choice(REASONS) if suggested != "approve" else None
            rows.comments.append(
                (cid, account, author, f"c{cid}", "A council post", created, created, 1)
            )
            rows.versions.append((cid, cid, 1, "words", "0" * 64, "poll", "{}", created))
            rows.classifications.append(
                (cid, cid, "bench", "1", "{}", "{}", "{}", suggested, reason, "bench", created)
            )
            acted = rng.random() < 0.97
            rows.items.append(
                (cid, cid, cid, cid, "decided" if acted else "pending", 2, 0, created, created)
            )
            if not acted:
                continue
            wait = timedelta(seconds=min(rng.expovariate(1 / 10_800), 30 * 86_400))
            at = created + wait
            action = _pick(rng, ACTIONS)
            why = rng.choice(REASONS) if action in ("hide", "block", "delete", "warn") else None
            kept = None
            if action in ("hide", "block", "delete"):
                preserved_id += 1
                kept = preserved_id
                rows.preserved.append(
                    (
                        preserved_id,
                        cid,
                        cid,
                        "words",
                        f"author-{author}",
                        "Resident",
                        created,
                        "{}",
                        "{}",
                        "0" * 64,
                        "removed",
                        rng.random() < 0.02,
                        at,
                    )
                )
            decision_id += 1
            actor = rng.choice(members)
            rows.decisions.append(
                (
                    decision_id,
                    cid,
                    cid,
                    cid,
                    1,
                    action,
                    "member",
                    actor,
                    actor.lower(),
                    why,
                    cid,
                    kept,
                    None,
                    at,
                )
            )
            if action == "reply":
                reply_id += 1
                rows.replies.append((reply_id, decision_id, rng.choice(CANNED), "reply", at))
            if action == "hide" and rng.random() < 0.07:
                undone = decision_id
                decision_id += 1
                rows.decisions.append(
                    (
                        decision_id,
                        cid,
                        cid,
                        cid,
                        2,
                        "unhide",
                        "member",
                        actor,
                        actor.lower(),
                        None,
                        cid,
                        None,
                        undone,
                        at + timedelta(hours=rng.random() * 72),
                    )
                )
            if action == "escalate":
                escalation_id += 1
                outcome = rng.choice(OUTCOMES)
                outcome_at = at + timedelta(hours=rng.random() * 48) if outcome else None
                rows.escalations.append(
                    (
                        escalation_id,
                        cid,
                        cid,
                        decision_id,
                        rng.choice(["threat", "abuse_of_staff", "complaint", "press"]),
                        "[]",
                        actor,
                        at,
                        False,
                        "closed" if outcome else "open",
                        outcome,
                        outcome_at,
                        0,
                        at,
                    )
                )
        yield rows


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load_sqlite(path: Path, comments: int) -> float:
    """Create the schema with the migrations, then bulk-load; returns seconds taken."""
    started = time.perf_counter()
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    _accounts(engine)
    engine.dispose()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    for rows in generate(comments):
        for table, attr in TABLE_ROWS.items():
            batch = getattr(rows, attr)
            if batch:
                marks = ",".join("?" * len(batch[0]))
                db.executemany(
                    f"INSERT INTO {table} ({COLUMNS[table]}) VALUES ({marks})",
                    ([_sqlite_value(v) for v in row] for row in batch),
                )
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()
    return time.perf_counter() - started


def load_postgres(url: str, comments: int) -> float:
    """A fresh schema, the migrations, then COPY; returns seconds taken."""
    started = time.perf_counter()
    admin = create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    admin.dispose()
    engine = make_engine(url)
    migrate.upgrade(engine)
    _accounts(engine)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for rows in generate(comments):
            for table, attr in TABLE_ROWS.items():
                batch = getattr(rows, attr)
                if not batch:
                    continue
                with cursor.copy(  # type: ignore[attr-defined]
                    f"COPY {table} ({COLUMNS[table]}) FROM STDIN"
                ) as copy:
                    for row in batch:
                        copy.write_row(row)
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return time.perf_counter() - started


def _accounts(engine: Any) -> None:
    with engine.begin() as connection:
        for i, (name, platform_name, display) in enumerate(ACCOUNTS, start=1):
            connection.execute(
                text(
                    "INSERT INTO accounts (id, name, platform, external_id, display_name, "
                    "status, created_at) VALUES (:id, :name, :platform, :ext, :display, "
                    "'active', :created)"
                ),
                {
                    "id": i,
                    "name": name,
                    "platform": platform_name,
                    "ext": f"ext-{name}",
                    "display": display,
                    "created": datetime(2025, 1, 1, tzinfo=UTC),
                },
            )
        if engine.dialect.name == "postgresql":
            for table in ("accounts", *TABLE_ROWS):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"GREATEST((SELECT max(id) FROM {table}), 1))"
                    )
                )


def time_command(url: str, out: Path, runs: int) -> list[tuple[float, float]]:
    """(wall-clock, CPU) seconds of ``smat-bot digest --week WEEK`` in a fresh process."""
    env = {
        **os.environ,
        "SMAT_DATABASE_URL": url,
        "PYTHONPATH": str(ROOT),
        "SMAT_COUNCIL__NAME": "Example Town Council",
    }
    env.pop("SLACK_BOT_TOKEN", None)
    timings = []
    for _ in range(runs):
        before = os.times()
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "digest", "--week", WEEK, "--out", str(out)],
            env=env,
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - started
        after = os.times()
        cpu = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
        timings.append((wall, cpu))
    return timings


def time_queries(url: str, runs: int) -> list[float]:
    """Seconds for the figures' queries alone (``build_report``), per run, in this process."""
    from bot.digest.period import Week
    from bot.digest.report import build_report
    from config.settings import Settings
    from storage.db import session_factory

    settings = Settings(database_url=url, council={"name": "Example Town Council"})
    engine = make_engine(url)
    sessions = session_factory(engine)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        with sessions() as session:
            report = build_report(session, settings, Week.parse(WEEK), END)
        timings.append(time.perf_counter() - started)
    engine.dispose()
    print(f"    reported week: {report.received.count(0):,} comments received")
    return timings


def main() -> None:
    """Load, then time; prints a table for docs/PERFORMANCE.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        targets = []
        if args.only in (None, "sqlite"):
            targets.append(("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}"))
        if args.only in (None, "postgresql"):
            targets.append(("postgresql", f"{POSTGRES}?options=-csearch_path%3D{SCHEMA}"))
        for name, url in targets:
            if name == "sqlite":
                loaded = load_sqlite(Path(tmp) / "bench.db", args.comments)
            else:
                loaded = load_postgres(url, args.comments)
            print(f"{name}: loaded {args.comments:,} comments in {loaded:.0f} s")
            queries = time_queries(url, args.runs)
            command = time_command(url, out, args.runs)
            print(
                f"  figures' queries: {', '.join(f'{t:.2f}' for t in queries)} s "
                f"(median {statistics.median(queries):.2f})"
            )
            walls = [wall for wall, _ in command]
            cpus = [cpu for _, cpu in command]
            print(
                f"  smat-bot digest:  wall {', '.join(f'{t:.2f}' for t in walls)} s "
                f"(median {statistics.median(walls):.2f}); its CPU time (user + system) "
                f"{', '.join(f'{t:.2f}' for t in cpus)} s (median {statistics.median(cpus):.2f})"
            )
            print(f"  load average: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
