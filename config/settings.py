"""One typed settings object, built once from the shipped defaults, SMAT_CONFIG and the environment.

Precedence, highest first: the fixed environment names of the external contract
(``SMAT_DATABASE_URL``, ``SLACK_BOT_TOKEN``, ...), then ``SMAT_<SECTION>__<KEY>`` variables, then
the YAML file named by ``SMAT_CONFIG``, then ``config/defaults.yaml``. Nested sections merge.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date, time
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

CONTRACT_ENV = {
    "SMAT_DATABASE_URL": ("database_url",),
    "SLACK_BOT_TOKEN": ("slack", "bot_token"),
    "SLACK_SIGNING_SECRET": ("slack", "signing_secret"),
    "SLACK_APP_TOKEN": ("slack", "app_token"),
    "SLACK_API_URL": ("slack", "api_url"),
}
"""Environment names that are part of the product's contract, and the setting each fills."""

ENV_FOR_SETTING = {".".join(path): env for env, path in CONTRACT_ENV.items()}


class ConfigError(Exception):
    """A missing or invalid setting; the message is one line naming it."""


class Permission(StrEnum):
    """What a role allows."""

    DECIDE = "decide"
    APPROVE_REMOVAL = "approve_removal"
    MANAGE_MEMBERS = "manage_members"
    VIEW = "view"
    EDIT_RESPONSES = "edit_responses"
    """Edit the library of standard replies (the Clerk and the Deputy Clerk by default)."""


Role = Literal["clerk", "deputy", "smat", "viewer"]
DetoxifyModel = Literal["original", "unbiased", "multilingual", "original-small", "unbiased-small"]


class _Section(BaseModel):
    # Unknown keys are almost always typos in a council's YAML; refuse them by name.
    model_config = ConfigDict(extra="forbid", frozen=True)


class CouncilSettings(_Section):
    """Who the bot works for."""

    name: str = Field(min_length=1)
    timezone: str = "Europe/London"
    email: str | None = None
    phone: str | None = None
    website: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The council's local time zone, for display."""
        return ZoneInfo(self.timezone)


class SlackChannels(_Section):
    """Where the bot posts."""

    triage: str = Field(min_length=1)
    escalation: str = Field(min_length=1)
    digest: str = Field(min_length=1)


