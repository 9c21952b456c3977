"""Hostile input at every HTTP edge: whatever arrives, a clear 4xx, no crash, no partial write.

Hypothesis throws generated requests at the real WSGI app (Bolt's /slack/events, the Meta
webhooks, unknown paths) called in-process, with and without valid signatures. The invariants
are the same for every request: the app answers (never a 5xx from our own code), and the
database holds either everything a request carried or nothing of it.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.container import Container, build
from bot.slack_app import create_slack_app
from bot.web import WSGIApp, create_wsgi_app
from storage.models import Comment, CommentVersion, Decision, OutboxMessage
from tests.conftest import SIGNING_SECRET, MakeSettings, slack_overrides
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.slack_requests import sign

PAGE_ID = "104567890123456"
APP_SECRET = "hostile-test-app-secret"
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Answer:
    """What the app answered: the status code and the body."""

    status: int
    body: bytes


def call(
    app: WSGIApp,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    content_length: str | None = None,
    query: str = "",
) -> Answer:
    """Call a WSGI app in-process, as waitress would, and collect its answer."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(body)) if content_length is None else content_length,
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    status: list[str] = []

    def start_response(line: str, _headers: list[tuple[str, str]], *_: Any) -> None:
        status.append(line)

    chunks = b"".join(app(environ, start_response))
    return Answer(int(status[0].split()[0]), chunks)


@pytest.fixture
def bot(
    make_settings: MakeSettings, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[WSGIApp, Container]]:
    monkeypatch.setenv("FACEBOOK_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("INSTAGRAM_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("FACEBOOK_VERIFY_TOKEN", "hostile-test-verify-token")
    monkeypatch.setenv("INSTAGRAM_VERIFY_TOKEN", "hostile-test-verify-token")
    settings_ = make_settings(
        **slack_overrides(fake_slack, ("U0SMAT1", "smat")),
        accounts=[
            {
                "name": "fb-main",
                "platform": "facebook",
                "id": PAGE_ID,
                "display_name": "Example Town Council",
                "token": "env:FB_TOKEN",
            }
        ],
    )
    container = build(settings_, classifier=KeywordClassifier())
    receiver = container.webhooks()
    yield create_wsgi_app(create_slack_app(container), container.sessions, receiver), container
    # Stored deliveries are classified in a background thread: let it finish before the
    # schema it works in is dropped.
    deadline = time.monotonic() + 30
    while any(t.name == "webhook-classify" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "background classification did not finish"
        time.sleep(0.05)
    container.engine.dispose()


def counts(container: Container) -> tuple[int, int, int, int]:
    """Rows that any accepted request would have written."""
    with container.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Comment)) or 0,
            session.scalar(select(func.count()).select_from(CommentVersion)) or 0,
            session.scalar(select(func.count()).select_from(Decision)) or 0,
            session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
        )


def meta_signature(body: bytes) -> str:
    """X-Hub-Signature-256 as Meta computes it."""
    return "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


# --- Generated material --------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=25,
)
# Deliveries shaped like Meta's, with any field replaced by anything: the parser sees plausible
# structure often enough to get past its first checks.
graph_fields = st.sampled_from(
    [
        "item",
        "verb",
        "post_id",
        "comment_id",
        "parent_id",
        "created_time",
        "from",
        "message",
        "id",
        "text",
        "media",
        "username",
    ]
)
change_values = st.dictionaries(graph_fields, json_values | st.just("comment") | st.just("add"))
deliveries = st.fixed_dictionaries(
    {
        "object": st.sampled_from(["page", "instagram", "user", ""]) | json_values,
        "entry": st.lists(
            st.fixed_dictionaries(
                {
                    "id": st.just(PAGE_ID) | json_values,
                    "time": json_values,
                    "changes": st.lists(
                        st.fixed_dictionaries(
                            {"field": st.sampled_from(["feed", "comments"]), "value": change_values}
                        )
                        | json_values,
                        max_size=3,
                    ),
                }
            )
            | json_values,
            max_size=3,
        ),
    }
)


