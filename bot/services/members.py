"""SMAT membership: who may act, in which role, and who changed that.

The Clerk decides who is in SMAT (Biggleswade 6.2, 9). Members with the ``manage_members``
permission (the Clerk and the Deputy Clerk by default) add, re-role and remove members; every
change is a ``MemberEvent`` row, and a change made by the Deputy is flagged for the Clerk's
review. Removal only deactivates the member, so the history stays.

Safety rules, checked in the same transaction that makes the change:

- nobody can remove themselves (stepping down to a lesser role is allowed);
- only a Clerk can appoint a Clerk, or change or remove one;
- the last active Clerk can be neither removed nor demoted.

Every membership change runs with the active managers' rows locked, so two changes (say two
Clerks removing each other) are serialised and cannot leave the council without a Clerk.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import get_args

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from config.settings import MemberSeed, Permission, Role, Settings
from storage.db import reading
from storage.models import Member, MemberEvent

log = logging.getLogger(__name__)

ROLES: tuple[str, ...] = get_args(Role)
"""Every role there is, most senior first."""
CLERK = "clerk"
DEPUTY = "deputy"

ADD = "add"
REACTIVATE = "reactivate"
ROLE_CHANGE = "role_change"
REMOVE = "remove"
"""The ``MemberEvent.change`` values."""

NOT_ALLOWED_MESSAGE = (
    "Sorry — only the Town Clerk and the Deputy Clerk can manage SMAT membership. "
    "Nothing was changed."
)


@dataclass(frozen=True)
class MemberInfo:
    """An active SMAT member."""

    slack_user_id: str
    role: str
    display_name: str


@dataclass(frozen=True)
class MemberRecord:
    """An active member as the membership list shows them: role, and when and by whom added."""

    slack_user_id: str
    role: str
    display_name: str
    added_by: str
    """A Slack user id, or ``config`` for members enrolled from the configuration."""
    added_at: datetime


@dataclass(frozen=True)
class MembershipChange:
    """A change that was made and logged."""

    event_id: int
    change: str
    """``add``, ``reactivate``, ``role_change`` or ``remove``."""
    target_slack_id: str
    target_name: str
    role: str | None
    """The role the target holds now (None once removed)."""
    previous_role: str | None
    """The role the target held before (None if they were not an active member)."""
    actor_slack_id: str
    actor_role: str
    needs_clerk_review: bool
    changed_at: datetime


@dataclass(frozen=True)
class MemberEventInfo:
    """One logged membership change."""

    id: int
    slack_user_id: str
    change: str
    role: str | None
    changed_by: str
    changed_by_role: str
    needs_clerk_review: bool
    reviewed_by: str | None
    changed_at: datetime


class MembershipRefused(Exception):
    """Nothing was changed; ``message`` is polite and safe to show the person who asked."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


_ACTIVE_MEMBER = select(Member.slack_user_id, Member.role, Member.display_name).where(
    Member.slack_user_id == bindparam("user"), Member.active
)
"""Built once: every click and form asks who the person is."""


