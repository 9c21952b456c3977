"""Checking the log: the chain from the first event to the head, then every audited row.

Both passes stream (a million events need little memory) inside one read-only transaction, so
they see one consistent state of the database while the bot keeps working.

1. Chain: seq runs 1, 2, 3 ... with no gap (a gap means events were removed); each event's hash
   matches its contents (else it was altered or forged); each ``prev_hash`` is the hash of the
   event before (else an event was inserted, or one was altered and re-hashed).
2. Rows: each audited row matches the snapshot in its latest event, a row with no event was
   added behind the log's back, and a logged row that is gone was deleted behind its back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, and_, exists, inspect, select
from sqlalchemy.orm import aliased

from storage.audit.canonical import GENESIS_HASH, HASHED_FIELDS, event_hash, normal
from storage.audit.chain import EVENTS
from storage.audit.registry import AUDITED, DELETED, AuditedTable
from storage.db import READ_ONLY_SQLITE

ROW_PROBLEMS_LISTED = 50
AUDIT_TABLE = "audit_events"
_STREAM = {"stream_results": True, "yield_per": 2000}


class LogUnavailable(Exception):
    """The database cannot be checked (no log table: not migrated)."""


@dataclass(frozen=True)
class Problem:
    """One thing found wrong, with the event or row it concerns."""

    what: str
    """removed, altered, relinked, anchor, row_altered, row_unlogged or row_removed."""
    message: str
    seq: int | None = None
    table: str | None = None
    row_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "what": self.what,
            "message": self.message,
            "seq": self.seq,
            "table": self.table,
            "row_id": self.row_id,
        }


@dataclass(frozen=True)
class Anchor:
    """A published head (``SEQ:HASH``), e.g. from a council's minutes."""

    seq: int
    hash: str


@dataclass
class Report:
    """What ``verify`` found."""

    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    head_at: datetime | None = None
    chain_problem: Problem | None = None
    anchor_problem: Problem | None = None
    row_problems: list[Problem] = field(default_factory=list)
    row_problem_count: int = 0
    rows_checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Nothing was found wrong."""
        return not (self.chain_problem or self.anchor_problem or self.row_problem_count)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "ok": self.ok,
            "events": self.events,
            "head": {
                "seq": self.head_seq,
                "hash": self.head_hash,
                "occurred_at": self.head_at.isoformat() if self.head_at else None,
            },
            "chain_problem": self.chain_problem.as_dict() if self.chain_problem else None,
            "anchor_problem": self.anchor_problem.as_dict() if self.anchor_problem else None,
            "row_problems": [p.as_dict() for p in self.row_problems],
            "row_problem_count": self.row_problem_count,
            "rows_checked": self.rows_checked,
        }


def verify(engine: Engine, anchor: Anchor | None = None) -> Report:
    """Check the whole chain and every audited row; never writes."""
    options: dict[str, Any] = {READ_ONLY_SQLITE: True}
    if engine.dialect.name == "postgresql":
        options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    with engine.connect().execution_options(**options) as connection, connection.begin():
        tables = set(inspect(connection).get_table_names())
        if AUDIT_TABLE not in tables:
            raise LogUnavailable(
                "this database has no decision log yet; run `smat-bot db upgrade` first"
            )
        report = Report()
        anchor_hash = _check_chain(connection, report, anchor)
        if anchor is not None:
            report.anchor_problem = _check_anchor(report, anchor, anchor_hash)
        for spec in AUDITED.values():
            if spec.name in tables:
                _check_rows(connection, spec, report)
        return report


def _check_chain(connection: Connection, report: Report, anchor: Anchor | None) -> str | None:
    """Walk the chain; record the first problem; return the anchor seq's stored hash."""
    columns = [EVENTS.c[name] for name in (*HASHED_FIELDS, "hash")]
    result = connection.execution_options(**_STREAM).execute(
        select(*columns).order_by(EVENTS.c.seq)
    )
    expected, prev = 1, GENESIS_HASH
    anchor_hash: str | None = None
    for row in result.mappings():
        report.events += 1
        seq = row["seq"]
        report.head_seq, report.head_hash, report.head_at = seq, row["hash"], row["occurred_at"]
        if anchor is not None and seq == anchor.seq:
            anchor_hash = row["hash"]
        if report.chain_problem is not None:
            continue  # keep counting to the head; the first break is what matters
        if seq != expected:
            missing = str(expected) if seq == expected + 1 else f"{expected} to {seq - 1}"
            report.chain_problem = Problem(
                "removed",
                f"event {missing} missing: removed from the log "
                f"(the log goes from event {expected - 1} to event {seq})",
                seq=expected,
            )
        elif event_hash(row) != row["hash"]:
            report.chain_problem = Problem(
                "altered",
                f"event {seq} ({_about(row)}) does not match its hash: its stored contents "
                "were altered, or it was forged",
                seq=seq,
                table=row["subject_table"],
                row_id=row["subject_id"],
            )
        elif row["prev_hash"] != prev:
            report.chain_problem = Problem(
                "relinked",
                f"event {seq} ({_about(row)}) does not follow event {seq - 1}: an event was "
                f"inserted or moved here, or event {seq - 1} was altered and its hash "
                "recomputed",
                seq=seq,
                table=row["subject_table"],
                row_id=row["subject_id"],
            )
        expected, prev = seq + 1, row["hash"]
    return anchor_hash


