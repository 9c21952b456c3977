"""The Bolt app factory: one app, the same listeners in Socket Mode and in HTTP mode."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from bot.container import Container
from bot.logs import ContextThreadPoolExecutor
from handlers import (
    actions,
    batches,
    commands,
    escalation,
    evidence,
    home,
    records,
    replies,
)

log = logging.getLogger(__name__)


def create_slack_app(container: Container, *, client: WebClient | None = None) -> App:
    """Build the Bolt app with every listener registered (``client`` overrides for tests)."""
    slack = container.settings.slack
    client = client or container.slack_client
    if client is None:
        raise ValueError("Slack is not configured: SLACK_BOT_TOKEN is missing")
    secret = slack.signing_secret.get_secret_value() if slack.signing_secret else ""
    app = App(
        client=client,
        signing_secret=secret,
        # In Socket Mode there is no signature to check; in HTTP mode it is checked on every
        # request and a bad or stale (> 5 minutes) signature gets 401.
        request_verification_enabled=not slack.socket_mode,
        # Listeners run in this pool after the ack; it carries each request's log context over.
        listener_executor=ContextThreadPoolExecutor(
            max_workers=8, thread_name_prefix="slack-listener"
        ),
        logger=logging.getLogger("slack_bolt"),
    )
    actions.register(app, container)
    commands.register(app, container)
    home.register(app, container)
    escalation.register(app, container)
    replies.register(app, container)
    evidence.register(app, container)
    records.register(app, container)
    batches.register(app, container)
    return app
