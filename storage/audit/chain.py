"""Appending events to the chain: one writer at a time, each event hashed over the one before."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, RowMapping, Table, insert, inspect, select, text

from storage.audit.canonical import (
    GENESIS_HASH,
    Normalised,
    canonical_json,
    event_hash,
    normal,
)
from storage.audit.registry import AUDITED, SYSTEM, Actor, AuditedTable
from storage.models import AuditEvent

EVENTS = cast(Table, AuditEvent.__table__)

CHAIN_LOCK = 0x534D4154  # "SMAT": the PostgreSQL advisory lock that serialises appends
BASELINE = "baseline"
BASELINE_ACTOR = Actor(SYSTEM.kind, None, "SMAT Bot (on record when the log began)")
_CHUNK = 500


@dataclass(frozen=True)
class EventDraft:
    """An event before it has a place in the chain."""

    actor: Actor
    kind: str
    subject_table: str
    subject_id: int | None
    payload: Mapping[str, Any] | None
    reason_code: str | None = None
    model: str | None = None
    thresholds: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Head:
    """The latest event: publish ``seq`` and ``hash`` to pin the log as it stands."""

    seq: int
    hash: str
    occurred_at: datetime | None


def lock_chain(connection: Connection) -> None:
    """Make this transaction the only appender until it ends.

    SQLite needs nothing more: every transaction starts with BEGIN IMMEDIATE (storage/db.py),
    which already admits one writer at a time.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})


def head(connection: Connection) -> Head | None:
    """The latest event, or None while the log is empty."""
    row = connection.execute(
        select(EVENTS.c.seq, EVENTS.c.hash, EVENTS.c.occurred_at)
        .order_by(EVENTS.c.seq.desc())
        .limit(1)
    ).first()
    return None if row is None else Head(row.seq, row.hash, row.occurred_at)


def append_events(connection: Connection, drafts: Sequence[EventDraft], now: datetime) -> int:
    """Append the events in order after the current head; return the last seq (0 if none)."""
    lock_chain(connection)
    latest = head(connection)
    seq, prev = (latest.seq, latest.hash) if latest else (0, GENESIS_HASH)
    rows: list[dict[str, Any]] = []
    for draft in drafts:
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "occurred_at": now,
            "actor_kind": draft.actor.kind,
            "actor_id": draft.actor.id,
            "actor_name": draft.actor.name[:200],
            "kind": draft.kind,
            "subject_table": draft.subject_table,
            "subject_id": draft.subject_id,
            "reason_code": draft.reason_code,
            "model": draft.model[:400] if draft.model else None,
            "thresholds": None if draft.thresholds is None else canonical_json(draft.thresholds),
            "payload": None if draft.payload is None else canonical_json(draft.payload),
            "prev_hash": prev,
        }
        row["hash"] = prev = event_hash(row)
        rows.append(row)
    for start in range(0, len(rows), _CHUNK):
        connection.execute(insert(EVENTS), rows[start : start + _CHUNK])
    return seq


def snapshot(spec: AuditedTable, row: Mapping[Any, Any], columns: Iterable[str]) -> Normalised:
    """The logged form of a row: its audited columns as canonical JSON values.

    Marked as such, so that turning it into an event's JSON does not walk it a second time.
    """
    return Normalised({name: normal(row[name]) for name in columns})


def read_rows(
    connection: Connection, spec: AuditedTable, ids: Sequence[int], columns: Sequence[str]
) -> dict[int, RowMapping]:
    """The stored rows with these ids (as this transaction sees them), by id."""
    table = spec.table
    found: dict[int, RowMapping] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        result = connection.execute(
            select(*(table.c[name] for name in columns)).where(table.c.id.in_(chunk))
        )
        for row in result.mappings():
            found[row["id"]] = row
    return found


def baseline(connection: Connection, now: datetime) -> int:
    """Log every audited row already stored, once, as the log's starting point.

    Run by the migration that creates the log. Only the columns the table has at that moment
    are read, so an older schema upgrading through this step still works.
    """
    inspector = inspect(connection)
    total = 0
    for spec in AUDITED.values():
        if not inspector.has_table(spec.name):
            continue
        present = {column["name"] for column in inspector.get_columns(spec.name)}
        columns = [name for name in spec.columns if name in present]
        for batch in _batches(connection, spec, columns):
            drafts = [
                EventDraft(
                    BASELINE_ACTOR, BASELINE, spec.name, row["id"], snapshot(spec, row, columns)
                )
                for row in batch
            ]
            append_events(connection, drafts, now)
            total += len(drafts)
    return total


def _batches(
    connection: Connection, spec: AuditedTable, columns: Sequence[str]
) -> Iterator[list[RowMapping]]:
    table = spec.table
    last = None
    while True:
        query = select(*(table.c[name] for name in columns)).order_by(table.c.id).limit(_CHUNK)
        if last is not None:
            query = query.where(table.c.id > last)
        batch = list(connection.execute(query).mappings())
        if not batch:
            return
        yield batch
        last = batch[-1]["id"]
