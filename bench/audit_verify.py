"""How long `smat-bot audit verify` takes on a large log (SQLite).

Builds a database with N audited rows (standard replies, ~400-byte snapshots) and one event
each, then times both passes of the check and reports peak memory. Usage:

    python bench/audit_verify.py [--events 1000000] [--db /tmp/audit-bench.db]
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from storage import migrate
from storage.audit.chain import EventDraft, append_events, snapshot
from storage.audit.registry import AUDITED, Actor
from storage.audit.verify import verify
from storage.db import make_engine

BODY = (
    "Thank you for your comment. The Town Council's offices are open Monday to Friday, "
    "9am to 4pm; you can reach the Clerk on 01234 567890 or hello@example.gov.uk. "
) * 2


def build(path: Path, events: int, batch: int = 10_000) -> None:
    path.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    spec = AUDITED["canned_responses"]
    clerk = Actor("person", "U0CLERK", "Town Clerk")
    now = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
    for start in range(1, events + 1, batch):
        rows = [
            {
                "id": n,
                "key": f"reply-{n}",
                "version": 1,
                "title": f"Standard reply {n}",
                "body": BODY,
                "created_by": "U0CLERK",
                "created_at": now,
            }
            for n in range(start, min(start + batch, events + 1))
        ]
        with engine.begin() as connection:
            connection.execute(insert(spec.table), rows)
            drafts = [
                EventDraft(
                    clerk, "created", spec.name, row["id"], snapshot(spec, row, spec.columns)
                )
                for row in rows
            ]
            append_events(connection, drafts, now)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/audit-bench.db"))
    parser.add_argument("--reuse", action="store_true", help="verify an existing database")
    args = parser.parse_args()
    if not args.reuse:
        started = time.perf_counter()
        build(args.db, args.events)
        print(f"built {args.events:,} rows and events in {time.perf_counter() - started:.1f} s")
    engine = make_engine(f"sqlite:///{args.db}")
    started = time.perf_counter()
    report = verify(engine)
    elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"verified {report.events:,} events and {sum(report.rows_checked.values()):,} rows "
        f"in {elapsed:.1f} s ({report.events / elapsed:,.0f} events/s); ok={report.ok}; "
        f"peak RSS {peak_mib:.0f} MiB; database {args.db.stat().st_size / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main()
