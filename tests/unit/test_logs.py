"""Log lines: JSON that parses and carries the ids bound to the request; secrets never written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import (
    REDACTED,
    ContextThreadPoolExecutor,
    add_secrets,
    configure_logging,
    current_context,
    log_context,
    redact,
    request_id_from,
)


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = configure_logging("json", logging.INFO, stream=stream, force=True)
    assert handler is not None
    try:
        yield stream, handler
    finally:
        logging.getLogger().removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(
    "secret",
    [
        "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUv",
        "xoxp-1234567890-0987654321-abcdef",
        "xapp-1-A0SMAT-1234567890-abcdef0123456789",
        "EAAGm0PX4ZCpsBAKZCZB7" + "x" * 40,
        "AIzaSyA-" + "k" * 31,
        "AAAAAAAAAAAAAAAAAAAAA" + "Mx%2Fb" * 8,
    ],
)
def test_known_token_shapes_are_redacted(secret: str) -> None:
    line = redact(f"calling the API with {secret} failed")
    assert secret not in line
    assert REDACTED in line
    assert line.startswith("calling the API with ")


def test_tokens_in_urls_headers_and_connection_strings_are_redacted() -> None:
    text = (
        "GET https://graph.facebook.com/v21.0/me?fields=id&access_token=abc123secret&x=1 "
        "Authorization: Bearer sometoken.value-123 "
        "postgresql://smat:hunter2pass@db:5432/smat"
    )
    line = redact(text)
    for secret in ("abc123secret", "sometoken.value-123", "hunter2pass"):
        assert secret not in line
    assert "access_token=[REDACTED]&x=1" in line
    assert "@db:5432/smat" in line  # where it connects is still useful


def test_configured_secrets_of_any_shape_are_redacted() -> None:
    add_secrets(["8f14e45fceea167a5a36dedd4bea2543", None, ""])
    assert "8f14e45fceea167a5a36dedd4bea2543" not in redact(
        "bad signature with secret 8f14e45fceea167a5a36dedd4bea2543"
    )


def test_json_lines_parse_and_carry_the_bound_ids(
    captured: tuple[io.StringIO, logging.Handler],
) -> None:
    stream, _ = captured
    log = logging.getLogger("smat.test")
    with log_context(request_id="req-1"):
        log.info("outer %s", "line")
        with log_context(comment_id=42, review_item_id=7, ignored=None):
            log.warning("inner line")
    log.info("after")
    outer, inner, after = _lines(stream)
    assert outer["message"] == "outer line"
    assert outer["request_id"] == "req-1"
    assert "comment_id" not in outer
    assert (inner["request_id"], inner["comment_id"], inner["review_item_id"]) == ("req-1", 42, 7)
    assert "ignored" not in inner
    assert inner["level"] == "warning"
    assert inner["logger"] == "smat.test"
    assert "request_id" not in after
    assert str(after["time"]).endswith("+00:00")


def test_a_token_in_an_exception_is_redacted_in_the_traceback(
    captured: tuple[io.StringIO, logging.Handler],
) -> None:
    stream, _ = captured
    try:
        raise RuntimeError("auth failed for xoxb-111-222-secretsecret")
    except RuntimeError:
        logging.getLogger("smat.test").exception("posting failed with %s", "xoxb-333-444-abcdef")
    (line,) = _lines(stream)
    assert "xoxb" not in json.dumps(line)
    assert "RuntimeError" in str(line["error"])


def test_text_lines_show_the_ids_and_are_redacted() -> None:
    stream = io.StringIO()
    handler = configure_logging("text", logging.INFO, stream=stream, force=True)
    assert handler is not None
    try:
        with log_context(request_id="abc"):
            logging.getLogger("smat.test").info("token xapp-1-A0-123-abcdef in use")
    finally:
        logging.getLogger().removeHandler(handler)
    line = stream.getvalue().strip()
    assert line.endswith("[request_id=abc]")
    assert "xapp-" not in line


def test_listener_threads_see_the_request_context() -> None:
    with ContextThreadPoolExecutor(max_workers=1) as pool, log_context(request_id="r-9"):
        seen = pool.submit(lambda: dict(current_context())).result()
    assert seen == {"request_id": "r-9"}


def test_request_ids_come_from_the_load_balancer_only_when_sane() -> None:
    assert request_id_from("lb-4f2a.17") == "lb-4f2a.17"
    generated = request_id_from("bad id\nwith newline")
    assert generated != "bad id\nwith newline"
    assert len(generated) == 16
    assert request_id_from(None) != request_id_from(None)


def test_an_embedding_program_keeps_its_own_logging() -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    try:
        assert configure_logging("json") is None
        assert foreign in root.handlers
    finally:
        root.removeHandler(foreign)
