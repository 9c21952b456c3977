"""Facebook and Instagram real-time updates: the verification handshake and signed deliveries.

Deliveries are checked against the app secret over the exact bytes received, stored at once
(classification runs in the background), and may be repeated safely: Meta retries for up to 36
hours and storage drops comments it already has.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.services.accounts import SecretResolver
from bot.services.ingest import IngestService
from config.settings import ConfigError, PlatformSettings
from platforms.types import IncomingComment, Platform

log = logging.getLogger(__name__)

WEBHOOK_PLATFORMS = (Platform.FACEBOOK, Platform.INSTAGRAM)


@dataclass(frozen=True)
class WebhookReply:
    """The HTTP answer to give."""

    status: int
    body: str
    content_type: str = "text/plain"


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``X-Hub-Signature-256`` is the HMAC-SHA256 of the raw body under the app secret."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    # Compare bytes: compare_digest raises TypeError on non-ASCII str, and the header is forged
    # input.
    return hmac.compare_digest(expected, header.removeprefix("sha256=").encode())


class WebhookReceiver:
    """Answers Meta's handshake and stores signed deliveries."""

    def __init__(
        self,
        platforms: PlatformSettings,
        secrets: SecretResolver,
        ingest: Callable[[], IngestService],
        on_stored: Callable[[], None],
    ) -> None:
        self._platforms = platforms
        self._secrets = secrets
        self._ingest = ingest
        self._on_stored = on_stored

    def verify(self, platform: Platform, query: dict[str, str]) -> WebhookReply:
        """The GET handshake: echo hub.challenge when hub.verify_token is ours."""
        ref = getattr(self._platforms, platform.value).verify_token
        try:
            expected = self._secrets.resolve(ref) if ref else None
        except ConfigError as exc:
            log.error("webhook verification for %s impossible: %s", platform.value, exc)
            return WebhookReply(503, "webhook verification is not configured")
        if (
            expected is None
            or query.get("hub.mode") != "subscribe"
            or not hmac.compare_digest(
                query.get("hub.verify_token", "").encode(), expected.encode()
            )
        ):
            return WebhookReply(403, "verification failed")
        return WebhookReply(200, query.get("hub.challenge", ""))

    def deliver(self, platform: Platform, body: bytes, signature: str | None) -> WebhookReply:
        """A POSTed delivery: check the signature, then store what it carries."""
        ref = getattr(self._platforms, platform.value).app_secret
        try:
            secret = self._secrets.resolve(ref) if ref else None
        except ConfigError as exc:
            log.error("webhook deliveries for %s cannot be checked: %s", platform.value, exc)
            return WebhookReply(503, "webhook signing is not configured")
        if secret is None:
            log.error("refused a %s webhook delivery: no app_secret is configured", platform.value)
            return WebhookReply(503, "webhook signing is not configured")
        if not signature_matches(secret, body, signature):
            log.warning("refused a %s webhook delivery with a bad signature", platform.value)
            return WebhookReply(401, "bad signature")
        try:
            payload = json.loads(body)
            comments, removed = _parse(platform, payload)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            log.warning("refused a malformed %s webhook delivery: %s", platform.value, exc)
            return WebhookReply(400, "malformed delivery")
        ingest = self._ingest()
        if comments:
            ingest.store(comments)
        if removed:
            ingest.mark_deleted(platform, removed)
        if comments or removed:
            self._on_stored()
        return WebhookReply(200, "ok")


def _parse(platform: Platform, payload: Any) -> tuple[list[IncomingComment], list[tuple[str, str]]]:
    if not isinstance(payload, dict):
        raise ValueError("delivery is not a JSON object")
    if platform is Platform.FACEBOOK:
        from platforms import facebook

        return facebook.parse_webhook(payload), facebook.removed_comment_ids(payload)
    from platforms import instagram

    return instagram.parse_webhook(payload), []
