"""The thin path end to end: import → classify (Detoxify) → card in Slack → signed Approve click.

The real CLI imports the example feed; the real Bolt app runs over HTTP (waitress) and talks to
the fake Slack Web API; the real Detoxify class loads a tiny locally built checkpoint.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import func, select

from bot import ui_ids
from bot.cli import main
from bot.container import Container, build
from bot.slack_app import create_slack_app
from bot.web import create_wsgi_app
from config.settings import load_settings
from storage.models import Classification, Decision, ReviewItem
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.slack_requests import block_actions_payload, form_body, post_signed
from tests.fakes.tiny_detoxify import TinyDetoxify, build_tiny_detoxify
from tests.fakes.wsgi_server import serve_wsgi

EXAMPLES = Path(__file__).parents[2] / "examples" / "council-comments.csv"
SMAT_MEMBER = "U0SMAT1"
OUTSIDER = "U0OUTSIDER"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def tiny_detoxify(tmp_path_factory: pytest.TempPathFactory) -> TinyDetoxify:
    return build_tiny_detoxify(tmp_path_factory.mktemp("detoxify"), flavour="unbiased")


@pytest.fixture
def configured(
    database_url: str,
    fake_slack: FakeSlack,
    tiny_detoxify: TinyDetoxify,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Environment and YAML exactly as an IT volunteer would set them, pointing at the fakes."""
    config = {
        "council": {"name": "Example Town Council"},
        "slack": {"channels": {"triage": "#smat-triage"}},
        "classifier": {
            "backend": "detoxify",
            "detoxify": {
                "model": "unbiased",
                "checkpoint": str(tiny_detoxify.checkpoint),
                "huggingface_config_path": str(tiny_detoxify.hf_dir),
                "checkpoint_sha256": tiny_detoxify.sha256,
            },
        },
        "members": [{"slack_user_id": SMAT_MEMBER, "role": "smat", "name": "Jo SMAT"}],
    }
    config_path = tmp_path / "smat.yaml"
    config_path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("SMAT_CONFIG", str(config_path))
    monkeypatch.setenv("SMAT_DATABASE_URL", database_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.base_url)


@pytest.fixture
def running_bot(configured: None) -> Iterator[tuple[str, Container]]:
    """The bot in HTTP mode, built the way `smat-bot run` builds it."""
    container = build(load_settings())
    app = create_slack_app(container)
    with serve_wsgi(create_wsgi_app(app, container.sessions)) as base_url:
        yield base_url, container


def _approve_value(message: dict[str, Any]) -> str:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == "smat_approve":
                return str(element["value"])
    raise AssertionError(f"no Approve button in {message}")


