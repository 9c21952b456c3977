"""The account register: council accounts from the settings, their status, and their secrets.

Tokens are never stored in the database and never logged: the register keeps only a
reference (``env:NAME`` or ``file:KEY``) and resolves it at the moment a connector is built.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.services.outbox import enqueue
from config.settings import AccountSettings, ConfigError
from storage.db import reading
from storage.models import Account

log = logging.getLogger(__name__)


class SecretResolver:
    """Resolves ``env:NAME`` and ``file:KEY``; errors name the reference, never a value."""

    def __init__(self, secrets_file: Path | None, environ: Mapping[str, str] | None = None) -> None:
        self._secrets_file = secrets_file
        self._environ = os.environ if environ is None else environ
        self._file_values: dict[str, str] | None = None

    def resolve(self, ref: str) -> str:
        """The secret a reference points to, or ConfigError naming what is missing."""
        kind, _, name = ref.partition(":")
        if kind == "env":
            value = self._environ.get(name)
            if not value:
                raise ConfigError(f"Missing secret {ref}: set the environment variable {name}")
            return value
        if kind == "file":
            value = self._load_file().get(name)
            if not value:
                raise ConfigError(f"Missing secret {ref}: no key {name!r} in secrets_file")
            return value
        raise ConfigError(f"Invalid secret reference {ref!r}: use env:NAME or file:KEY")

    def _load_file(self) -> dict[str, str]:
        if self._file_values is None:
            if self._secrets_file is None:
                raise ConfigError("Missing setting secrets_file: a token refers to file:…")
            self._file_values = read_secrets_file(self._secrets_file)
        return self._file_values


def read_secrets_file(path: Path) -> dict[str, str]:
    """Read a YAML mapping of secrets; refuse a file other users can read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"Invalid setting secrets_file: {path} does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"Invalid setting secrets_file: {path} is readable by other users; "
            f"run `chmod 600 {path}`"
        )
    try:
        loaded = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"Invalid setting secrets_file: cannot read {path} ({type(exc).__name__})"
        ) from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"Invalid setting secrets_file: {path} must be a mapping of key: value")
    return {str(key): str(value) for key, value in loaded.items()}


@dataclass(frozen=True)
class AccountStatus:
    """An account as the register shows it."""

    name: str
    platform: str
    external_id: str
    display_name: str
    status: str
    status_detail: str | None
    configured: bool
    token_ref: str | None


class AccountRegister:
    """Keeps the accounts table in step with the settings and records each account's health."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def sync(self, accounts: Iterable[AccountSettings]) -> None:
        """Add or update configured accounts; adopt rows an import created for the same account."""
        now = self._clock()
        with self._sessions.begin() as session:
            for config in accounts:
                account = session.scalar(select(Account).where(Account.name == config.name))
                if account is None:
                    account = session.scalar(
                        select(Account).where(
                            Account.platform == config.platform, Account.external_id == config.id
                        )
                    )
                if account is None:
                    account = Account(created_at=now, status="active")
                    session.add(account)
                elif account.status == "unregistered":
                    account.status = "active"
                account.name = config.name
                account.platform = config.platform
                account.external_id = config.id
                account.display_name = config.display_name
                account.token_ref = config.token

    def statuses(self, configured_names: set[str]) -> list[AccountStatus]:
        """Every account on record, configured or not, in name order."""
        with reading(self._sessions) as session:
            rows = session.scalars(select(Account).order_by(Account.name)).all()
            return [
                AccountStatus(
                    name=row.name,
                    platform=row.platform,
                    external_id=row.external_id,
                    display_name=row.display_name,
                    status=row.status,
                    status_detail=row.status_detail,
                    configured=row.name in configured_names,
                    token_ref=row.token_ref,
                )
                for row in rows
            ]

    def mark_needs_attention(self, name: str, detail: str, *, notify_channel: bool) -> bool:
        """Flag an account (e.g. its token expired); tell the triage channel once per change."""
        now = self._clock()
        with self._sessions.begin() as session:
            account = session.scalar(select(Account).where(Account.name == name))
            if account is None:
                return False
            if account.status == "needs_attention" and account.status_detail == detail:
                return False  # already flagged for this reason: say nothing on every poll
            account.status = "needs_attention"
            account.status_detail = detail
            account.status_changed_at = now
            if notify_channel:
                enqueue(
                    session,
                    kind="slack.account_alert",
                    key=f"slack.account_alert:{account.id}:{now.isoformat()}",
                    payload={"account": account.name, "detail": detail},
                    priority=90,
                    now=now,
                )
        log.warning("account %s needs attention: %s", name, detail)
        return True

    def mark_healthy(self, name: str) -> None:
        """Clear a needs-attention flag after a successful call."""
        with self._sessions.begin() as session:
            account = session.scalar(select(Account).where(Account.name == name))
            if account is not None and account.status == "needs_attention":
                account.status = "active"
                account.status_detail = None
                account.status_changed_at = self._clock()

    def back_off(self, name: str, until: datetime) -> None:
        """Do not poll this account again before ``until``."""
        with self._sessions.begin() as session:
            account = session.scalar(select(Account).where(Account.name == name))
            if account is not None:
                account.poll_after = until