class SlackSettings(_Section):
    """Slack credentials and channels; the tokens are secrets and never printed."""

    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    api_url: str = "https://slack.com/api/"
    channels: SlackChannels

    @field_validator("bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("a bot token starts with 'xoxb-'")
        return value

    @field_validator("app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("an app-level token starts with 'xapp-'")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @property
    def configured(self) -> bool:
        """Whether the bot can talk to Slack's Web API at all."""
        return self.bot_token is not None

    @property
    def socket_mode(self) -> bool:
        """Socket Mode is used whenever an app-level token is given."""
        return self.app_token is not None


class DetoxifySettings(_Section):
    """Which Detoxify model to load and from where."""

    model: DetoxifyModel = "unbiased"
    checkpoint: Path | None = None
    huggingface_config_path: Path | None = None
    checkpoint_sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    device: str | None = None
    optimize: Literal["none", "int8", "onnx-int8"] = "none"
    """``int8``: torch's dynamic int8 quantisation of the Linear layers (CPU only), about 3x
    faster; ``onnx-int8``: an int8 ONNX Runtime model built from the checkpoint on first start
    (CPU only), about 4x faster. Scores drift slightly and the model version records which
    produced them (docs/PERFORMANCE.md)."""
    onnx_cache: Path | None = None
    """Where ``onnx-int8`` keeps the model it builds (default ``~/.cache/smat-bot/onnx``)."""


class ClassifierSettings(_Section):
    """Classifier backend choice."""

    backend: Literal["auto", "detoxify", "profanity-check"] = "auto"
    detoxify: DetoxifySettings = DetoxifySettings()


class PreElectionSettings(_Section):
    """The pre-election period: political content gets a closer look, nothing is hidden for it."""

    start: date | None = None
    end: date | None = None
    political_terms: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or neither")
        if self.start and self.end and self.end < self.start:
            raise ValueError("end is before start")
        return self

    def active(self, day: date) -> bool:
        """Whether the given local date falls inside the period."""
        return self.start is not None and self.end is not None and self.start <= day <= self.end


class WatchListSettings(_Section):
    """Words and names the rule detectors look for (case-insensitive, whole words)."""

    officers: tuple[str, ...] = ()
    """Council officers and staff by name or title (abuse of staff)."""
    councillors: tuple[str, ...] = ()
    safeguarding: tuple[str, ...] = ()
    """Terms suggesting minors or grooming."""
    threats: tuple[str, ...] = ()
    """Phrases of threatened violence."""


class SpamSettings(_Section):
    """When links and repetition look like spam."""

    link_shorteners: tuple[str, ...] = ()
    max_links: int = Field(default=2, ge=1)
    repeated_text_threshold: int = Field(default=3, ge=2)
    """The same text seen this many times (copy-paste campaigns) is flagged as repeated."""


class LanguageSettings(_Section):
    """Languages the classifier covers; comments in any other go to a human."""

    covered: tuple[str, ...] = ("en",)
    candidates: tuple[str, ...] = ()
    """ISO 639-1 codes the detector chooses among (fewer is faster and more accurate)."""
    min_chars: int = Field(default=20, ge=1)
    """Shorter texts are too short to tell reliably and are not flagged."""


class DetectorSettings(_Section):
    """Configuration of the rule detectors."""

    watch_list: WatchListSettings = WatchListSettings()
    spam: SpamSettings = SpamSettings()
    language: LanguageSettings = LanguageSettings()


class ReasonCode(_Section):
    """A policy reason a comment may be removed for, and where the policy says so."""

    label: str = Field(min_length=1)
    clause: str = Field(min_length=1)
    escalate: bool = False
    legislation: tuple[str, ...] = ()


class PolicySettings(_Section):
    """Thresholds and the mapping from scores and detections to policy reasons."""

    thresholds: dict[str, float]
    review_margin: float = Field(default=0.75, gt=0, le=1)
    label_reasons: dict[str, str]
    detection_reasons: dict[str, str] = {}
    review_detections: tuple[str, ...] = ()
    """Detections that call for a person's look but are no reason to remove on their own."""
    reason_codes: dict[str, ReasonCode]
    pre_election: PreElectionSettings = PreElectionSettings()

    @field_validator("thresholds")
    @classmethod
    def _thresholds_are_probabilities(cls, value: dict[str, float]) -> dict[str, float]:
        for label, threshold in value.items():
            if not 0.0 < threshold <= 1.0:
                raise ValueError(f"threshold for {label!r} must be in (0, 1], got {threshold}")
        return value

    @model_validator(mode="after")
    def _reasons_exist(self) -> Self:
        for source in (self.label_reasons, self.detection_reasons):
            for key, code in source.items():
                if code not in self.reason_codes:
                    raise ValueError(f"{key!r} points to unknown reason code {code!r}")
        return self


EscalationReason = Literal[
    "threat", "abuse_of_staff", "safeguarding", "defamation_legal", "press", "complaint", "unsure"
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class WorkingHoursSettings(_Section):
    """When the Town Clerk is at work: reminders count only these hours (council time zone)."""

    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: time = time(9, 0)
    end: time = time(17, 0)
    closed_dates: tuple[date, ...] = ()
    """Bank holidays and other days the council office is shut (YYYY-MM-DD)."""

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock_time(cls, value: object) -> object:
        # Unquoted 17:00 in YAML is the number 1020 (base 60): refuse it rather than guess.
        if isinstance(value, bool | int | float):
            raise ValueError("write the time in quotes as HH:MM, e.g. '17:00'")
        return value

    @model_validator(mode="after")
    def _sensible(self) -> Self:
        if not self.days:
            raise ValueError("days: give at least one working day")
        if self.end <= self.start:
            raise ValueError("end must be after start (a working day cannot cross midnight)")
        return self


class OffenceSettings(_Section):
    """A piece of legislation an escalation can name (Biggleswade Appendix C)."""

    name: str = Field(min_length=1, max_length=75)
    about: str = Field(default="", max_length=75)


class EscalationSettings(_Section):
    """Escalations to the Town Clerk: reminders, the Deputy fallback, and the offence list."""

    working_hours: WorkingHoursSettings = WorkingHoursSettings()
    remind_every_hours: float = Field(default=2, gt=0, le=40)
    """Working hours between reminders to the Clerk until someone acknowledges."""
    deputy_after_hours: float = Field(default=4, gt=0, le=80)
    """Working hours without acknowledgement before the Deputy Clerk is pinged."""
    immediate_reasons: tuple[EscalationReason, ...] = ("threat", "safeguarding")
    """Reasons that reach the Clerk at once, day or night, on the shorter timings below."""
    immediate_remind_every_minutes: int = Field(default=30, ge=5, le=1440)
    immediate_deputy_after_minutes: int = Field(default=30, ge=5, le=1440)
    reason_for_code: dict[str, EscalationReason] = {}
    """Automatic escalations: the escalation reason for each escalating policy reason code."""
    offences: dict[str, OffenceSettings] = {}

    @field_validator("offences")
    @classmethod
    def _offence_keys(cls, value: dict[str, OffenceSettings]) -> dict[str, OffenceSettings]:
        if len(value) > 100:
            raise ValueError("at most 100 offences (Slack's limit on a menu's options)")
        for key in value:
            if not re.fullmatch(r"[a-z0-9_]{1,60}", key):
                raise ValueError(f"offence key {key!r} must be lower-case letters, digits and _")
        return value


class MemberSeed(_Section):
    """A Slack user enrolled at first start."""

    slack_user_id: str = Field(pattern=r"^[UW][A-Z0-9]+$")
    role: Role
    name: str = ""


class CannedResponse(_Section):
    """A standard reply the council uses often."""

    title: str = Field(min_length=1)
    body: str = Field(min_length=1)


RouteKind = Literal["service_request", "complaint", "press"]
"""What an enquiry can be passed on as (St Helens 6.16-6.18)."""
TEMPLATE_NAME = r"^[a-z][a-z0-9_]{0,49}$"
BUILT_IN_VARIABLES = (
    "author_name",
    "council_name",
    "council_email",
    "council_phone",
    "council_website",
)
"""Placeholders every reply can use, filled from the comment and the ``council`` section."""


class EnquiryTopic(_Section):
    """A kind of enquiry recognised by its words, and the standard responses that answer it."""

    label: str = Field(min_length=1, max_length=60)
    keywords: tuple[str, ...] = Field(min_length=1)
    """Words or phrases, matched case-insensitively as whole words."""
    responses: tuple[str, ...] = ()
    """Keys of the standard responses to suggest first, best first."""
    route: RouteKind | None = None
    """Pass it on as this kind (its routing contact is suggested in the Reply form)."""

    @field_validator("keywords")
    @classmethod
    def _keywords_not_blank(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not word.strip() for word in value):
            raise ValueError("a keyword is blank")
        return value


class ReplySettings(_Section):
    """Values for the standard responses' placeholders, and the enquiries they answer."""

    variables: dict[str, str | None] = {}
    """Extra placeholders, e.g. ``highways_url``; one left empty blocks any reply using it."""
    topics: dict[str, EnquiryTopic] = {}

    @field_validator("variables")
    @classmethod
    def _variable_names(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        for name in value:
            if not re.match(TEMPLATE_NAME, name):
                raise ValueError(f"{name!r} is not a placeholder name (lower case and _)")
            if name in BUILT_IN_VARIABLES:
                raise ValueError(f"{name!r} comes from the council section; set it there")
        return value


SLACK_CONTACT = r"^(#[a-z0-9_\-]{1,80}|[CGUW][A-Z0-9]{2,})$"
"""A Slack channel by name or id, or a Slack user id."""


class RouteSettings(_Section):
    """Where an enquiry of one kind is passed on to, and the response that tells the resident."""

    label: str = Field(min_length=1, max_length=60)
    contact: str | None = Field(default=None, pattern=SLACK_CONTACT)
    """A Slack channel (``#contact-centre`` or its id ``C…``) or a person (``U…``) to tell."""
    response: str | None = None
    """Key of the standard response suggested when passing it on."""


SECRET_REF = r"^(env|file):[A-Za-z0-9_.\-]+$"  # noqa: S105 - a pattern, not a secret
"""Where a secret lives: ``env:NAME`` (an environment variable) or ``file:KEY`` (secrets file)."""


class PlatformEndpoint(_Section):
    """How to reach one platform's API, and the secrets its webhooks are checked with."""

    api_url: str
    api_version: str | None = None
    app_secret: str | None = Field(default=None, pattern=SECRET_REF)
    """Reference to the app secret that signs webhook deliveries (X-Hub-Signature-256)."""
    verify_token: str | None = Field(default=None, pattern=SECRET_REF)
    """Reference to the token Meta echoes in the webhook verification handshake."""

    @field_validator("api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"


class PlatformSettings(_Section):
    """API endpoints per platform (configurable for proxies and tests)."""

    facebook: PlatformEndpoint
    instagram: PlatformEndpoint
    youtube: PlatformEndpoint
    x: PlatformEndpoint


class AccountSettings(_Section):
    """One council account in the register."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,62}$")
    platform: Literal["facebook", "instagram", "youtube", "x"]
    id: str = Field(min_length=1)
    """The account's id on the platform: Page id, Instagram user id, channel id, X user id."""
    display_name: str = Field(min_length=1)
    token: str = Field(pattern=SECRET_REF)
    """Reference to the access token (never the token itself)."""
    poll_minutes: int = Field(default=10, ge=1, le=1440)
    lookback_days: int = Field(default=14, ge=1, le=365)


class PollingSettings(_Section):
    """How scheduled polling behaves."""

    enabled: bool = True
    jitter_seconds: int = Field(default=30, ge=0, le=3600)


class OperationsSettings(_Section):
    """How the bot runs as a service: logs, metrics, readiness and the scheduler's leader."""

    log_format: Literal["text", "json"] = "text"
    """``json``: one JSON object per log line (for a log collector); ``text`` for a terminal."""
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """Socket Mode only: serve /metrics, /healthz and /readyz on this port (HTTP mode serves
    them on its own port)."""
    leader_retry_seconds: float = Field(default=10.0, gt=0, le=300)
    """PostgreSQL: how often a standby process tries to take over the scheduled jobs, and how
    often the leader checks it still holds them."""
    slack_auth_cache_seconds: float = Field(default=60.0, ge=0, le=3600)
    """How long /readyz trusts its last Slack ``auth.test`` answer."""


class RecordsSettings(_Section):
    """How preserved records and evidence packs are signed."""

    signing_key: str | None = Field(default=None, pattern=SECRET_REF)
    """Reference to the HMAC key (``env:NAME`` or ``file:KEY``); at least 32 characters."""
    key_file: Path | None = None
    """Where to keep a generated key when ``signing_key`` is not set (default: beside the
    SQLite database); created with a random key, readable only by the bot's user."""


ESCALATION_REASONS = (
    "threat",
    "abuse_of_staff",
    "safeguarding",
    "defamation_legal",
    "press",
    "complaint",
    "unsure",
)
"""Why a comment can be put before the Clerk (the ``escalations.reason`` values)."""
CORE_RETENTION_CLASSES = ("approved_comment", "removed_comment")
"""Classes every configuration must have: every decided comment falls into one of them."""
_LOCAL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class RetentionClass(_Section):
    """How long one kind of record is kept, and what happens to it then."""

    days: int = Field(ge=1, le=36_500)
    action: Literal["anonymise", "delete"] = "anonymise"
    description: str = ""


class RetentionSettings(_Section):
    """Retention classes, how comments map to them, and when the purge runs."""

    purge_enabled: bool = True
    """Whether the daily scheduled purge runs (``smat-bot retention purge`` always can)."""
    purge_at: str = Field(default="03:30", pattern=_LOCAL_TIME)
    """Local time (HH:MM) of the daily purge."""
    batch_size: int = Field(default=200, ge=1, le=5_000)
    classes: dict[str, RetentionClass]
    evidence_by_escalation: dict[str, str] = {}
    """Escalation reason -> the evidence class its comment is kept under."""
    evidence_by_outcome: dict[str, str] = {}
    """Escalation outcome -> evidence class (e.g. referred to the police: criminal)."""
    evidence_by_reason_code: dict[str, str] = {}
    """Removal reason code -> evidence class, for removals never escalated."""

    @model_validator(mode="after")
    def _classes_exist(self) -> Self:
        missing = [name for name in CORE_RETENTION_CLASSES if name not in self.classes]
        if missing:
            raise ValueError(f"classes: missing class(es) {', '.join(missing)}")
        for field in ("evidence_by_escalation", "evidence_by_outcome", "evidence_by_reason_code"):
            for key, name in getattr(self, field).items():
                if name not in self.classes:
                    raise ValueError(f"{field}: {key!r} points to unknown class {name!r}")
        unknown = sorted(set(self.evidence_by_escalation) - set(ESCALATION_REASONS))
        if unknown:
            raise ValueError(f"evidence_by_escalation: unknown escalation reason {unknown[0]!r}")
        return self


class BlockRegisterSettings(_Section):
    """The blocked-author register: when a block is reviewed, and when the Clerk is reminded."""

    review_after_days: int = Field(default=182, ge=7, le=3_650)
    """A block, or a review that kept it, sets the next review this many days later."""
    remind_at: str = Field(default="09:00", pattern=_LOCAL_TIME)
    """Local time (HH:MM) of the daily check for reviews that have fallen due."""


class SurgeSettings(_Section):
    """How cards reach Slack when comments arrive faster than Slack takes new messages."""

    posts_per_second: float = Field(default=1.0, gt=0, le=10)
    """New messages per second per channel (Slack takes about one a second)."""
    burst: int = Field(default=20, ge=1, le=100)
    """New messages sent at once before the per-second pace applies (Slack allows short bursts)."""
    batch_backlog: int = Field(default=30, ge=1)
    """Clean comments waiting for their own card in a channel beyond which they are batched."""
    batch_size: int = Field(default=10, ge=2, le=20)
    """Clean comments per batch card (each with its own line and Review separately button)."""


WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BankHolidays = Literal["none", "england", "wales", "scotland", "northern_ireland"]


def _clock_time(value: object) -> object:
    # YAML reads 9:30 unquoted as a number (sexagesimal); say how to write it instead.
    if not isinstance(value, str):
        raise ValueError('write the time as a quoted 24-hour HH:MM string, e.g. "08:00"')
    return value


class DigestSettings(_Section):
    """The weekly committee paper: when it is made, where it goes, and what it counts."""

    enabled: bool = True
    day: Weekday = "mon"
    """The day the paper for the previous ISO week is made and posted (council time)."""
    time: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    channel: str | None = None
    """The Slack channel it is posted to (default: slack.channels.digest)."""
    out_dir: Path = Path("digests")
    """Where the paper (HTML, PDF), the CSV appendix and the charts are saved."""
    committee: str = Field(default="Finance & General Purposes Committee", min_length=1)
    target_working_days: int = Field(default=2, ge=1, le=30)
    """A comment should have a first action within this many working days (notice served)."""
    bank_holidays: BankHolidays = "england"
    """Which UK bank holidays are not working days (Monday to Friday always are, otherwise)."""
    name_officers: bool = False
    """Name SMAT officers in the paper; by default they appear by role only."""
    blocked_review_months: int = Field(default=6, ge=1, le=60)
    """A block is reviewed this many months after it was made."""

    _time_is_text = field_validator("time", mode="before")(_clock_time)


class SlaSettings(_Section):
    """Reminders so that no resident's report goes unanswered."""

    reminders: bool = True
    """Post the items older than digest.target_working_days in the triage channel."""
    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    time: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    clerk_summary: bool = True
    """A morning message to the Town Clerk listing open escalations."""
    clerk_summary_time: str = Field(default="08:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    _times_are_text = field_validator("time", "clerk_summary_time", mode="before")(_clock_time)

    @field_validator("days")
    @classmethod
    def _some_days(cls, value: tuple[Weekday, ...]) -> tuple[Weekday, ...]:
        if not value:
            raise ValueError("name at least one day, or set reminders: false")
        return value


class Settings(BaseSettings):
    """Everything SMAT Bot is configured with; built once by ``load_settings``."""

    model_config = SettingsConfigDict(
        env_prefix="SMAT_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    council: CouncilSettings
    database_url: str = Field(min_length=1)
    slack: SlackSettings
    classifier: ClassifierSettings = ClassifierSettings()
    policy: PolicySettings
    roles: dict[Role, tuple[Permission, ...]]
    members: tuple[MemberSeed, ...] = ()
    canned_responses: dict[str, CannedResponse] = {}
    replies: ReplySettings = ReplySettings()
    routing: dict[RouteKind, RouteSettings] = {}
    detectors: DetectorSettings = DetectorSettings()
    platforms: PlatformSettings
    accounts: tuple[AccountSettings, ...] = ()
    secrets_file: Path | None = None
    polling: PollingSettings = PollingSettings()
    escalation: EscalationSettings = EscalationSettings()
    operations: OperationsSettings = OperationsSettings()
    records: RecordsSettings = RecordsSettings()
    retention: RetentionSettings
    blocked_authors: BlockRegisterSettings = BlockRegisterSettings()
    surge: SurgeSettings = SurgeSettings()
    digest: DigestSettings = DigestSettings()
    sla: SlaSettings = SlaSettings()

    @model_validator(mode="after")
    def _account_names_unique(self) -> Self:
        names = [account.name for account in self.accounts]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"accounts: duplicate account name(s): {', '.join(duplicates)}")
        return self

    @model_validator(mode="after")
    def _escalation_codes_known(self) -> Self:
        for code in self.escalation.reason_for_code:
            if code not in self.policy.reason_codes:
                raise ValueError(
                    f"escalation.reason_for_code: {code!r} is not a policy reason code"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Layer the sources: contract env names > SMAT_* env > SMAT_CONFIG > shipped defaults."""
        return (
            init_settings,
            _ContractEnvSource(settings_cls),
            env_settings,
            _YamlSource(settings_cls),
        )

    def permissions(self, role: str) -> frozenset[Permission]:
        """What a role may do (an unknown role may do nothing)."""
        return frozenset(self.roles.get(role, ()))  # type: ignore[call-overload]


def _environ() -> Mapping[str, str]:
    return os.environ


class _ContractEnvSource(PydanticBaseSettingsSource):
    """Reads the fixed environment names from the external contract."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ builds the whole mapping

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for env_name, path in CONTRACT_ENV.items():
            value = _environ().get(env_name)
            if value:
                _set_path(found, path, value)
        return found


class _YamlSource(PydanticBaseSettingsSource):
    """The shipped defaults, deep-merged with the council's own YAML file (SMAT_CONFIG)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ builds the whole mapping

    def __call__(self) -> dict[str, Any]:
        defaults_text = resources.files("config").joinpath("defaults.yaml").read_text("utf-8")
        merged: dict[str, Any] = yaml.safe_load(defaults_text)
        user_path = _environ().get("SMAT_CONFIG")
        if user_path:
            merged = deep_merge(merged, read_yaml_config(Path(user_path)))
        return merged


def read_yaml_config(path: Path) -> dict[str, Any]:
    """Read a council's YAML config file, or raise ConfigError naming SMAT_CONFIG."""
    try:
        loaded = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"SMAT_CONFIG: file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"SMAT_CONFIG: cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"SMAT_CONFIG: {path} is not valid YAML{where}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"SMAT_CONFIG: {path} must hold a mapping of settings at the top level")
    return loaded


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Return base updated by override, merging nested mappings instead of replacing them."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _set_path(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def load_settings() -> Settings:
    """Build the settings once, or raise ConfigError with one line naming the bad setting."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """Turn pydantic's report into one line naming the first bad setting (and its env name)."""
    first = exc.errors()[0]
    # Drop pydantic's internal tags (e.g. 'function-after[...]') from the location.
    parts = [str(p) for p in first["loc"] if not str(p).startswith(("function-", "json-"))]
    setting = ".".join(parts) or "settings"
    env_name = ENV_FOR_SETTING.get(setting)
    name = f"{setting} ({env_name})" if env_name else setting
    message = str(first["msg"]).removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"Invalid setting {name}: {message}{suffix}"


def require(value: object, setting: str, why: str) -> None:
    """Raise ConfigError naming the setting when a command needs it and it is missing."""
    if value is None or value == "":
        env_name = ENV_FOR_SETTING.get(setting)
        name = env_name or setting
        raise ConfigError(f"Missing setting {name}: {why}")
