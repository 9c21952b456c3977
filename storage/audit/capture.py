"""Session hooks that turn every committed change to an audited table into log events.

Services need not know about the log: each flush notes which audited rows were inserted,
changed (in an audited column) or deleted, and just before the transaction commits the rows are
read back as the database now holds them and appended to the chain, in that same transaction.
So a change and its event commit together or not at all, and the snapshot is exactly what a
later ``smat-bot audit verify`` will read. Only the final state of a row within one transaction
is logged; a row inserted and rolled back inside a savepoint leaves no event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Delete, Table, Update, event, insert, inspect, select
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    UOWTransaction,
    sessionmaker,
)

from storage.audit.chain import EventDraft, append_events, read_rows, snapshot
from storage.audit.registry import (
    AUDITED,
    CREATED,
    DELETED,
    PERSON,
    SYSTEM,
    UPDATED,
    Actor,
    AuditedTable,
    Change,
)
from storage.models import Base, Member

CLOCK_KEY = "smat_audit_clock"
_PENDING_KEY = "smat_audit_pending"
_ACTOR_KEY = "smat_audit_actor"
_NOTED_INSERT = "smat_audit_noted_insert"
"""Marks the one bulk INSERT into an audited table the log sees: ``insert_logged``'s."""

MEMBERS = cast(Table, Member.__table__)


class AuditBypass(RuntimeError):
    """A write that the log could not see (a bulk INSERT into an audited table)."""


@dataclass
class _Pending:
    """What this transaction changed so far, in order of first change."""

    rows: dict[tuple[str, int], Change] = field(default_factory=dict)
    extra: list[EventDraft] = field(default_factory=list)

    def note(self, table: str, row_id: int, kind: str, columns: frozenset[str]) -> None:
        key = (table, row_id)
        earlier = self.rows.get(key)
        if earlier is None:
            self.rows[key] = Change(kind, columns)
        else:  # the first kind says whether the row existed before this transaction
            self.rows[key] = Change(earlier.kind, earlier.columns | columns)


def install(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
    """Log every change to an audited table made through sessions from this factory."""
    sessions.kw.setdefault("info", {})[CLOCK_KEY] = clock
    event.listen(sessions, "after_flush", _after_flush)
    event.listen(sessions, "do_orm_execute", _do_orm_execute)
    event.listen(sessions, "before_commit", _before_commit)
    event.listen(sessions, "after_transaction_end", _after_transaction_end)


def acting_as(session: Session, actor: Actor) -> None:
    """Credit this transaction's changes to ``actor`` where the rows do not name who acted."""
    session.info[_ACTOR_KEY] = actor


def add_event(session: Session, draft: EventDraft) -> None:
    """Append an event that is not a row change (e.g. new settings) when the transaction commits."""
    _pending(session).extra.append(draft)


def insert_logged(
    session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]], *, key: str
) -> dict[Any, int]:
    """Insert rows into an audited table in one statement; return their ids by ``key``'s value.

    For batches too large to pay for an ORM object each (a bulk import's classifications): the
    new ids are noted here, so at commit the rows are read back and logged exactly as rows added
    with ``session.add()`` are. ``key`` names a column whose values tell the rows apart (the
    order of a multi-row INSERT's RETURNING is not guaranteed, and asking for it costs one
    statement a row on SQLite).
    """
    spec = _spec_of_class(model)
    if spec is None:
        raise ValueError(f"{model.__name__} is not audited: insert its rows directly")
    if len({row[key] for row in rows}) != len(rows):
        raise ValueError(f"{spec.name}: the rows' {key} values must differ to tell their ids")
    if not rows:
        return {}
    table = spec.table
    statement = (
        insert(model).returning(table.c[key], table.c.id).execution_options(**{_NOTED_INSERT: True})
    )
    ids = {value: row_id for value, row_id in session.execute(statement, list(rows))}
    pending = _pending(session)
    for row_id in sorted(ids.values()):
        pending.note(spec.name, row_id, CREATED, frozenset())
    return ids


def _pending(session: Session) -> _Pending:
    pending = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = _Pending()
    assert isinstance(pending, _Pending)
    return pending


def _spec_of(instance: object) -> AuditedTable | None:
    return _spec_of_class(type(instance))


def _spec_of_class(cls: type[Any]) -> AuditedTable | None:
    table = getattr(cls, "__tablename__", None)
    return AUDITED.get(table) if isinstance(table, str) else None


