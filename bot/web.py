"""HTTP mode: a small WSGI app serving Bolt's /slack/events and the health endpoint."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

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
    slack_app: App, sessions: sessionmaker[Session], webhooks: WebhookReceiver | None = None
) -> WSGIApp:
    """Route /slack/events to Bolt, /webhooks/* to the receiver and /healthz to a DB check."""
    slack_handler = SlackRequestHandler(slack_app, path="/slack/events")

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _health(sessions, start_response)
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

    return application


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


def _health(sessions: sessionmaker[Session], start_response: StartResponse) -> Iterable[bytes]:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:
        return _json(
            start_response,
            "503 Service Unavailable",
            {"status": "unhealthy", "database": type(exc).__name__},
        )
    return _json(start_response, "200 OK", {"status": "ok", "database": "ok"})


def _json(start_response: StartResponse, status: str, body: dict[str, Any]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]
