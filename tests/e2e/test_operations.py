"""Operations endpoints of the real HTTP app: liveness, readiness, metrics and request-id logs.

The real Bolt app is served by waitress on loopback, talks to the fake Slack Web API, and is
driven by signed requests, as in production.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk import WebClient

from bot import metrics
from bot.container import Container, build
from bot.logs import configure_logging
from bot.readiness import ReadinessProbe
from bot.slack_app import create_slack_app
from bot.web import create_wsgi_app
from storage.db import make_engine
from tests.conftest import SIGNING_SECRET, MakeSettings, slack_overrides
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.slack_requests import block_actions_payload, form_body, sign
from tests.fakes.wsgi_server import serve_wsgi
from tests.integration.helpers import incoming

SMAT_MEMBER = "U0SMAT1"
OUTSIDER = "U0OUTSIDER"


@dataclass
class Bot:
    base_url: str
    container: Container
    http: httpx.Client


def _serve(container: Container, probe: ReadinessProbe) -> Any:
    app = create_slack_app(container)
    return serve_wsgi(create_wsgi_app(app, container.sessions, None, probe))


def _probe(container: Container, **overrides: Any) -> ReadinessProbe:
    arguments: dict[str, Any] = {
        "engine": container.engine,
        "slack_client": container.slack_client,
        "classifier_loaded": lambda: container.classifier_loaded,
    }
    arguments.update(overrides)
    return ReadinessProbe(**arguments)


@pytest.fixture
def container(make_settings: MakeSettings, fake_slack: FakeSlack) -> Container:
    settings = make_settings(**slack_overrides(fake_slack, (SMAT_MEMBER, "smat")))
    return build(settings, classifier=KeywordClassifier())


@pytest.fixture
def bot(container: Container) -> Iterator[Bot]:
    with _serve(container, _probe(container)) as base_url, httpx.Client(timeout=10) as http:
        yield Bot(base_url, container, http)


def test_liveness_does_not_depend_on_the_database(container: Container) -> None:
    dead = make_engine("postgresql://smat:not-the-password@127.0.0.1:1/smat?connect_timeout=2")
    with _serve(container, _probe(container, engine=dead)) as base_url:
        live = httpx.get(f"{base_url}/healthz", timeout=10)
        ready = httpx.get(f"{base_url}/readyz", timeout=10)
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"].startswith("unreachable (OperationalError")
    assert (body["checks"]["slack"], body["checks"]["classifier"]) == ("ok", "ok")
    assert "not-the-password" not in ready.text


def test_ready_when_database_slack_and_classifier_are(bot: Bot, fake_slack: FakeSlack) -> None:
    response = bot.http.get(f"{bot.base_url}/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "slack": "ok", "classifier": "ok"},
    }


def test_not_ready_while_the_model_is_not_loaded(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    container = build(make_settings(**slack_overrides(fake_slack, (SMAT_MEMBER, "smat"))))
    with _serve(container, _probe(container)) as base_url:
        response = httpx.get(f"{base_url}/readyz", timeout=10)
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "slack": "ok",
        "classifier": "not loaded",
    }


def test_not_ready_when_slack_refuses_the_token(
    container: Container, fake_slack: FakeSlack
) -> None:
    revoked = WebClient(token="xoxb-revoked-token-0000", base_url=fake_slack.base_url)
    with _serve(container, _probe(container, slack_client=revoked)) as base_url:
        response = httpx.get(f"{base_url}/readyz", timeout=10)
    assert response.status_code == 503
    assert response.json()["checks"]["slack"] == "auth.test failed (invalid_auth)"
    assert "xoxb-revoked" not in response.text


def test_slack_auth_is_asked_at_most_once_per_cache_period(
    container: Container, fake_slack: FakeSlack
) -> None:
    now = [1000.0]
    probe = _probe(container, cache_seconds=60, monotonic=lambda: now[0])
    fake_slack.reset()
    assert probe.check().ready
    fake_slack.fail("auth.test", error="account_inactive")
    now[0] += 59
    assert probe.check().ready  # the cached answer
    assert len(fake_slack.calls("auth.test")) == 1
    now[0] += 2
    result = probe.check()
    assert not result.ready
    assert result.checks["slack"] == "auth.test failed (account_inactive)"
    assert len(fake_slack.calls("auth.test")) == 2


def _sample(families: dict[str, Any], name: str, **labels: str) -> float:
    """The sum of the samples with this name and these labels (others may vary)."""
    return sum(
        float(sample.value)
        for family in families.values()
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def _wait_for_sample(name: str, labels: dict[str, str], *, at_least: float) -> None:
    deadline = time.monotonic() + 5
    while (metrics.REGISTRY.get_sample_value(name, labels) or 0) < at_least:
        assert time.monotonic() < deadline, f"{name}{labels} stayed below {at_least}"
        time.sleep(0.01)


def _scrape(bot: Bot) -> dict[str, Any]:
    response = bot.http.get(f"{bot.base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(response.text)}


def _approve_click(fake_slack: FakeSlack, user: str) -> tuple[bytes, str]:
    triage = fake_slack.channel_id("#smat-triage")
    message = fake_slack.messages(triage)[0]
    value = next(
        element["value"]
        for block in message["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == "smat_approve"
    )
    payload = block_actions_payload(
        user_id=user,
        action_id="smat_approve",
        value=value,
        channel_id=triage,
        message_ts=message["ts"],
        response_url=fake_slack.response_url("click"),
    )
    return form_body(payload), str(json.loads(value)["item"])


def test_metrics_count_a_real_ingest_and_decision(bot: Bot, fake_slack: FakeSlack) -> None:
    before = _scrape(bot)
    delivered = _sample(before, "smat_outbox_delivered_total", kind="slack.sync_card")
    bot.container.ingest().ingest(
        [incoming("m1", "When do the lights go on?"), incoming("m2", "you stupid idiot")]
    )
    bot.container.outbox.deliver_due()
    body, _ = _approve_click(fake_slack, SMAT_MEMBER)
    response = bot.http.post(
        f"{bot.base_url}/slack/events", content=body, headers=sign(SIGNING_SECRET, body)
    )
    assert response.status_code == 200
    fake_slack.wait_for("chat.update", ok=True)
    # The listener marks the update delivered just after Slack answered it.
    _wait_for_sample(
        "smat_outbox_delivered_total", {"kind": "slack.sync_card"}, at_least=delivered + 3
    )
    after = _scrape(bot)

    def grew(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    assert grew("smat_comments_ingested_total", outcome="new") == 2
    assert grew("smat_comments_classified_total", model="keyword-test") == 2
    assert grew("smat_review_items_queued_total", suggested="hide") == 1
    assert grew("smat_review_items_queued_total", suggested="approve") == 1
    assert grew("smat_classification_seconds_count") == 1
    assert grew("smat_decisions_total", action="approve") == 1
    assert grew("smat_outbox_delivered_total", kind="slack.sync_card") == 3  # 2 posts, 1 update
    assert grew("smat_http_request_seconds_count", path="/slack/events") == 1
    assert _sample(after, "smat_database_up") == 1
    assert _sample(after, "smat_outbox_depth", status="pending") == 0
    assert _sample(after, "smat_review_items", status="decided") == 1
    assert _sample(after, "smat_review_items", status="pending") == 1


def test_metrics_report_outbox_depth_and_retries_while_slack_is_down(
    bot: Bot, fake_slack: FakeSlack
) -> None:
    before = _scrape(bot)
    fake_slack.down(True)
    bot.container.ingest().ingest([incoming("d1", "Lovely lights"), incoming("d2", "Thanks")])
    bot.container.outbox.deliver_due()
    during = _scrape(bot)
    assert _sample(during, "smat_outbox_depth", status="pending") == 2
    retries = _sample(during, "smat_outbox_retries_total", kind="slack.sync_card") - _sample(
        before, "smat_outbox_retries_total", kind="slack.sync_card"
    )
    assert retries == 2
    fake_slack.down(False)
    assert _sample(_scrape(bot), "smat_database_up") == 1


def test_a_clicks_log_lines_carry_its_request_and_review_item_ids(
    bot: Bot, fake_slack: FakeSlack
) -> None:
    bot.container.ingest().ingest([incoming("l1", "Lovely lights")])
    bot.container.outbox.deliver_due()
    body, item_id = _approve_click(fake_slack, OUTSIDER)
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("json", logging.INFO, stream=stream, force=True)
    try:
        response = bot.http.post(
            f"{bot.base_url}/slack/events",
            content=body,
            headers={**sign(SIGNING_SECRET, body), "X-Request-Id": "lb-req-77"},
        )
        assert response.status_code == 200
        fake_slack.wait_for("chat.postEphemeral")
    finally:
        root.removeHandler(handler)  # type: ignore[arg-type]
        root.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    refusals = [line for line in lines if "not a deciding SMAT member" in line["message"]]
    assert len(refusals) == 1, lines
    assert refusals[0]["request_id"] == "lb-req-77"
    assert str(refusals[0]["review_item_id"]) == item_id
    assert refusals[0]["level"] == "warning"


def test_socket_mode_serves_the_operations_endpoints_on_their_own_port(
    container: Container,
) -> None:
    import socket

    from bot.operations import serve_operations_port

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = serve_operations_port(container, "127.0.0.1", port)
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}
        assert httpx.get(f"{base}/readyz", timeout=10).json()["status"] == "ready"
        assert "smat_outbox_depth" in httpx.get(f"{base}/metrics", timeout=10).text
        assert httpx.post(f"{base}/slack/events", timeout=10).status_code == 404
    finally:
        server.close()
