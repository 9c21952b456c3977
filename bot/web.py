"""HTTP mode: a small WSGI app serving Bolt's /slack/events and the health endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

MAX_BODY_BYTES = 1_000_000
"""Slack's payloads are far smaller; refuse anything bigger before reading it."""


def create_wsgi_app(slack_app: App, sessions: sessionmaker[Session]) -> WSGIApp:
    """Route /slack/events to Bolt and /healthz to a database check."""
    slack_handler = SlackRequestHandler(slack_app, path="/slack/events")

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _health(sessions, start_response)
        if path == "/slack/events":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length > MAX_BODY_BYTES:
                return _json(start_response, "413 Payload Too Large", {"error": "too large"})
            return slack_handler(environ, start_response)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return application


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
