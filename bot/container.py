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
from bot.records.keys import SigningKeySource
from bot.services.accounts import AccountRegister, SecretResolver
from bot.services.batch_publisher import BatchPublisher
from bot.services.batching import Batcher
from bot.services.block_reminders import BlockReviewNotifier
from bot.services.blocks import REMINDER_KIND, BlockRegister
from bot.services.canned_responses import seed_canned_responses
from bot.services.escalation import EscalationService
from bot.services.escalation_slack import EscalationPublisher
from bot.services.evidence_delivery import EvidenceRequests
from bot.services.executor import Executor
from bot.services.ingest import IngestService
from bot.services.legal_holds import LegalHolds
from bot.services.members import MemberDirectory
from bot.services.outbox import Handler, OutboxDispatcher
from bot.services.pacing import ChannelPacer
from bot.services.polling import Poller
from bot.services.purge import RetentionPurge
from bot.services.review import ReviewService
from bot.services.routing import RouteNotifier
from bot.services.settings_log import record_settings
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
    signing_key: SigningKeySource
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
                onnx_cache=detoxify.onnx_cache,
                announce=self._announce,
            )
        return self._classifier

    @property
    def classifier_loaded(self) -> bool:
        """Whether the classifier has been loaded (readiness: a process without it is not ready)."""
        return self._classifier is not None

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
            escalate=self.escalations().open_automatic,
        )

    def escalations(self) -> EscalationService:
        """Escalations to the Town Clerk: raising them, the Clerk's answers, the reminders."""
        return EscalationService(
            self.sessions, self.members, self.review, self.settings, self.clock
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

    def evidence_requests(self) -> EvidenceRequests:
        """Evidence packs asked for in Slack (the Clerk and Deputy only), sent by DM."""
        return EvidenceRequests(
            self.sessions,
            self.members,
            self.settings,
            self.signing_key,
            self.clock,
            self.slack_client,
        )

    @property
    def holds(self) -> LegalHolds:
        """Legal holds: set, released and listed from Slack or the command line."""
        return LegalHolds(self.sessions, self.members, self.clock)

    @property
    def blocks(self) -> BlockRegister:
        """The blocked-author register and its reviews."""
        return BlockRegister(self.sessions, self.members, self.settings.blocked_authors, self.clock)

    def purge(self) -> RetentionPurge:
        """The retention purge (and its dry run)."""
        return RetentionPurge(self.sessions, self.settings.retention, self.clock)

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
    pacer: ChannelPacer | None = None,
) -> Container:
    """Wire the services for these settings; apply migrations and enrol configured members.

    ``pacer`` paces new Slack messages (built from ``settings.surge`` when not given).
    """
    engine = make_engine(settings.database_url)
    if migrate_database:
        migrate.upgrade(engine)
    sessions = session_factory(engine, clock)
    record_settings(sessions, settings)
    if slack_client is None and settings.slack.configured:
        slack_client = make_web_client(settings.slack)
    accounts = AccountRegister(sessions, clock)
    accounts.sync(settings.accounts)
    members = MemberDirectory(sessions, settings, clock)
    members.enrol_seeds(settings.members)
    blocks = BlockRegister(sessions, members, settings.blocked_authors, clock)
    seed_canned_responses(sessions, settings.canned_responses, clock())
    handlers: dict[str, Handler] = {}
    if slack_client is not None:
        surge = settings.surge
        pacer = pacer or ChannelPacer(surge.posts_per_second, surge.burst, clock=clock)
        batches = BatchPublisher(
            sessions,
            slack_client,
            settings.slack.channels.triage,
            Batcher(sessions, surge, clock),
            pacer,
            settings.council.tz,
            clock,
        )
        publisher = SlackCardPublisher(
            sessions,
            slack_client,
            settings.slack.channels.triage,
            {code: reason.label for code, reason in settings.policy.reason_codes.items()},
            settings.council.tz,
            {code: reason.clause for code, reason in settings.policy.reason_codes.items()},
            enquiry_topics=settings.replies.topics,
            pacer=pacer,
            batches=batches,
        )
        handlers["slack.sync_card"] = publisher.sync_card
        handlers["slack.sync_batch"] = batches.sync_batch
        handlers["slack.account_alert"] = publisher.account_alert
        handlers.update(
            EscalationPublisher(
                sessions,
                slack_client,
                settings,
                EscalationService.timing_for(settings),
                clock,
                pacer=pacer,
            ).handlers()
        )
        handlers["slack.route_note"] = RouteNotifier(
            sessions, slack_client, settings, clock
        ).deliver
        handlers[REMINDER_KIND] = BlockReviewNotifier(sessions, blocks, slack_client, settings).send
        handlers[DIGEST_KIND] = SlackDigestPoster(slack_client).post_digest
        handlers[NOTICE_KIND] = SlackNoticePoster(slack_client).post_notice
    secrets = SecretResolver(settings.secrets_file)
    signing_key = SigningKeySource(settings.records, settings.database_url, secrets, announce)
    if slack_client is not None:
        handlers["slack.evidence_pack"] = EvidenceRequests(
            sessions, members, settings, signing_key, clock, slack_client
        ).deliver
    connector_for = partial(
        build_connector, platforms=settings.platforms, secrets=secrets, clock=clock
    )
    handlers["platform.execute"] = Executor(
        sessions, settings, connector_for, accounts, clock
    ).execute
    outbox = OutboxDispatcher(sessions, handlers, clock)
    review = ReviewService(
        sessions, members, settings.policy, clock, blocks, signing_key=signing_key.get
    )
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
        signing_key=signing_key,
        _classifier=classifier,
        _announce=announce,
    )
