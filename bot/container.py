"""The composition root: the one place that builds adapters and services from the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.background import Nudge
from bot.clock import Clock, system_clock
from bot.connectors import build_connector
from bot.digest.slack_post import DIGEST_KIND, NOTICE_KIND, SlackDigestPoster, SlackNoticePoster
from bot.services.accounts import AccountRegister, SecretResolver
from bot.services.canned_responses import seed_canned_responses
from bot.services.executor import Executor
from bot.services.ingest import IngestService
from bot.services.members import MemberDirectory
from bot.services.outbox import Handler, OutboxDispatcher
from bot.services.polling import Poller
from bot.services.review import ReviewService
from bot.services.slack_cards import SlackCardPublisher
from bot.services.triage import TriageDesk
from bot.webhooks import WebhookReceiver
from classifiers.base import Classifier
from classifiers.detectors import RuleDetectors
from classifiers.loading import load_classifier
from config.settings import AccountSettings, ConfigError, Settings, SlackSettings
from platforms.base import Connector
from storage import migrate
from storage.db import make_engine, session_factory

if TYPE_CHECKING:
    from bot.digest.reminders import Reminders
    from bot.digest.service import DigestService


def make_web_client(slack: SlackSettings) -> WebClient:
    """A Slack Web API client for the configured base URL (Slack's, a proxy, or a test fake)."""
    token = slack.bot_token.get_secret_value() if slack.bot_token else None
    # Rate limits are not retried here by sleeping: the outbox reschedules the call instead,
    # so a listener thread is never blocked for Retry-After seconds.
    return WebClient(
        token=token,
        base_url=slack.api_url,
        timeout=10,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2)],
    )


@dataclass
class Container:
    """Everything the commands and the Slack app use, built once at start-up."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    members: MemberDirectory
    review: ReviewService
    outbox: OutboxDispatcher
    desk: TriageDesk
    accounts: AccountRegister
    secrets: SecretResolver
    slack_client: WebClient | None
    _classifier: Classifier | None = None
    _detectors: RuleDetectors | None = None
    _announce: Callable[[str], None] = field(default=print)

    @property
    def classifier(self) -> Classifier:
        """The classifier, loaded on first use (loading a model takes seconds and memory)."""
        if self._classifier is None:
            detoxify = self.settings.classifier.detoxify
            self._classifier = load_classifier(
                self.settings.classifier.backend,
                detoxify_model=detoxify.model,
                checkpoint=detoxify.checkpoint,
                huggingface_config_path=detoxify.huggingface_config_path,
                checkpoint_sha256=detoxify.checkpoint_sha256,
                device=detoxify.device,
                optimize=detoxify.optimize,
                announce=self._announce,
            )
        return self._classifier

    def ingest(self) -> IngestService:
        """The ingest pipeline (loads the classifier)."""
        return IngestService(
            self.sessions,
            self.classifier,
            self.settings.policy,
            self.clock,
            self.detectors,
            tz=self.settings.council.tz,
            repeated_text_threshold=self.settings.detectors.spam.repeated_text_threshold,
        )

    @property
    def detectors(self) -> RuleDetectors:
        """The rule detectors, built once (the language models load on first use)."""
        if self._detectors is None:
            self._detectors = RuleDetectors(
                self.settings.detectors, self.settings.policy.pre_election.political_terms
            )
        return self._detectors

    def connector(self, account: AccountSettings) -> Connector:
        """The connector for a registered account."""
        return build_connector(account, self.settings.platforms, self.secrets, self.clock)

    def poller(self) -> Poller:
        """Runs poll cycles for the registered accounts."""
        return Poller(self.sessions, self.accounts, self.connector, self.ingest, self.clock)

    def webhooks(self) -> WebhookReceiver:
        """Receives Facebook and Instagram deliveries; classification follows in the background."""

        def classify_and_deliver() -> None:
            self.ingest().classify_pending()
            self.outbox.deliver_due()

        return WebhookReceiver(
            self.settings.platforms,
            self.secrets,
            self.ingest,
            Nudge(classify_and_deliver, "webhook-classify"),
        )

    def digest(self) -> DigestService:
        """Makes the weekly committee paper and queues it for Slack."""
        # Imported here: matplotlib and ReportLab take a second to import, and only the
        # digest needs them.
        from bot.digest.service import DigestService

        return DigestService(self.sessions, self.settings, self.clock)

    def reminders(self) -> Reminders:
        """The daily SLA reminder and the Clerk's morning summary."""
        from bot.digest.reminders import Reminders

        return Reminders(self.sessions, self.settings, self.clock)

    def account(self, name: str) -> AccountSettings:
        """A registered account by name, or ConfigError listing the known names."""
        for account in self.settings.accounts:
            if account.name == name:
                return account
        known = ", ".join(a.name for a in self.settings.accounts) or "none configured"
        raise ConfigError(f"Unknown account {name!r} (accounts: {known})")


def build(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    classifier: Classifier | None = None,
    slack_client: WebClient | None = None,
    announce: Callable[[str], None] = print,
    migrate_database: bool = True,
) -> Container:
    """Wire the services for these settings; apply migrations and enrol configured members."""
    engine = make_engine(settings.database_url)
    if migrate_database:
        migrate.upgrade(engine)
    sessions = session_factory(engine)
    if slack_client is None and settings.slack.configured:
        slack_client = make_web_client(settings.slack)
    accounts = AccountRegister(sessions, clock)
    accounts.sync(settings.accounts)
    members = MemberDirectory(sessions, settings, clock)
    members.enrol_seeds(settings.members)
    seed_canned_responses(sessions, settings.canned_responses, clock())
    handlers: dict[str, Handler] = {}
    if slack_client is not None:
        publisher = SlackCardPublisher(
            sessions,
            slack_client,
            settings.slack.channels.triage,
            {code: reason.label for code, reason in settings.policy.reason_codes.items()},
            settings.council.tz,
            {code: reason.clause for code, reason in settings.policy.reason_codes.items()},
        )
        handlers["slack.sync_card"] = publisher.sync_card
        handlers["slack.account_alert"] = publisher.account_alert
        handlers[DIGEST_KIND] = SlackDigestPoster(slack_client).post_digest
        handlers[NOTICE_KIND] = SlackNoticePoster(slack_client).post_notice
    secrets = SecretResolver(settings.secrets_file)
    connector_for = partial(
        build_connector, platforms=settings.platforms, secrets=secrets, clock=clock
    )
    handlers["platform.execute"] = Executor(
        sessions, settings, connector_for, accounts, clock
    ).execute
    outbox = OutboxDispatcher(sessions, handlers, clock)
    review = ReviewService(sessions, members, settings.policy, clock)
    return Container(
        settings=settings,
        engine=engine,
        sessions=sessions,
        clock=clock,
        members=members,
        review=review,
        outbox=outbox,
        desk=TriageDesk(review, outbox),
        accounts=accounts,
        secrets=secrets,
        slack_client=slack_client,
        _classifier=classifier,
        _announce=announce,
    )