# --- Meta webhooks ----------------------------------------------------------------------------


@FUZZ
@given(delivery=deliveries, platform=st.sampled_from(["facebook", "instagram"]))
def test_any_signed_delivery_is_stored_whole_or_refused_whole(
    bot: tuple[WSGIApp, Container], delivery: dict[str, Any], platform: str
) -> None:
    app, container = bot
    body = json.dumps(delivery, allow_nan=True).encode()
    before = counts(container)
    answer = call(
        app,
        "POST",
        f"/webhooks/{platform}",
        body,
        {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body)},
    )
    assert answer.status in (200, 400), answer
    if answer.status == 400:
        assert counts(container) == before, "a refused delivery wrote something"


@FUZZ
@given(body=st.binary(max_size=400), signature=st.text(max_size=80) | st.none())
def test_unsigned_or_forged_deliveries_are_refused_and_write_nothing(
    bot: tuple[WSGIApp, Container], body: bytes, signature: str | None
) -> None:
    app, container = bot
    before = counts(container)
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        # Headers are Latin-1 on the wire: anything else never reaches the app.
        headers["X-Hub-Signature-256"] = signature.encode("latin-1", "replace").decode("latin-1")
    answer = call(app, "POST", "/webhooks/facebook", body, headers)
    assert answer.status == 401
    assert counts(container) == before


@FUZZ
@given(body=st.binary(max_size=400))
def test_signed_garbage_is_a_400_not_a_crash(bot: tuple[WSGIApp, Container], body: bytes) -> None:
    app, container = bot
    before = counts(container)
    answer = call(
        app, "POST", "/webhooks/facebook", body, {"X-Hub-Signature-256": meta_signature(body)}
    )
    assert answer.status in (200, 400)
    assert answer.status == 200 or counts(container) == before


def test_an_undatable_comment_is_skipped_by_name_and_its_neighbours_stored(
    bot: tuple[WSGIApp, Container], caplog: pytest.LogCaptureFixture
) -> None:
    app, container = bot
    good = {
        "field": "feed",
        "value": {
            "item": "comment",
            "verb": "add",
            "post_id": f"{PAGE_ID}_1",
            "comment_id": f"{PAGE_ID}_1_2",
            "parent_id": f"{PAGE_ID}_1",
            "created_time": 1767225598,
            "from": {"id": "61", "name": "A Resident"},
            "message": "When are the bins collected?",
        },
    }
    undatable = {
        "field": "feed",
        "value": {**good["value"], "comment_id": f"{PAGE_ID}_1_3", "created_time": {"x": 1}},
    }
    body = json.dumps(
        {"object": "page", "entry": [{"id": PAGE_ID, "changes": [good, undatable]}]}
    ).encode()
    with caplog.at_level("WARNING"):
        answer = call(
            app, "POST", "/webhooks/facebook", body, {"X-Hub-Signature-256": meta_signature(body)}
        )
    assert answer.status == 200
    with container.sessions() as session:
        stored = session.scalars(select(Comment.external_id)).all()
    assert stored == [f"{PAGE_ID}_1_2"]
    assert f"skipped facebook comment {PAGE_ID}_1_3" in caplog.text


@given(
    query=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "x"]),
        st.text(max_size=30),
    )
)
@FUZZ
def test_any_handshake_query_is_answered_without_a_crash(
    bot: tuple[WSGIApp, Container], query: dict[str, str]
) -> None:
    app, _ = bot
    answer = call(app, "GET", "/webhooks/facebook", query=urlencode(query))
    # Only the configured verify token earns an echo of the challenge.
    assert answer.status == 403


