"""The library of standard replies, versioned: an edit adds a version, never overwrites one."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.services.members import MemberDirectory
from config.settings import TEMPLATE_NAME, CannedResponse, Permission
from storage.db import reading
from storage.models import CannedResponseVersion

log = logging.getLogger(__name__)


def seed_canned_responses(
    sessions: sessionmaker[Session], responses: Mapping[str, CannedResponse], now: datetime
) -> int:
    """Store the configured responses whose key is not in the library yet; return how many."""
    added = 0
    with sessions.begin() as session:
        known = set(session.scalars(select(CannedResponseVersion.key).distinct()))
        for key, response in responses.items():
            if key in known:
                continue  # once stored, the Clerk edits it in Slack; the file only seeds
            session.add(
                CannedResponseVersion(
                    key=key,
                    version=1,
                    title=response.title,
                    body=response.body,
                    created_by="config",
                    created_at=now,
                )
            )
            added += 1
    return added


KEY_PATTERN = re.compile(TEMPLATE_NAME)
MAX_TITLE = 200
MAX_BODY = 3000
"""Slack's limit on a text input; every platform's reply limit is checked when replying."""
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True)
class ResponseVersion:
    """One version of a standard response, as people see it."""

    key: str
    version: int
    title: str
    body: str
    created_by: str
    """A Slack user id, or ``config`` for the shipped wording."""
    created_at: datetime


class ResponseRefused(Exception):
    """The edit was not saved; ``message`` is safe to show, ``field`` names the form field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


EDIT_NOT_ALLOWED = (
    "Sorry — only the Town Clerk and the Deputy Clerk can edit the standard responses. "
    "Nothing was changed."
)


def placeholders(body: str) -> list[str]:
    """The ``{name}`` placeholders in a text, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(body)))


class ResponseLibrary:
    """Reads the latest standard responses and saves edits as new versions."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        members: MemberDirectory,
        known_variables: Iterable[str],
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._members = members
        self._known = frozenset(known_variables)
        self._clock = clock

    @property
    def known_variables(self) -> frozenset[str]:
        """Placeholder names a response may use."""
        return self._known

    def latest(self) -> list[ResponseVersion]:
        """The current version of every response, by key."""
        with reading(self._sessions) as session:
            newest = (
                select(
                    CannedResponseVersion.key,
                    func.max(CannedResponseVersion.version).label("version"),
                )
                .group_by(CannedResponseVersion.key)
                .subquery()
            )
            rows = session.scalars(
                select(CannedResponseVersion)
                .join(
                    newest,
                    (newest.c.key == CannedResponseVersion.key)
                    & (newest.c.version == CannedResponseVersion.version),
                )
                .order_by(CannedResponseVersion.key)
            ).all()
            return [_view(row) for row in rows]

    def get(self, key: str, version: int | None = None) -> ResponseVersion | None:
        """One response: the given version, or the latest."""
        with reading(self._sessions) as session:
            query = select(CannedResponseVersion).where(CannedResponseVersion.key == key)
            if version is not None:
                query = query.where(CannedResponseVersion.version == version)
            row = session.scalar(query.order_by(CannedResponseVersion.version.desc()).limit(1))
            return _view(row) if row is not None else None

    def history(self, key: str) -> list[ResponseVersion]:
        """Every version of a response, newest first."""
        with reading(self._sessions) as session:
            rows = session.scalars(
                select(CannedResponseVersion)
                .where(CannedResponseVersion.key == key)
                .order_by(CannedResponseVersion.version.desc())
            ).all()
            return [_view(row) for row in rows]

    def require_editor(self, slack_user_id: str) -> None:
        """Raise ResponseRefused unless this person may edit the library."""
        member = self._members.find(slack_user_id)
        if member is None or Permission.EDIT_RESPONSES not in self._members.permissions(
            member.role
        ):
            log.warning("refused a standard-response edit by %s: not allowed", slack_user_id)
            raise ResponseRefused(EDIT_NOT_ALLOWED)

    def check(self, key: str, title: str, body: str) -> None:
        """Raise ResponseRefused (naming the field) if the wording cannot be saved."""
        if not KEY_PATTERN.match(key):
            raise ResponseRefused(
                "Use lower-case letters, digits and _ (starting with a letter), e.g. "
                "`street_lights`.",
                field="key",
            )
        if not title.strip():
            raise ResponseRefused("Give the response a title.", field="title")
        if len(title) > MAX_TITLE:
            raise ResponseRefused(f"Keep the title to {MAX_TITLE} characters.", field="title")
        if not body.strip():
            raise ResponseRefused("Write the response.", field="body")
        if len(body) > MAX_BODY:
            raise ResponseRefused(f"Keep the response to {MAX_BODY:,} characters.", field="body")
        unknown = [name for name in placeholders(body) if name not in self._known]
        if unknown:
            names = ", ".join("{" + name + "}" for name in unknown)
            known = ", ".join("{" + name + "}" for name in sorted(self._known))
            raise ResponseRefused(
                f"Unknown placeholder {names}. Placeholders you can use: {known}.", field="body"
            )

    def save(
        self, actor_slack_id: str, key: str, title: str, body: str, *, expected_version: int
    ) -> ResponseVersion:
        """Save a new version (``expected_version`` 0 for a new response); never overwrite."""
        self.require_editor(actor_slack_id)
        title, body = title.strip(), body.strip()
        self.check(key, title, body)
        now = self._clock()
        try:
            with self._sessions.begin() as session:
                current = session.scalar(
                    select(CannedResponseVersion)
                    .where(CannedResponseVersion.key == key)
                    .order_by(CannedResponseVersion.version.desc())
                    .limit(1)
                )
                latest = current.version if current is not None else 0
                if latest != expected_version:
                    raise _conflict(current, expected_version)
                if current is not None and (current.title, current.body) == (title, body):
                    raise ResponseRefused("Nothing was changed.", field="body")
                row = CannedResponseVersion(
                    key=key,
                    version=latest + 1,
                    title=title,
                    body=body,
                    created_by=actor_slack_id,
                    created_at=now,
                )
                session.add(row)
                session.flush()
                saved = _view(row)
        except IntegrityError:
            # Someone saved the same key at the same moment: theirs stands, this one is refused.
            raise ResponseRefused(
                "Someone saved this response at the same moment; close the form and open it "
                "again to see their version.",
                field="body",
            ) from None
        log.info(
            "standard response %s saved as version %d by %s", key, saved.version, actor_slack_id
        )
        return saved


def _conflict(current: CannedResponseVersion | None, expected_version: int) -> ResponseRefused:
    if expected_version == 0 and current is not None:
        return ResponseRefused(
            f"There is already a response called `{current.key}`; use "
            f"`/smat responses edit {current.key}` to change it.",
            field="key",
        )
    who = current.created_by if current is not None else "someone"
    mention = f"<@{who}>" if re.match(r"^[UW][A-Z0-9]+$", who) else who
    return ResponseRefused(
        f"{mention} changed this response since you opened the form (it is now version "
        f"{current.version if current else 0}). Copy your wording, close the form and open it "
        "again.",
        field="body",
    )


def _view(row: CannedResponseVersion) -> ResponseVersion:
    return ResponseVersion(
        key=row.key,
        version=row.version,
        title=row.title,
        body=row.body,
        created_by=row.created_by,
        created_at=row.created_at,
    )
