"""What ``smat-bot run`` sets up around the bot: logging, the readiness probe, the metrics port."""

from __future__ import annotations

import gc
import logging
import threading
from typing import Any

from bot.container import Container
from bot.logs import configure_logging
from bot.readiness import ReadinessProbe
from config.settings import Settings

log = logging.getLogger(__name__)


def configure_run_logging(settings: Settings) -> None:
    """Log in the configured format, redacting the configured secrets as well as known shapes."""
    slack = settings.slack
    secrets = [
        value.get_secret_value()
        for value in (slack.bot_token, slack.signing_secret, slack.app_token)
        if value is not None
    ]
    configure_logging(settings.operations.log_format, logging.INFO, secrets=secrets)


def freeze_start_up_objects() -> int:
    """Put everything loaded at start-up out of the garbage collector's reach; return how many.

    The model, tokenizer, language models and libraries leave about half a million long-lived
    Python objects, and every full collection walks all of them: about 150-300 ms on 2 cores,
    during which no request thread runs, so a click that arrives then waits. Frozen objects are
    never collected (they live as long as the process anyway) and are not walked again.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def readiness_probe(container: Container) -> ReadinessProbe:
    """The /readyz checks for this process: its database, its Slack token, its classifier."""
    return ReadinessProbe(
        container.engine,
        container.slack_client,
        lambda: container.classifier_loaded,
        cache_seconds=container.settings.operations.slack_auth_cache_seconds,
    )


def serve_operations_port(container: Container, host: str, port: int) -> Any:
    """Serve /healthz, /readyz and /metrics on their own port in a background thread.

    For Socket Mode, which has no HTTP server of its own. Returns the server (``close()`` it).
    """
    from waitress.server import create_server

    from bot.web import create_operations_app

    server = create_server(
        create_operations_app(container.sessions, readiness_probe(container)),
        host=host,
        port=port,
        threads=2,
    )
    threading.Thread(target=server.run, name="operations-http", daemon=True).start()
    log.info("serving /healthz, /readyz and /metrics on %s:%d", host, port)
    return server