# --- The HTTP edge itself ---------------------------------------------------------------------


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW"]),
    path=st.sampled_from(
        ["/slack/events", "/webhooks/facebook", "/webhooks/instagram", "/healthz", "/", "/x"]
    )
    | st.text(max_size=30).map(lambda s: "/" + s),
    content_length=st.sampled_from(["", "0", "-1", "abc", "1e3", "99999999999", " 5", "5"]),
    body=st.binary(max_size=64),
)
def test_malformed_requests_get_a_clear_4xx(
    bot: tuple[WSGIApp, Container], method: str, path: str, content_length: str, body: bytes
) -> None:
    app, container = bot
    before = counts(container)
    answer = call(app, method, path, body, content_length=content_length)
    assert answer.status < 500 or path == "/healthz", answer
    assert counts(container) == before


def test_oversized_bodies_are_refused_before_they_are_read(bot: tuple[WSGIApp, Container]) -> None:
    app, _ = bot
    for path in ("/slack/events", "/webhooks/facebook"):
        answer = call(app, "POST", path, b"", content_length=str(50_000_000))
        assert answer.status == 413


# --- Slack's interactive payloads -------------------------------------------------------------

block_action_shapes = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["block_actions", "view_submission", "view_closed", "shortcut"])
        | json_values,
        "user": st.fixed_dictionaries({"id": st.just("U0SMAT1") | json_values}) | json_values,
        "team": st.just({"id": "T0COUNCIL"}) | json_values,
        "channel": json_values,
        "container": json_values,
        "trigger_id": json_values,
        "actions": st.lists(
            st.fixed_dictionaries(
                {
                    "action_id": st.sampled_from(
                        [
                            "smat_approve",
                            "smat_hide",
                            "smat_delete",
                            "smat_block",
                            "smat_warn",
                            "smat_undo",
                            "smat_approve_removal",
                            "smat_decline_removal",
                        ]
                    )
                    | json_values,
                    "block_id": json_values,
                    "value": st.just('{"item": 1, "version": 1}')
                    | st.just('{"request": 1}')
                    | json_values,
                }
            )
            | json_values,
            max_size=2,
        ),
        "view": json_values,
    }
)


@FUZZ
@given(payload=block_action_shapes)
def test_any_signed_interactive_payload_is_answered_and_decides_nothing(
    bot: tuple[WSGIApp, Container], payload: dict[str, Any]
) -> None:
    app, container = bot
    before = counts(container)
    body = urlencode({"payload": json.dumps(payload, allow_nan=True)}).encode()
    answer = call(app, "POST", "/slack/events", body, sign(SIGNING_SECRET, body))
    # Bolt acks what it recognises and answers 404 for what no listener matches; a listener
    # that raised would surface here as a 500.
    assert answer.status in (200, 400, 404), answer
    assert counts(container)[2] == before[2], "a decision was recorded for a made-up item"


@FUZZ
@given(raw=st.binary(max_size=300))
def test_signed_bodies_that_are_not_slack_payloads_do_not_crash(
    bot: tuple[WSGIApp, Container], raw: bytes
) -> None:
    app, container = bot
    before = counts(container)
    for content_type in ("application/x-www-form-urlencoded", "application/json"):
        headers = sign(SIGNING_SECRET, raw, content_type=content_type)
        answer = call(app, "POST", "/slack/events", raw, headers)
        assert answer.status in (200, 400, 401, 404), answer
    assert counts(container) == before


def test_a_replayed_slack_request_is_refused(bot: tuple[WSGIApp, Container]) -> None:
    app, container = bot
    approve = {"action_id": "smat_approve", "value": '{"item": 1, "version": 1}'}
    payload = {"type": "block_actions", "user": {"id": "U0SMAT1"}, "actions": [approve]}
    body = urlencode({"payload": json.dumps(payload)}).encode()

    for age in (301, 3600):
        headers = sign(SIGNING_SECRET, body, int(time.time()) - age)
        assert call(app, "POST", "/slack/events", body, headers).status == 401
    future = sign(SIGNING_SECRET, body, int(time.time()) + 3600)
    assert call(app, "POST", "/slack/events", body, future).status == 401
    assert counts(container) == (0, 0, 0, 0)
