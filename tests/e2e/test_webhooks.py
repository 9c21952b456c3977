"""Facebook webhooks over HTTP: handshake, signed deliveries, forgeries, replays, deletions."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.container import Container, build
from bot.slack_app import create_slack_app
from bot.web import create_wsgi_app
from storage.models import Comment
from tests.conftest import MakeSettings, slack_overrides
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.wsgi_server import serve_wsgi

PAGE_ID = "104567890123456"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"


@pytest.fixture
def bot(
    make_settings: MakeSettings, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Container]]:
    monkeypatch.setenv("FACEBOOK_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("FACEBOOK_VERIFY_TOKEN", VERIFY_TOKEN)
    settings = make_settings(
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
    container = build(settings, classifier=KeywordClassifier())
    app = create_wsgi_app(create_slack_app(container), container.sessions, container.webhooks())
    with serve_wsgi(app) as base_url:
        yield base_url, container


def _delivery(comment_id: str, message: str, verb: str = "add") -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [
            {
                "id": PAGE_ID,
                "time": 1767225600,
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            "item": "comment",
                            "verb": verb,
                            "post_id": f"{PAGE_ID}_987654321098765",
                            "comment_id": comment_id,
                            "parent_id": f"{PAGE_ID}_987654321098765",
                            "created_time": 1767225598,
                            "from": {"id": "6123456789012345", "name": "A Resident"},
                            "message": message,
                        },
                    }
                ],
            }
        ],
    }


def _post(base_url: str, payload: dict[str, Any], secret: str = APP_SECRET) -> httpx.Response:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return httpx.post(
        f"{base_url}/webhooks/facebook",
        content=body,
        headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
        timeout=10,
    )


def _comments(container: Container) -> int:
    with container.sessions() as session:
        return session.scalar(select(func.count()).select_from(Comment)) or 0


def test_the_verification_handshake(bot: tuple[str, Container]) -> None:
    base_url, _ = bot
    good = httpx.get(
        f"{base_url}/webhooks/facebook",
        params={
            "hub.mode": "subscribe",
            "hub.challenge": "1158201444",
            "hub.verify_token": VERIFY_TOKEN,
        },
    )
    assert (good.status_code, good.text) == (200, "1158201444")
    bad = httpx.get(
        f"{base_url}/webhooks/facebook",
        params={"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "guess"},
    )
    assert bad.status_code == 403


def test_a_signed_delivery_becomes_a_card_and_a_replay_changes_nothing(
    bot: tuple[str, Container], fake_slack: FakeSlack
) -> None:
    base_url, container = bot
    payload = _delivery("987654321098765_1", "When will the bins on Mill Lane be collected?")
    assert _post(base_url, payload).status_code == 200
    post = fake_slack.wait_for("chat.postMessage", ok=True, timeout=60)[0]
    assert "Facebook comment from A Resident" in post.params["text"]
    assert _post(base_url, payload).status_code == 200  # Meta retries deliveries
    time.sleep(0.5)
    assert _comments(container) == 1
    assert len(fake_slack.calls("chat.postMessage")) == 1


def test_forged_and_malformed_deliveries_are_refused(
    bot: tuple[str, Container], fake_slack: FakeSlack
) -> None:
    base_url, container = bot
    forged = _post(base_url, _delivery("987654321098765_2", "hi"), secret="not-the-secret")
    assert forged.status_code == 401
    unsigned = httpx.post(f"{base_url}/webhooks/facebook", content=b"{}", timeout=10)
    assert unsigned.status_code == 401
    body = b"not json"
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    malformed = httpx.post(
        f"{base_url}/webhooks/facebook", content=body, headers={"X-Hub-Signature-256": signature}
    )
    assert malformed.status_code == 400
    assert _comments(container) == 0


def test_a_comment_deleted_by_its_author_is_marked_on_its_card(
    bot: tuple[str, Container], fake_slack: FakeSlack
) -> None:
    base_url, container = bot
    comment_id = "987654321098765_3"
    assert _post(base_url, _delivery(comment_id, "Road closed again?")).status_code == 200
    fake_slack.wait_for("chat.postMessage", ok=True, timeout=60)
    assert _post(base_url, _delivery(comment_id, "", verb="remove")).status_code == 200
    update = fake_slack.wait_for("chat.update", ok=True, timeout=60)[-1]
    assert "Deleted by its author" in json.dumps(update.params["blocks"])
    with container.sessions() as session:
        assert session.scalars(select(Comment.deleted_at)).one() is not None


def test_a_non_ascii_signature_is_refused_not_crashed(bot: tuple[str, Container]) -> None:
    base_url, _ = bot
    response = httpx.post(
        f"{base_url}/webhooks/facebook",
        content=b"{}",
        headers={"X-Hub-Signature-256": "sha256=é".encode()},  # raw UTF-8 bytes
        timeout=10,
    )
    assert response.status_code == 401
