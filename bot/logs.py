"""Log lines as text or JSON, carrying the request or comment they concern, with secrets removed.

``configure_logging`` installs one handler on the root logger. Every line passes through
:func:`redact` (Slack tokens, Meta and Google keys, bearer tokens, ``access_token=`` query
values, and any configured secret given to it), so a token that ends up in an exception message
or a URL is never written out. :func:`log_context` binds ids (``request_id``, ``comment_id``,
``review_item_id``, ``decision_id``...) for the current thread or request; every line logged
inside it carries them.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal, TextIO

REDACTED = "[REDACTED]"

_SECRET_PATTERNS = (
    re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{6,}"),  # Slack bot/user/... tokens
    re.compile(r"\bxapp-[A-Za-z0-9-]{6,}"),  # Slack app-level tokens
    re.compile(r"\bEAA[A-Za-z0-9]{20,}"),  # Meta (Facebook/Instagram) access tokens
    re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"),  # Google API keys
    re.compile(r"\bya29\.[0-9A-Za-z_\-]{20,}"),  # Google OAuth access tokens
    re.compile(r"\bAAAAAAAAAAAAAAAAAAAA[A-Za-z0-9%]{20,}"),  # X app bearer tokens
    re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._~+/=\-]{8,}"),
    re.compile(
        r"(?i)(?<=[?&])(access_token|appsecret_proof|client_secret|key|token|hub\.verify_token)"
        r"=[^&\s\"']+"
    ),
    re.compile(r"(?i)(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password@ in URLs
)

_context: contextvars.ContextVar[Mapping[str, str | int]] = contextvars.ContextVar(
    "smat_log_context", default=MappingProxyType({})
)
_known_secrets: list[str] = []


def add_secrets(values: Iterable[str | None]) -> None:
    """Redact these exact values too (configured tokens and secrets of any shape)."""
    for value in values:
        if value and len(value) >= 6 and value not in _known_secrets:
            _known_secrets.append(value)
    _known_secrets.sort(key=len, reverse=True)  # longest first, so no secret is half-redacted


def redact(text: str) -> str:
    """``text`` with anything that looks like a credential replaced by ``[REDACTED]``."""
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


@contextmanager
def log_context(**ids: str | int | None) -> Iterator[None]:
    """Bind ids to every log line written inside the block (ids of None are left out)."""
    merged = {**_context.get(), **{k: v for k, v in ids.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, str | int]:
    """The ids bound now."""
    return _context.get()


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


def request_id_from(header: str | None) -> str:
    """A load balancer's ``X-Request-Id`` when it is sane, otherwise a fresh id."""
    if header and _REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex[:16]


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A thread pool whose tasks see the submitter's log context (e.g. its request id)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run ``fn`` in a copy of the caller's context."""
        context = contextvars.copy_context()
        return super().submit(context.run, fn, *args, **kwargs)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message [ids]``, redacted."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Format, append the bound ids, then redact the whole line (traceback included)."""
        line = super().format(record)
        ids = current_context()
        if ids:
            first, newline, rest = line.partition("\n")
            line = first + " [" + " ".join(f"{k}={v}" for k, v in ids.items()) + "]"
            line += newline + rest
        return redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, bound ids, error; redacted."""

    def format(self, record: logging.LogRecord) -> str:
        """Build the object; every string in it is redacted."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
            "thread": record.threadName,
        }
        for key, value in current_context().items():
            entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(
    log_format: Literal["text", "json"] = "text",
    level: int = logging.INFO,
    *,
    stream: TextIO | None = None,
    secrets: Iterable[str | None] = (),
    force: bool = False,
) -> logging.Handler | None:
    """Give the root logger one redacting handler in the chosen format (replacing ours).

    Like ``logging.basicConfig``, nothing is added when someone else (an embedding program, a
    test runner) already configured the root logger, unless ``force`` is given.
    """
    add_secrets(secrets)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    if root.handlers and not force:
        return None
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    setattr(handler, _OURS, True)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


_OURS = "_smat_bot_handler"