def _about(row: RowMapping) -> str:
    subject = row["subject_table"]
    if row["subject_id"] is not None:
        subject = f"{subject} #{row['subject_id']}"
    return f"{row['kind']} {subject}"


def _check_anchor(report: Report, anchor: Anchor, stored: str | None) -> Problem | None:
    if anchor.seq > report.head_seq:
        return Problem(
            "anchor",
            f"the published head is event {anchor.seq}, but the log now ends at event "
            f"{report.head_seq}: events were removed from its end",
            seq=anchor.seq,
        )
    if stored is None:
        return Problem(
            "anchor", f"event {anchor.seq}, the published head, is missing", seq=anchor.seq
        )
    if stored != anchor.hash.lower():
        return Problem(
            "anchor",
            f"event {anchor.seq} has hash {stored[:16]}…, but the published head says "
            f"{anchor.hash[:16]}…: the log was rewritten from that point or before "
            "(or the published value was mistyped)",
            seq=anchor.seq,
        )
    return None


def _check_rows(connection: Connection, spec: AuditedTable, report: Report) -> None:
    """Merge the table's rows (by id) with each row's latest event (by subject id)."""
    table = spec.table
    present = {column["name"] for column in inspect(connection).get_columns(spec.name)}
    columns = [name for name in spec.columns if name in present]
    rows = connection.execution_options(**_STREAM).execute(
        select(*(table.c[name] for name in columns)).order_by(table.c.id)
    )
    events = connection.execution_options(**_STREAM).execute(_latest_events(spec.name))
    checked = 0
    row_iter: Iterator[RowMapping] = iter(rows.mappings())
    event_iter: Iterator[RowMapping] = iter(events.mappings())
    row, latest = next(row_iter, None), next(event_iter, None)
    while row is not None or latest is not None:
        if latest is None or (row is not None and row["id"] < latest["subject_id"]):
            assert row is not None
            checked += 1
            _found(
                report,
                Problem(
                    "row_unlogged",
                    f"{spec.name} #{row['id']} is not in the log: it was added to the database "
                    "directly",
                    table=spec.name,
                    row_id=row["id"],
                ),
            )
            row = next(row_iter, None)
        elif row is None or row["id"] > latest["subject_id"]:
            if latest["kind"] != DELETED:
                _found(
                    report,
                    Problem(
                        "row_removed",
                        f"{spec.name} #{latest['subject_id']} was deleted from the database "
                        f"directly (last logged in event {latest['seq']})",
                        seq=latest["seq"],
                        table=spec.name,
                        row_id=latest["subject_id"],
                    ),
                )
            latest = next(event_iter, None)
        else:
            checked += 1
            problem = _compare(spec, columns, row, latest)
            if problem is not None:
                _found(report, problem)
            row, latest = next(row_iter, None), next(event_iter, None)
    report.rows_checked[spec.name] = checked


def _latest_events(table_name: str) -> Any:
    later = aliased(EVENTS)
    return (
        select(EVENTS.c.subject_id, EVENTS.c.seq, EVENTS.c.kind, EVENTS.c.payload)
        .where(
            EVENTS.c.subject_table == table_name,
            EVENTS.c.subject_id.is_not(None),
            ~exists().where(
                and_(
                    later.c.subject_table == EVENTS.c.subject_table,
                    later.c.subject_id == EVENTS.c.subject_id,
                    later.c.seq > EVENTS.c.seq,
                )
            ),
        )
        .order_by(EVENTS.c.subject_id)
    )


def _compare(
    spec: AuditedTable,
    columns: list[str],
    row: RowMapping,
    latest: RowMapping,
) -> Problem | None:
    where = f"{spec.name} #{row['id']}"
    if latest["kind"] == DELETED or latest["payload"] is None:
        return Problem(
            "row_unlogged",
            f"{where} was deleted in event {latest['seq']} but is in the database again: "
            "it was put back directly",
            seq=latest["seq"],
            table=spec.name,
            row_id=row["id"],
        )
    try:
        logged = json.loads(latest["payload"])
    except ValueError:
        logged = None
    if not isinstance(logged, dict):
        return Problem(
            "row_altered",
            f"{where}: the snapshot in event {latest['seq']} is not readable",
            seq=latest["seq"],
            table=spec.name,
            row_id=row["id"],
        )
    # Columns added to the table after the event was written are not in its snapshot.
    differing = [name for name in columns if name in logged and normal(row[name]) != logged[name]]
    if not differing:
        return None
    return Problem(
        "row_altered",
        f"{where} differs from what event {latest['seq']} logged "
        f"({', '.join(differing)}): it was changed in the database directly",
        seq=latest["seq"],
        table=spec.name,
        row_id=row["id"],
    )


def _found(report: Report, problem: Problem) -> None:
    report.row_problem_count += 1
    if len(report.row_problems) < ROW_PROBLEMS_LISTED:
        report.row_problems.append(problem)
