"""Which tables the log covers, and how to tell who changed a row and why.

Adding a table to the log is one line at the bottom: ``audit(Model)``, with the columns that are
mere bookkeeping (retry counters, Slack message ids) left out so they can change unlogged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, Table, select

from storage.models import (
    Account,
    Base,
    BlockedAuthor,
    BlockReview,
    CannedResponseVersion,
    Classification,
    Decision,
    DecisionOutcome,
    Escalation,
    LegalHold,
    Member,
    MemberEvent,
    PreservedRecord,
    PurgedComment,
    PurgeRun,
    RemovalRequest,
    Reply,
)

PERSON, SYSTEM_KIND = "person", "system"


@dataclass(frozen=True)
class Actor:
    """Who made a change: a person (by Slack id) or the system."""

    kind: str
    id: str | None
    name: str


SYSTEM = Actor(SYSTEM_KIND, None, "SMAT Bot")
CONFIGURATION = Actor(SYSTEM_KIND, None, "SMAT Bot (configuration file)")
CLASSIFIER = Actor(SYSTEM_KIND, None, "SMAT Bot (classifier)")

CREATED, UPDATED, DELETED = "created", "updated", "deleted"


@dataclass(frozen=True)
class Change:
    """What happened to a row in one transaction; ``columns`` is empty when not known."""

    kind: str
    columns: frozenset[str] = frozenset()


Row = Mapping[Any, Any]
ActorRule = Callable[[Row, Change], Actor | None]
ReasonRule = Callable[[Row], str | None]
ModelInfo = tuple[str | None, Mapping[str, Any] | None]
ModelRule = Callable[[Connection, Row], ModelInfo]


@dataclass(frozen=True)
class AuditedTable:
    """A table whose every committed insert, update and delete becomes a log event."""

    model: type[Base]
    exclude: frozenset[str]
    actor: ActorRule | None
    reason: ReasonRule | None
    model_info: ModelRule | None

    # Cached: looked at for every row logged, and a mapped table does not change.
    @cached_property
    def table(self) -> Table:
        """The mapped table."""
        table = self.model.__table__
        assert isinstance(table, Table)
        return table

    @cached_property
    def name(self) -> str:
        """The table's name, as events record it."""
        return self.table.name

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """The columns an event's snapshot holds (all but the excluded), in table order."""
        return tuple(c.name for c in self.table.columns if c.name not in self.exclude)


AUDITED: dict[str, AuditedTable] = {}
"""Audited tables by name."""


def audit(
    model: type[Base],
    *,
    exclude: Iterable[str] = (),
    actor: ActorRule | None = None,
    reason: ReasonRule | None = None,
    model_info: ModelRule | None = None,
) -> None:
    """Put a table under the log. Without ``actor`` the change is credited as explained below.

    A row whose rule gives no actor is credited to the person named by ``acting_as`` for the
    transaction, else to the one person behind the other changes in it (a preserved record
    takes its decision's actor), else to the system.
    """
    table = model.__table__
    assert isinstance(table, Table)
    if "id" not in table.c or not table.c.id.primary_key:
        raise ValueError(f"{table.name}: only tables keyed by an integer id can be audited")
    unknown = set(exclude) - set(table.c.keys())
    if unknown:
        raise ValueError(f"{table.name}: no column(s) {', '.join(sorted(unknown))} to exclude")
    AUDITED[table.name] = AuditedTable(model, frozenset(exclude), actor, reason, model_info)


def person(slack_user_id: str | None) -> Actor | None:
    """The actor a stored Slack id stands for (``config`` and ``system`` are the system)."""
    if not slack_user_id:
        return None
    if slack_user_id == "config":
        return CONFIGURATION
    if slack_user_id == "system":
        return SYSTEM
    return Actor(PERSON, slack_user_id, slack_user_id)


# ---------------------------------------------------------------- rules for the tables below


def _decision_actor(row: Row, change: Change) -> Actor:
    if row["actor_kind"] == "member" and row["actor_slack_id"]:
        return Actor(PERSON, row["actor_slack_id"], row["actor_name"] or row["actor_slack_id"])
    return Actor(SYSTEM_KIND, None, row["actor_name"] or SYSTEM.name)


