"""HTTP mode: a small WSGI app serving Bolt's /slack/events, webhooks and the operations endpoints.

``/healthz`` is liveness (the process answers; nothing else is checked, so a database outage
does not get every process restarted), ``/readyz`` is readiness (database, Slack, classifier;
see ``bot.readiness``) and ``/metrics`` is the Prometheus exposition (``bot.metrics``).
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from bot.logs import log_context, request_id_from
from bot.readiness import ReadinessProbe
from bot.slack_gate import envelope_problem
from bot.webhooks import WEBHOOK_PLATFORMS, WebhookReceiver
from platforms.types import Platform

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

MAX_BODY_BYTES = 1_000_000
"""Slack's payloads are far smaller; refuse anything bigger before reading it."""


WEBHOOK_PATHS = {f"/webhooks/{platform.value}": platform for platform in WEBHOOK_PLATFORMS}


def create_wsgi_app(
    slack_app: App,
    sessions: sessionmaker[Session],
    webhooks: WebhookReceiver | None = None,
    readiness: ReadinessProbe | None = None,
) -> WSGIApp:
    """Route /slack/events to Bolt, /webhooks/* to the receiver, and the operations endpoints."""
    slack_handler = SlackRequestHandler(slack_app, path="/slack/events")
    operations = create_operations_app(sessions, readiness)

    def route(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in OPERATIONS_PATHS:
            return operations(environ, start_response)
        if path in WEBHOOK_PATHS and webhooks is not None:
            return _webhook(webhooks, WEBHOOK_PATHS[path], environ, start_response)
        if path == "/slack/events":
            length = _content_length(environ)
            if length is None:
                return _json(start_response, "400 Bad Request", {"error": "bad Content-Length"})
            if length > MAX_BODY_BYTES:
                return _json(start_response, "413 Payload Too Large", {"error": "too large"})
            return _slack(slack_handler, environ, start_response, length)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return _traced(route)


OPERATIONS_PATHS = ("/healthz", "/readyz", "/metrics")


def create_operations_app(
    sessions: sessionmaker[Session] | None, readiness: ReadinessProbe | None
) -> WSGIApp:
    """Serve /healthz (liveness), /readyz (readiness) and /metrics (Prometheus) only."""

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _json(start_response, "200 OK", {"status": "ok"})
        if path == "/readyz" and readiness is not None:
            result = readiness.check()
            status = "200 OK" if result.ready else "503 Service Unavailable"
            return _json(start_response, status, result.as_dict())
        if path == "/metrics":
            data = metrics.exposition(sessions)
            start_response(
                "200 OK",
                [("Content-Type", metrics.CONTENT_TYPE), ("Content-Length", str(len(data)))],
            )
            return [data]
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return application


def _traced(app: WSGIApp) -> WSGIApp:
    """Give each request an id for its log lines, and time it for the metrics."""

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        known = path if path in _TIMED_PATHS else "other"
        started = time.perf_counter()
        with log_context(request_id=request_id_from(environ.get("HTTP_X_REQUEST_ID"))):
            try:
                # Bolt answers once the listener has acked; that is the time Slack waits for.
                return app(environ, start_response)
            finally:
                metrics.SLACK_REQUEST_SECONDS.labels(known).observe(time.perf_counter() - started)

    return application


_TIMED_PATHS = frozenset(("/slack/events", *WEBHOOK_PATHS, *OPERATIONS_PATHS))


def _webhook(
    webhooks: WebhookReceiver,
    platform: Platform,
    environ: dict[str, Any],
    start_response: StartResponse,
) -> Iterable[bytes]:
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "GET":
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        reply = webhooks.verify(platform, query)
    elif method == "POST":
        length = _content_length(environ)
        if length is None:
            return _json(start_response, "400 Bad Request", {"error": "bad Content-Length"})
        if length > MAX_BODY_BYTES:
            return _json(start_response, "413 Payload Too Large", {"error": "too large"})
        body = environ["wsgi.input"].read(length)
        reply = webhooks.deliver(platform, body, environ.get("HTTP_X_HUB_SIGNATURE_256"))
    else:
        return _json(start_response, "405 Method Not Allowed", {"error": "method not allowed"})
    data = reply.body.encode()
    start_response(
        f"{reply.status} {HTTPStatus(reply.status).phrase}",
        [("Content-Type", reply.content_type), ("Content-Length", str(len(data)))],
    )
    return [data]


def _slack(
    slack_handler: SlackRequestHandler,
    environ: dict[str, Any],
    start_response: StartResponse,
    length: int,
) -> Iterable[bytes]:
    """Hand a request to Bolt once its envelope is one Bolt can read without crashing."""
    body = environ["wsgi.input"].read(length)
    problem = envelope_problem(body, environ.get("CONTENT_TYPE", ""))
    if problem:
        log.warning("refused a malformed request to /slack/events: %s", problem)
        return _json(start_response, "400 Bad Request", {"error": problem})
    environ["wsgi.input"] = io.BytesIO(body)
    return slack_handler(environ, start_response)


def _content_length(environ: dict[str, Any]) -> int | None:
    """The request's declared body size, or None when the header is not a plain number."""
    declared = (environ.get("CONTENT_LENGTH") or "0").strip()
    return int(declared) if declared.isascii() and declared.isdigit() else None


def _json(start_response: StartResponse, status: str, body: dict[str, Any]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]