class MemberDirectory:
    """Looks up members and their permissions; always reads the database, never a stale cache."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, clock: Clock) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock

    def find(self, slack_user_id: str) -> MemberInfo | None:
        """The active member with this Slack id, if any."""
        with reading(self._sessions) as session:
            return self.find_in(session, slack_user_id)

    @staticmethod
    def find_in(session: Session, slack_user_id: str) -> MemberInfo | None:
        """The active member with this Slack id, if any, read in the caller's transaction."""
        row = session.execute(_ACTIVE_MEMBER, {"user": slack_user_id}).first()
        return MemberInfo(*row) if row is not None else None

    def permissions(self, role: str) -> frozenset[Permission]:
        """What the role may do, per the settings."""
        return self._settings.permissions(role)

    def enrol_seeds(self, seeds: Iterable[MemberSeed]) -> int:
        """Add configured members who are not on record yet; return how many were added."""
        added = 0
        now = self._clock()
        with self._sessions.begin() as session:
            for seed in seeds:
                exists = session.scalar(
                    select(Member.id).where(Member.slack_user_id == seed.slack_user_id)
                )
                if exists is not None:
                    continue  # after first start the Clerk manages membership, not the file
                session.add(
                    Member(
                        slack_user_id=seed.slack_user_id,
                        display_name=seed.name,
                        role=seed.role,
                        active=True,
                        added_by="config",
                        added_at=now,
                    )
                )
                added += 1
        if added:
            log.info("enrolled %d SMAT member(s) from the configuration", added)
        return added

    # ------------------------------------------------------------------ managing membership

    def add(
        self, actor_slack_id: str, target_slack_id: str, role: str, display_name: str = ""
    ) -> MembershipChange:
        """Add a member, re-add a former one, or change a member's role; log the change.

        Raises MembershipRefused (and changes nothing) when the actor may not manage members,
        the role is unknown, the Clerk rules forbid it, or the member already holds that role.
        Managers may step down to a lesser role themselves; nobody can promote themselves,
        because only a Clerk can appoint a Clerk and a Deputy is the next role down.
        """
        role = role.strip().lower()
        if role not in ROLES:
            raise MembershipRefused(
                f"That is not a SMAT role. The roles are: {', '.join(ROLES)}.",
                code="unknown_role",
            )
        now = self._clock()
        try:
            with self._sessions.begin() as session:
                actor = self._manager(session, actor_slack_id, f"add {target_slack_id} as {role}")
                target = session.scalar(
                    select(Member).where(Member.slack_user_id == target_slack_id).with_for_update()
                )
                previous_role = target.role if target is not None and target.active else None
                if CLERK in (role, previous_role) and actor.role != CLERK:
                    raise self._refuse(
                        actor_slack_id,
                        "clerk_only",
                        "Only the Clerk can appoint a Clerk or change a Clerk's role.",
                    )
                if previous_role == role:
                    raise MembershipRefused(
                        f"<@{target_slack_id}> is already a SMAT member as {role}; "
                        "nothing was changed.",
                        code="unchanged",
                    )
                if previous_role == CLERK:
                    self._keep_a_clerk(session, actor_slack_id, "demote")
                if target is None:
                    change = ADD
                    target = Member(
                        slack_user_id=target_slack_id,
                        display_name=display_name,
                        role=role,
                        active=True,
                        added_by=actor.slack_user_id,
                        added_at=now,
                    )
                    session.add(target)
                else:
                    change = ROLE_CHANGE if target.active else REACTIVATE
                    if not target.active:
                        target.active = True
                        target.removed_at = None
                        target.added_by = actor.slack_user_id
                        target.added_at = now
                    target.role = role
                    if display_name:
                        target.display_name = display_name
                event = self._log(session, target_slack_id, change, role, actor, now)
                result = self._result(event, target, previous_role)
        except IntegrityError:
            raise MembershipRefused(
                "Someone else changed this membership at the same moment; "
                "nothing was changed by you — please check the list and try again.",
                code="conflict",
            ) from None
        log.info(
            "membership %s: %s is now %s (was %s), by %s (%s)%s",
            result.change,
            target_slack_id,
            role,
            previous_role or "not a member",
            actor_slack_id,
            result.actor_role,
            "; flagged for the Clerk's review" if result.needs_clerk_review else "",
        )
        return result

    def remove(self, actor_slack_id: str, target_slack_id: str) -> MembershipChange:
        """Revoke a member's access (kept on record as inactive); log the change."""
        now = self._clock()
        with self._sessions.begin() as session:
            actor = self._manager(session, actor_slack_id, f"remove {target_slack_id}")
            if target_slack_id == actor.slack_user_id:
                raise self._refuse(
                    actor_slack_id,
                    "self",
                    "You cannot remove yourself from SMAT; please ask the Clerk to do it.",
                )
            target = session.scalar(
                select(Member)
                .where(Member.slack_user_id == target_slack_id, Member.active)
                .with_for_update()
            )
            if target is None:
                raise MembershipRefused(
                    f"<@{target_slack_id}> is not a SMAT member; nothing was changed.",
                    code="not_a_member",
                )
            previous_role = target.role
            if previous_role == CLERK:
                if actor.role != CLERK:
                    raise self._refuse(
                        actor_slack_id, "clerk_only", "Only the Clerk can remove a Clerk."
                    )
                self._keep_a_clerk(session, actor_slack_id, "remove")
            target.active = False
            target.removed_at = now
            event = self._log(session, target_slack_id, REMOVE, None, actor, now)
            result = self._result(event, target, previous_role)
        log.info(
            "membership remove: %s (was %s) removed by %s (%s)%s",
            target_slack_id,
            previous_role,
            actor_slack_id,
            result.actor_role,
            "; flagged for the Clerk's review" if result.needs_clerk_review else "",
        )
        return result

    def list(self, actor_slack_id: str) -> list[MemberRecord]:
        """The active members, most senior role first, for a member who manages membership."""
        with reading(self._sessions) as session:
            self._manager(session, actor_slack_id, "list members", lock=False)
            members = session.scalars(select(Member).where(Member.active)).all()
            records = [
                MemberRecord(m.slack_user_id, m.role, m.display_name, m.added_by, m.added_at)
                for m in members
            ]
        rank = {role: i for i, role in enumerate(ROLES)}
        return sorted(records, key=lambda r: (rank.get(r.role, len(ROLES)), r.added_at))

    def clerk_ids(self) -> builtins.list[str]:
        """The Slack ids of the active Clerks (who review the Deputy's changes)."""
        with reading(self._sessions) as session:
            return list(
                session.scalars(
                    select(Member.slack_user_id)
                    .where(Member.active, Member.role == CLERK)
                    .order_by(Member.id)
                )
            )

    def events_needing_review(
        self, actor_slack_id: str | None = None
    ) -> builtins.list[MemberEventInfo]:
        """Changes flagged for the Clerk's review and not reviewed yet, oldest first.

        With ``actor_slack_id`` (a person asking from Slack), the actor must manage members.
        """
        with reading(self._sessions) as session:
            if actor_slack_id is not None:
                self._manager(session, actor_slack_id, "see changes to review", lock=False)
            events = session.scalars(
                select(MemberEvent)
                .where(MemberEvent.needs_clerk_review, MemberEvent.reviewed_by.is_(None))
                .order_by(MemberEvent.id)
            ).all()
            return [_event_info(event) for event in events]

    def mark_reviewed(self, clerk_slack_id: str, event_id: int) -> MemberEventInfo:
        """The Clerk has reviewed a flagged change; only an active Clerk may say so."""
        with self._sessions.begin() as session:
            actor = self._manager(session, clerk_slack_id, f"review change {event_id}", lock=False)
            if actor.role != CLERK:
                raise self._refuse(
                    clerk_slack_id,
                    "clerk_only",
                    "Only the Clerk can mark a change as reviewed.",
                )
            event = session.get(MemberEvent, event_id)
            if event is None or not event.needs_clerk_review:
                raise MembershipRefused(
                    f"There is no change {event_id} waiting for review.", code="unknown_event"
                )
            claimed = session.execute(
                update(MemberEvent)
                .where(MemberEvent.id == event_id, MemberEvent.reviewed_by.is_(None))
                .values(reviewed_by=actor.slack_user_id)
                .execution_options(synchronize_session=False)
            )
            session.refresh(event)
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise MembershipRefused(
                    f"Change {event_id} was already reviewed by <@{event.reviewed_by}>.",
                    code="already_reviewed",
                )
            info = _event_info(event)
        log.info("membership change %d reviewed by %s", event_id, clerk_slack_id)
        return info

    # ------------------------------------------------------------------ helpers

    def _manager(
        self, session: Session, actor_slack_id: str, attempt: str, *, lock: bool = True
    ) -> Member:
        """The actor, if an active member allowed to manage members; else refuse and log.

        With ``lock``, every active manager's row is locked first (in id order), so membership
        changes are serialised and the Clerk rules are checked against settled data.
        """
        manager_roles = [r for r in ROLES if Permission.MANAGE_MEMBERS in self.permissions(r)]
        query = select(Member).where(Member.active, Member.role.in_(manager_roles))
        if lock:
            query = query.order_by(Member.id).with_for_update()
        managers = {m.slack_user_id: m for m in session.scalars(query)}
        actor = managers.get(actor_slack_id)
        if actor is None:
            log.warning(
                "refused a membership change (%s) by %s: not allowed to manage members",
                attempt,
                actor_slack_id,
            )
            raise MembershipRefused(NOT_ALLOWED_MESSAGE, code="not_allowed")
        return actor

    def _keep_a_clerk(self, session: Session, actor_slack_id: str, what: str) -> None:
        clerks = session.scalar(
            select(func.count()).select_from(Member).where(Member.active, Member.role == CLERK)
        )
        if (clerks or 0) <= 1:
            raise self._refuse(
                actor_slack_id,
                "last_clerk",
                f"You cannot {what} the last Clerk: SMAT must always have a Clerk. "
                "Appoint another Clerk first.",
            )

    @staticmethod
    def _refuse(actor_slack_id: str, code: str, message: str) -> MembershipRefused:
        log.warning("refused a membership change by %s: %s", actor_slack_id, code)
        return MembershipRefused(message, code=code)

    @staticmethod
    def _log(
        session: Session,
        target_slack_id: str,
        change: str,
        role: str | None,
        actor: Member,
        now: datetime,
    ) -> MemberEvent:
        event = MemberEvent(
            slack_user_id=target_slack_id,
            change=change,
            role=role,
            changed_by=actor.slack_user_id,
            changed_by_role=actor.role,
            needs_clerk_review=actor.role == DEPUTY,
            changed_at=now,
        )
        session.add(event)
        session.flush()
        return event

    @staticmethod
    def _result(event: MemberEvent, target: Member, previous_role: str | None) -> MembershipChange:
        return MembershipChange(
            event_id=event.id,
            change=event.change,
            target_slack_id=target.slack_user_id,
            target_name=target.display_name,
            role=event.role,
            previous_role=previous_role,
            actor_slack_id=event.changed_by,
            actor_role=event.changed_by_role,
            needs_clerk_review=event.needs_clerk_review,
            changed_at=event.changed_at,
        )


def _event_info(event: MemberEvent) -> MemberEventInfo:
    return MemberEventInfo(
        id=event.id,
        slack_user_id=event.slack_user_id,
        change=event.change,
        role=event.role,
        changed_by=event.changed_by,
        changed_by_role=event.changed_by_role,
        needs_clerk_review=event.needs_clerk_review,
        reviewed_by=event.reviewed_by,
        changed_at=event.changed_at,
    )