def _click(
    http: httpx.Client,
    base_url: str,
    slack: FakeSlack,
    *,
    user: str,
    channel: str,
    ts: str,
    value: str,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> httpx.Response:
    payload = block_actions_payload(
        user_id=user,
        action_id="smat_approve",
        value=value,
        channel_id=channel,
        message_ts=ts,
        response_url=slack.response_url(f"click-{ts}"),
    )
    return post_signed(
        http, f"{base_url}/slack/events", form_body(payload), secret, timestamp=timestamp
    )


def _decisions(container: Container) -> list[Decision]:
    with container.sessions() as session:
        return list(session.scalars(select(Decision).order_by(Decision.id)))


def test_import_posts_cards_then_approve_updates_the_card(
    configured: None, fake_slack: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert "Classifier: detoxify-unbiased" in out
    # 15 triage cards, and the Clerk's card for each of the two threats escalated at import.
    assert "Posted or updated 17 card(s) in Slack" in out

    triage = fake_slack.channel_id("#smat-triage")
    all_posts = fake_slack.calls("chat.postMessage")
    posts = [call for call in all_posts if call.params["channel"] == "#smat-triage"]
    assert len(posts) == 15
    escalated = [call for call in all_posts if call.params["channel"] == "#smat-escalations"]
    assert len(escalated) == 2
    assert len(all_posts) == 17
    assert all(call.params["unfurl_links"] in (False, "false", "0") for call in posts)
    first = posts[0].params
    assert any(
        el.get("action_id") == "smat_approve"
        for b in first["blocks"]
        for el in b.get("elements", [])
    )

    container = build(load_settings())
    with container.sessions() as session:
        models = set(session.scalars(select(Classification.model_name)))
        assert models == {"detoxify-unbiased"}
        posted = session.scalar(
            select(func.count()).select_from(ReviewItem).where(ReviewItem.slack_ts.is_not(None))
        )
        assert posted == 15
    assert len(fake_slack.messages(triage)) == 15


def test_signed_approve_click_records_decision_and_updates_message(
    running_bot: tuple[str, Container], fake_slack: FakeSlack
) -> None:
    base_url, container = running_bot
    assert main(["import", str(EXAMPLES)]) == 0
    triage = fake_slack.channel_id("#smat-triage")
    message = fake_slack.messages(triage)[0]
    ts = message["ts"]
    value = _approve_value(message)
    item_id = json.loads(value)["item"]

    with httpx.Client(timeout=10) as http:
        started = time.monotonic()
        response = _click(
            http, base_url, fake_slack, user=SMAT_MEMBER, channel=triage, ts=ts, value=value
        )
        ack_seconds = time.monotonic() - started
        assert response.status_code == 200, response.text

        fake_slack.wait_for("chat.update", ok=True)
        updated = fake_slack.message(triage, ts)
        assert updated is not None
        assert "Approved" in updated["text"]
        left = [
            element["action_id"]
            for block in updated["blocks"]
            if block["type"] == "actions"
            for element in block["elements"]
        ]
        # The decision buttons go; an approved comment can still be answered (or escalated,
        # unless it already is).
        assert ui_ids.REPLY in left, left
        assert set(left) <= {ui_ids.REPLY, ui_ids.ESCALATE}, left
        assert any(f"<@{SMAT_MEMBER}>" in json.dumps(b) for b in updated["blocks"])

        decisions = _decisions(container)
        assert len(decisions) == 1
        decision = decisions[0]
        assert (decision.action, decision.actor_slack_id, decision.review_item_id) == (
            "approve",
            SMAT_MEMBER,
            item_id,
        )
        with container.sessions() as session:
            item = session.get_one(ReviewItem, item_id)
            assert item.status == "decided"
            assert decision.comment_version_id == item.comment_version_id
        assert decision.decided_at.tzinfo is not None

        # The same (now stale) card clicked again: refused with who got there first.
        again = _click(
            http, base_url, fake_slack, user=SMAT_MEMBER, channel=triage, ts=ts, value=value
        )
        assert again.status_code == 200
        ephemeral = fake_slack.wait_for("chat.postEphemeral")[-1]
        assert ephemeral.params["user"] == SMAT_MEMBER
        assert f"Already handled by <@{SMAT_MEMBER}>" in ephemeral.params["text"]
        assert len(_decisions(container)) == 1
    assert ack_seconds < 3, "Slack needs the ack within 3 seconds"


def test_forged_or_stale_signature_gets_401_and_changes_nothing(
    running_bot: tuple[str, Container], fake_slack: FakeSlack
) -> None:
    base_url, container = running_bot
    assert main(["import", str(EXAMPLES)]) == 0
    triage = fake_slack.channel_id("#smat-triage")
    message = fake_slack.messages(triage)[0]
    updates_before = len(fake_slack.calls("chat.update"))
    with httpx.Client(timeout=10) as http:
        forged = _click(
            http,
            base_url,
            fake_slack,
            user=SMAT_MEMBER,
            channel=triage,
            ts=message["ts"],
            value=_approve_value(message),
            secret="not-the-signing-secret",
        )
        stale = _click(
            http,
            base_url,
            fake_slack,
            user=SMAT_MEMBER,
            channel=triage,
            ts=message["ts"],
            value=_approve_value(message),
            timestamp=int(time.time()) - 400,
        )
    assert forged.status_code == 401
    assert stale.status_code == 401
    time.sleep(0.3)  # give any (wrongly) accepted listener time to act before checking
    assert _decisions(container) == []
    assert len(fake_slack.calls("chat.update")) == updates_before


def test_a_non_member_click_is_refused_politely(
    running_bot: tuple[str, Container], fake_slack: FakeSlack
) -> None:
    base_url, container = running_bot
    assert main(["import", str(EXAMPLES)]) == 0
    triage = fake_slack.channel_id("#smat-triage")
    message = fake_slack.messages(triage)[1]
    with httpx.Client(timeout=10) as http:
        response = _click(
            http,
            base_url,
            fake_slack,
            user=OUTSIDER,
            channel=triage,
            ts=message["ts"],
            value=_approve_value(message),
        )
    assert response.status_code == 200
    ephemeral = fake_slack.wait_for("chat.postEphemeral")[-1]
    assert ephemeral.params["user"] == OUTSIDER
    assert "Only SMAT members" in ephemeral.params["text"]
    assert _decisions(container) == []


def test_healthz_reports_the_process_alive(running_bot: tuple[str, Container]) -> None:
    base_url, _ = running_bot
    response = httpx.get(f"{base_url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert httpx.get(f"{base_url}/nowhere", timeout=5).status_code == 404
