"""How fast an import feed is stored and queued for triage, classification excluded.

Writes a CSV of ``--rows`` comments (default 100,000: realistic council comments, a few edits
and repeats), then runs the same steps as ``smat-bot import`` against a fresh database:

1. **parse** the file (``parse_feed``);
2. **store** every comment and its version (``IngestService.store``, in the import's chunks);
3. **queue**: classify pending versions, decide the policy suggestion, open review items and
   queue their cards in the outbox (``IngestService.classify_pending``).

Classification is excluded by a classifier that returns fixed scores at no cost, so step 3
measures the rule detectors, the policy and the queueing (the model's own speed is
``bench/classifier_throughput.py``'s business: with Detoxify, step 3 is bounded by it). The
rule detectors are real, language detection included. Nothing is sent to Slack.

Usage (from the repository root)::

    .venv/bin/python bench/ingest.py                      # 100,000 rows, SQLite
    .venv/bin/python bench/ingest.py --rows 20000 --database postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.container import build  # noqa: E402
from classifiers.base import ModelInfo  # noqa: E402
from config.settings import Settings  # noqa: E402
from platforms.import_feed import ParsedRow, parse_feed  # noqa: E402

CHUNK = 250
"""As ``smat-bot import``."""
LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")

SENTENCES = [
    "The bin collection on {place} has been missed again this week.",
    "When will the potholes on {place} be fixed? It has been months.",
    "Thank you to the council for the Christmas lights on {place}, they look lovely.",
    "Why is the council wasting our money on {place} when the library is closing?",
    "Is the car park on {place} free after six in the evening?",
    "The grass cutting on {place} is a disgrace, nobody has been for weeks.",
    "Who do I contact about the street light that is out on {place}?",
    "Great turnout at the market on {place} today, well done everyone.",
]
PLACES = ["Mill Lane", "the High Street", "Station Road", "Church Walk", "Oak Avenue", "Brook St"]


class FixedScores:
    """A classifier that costs nothing: every text scores 0.01 on every label."""

    @property
    def model(self) -> ModelInfo:
        """Describe the stand-in model (stored with each classification, as a real one is)."""
        return ModelInfo("fixed-benchmark", "0", LABELS)

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Fixed, low scores: the policy suggests approval unless a rule detector fires."""
        return [dict.fromkeys(LABELS, 0.01) for _ in texts]


def write_feed(path: Path, rows: int, seed: int = 7) -> None:
    """A CSV import feed of ``rows`` comments over the last 30 days."""
    rng = random.Random(seed)
    start = datetime(2026, 10, 20, tzinfo=UTC)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["platform", "account", "external_id", "author_id", "author_name", "text",
                         "created_at"])  # fmt: skip
        for n in range(rows):
            text = " ".join(
                rng.choice(SENTENCES).format(place=rng.choice(PLACES))
                for _ in range(rng.randint(1, 3))
            )
            author = rng.randint(1, rows // 5 + 1)
            created = start + timedelta(seconds=rng.randint(0, 30 * 86400))
            writer.writerow(["facebook", "104567890123456", f"c{n}", f"a{author}",
                             f"Resident {author}", text, created.isoformat()])  # fmt: skip


def run(rows: int, database_url: str, workdir: Path) -> dict[str, Any]:
    """Parse, store and queue ``rows`` comments; return the timings."""
    feed = workdir / "feed.csv"
    write_feed(feed, rows)
    settings = Settings(database_url=database_url)
    container = build(settings, classifier=FixedScores(), announce=lambda _: None)
    container.detectors.warm_up()  # the language models load once at start-up, as in `run`

    started = time.perf_counter()
    parsed = [row for row in parse_feed(feed, format=None, local_tz=settings.council.tz)]
    comments = [row.comment for row in parsed if isinstance(row, ParsedRow)]
    parse_s = time.perf_counter() - started

    ingest = container.ingest()
    store_s = queue_s = 0.0
    for first in range(0, len(comments), CHUNK):
        batch = comments[first : first + CHUNK]
        t0 = time.perf_counter()
        ingest.store(batch)
        t1 = time.perf_counter()
        ingest.classify_pending()
        store_s += t1 - t0
        queue_s += time.perf_counter() - t1
    total_s = time.perf_counter() - started
    queued = container.outbox.pending_count()
    container.engine.dispose()
    return {
        "rows": rows,
        "accepted": len(comments),
        "parse_s": round(parse_s, 2),
        "store_s": round(store_s, 2),
        "queue_s": round(queue_s, 2),
        "total_s": round(total_s, 2),
        "stored_per_s": round(len(comments) / (parse_s + store_s)),
        "outbox_messages": queued,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and optionally save) its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.database:
            from sqlalchemy import create_engine, text

            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.database)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = f"{args.database}?options=-csearch_path%3D{schema}"
        else:
            url = f"sqlite:///{workdir / 'bench.db'}"
        try:
            result = run(args.rows, url, workdir)
        finally:
            if args.database:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    result |= {
        "database": "postgresql" if args.database else "sqlite",
        "machine": f"{platform.machine()}, python {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
