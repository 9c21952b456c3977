"""The executor: carries a recorded decision out on the platform, then updates its card.

It is the outbox handler for ``platform.execute``, so it runs after the decision (and, for a
removal, the preserved original) is safely stored, and runs again after a crash or a failure.
Hide, delete and block are idempotent or treat "already done" as done, so running twice is
harmless; a public reply is not, so a reply interrupted mid-call is never posted again blind.
The outcome row says what happened; the card shows it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from bot.clock import Clock
from bot.services.accounts import AccountRegister
from bot.services.outbox import RetryLater, enqueue
from bot.services.review import REPLIES, Action
from config.settings import AccountSettings, ConfigError, Settings
from platforms.base import Action as PlatformAction
from platforms.base import Connector
from platforms.capabilities import REPLIES_REFUSED_WHEN_HIDDEN
from platforms.capabilities import platform_action as platform_action_for
from platforms.errors import (
    AuthExpired,
    Gone,
    Invalid,
    PermissionDenied,
    PlatformError,
    RateLimited,
    Unsupported,
)
from platforms.types import IncomingComment, Platform, Source
from storage.db import reading
from storage.models import (
    Account,
    Author,
    CannedResponseVersion,
    Comment,
    CommentVersion,
    Decision,
    DecisionOutcome,
    OutboxMessage,
    Reply,
)

log = logging.getLogger(__name__)

PLATFORM_ACTION = {
    Action.HIDE: PlatformAction.HIDE,
    Action.UNHIDE: PlatformAction.UNHIDE,
    Action.DELETE: PlatformAction.DELETE,
    Action.BLOCK: PlatformAction.BLOCK,
    Action.UNBLOCK: PlatformAction.UNBLOCK,
    Action.WARN: PlatformAction.REPLY,
    Action.REPLY: PlatformAction.REPLY,
}
WARNING_RESPONSE = "removal_warning"
FINAL = frozenset({"done", "unsupported", "not_connected", "not_needed", "unknown"})
"""Outcomes after which the executor never calls the platform again for that decision."""
AUTH_RETRY = timedelta(minutes=15)
REPLY_FIRST_WAIT = timedelta(seconds=30)
"""How long a hide waits for an earlier reply where replies to hidden comments are refused."""
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class UnfilledPlaceholder(ValueError):
    """A reply still contains a {placeholder}: it must never be posted like that."""


def fill_template(body: str, values: Mapping[str, str | None]) -> str:
    """Fill ``{name}`` placeholders; raise UnfilledPlaceholder naming any left without a value."""
    missing = sorted({name for name in PLACEHOLDER.findall(body) if not values.get(name)})
    if missing:
        raise UnfilledPlaceholder("no value for " + ", ".join("{" + m + "}" for m in missing))
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), body)


class Executor:
    """Performs decisions on platforms through the account's connector."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        connector_for: Callable[[AccountSettings], Connector],
        accounts: AccountRegister,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._connector_for = connector_for
        self._accounts = accounts
        self._clock = clock

    def execute(self, payload: Mapping[str, Any]) -> None:
        """Carry out ``payload["decision_id"]`` and record the outcome (an outbox handler)."""
        decision_id = int(payload["decision_id"])
        with reading(self._sessions) as session:
            outcome = session.scalar(
                select(DecisionOutcome).where(DecisionOutcome.decision_id == decision_id)
            )
            if outcome is not None and outcome.status in FINAL:
                return  # already carried out: a repeat delivery after a crash
            undone_later = session.scalar(
                select(Decision.id).where(Decision.undoes_decision_id == decision_id)
            )
            sending_reply = outcome is not None and outcome.status == "sending"
            job = self._load(session, decision_id)
            target = job[1].undoes_decision_id
            target_done = (
                target is None
                or session.scalar(
                    select(DecisionOutcome.status).where(DecisionOutcome.decision_id == target)
                )
                == "done"
            )
        if undone_later is not None:
            # Undone before it was carried out (e.g. while it waited out a rate limit).
            self._finish(decision_id, "not_needed", "undone before it was carried out")
            return
        if not target_done:
            self._finish(decision_id, "not_needed", "what it undoes was never carried out")
            return
        if sending_reply:
            # A reply was being posted when we crashed or timed out: posting again could
            # put two warnings on the council's page, so a person checks instead.
            self._finish(
                decision_id,
                "unknown",
                "it is not known whether the reply was posted — check on the platform",
            )
            return
        action = Action(job[1].action)
        if action not in PLATFORM_ACTION:
            # Nothing to do on the platform (e.g. an escalation): never call it.
            self._finish(decision_id, "not_needed", "nothing to do on the platform")
            return
        if action in (Action.HIDE, Action.DELETE) and self._reply_still_queued(job[1], job[2]):
            # Instagram refuses replies to hidden comments: the reply decided first goes first.
            raise RetryLater("waiting for the reply to be posted first", REPLY_FIRST_WAIT.seconds)
        if action in REPLIES:
            what = "the warning" if action is Action.WARN else "the reply"
            self._finish(decision_id, "sending", f"posting {what}", notify=False)
        platform = job[2].platform.value
        try:
            status, detail, ref = self._perform(*job)
        except RateLimited as exc:
            metrics.ACTION_FAILURES.labels(platform, "rate_limited").inc()
            self._finish(decision_id, "failed", f"{exc.detail} — retrying")
            raise RetryLater(str(exc), exc.retry_after) from None
        except (AuthExpired, PermissionDenied) as exc:
            metrics.ACTION_FAILURES.labels(platform, "not_authorised").inc()
            self._accounts.mark_needs_attention(job[0].name, exc.detail, notify_channel=True)
            self._finish(decision_id, "failed", f"{exc.detail} — retrying when fixed")
            raise RetryLater(str(exc), AUTH_RETRY.total_seconds()) from None
        except PlatformError as exc:
            metrics.ACTION_FAILURES.labels(platform, type(exc).__name__).inc()
            if Action(job[1].action) in REPLIES:
                # A timeout may come after the reply was posted: never post it again blind.
                self._finish(
                    decision_id,
                    "unknown",
                    f"{exc.detail} — it is not known whether the reply was posted; "
                    "check on the platform",
                )
                return
            self._finish(decision_id, "failed", f"{exc.detail} — retrying")
            raise
        if status == "failed":
            metrics.ACTION_FAILURES.labels(platform, "refused").inc()
        self._finish(decision_id, status, detail, ref)

    def _load(
        self, session: Session, decision_id: int
    ) -> tuple[AccountSettings | Account, Decision, IncomingComment]:
        decision = session.get_one(Decision, decision_id)
        comment = session.get_one(Comment, decision.comment_id)
        version = session.get_one(CommentVersion, decision.comment_version_id)
        account = session.get_one(Account, comment.account_id)
        author = session.get_one(Author, comment.author_id)
        incoming = IncomingComment(
            platform=Platform(account.platform),
            account=account.external_id,
            external_id=comment.external_id,
            author_id=author.external_id,
            author_name=author.display_name,
            text=version.text,
            created_at=comment.created_at,
            source=Source(version.source),
            permalink=comment.permalink,
            parent_id=comment.parent_external_id,
            post_id=comment.post_external_id,
            post_title=comment.post_title,
            raw=dict(version.raw_payload),
        )
        configured = next((a for a in self._settings.accounts if a.name == account.name), None)
        session.expunge_all()
        return (configured or account), decision, incoming

    def _perform(
        self, account: AccountSettings | Account, decision: Decision, comment: IncomingComment
    ) -> tuple[str, str, str | None]:
        action = Action(decision.action)
        name = comment.platform.display_name
        platform_action = platform_action_for(comment.platform, PLATFORM_ACTION[action])
        if platform_action is None:
            return "unsupported", f"{name} has no way to {action.value} through its API", None
        if not isinstance(account, AccountSettings):
            return (
                "not_connected",
                f"this account is not connected to {name}: do it there by hand",
                None,
            )
        text = None
        if action is Action.WARN:
            try:
                text = self._warning_text(comment)
            except UnfilledPlaceholder as exc:
                return "failed", f"the warning reply was not sent: {exc}", None
        elif action is Action.REPLY:
            text = self._reply_text(decision.id)
            if text is None:
                return "failed", "the reply's text is missing from the record", None
        try:
            connector = self._connector_for(account)
        except ConfigError as exc:
            raise AuthExpired(comment.platform.value, str(exc)) from None
        try:
            result = connector.perform(platform_action, comment, text=text)
        except Unsupported as exc:
            return "unsupported", exc.detail, None
        except Gone as exc:
            if action in (Action.HIDE, Action.DELETE):
                return "done", f"already gone from {name}", None
            # Retrying cannot bring the comment (or the author) back.
            return "failed", f"gone from {name}: {exc.detail}", None
        except Invalid as exc:
            # Our request was refused as wrong: retrying will not help; a person must look.
            return "failed", exc.detail, None
        return "done", result.detail or f"{name} confirmed", result.created_id

    def _reply_text(self, decision_id: int) -> str | None:
        """The words recorded with a reply decision (already filled in and checked)."""
        with reading(self._sessions) as session:
            text = session.scalar(select(Reply.text).where(Reply.decision_id == decision_id))
        return text or None

    def _reply_still_queued(self, decision: Decision, comment: IncomingComment) -> bool:
        """Whether an earlier reply on this item must be posted before it can be hidden."""
        if comment.platform not in REPLIES_REFUSED_WHEN_HIDDEN:
            return False
        with reading(self._sessions) as session:
            earlier = session.scalars(
                select(Decision.id).where(
                    Decision.review_item_id == decision.review_item_id,
                    Decision.id < decision.id,
                    Decision.action.in_([a.value for a in REPLIES]),
                )
            ).all()
            if not earlier:
                return False
            keys = [f"platform.execute:{decision_id}" for decision_id in earlier]
            waiting = session.scalar(
                select(OutboxMessage.id)
                .where(OutboxMessage.idempotency_key.in_(keys), OutboxMessage.status != "done")
                .limit(1)
            )
            return waiting is not None

    def _warning_text(self, comment: IncomingComment) -> str:
        with reading(self._sessions) as session:
            body = session.scalar(
                select(CannedResponseVersion.body)
                .where(CannedResponseVersion.key == WARNING_RESPONSE)
                .order_by(CannedResponseVersion.version.desc())
                .limit(1)
            )
        if body is None:
            raise UnfilledPlaceholder(f"there is no canned response {WARNING_RESPONSE!r}")
        council = self._settings.council
        return fill_template(
            body,
            {
                "council_name": council.name,
                "council_email": council.email,
                "council_phone": council.phone,
                "council_website": council.website,
                "author_name": comment.author_name,
            },
        )

    def _finish(
        self,
        decision_id: int,
        status: str,
        detail: str,
        ref: str | None = None,
        *,
        notify: bool = True,
    ) -> None:
        now: datetime = self._clock()
        with self._sessions.begin() as session:
            outcome = session.scalar(
                select(DecisionOutcome).where(DecisionOutcome.decision_id == decision_id)
            )
            if outcome is None:
                outcome = DecisionOutcome(decision_id=decision_id, attempts=0, updated_at=now)
                session.add(outcome)
            outcome.status = status
            outcome.detail = detail[:2000]
            outcome.platform_ref = ref or outcome.platform_ref
            outcome.attempts += 1
            outcome.updated_at = now
            if not notify:
                return
            item_id = session.get_one(Decision, decision_id).review_item_id
            # The card shows the platform's result; each attempt gets its own update.
            enqueue(
                session,
                kind="slack.sync_card",
                key=f"slack.sync_card:{item_id}:outcome:{decision_id}:{outcome.attempts}",
                payload={"review_item_id": item_id},
                priority=95,
                now=now,
            )