def _spec_of_statement(state: ORMExecuteState) -> AuditedTable | None:
    """The audited table a write statement targets, whether it names the model or its Table."""
    mapper = state.bind_mapper
    if mapper is not None:
        return _spec_of_class(mapper.class_)
    # insert(Model.__table__) and friends carry no mapper; they must not slip past the log.
    name = getattr(getattr(state.statement, "table", None), "name", None)
    return AUDITED.get(name) if isinstance(name, str) else None


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    # new/dirty/deleted still show what this flush wrote, and new rows have their ids now.
    for instance in session.new:
        spec = _spec_of(instance)
        if spec is not None:
            _pending(session).note(spec.name, instance.id, CREATED, frozenset())
    for instance in session.dirty:
        spec = _spec_of(instance)
        if spec is None:
            continue
        state = inspect(instance)
        changed = frozenset(
            name for name in spec.columns if state.attrs[name].history.has_changes()
        )
        if changed:
            _pending(session).note(spec.name, instance.id, UPDATED, changed)
    for instance in session.deleted:
        spec = _spec_of(instance)
        if spec is not None:
            _pending(session).note(spec.name, instance.id, DELETED, frozenset())


def _do_orm_execute(state: ORMExecuteState) -> Any:
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    spec = _spec_of_statement(state)
    if spec is None:
        return None
    if state.is_insert:
        if state.execution_options.get(_NOTED_INSERT):
            return None  # insert_logged notes the new rows' ids itself
        raise AuditBypass(
            f"bulk INSERT into {spec.name} would bypass the decision log; "
            "add the rows with session.add() or insert_logged() instead"
        )
    # Find (and lock) the rows the statement will touch, then note them once it has run.
    table = spec.table
    statement = state.statement
    assert isinstance(statement, Update | Delete)
    where = statement.whereclause
    query = select(table.c.id).with_for_update()
    if where is not None:
        query = query.where(where)
    # The statement's own bound values (a prebuilt statement's bindparam()s) pick the rows.
    values = state.parameters if isinstance(state.parameters, dict) else None
    ids = list(state.session.execute(query, values).scalars())
    result = state.invoke_statement()
    kind = UPDATED if state.is_update else DELETED
    for row_id in ids:
        _pending(state.session).note(spec.name, row_id, kind, frozenset())
    return result


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the events go in when the whole transaction commits
    session.flush()
    pending: _Pending | None = session.info.pop(_PENDING_KEY, None)
    if pending is None or not (pending.rows or pending.extra):
        return
    connection = session.connection()
    drafts = [*_row_drafts(session, pending), *pending.extra]
    if not drafts:
        return
    clock = session.info[CLOCK_KEY]
    append_events(connection, drafts, clock())


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)
        session.info.pop(_ACTOR_KEY, None)


def _row_drafts(session: Session, pending: _Pending) -> list[EventDraft]:
    connection = session.connection()
    by_table: dict[str, list[int]] = {}
    for table, row_id in pending.rows:
        by_table.setdefault(table, []).append(row_id)
    stored = {
        table: read_rows(connection, AUDITED[table], ids, list(AUDITED[table].table.c.keys()))
        for table, ids in by_table.items()
    }
    # Who acted: the row's own record of it, else the transaction's declared actor, else the
    # one person behind the other changes (a preserved record follows its decision), else us.
    planned: list[tuple[AuditedTable, int, str, Any, Actor | None]] = []
    for (table, row_id), change in pending.rows.items():
        spec = AUDITED[table]
        row = stored[table].get(row_id)
        if row is None:
            if change.kind == CREATED:
                continue  # inserted and rolled back within a savepoint: nothing was kept
            planned.append((spec, row_id, DELETED, None, None))
            continue
        kind = CREATED if change.kind == CREATED else UPDATED
        actor = spec.actor(row, Change(kind, change.columns)) if spec.actor else None
        planned.append((spec, row_id, kind, row, actor))
    declared = session.info.get(_ACTOR_KEY)
    people = {a for *_, a in planned if a is not None and a.kind == PERSON}
    fallback = declared or (next(iter(people)) if len(people) == 1 else SYSTEM)
    names = _display_names(session, {a.id for *_, a in planned if a and a.kind == PERSON and a.id})
    drafts: list[EventDraft] = []
    for spec, row_id, kind, row, actor in planned:
        who = _named(actor or fallback, names)
        if row is None:
            drafts.append(EventDraft(who, kind, spec.name, row_id, None))
            continue
        model, thresholds = spec.model_info(connection, row) if spec.model_info else (None, None)
        drafts.append(
            EventDraft(
                who,
                kind,
                spec.name,
                row_id,
                snapshot(spec, row, spec.columns),
                reason_code=spec.reason(row) if spec.reason else None,
                model=model,
                thresholds=thresholds,
            )
        )
    return drafts


def _display_names(session: Session, slack_ids: set[str]) -> dict[str, str]:
    if not slack_ids:
        return {}
    rows = session.connection().execute(
        select(MEMBERS.c.slack_user_id, MEMBERS.c.display_name).where(
            MEMBERS.c.slack_user_id.in_(sorted(slack_ids))
        )
    )
    return {row.slack_user_id: row.display_name for row in rows if row.display_name}


def _named(actor: Actor, names: dict[str, str]) -> Actor:
    if actor.kind == PERSON and actor.id and actor.name == actor.id and actor.id in names:
        return Actor(PERSON, actor.id, names[actor.id])
    return actor