def _decision_model(connection: Connection, row: Row) -> ModelInfo:
    if row["classification_id"] is None:
        return None, None
    table = Classification.__table__
    assert isinstance(table, Table)
    found = connection.execute(
        select(table.c.model_name, table.c.model_version, table.c.thresholds).where(
            table.c.id == row["classification_id"]
        )
    ).first()
    if found is None:
        return None, None
    return f"{found.model_name} {found.model_version}", found.thresholds


def _classification_model(connection: Connection, row: Row) -> ModelInfo:
    return f"{row['model_name']} {row['model_version']}", row["thresholds"]


def _created_by(column: str) -> ActorRule:
    def rule(row: Row, change: Change) -> Actor | None:
        return person(row[column]) if change.kind == CREATED else None

    return rule


def _removal_request_actor(row: Row, change: Change) -> Actor | None:
    if change.kind == CREATED:
        return person(row["requested_by"])
    return person(row["resolved_by"]) or SYSTEM  # superseded by an edit: nobody resolved it


def _member_event_actor(row: Row, change: Change) -> Actor | None:
    return person(row["changed_by"] if change.kind == CREATED else row["reviewed_by"])


def _escalation_actor(row: Row, change: Change) -> Actor | None:
    if change.kind == CREATED:
        return person(row["escalated_by"])
    if {"outcome", "outcome_by"} & change.columns:
        return person(row["outcome_by"])
    if {"acknowledged_by", "status"} & change.columns:
        return person(row["acknowledged_by"])
    return None


def _legal_hold_actor(row: Row, change: Change) -> Actor | None:
    who = row["set_by"] if change.kind == CREATED else row["released_by"]
    if who and who.startswith("cli:"):
        return Actor(PERSON, None, who.removeprefix("cli:") + " (command line)")
    return person(who)


def _block_actor(row: Row, change: Change) -> Actor | None:
    return person(row["blocked_by"] if change.kind == CREATED else row["unblocked_by"])


def _system(row: Row, change: Change) -> Actor:
    return SYSTEM


def _account_actor(row: Row, change: Change) -> Actor:
    # The register follows the configuration file; only the health status is the bot's own.
    configured = {"name", "platform", "external_id", "display_name", "token_ref"}
    return CONFIGURATION if change.kind == CREATED or configured & change.columns else SYSTEM


def _column(name: str) -> ReasonRule:
    return lambda row: row[name]


# ---------------------------------------------------------------- the audited tables

audit(Decision, actor=_decision_actor, reason=_column("reason_code"), model_info=_decision_model)
audit(
    Classification,
    actor=lambda row, change: CLASSIFIER,
    reason=_column("reason_code"),
    model_info=_classification_model,
)
audit(PreservedRecord)
audit(DecisionOutcome, exclude={"attempts", "updated_at"}, actor=_system)
audit(
    RemovalRequest,
    exclude={"slack_channel", "slack_ts"},
    actor=_removal_request_actor,
    reason=_column("reason_code"),
)
audit(Reply)
audit(
    Escalation,
    exclude={
        "next_reminder_at",
        "reminders_sent",
        "deputy_notified_at",
        "clerk_dm_channel",
        "clerk_dm_ts",
        "channel",
        "channel_ts",
        "updated_at",
    },
    actor=_escalation_actor,
    reason=_column("reason"),
)
audit(Member, actor=_created_by("added_by"))
audit(MemberEvent, actor=_member_event_actor)
audit(CannedResponseVersion, actor=_created_by("created_by"))
audit(Account, exclude={"poll_after"}, actor=_account_actor)
audit(LegalHold, actor=_legal_hold_actor, reason=_column("reason"))
audit(BlockedAuthor, actor=_block_actor, reason=_column("reason_code"))
audit(BlockReview, actor=_created_by("reviewed_by"))
audit(PurgeRun, actor=_system)
audit(PurgedComment, actor=_system)
