"""SMAT membership: who may act, in which role."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from config.settings import MemberSeed, Permission, Settings
from storage.models import Member

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemberInfo:
    """An active SMAT member."""

    slack_user_id: str
    role: str
    display_name: str


class MemberDirectory:
    """Looks up members and their permissions; always reads the database, never a stale cache."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, clock: Clock) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock

    def find(self, slack_user_id: str) -> MemberInfo | None:
        """The active member with this Slack id, if any."""
        with self._sessions() as session:
            member = session.scalar(
                select(Member).where(Member.slack_user_id == slack_user_id, Member.active)
            )
            if member is None:
                return None
            return MemberInfo(member.slack_user_id, member.role, member.display_name)

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
