"""Tests of the fake Slack server and signed-request helpers, via the real slack_sdk client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.fakes.fake_slack import DEFAULT_TOKEN, RESPONSE_URL_METHOD, UPLOAD_METHOD, FakeSlack
from tests.fakes.slack_requests import (
    block_actions_payload,
    encode_form,
    form_body,
    post_signed,
    sign,
    slash_command_form,
    view_submission_payload,
)

SECRET = "test-signing-secret"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    # No retry handlers: each test opts into the retries it is about.
    return WebClient(base_url=slack.base_url, token=DEFAULT_TOKEN, retry_handlers=[])


# ---------------------------------------------------------------- messages


def test_post_then_update_changes_message_state(slack: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(
        channel="#social-moderation",
        text="New Facebook comment",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "pending"}}],
    )
    channel, ts = posted["channel"], posted["ts"]
    assert channel == slack.channel_id("social-moderation")
    assert channel.startswith("C")
    assert posted["message"]["text"] == "New Facebook comment"

    updated = client.chat_update(
        channel=channel,
        ts=ts,
        text="Hidden by jo",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "hidden"}}],
    )
    assert (updated["channel"], updated["ts"], updated["text"]) == (channel, ts, "Hidden by jo")

    current = slack.message("#social-moderation", ts)
    assert current is not None
    assert current["text"] == "Hidden by jo"
    assert current["blocks"][0]["text"]["text"] == "hidden"
    assert [m["ts"] for m in slack.messages(channel)] == [ts]
    assert slack.calls("chat.update")[0].params["ts"] == ts


def test_update_and_delete_unknown_ts_fail(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C0MODQUEUE", text="x")
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="C0MODQUEUE", ts="1.000000", text="y")
    assert err.value.response["error"] == "message_not_found"
    client.chat_delete(channel="C0MODQUEUE", ts=posted["ts"])
    with pytest.raises(SlackApiError) as err:
        client.chat_delete(channel="C0MODQUEUE", ts=posted["ts"])
    assert err.value.response["error"] == "message_not_found"


def test_ts_unique_and_increasing_under_concurrency(slack: FakeSlack, client: WebClient) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda i: client.chat_postMessage(channel="C0A", text=str(i)), range(40))
        )
    stamps = [r["ts"] for r in results]
    assert len(set(stamps)) == 40
    assert stamps[0].count(".") == 1
    assert len(stamps[0].split(".")[1]) == 6
    in_order = [m["ts"] for m in slack.messages("C0A")]
    assert in_order == sorted(in_order, key=float)
    assert len(slack.calls("chat.postMessage", ok=True)) == 40


def test_post_ephemeral_and_no_text(client: WebClient) -> None:
    sent = client.chat_postEphemeral(channel="C0MODQUEUE", user="U0MOD1", text="not a moderator")
    assert sent["message_ts"]
    with pytest.raises(SlackApiError) as err:
        client.api_call("chat.postMessage", json={"channel": "C0MODQUEUE"})
    assert err.value.response["error"] == "no_text"


# ---------------------------------------------------------------- auth and errors


def test_auth_test_fields_and_scopes_header(slack: FakeSlack, client: WebClient) -> None:
    resp = client.auth_test()
    assert resp["team_id"] == "T0COUNCIL"
    assert resp["bot_id"] == slack.bot_id
    assert resp["user_id"] == slack.bot_user_id
    assert resp["url"].startswith("https://")
    assert "chat:write" in resp.headers["x-oauth-scopes"]


def test_invalid_token_answers_invalid_auth(slack: FakeSlack) -> None:
    bad = WebClient(base_url=slack.base_url, token="xoxb-wrong")
    with pytest.raises(SlackApiError) as err:
        bad.chat_postMessage(channel="C0MODQUEUE", text="x")
    assert err.value.response["error"] == "invalid_auth"
    assert err.value.response.status_code == 200
    [call] = slack.calls("chat.postMessage")
    assert call.error == "invalid_auth"
    assert not call.ok
    assert call.headers["authorization"] == "Bearer xoxb-wrong"
    assert slack.messages("C0MODQUEUE") == []


def test_injected_error_raises_once(slack: FakeSlack, client: WebClient) -> None:
    slack.fail("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0GONE", text="x")
    assert err.value.response["error"] == "channel_not_found"
    assert err.value.response.status_code == 200
    client.chat_postMessage(channel="C0GONE", text="x")  # times=1: the next call works


def test_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.api_call("chat.teleport")
    assert err.value.response["error"] == "unknown_method"


# ---------------------------------------------------------------- rate limits and outages


def test_429_retried_with_rate_limit_handler(slack: FakeSlack) -> None:
    slack.fail("chat.update", status=429, retry_after=1)
    retrying = WebClient(
        base_url=slack.base_url,
        token=DEFAULT_TOKEN,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    posted = retrying.chat_postMessage(channel="C0MODQUEUE", text="pending")
    started = time.monotonic()
    retrying.chat_update(channel="C0MODQUEUE", ts=posted["ts"], text="hidden")
    # The handler sleeps Retry-After plus up to 1 s of jitter.
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in slack.calls("chat.update")] == [429, 200]
    message = slack.message("C0MODQUEUE", posted["ts"])
    assert message is not None
    assert message["text"] == "hidden"


def test_429_raises_without_handler(slack: FakeSlack, client: WebClient) -> None:
    slack.fail("chat.postMessage", status=429, retry_after=1)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0MODQUEUE", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "1"
    assert err.value.response["error"] == "ratelimited"
    assert len(slack.calls("chat.postMessage")) == 1


def test_down_then_recover(slack: FakeSlack, client: WebClient) -> None:
    slack.down(True)
    with pytest.raises(SlackApiError) as err:
        client.auth_test()
    assert err.value.response.status_code == 503
    slack.down(False)
    assert client.auth_test()["ok"] is True
    assert [c.status for c in slack.calls("auth.test")] == [503, 200]


def test_channel_rate_enforced_per_channel(slack: FakeSlack, client: WebClient) -> None:
    slack.enforce_channel_rate(min_interval_s=1.0)
    client.chat_postMessage(channel="C0ONE", text="first")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0ONE", text="too soon")
    assert err.value.response.status_code == 429
    assert int(err.value.response.headers["Retry-After"]) >= 1
    client.chat_postMessage(channel="C0TWO", text="other channel is fine")
    assert [m["text"] for m in slack.messages("C0ONE")] == ["first"]


def test_delay_slows_answers(slack: FakeSlack, client: WebClient) -> None:
    slack.delay("auth.test", 0.3)
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.3
    slack.delay("auth.test", 0)
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started < 0.3


def test_wait_for_waits_and_reports(slack: FakeSlack, client: WebClient) -> None:
    timer = threading.Timer(0.2, lambda: client.chat_postMessage(channel="C0A", text="later"))
    timer.start()
    try:
        [call] = slack.wait_for("chat.postMessage", timeout=3.0)
    finally:
        timer.join()
    assert call.params["text"] == "later"
    with pytest.raises(AssertionError, match=r"chat\.update.*chat\.postMessage\[200\]"):
        slack.wait_for("chat.update", timeout=0.1)
    slack.reset()
    assert slack.calls() == []
    assert slack.messages("C0A") == []


# ---------------------------------------------------------------- files, views, users


def test_files_upload_v2_records_file(slack: FakeSlack, client: WebClient) -> None:
    resp = client.files_upload_v2(
        channel="C0MODQUEUE",
        content=b"%PDF-1.4 weekly report",
        filename="x.pdf",
        title="Weekly moderation report",
        initial_comment="This week",
    )
    assert resp["file"]["title"] == "Weekly moderation report"
    [shared] = slack.files("C0MODQUEUE")
    assert shared.content == b"%PDF-1.4 weekly report"
    assert (shared.filename, shared.title) == ("x.pdf", "Weekly moderation report")
    assert shared.initial_comment == "This week"
    assert [c.method for c in slack.calls()] == [
        "files.getUploadURLExternal",
        UPLOAD_METHOD,
        "files.completeUploadExternal",
    ]


def test_multipart_form_is_parsed(slack: FakeSlack, client: WebClient) -> None:
    # files= makes slack_sdk send multipart/form-data; the fake must still read params.
    client.api_call(
        "chat.postMessage",
        data={"channel": "C0MODQUEUE", "text": "multipart"},
        files={"file": b"bytes"},
    )
    [call] = slack.calls("chat.postMessage")
    assert call.headers["content-type"].startswith("multipart/form-data")
    assert call.params["text"] == "multipart"
    assert call.params["file"] == b"bytes"


def test_views_open_update_and_hash_conflict(slack: FakeSlack, client: WebClient) -> None:
    modal = {
        "type": "modal",
        "callback_id": "hide_reason",
        "private_metadata": '{"comment_ref": 1}',
        "title": {"type": "plain_text", "text": "Hide comment"},
        "blocks": [],
    }
    opened = client.views_open(trigger_id="trigger-1", view=modal)["view"]
    assert opened["private_metadata"] == '{"comment_ref": 1}'
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id="trigger-1", view=modal)
    assert err.value.response["error"] == "exchanged_trigger_id"

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)["view"]
    assert updated["id"] == opened["id"]
    assert updated["hash"] != opened["hash"]
    with pytest.raises(SlackApiError) as err:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)
    assert err.value.response["error"] == "hash_conflict"

    home = {"type": "home", "blocks": []}
    first = client.views_publish(user_id="U0MOD1", view=home)["view"]
    second = client.views_publish(user_id="U0MOD1", view=home)["view"]
    assert first["id"] == second["id"]
    assert slack.home_view("U0MOD1") == second


def test_conversations_open_and_users_info(slack: FakeSlack, client: WebClient) -> None:
    dm = client.conversations_open(users="U0MOD1")["channel"]["id"]
    assert dm == slack.dm_channel_id("U0MOD1")
    assert dm.startswith("D")
    slack.add_user("U0MOD1", name="jo.moderator", real_name="Jo Moderator")
    user = client.users_info(user="U0MOD1")["user"]
    assert user["real_name"] == "Jo Moderator"
    assert client.users_info(user="U0OTHER")["user"]["id"] == "U0OTHER"


# ---------------------------------------------------------------- response_url


def test_response_url_posts_are_recorded(slack: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C0MODQUEUE", text="pending")
    url = slack.response_url("click-1", channel="C0MODQUEUE", ts=posted["ts"])
    assert url == f"{slack.url_root}/response/click-1"

    resp = WebhookClient(url).send(text="Hidden", replace_original=True)
    assert (resp.status_code, resp.body) == (200, "ok")
    [call] = slack.calls(RESPONSE_URL_METHOD)
    assert call.params == {"text": "Hidden", "replace_original": True}
    assert call.path == "/response/click-1"
    message = slack.message("C0MODQUEUE", posted["ts"])
    assert message is not None
    assert message["text"] == "Hidden"

    slack.fail(RESPONSE_URL_METHOD, error="used_url")
    assert WebhookClient(url).send(text="again").status_code == 404


# ---------------------------------------------------------------- signing and Bolt round trip


def test_sign_verifies_with_slack_sdk() -> None:
    body = form_body({"type": "block_actions"})
    headers = sign(SECRET, body)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + b"x", headers)
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)
    stale = sign(SECRET, body, timestamp=int(time.time()) - 400)
    assert not verifier.is_valid_request(body, stale)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def bolt_url(slack: FakeSlack) -> Iterator[str]:
    """Serve a tiny Bolt app over HTTP, wired to the fake, for payload round-trip tests."""
    app = App(
        client=WebClient(base_url=slack.base_url, token=DEFAULT_TOKEN),
        signing_secret=SECRET,
    )

    @app.action("mod_hide")
    def hide(ack, body, client, respond) -> None:  # type: ignore[no-untyped-def]
        ack()
        container = body["container"]
        client.chat_update(
            channel=container["channel_id"], ts=container["message_ts"], text="Hidden"
        )
        respond(text="Done", replace_original=False)

    @app.view("hide_reason")
    def submitted(ack, view, client) -> None:  # type: ignore[no-untyped-def]
        ack()
        meta = json.loads(view["private_metadata"])
        reason = view["state"]["values"]["reason"]["reason_input"]["value"]
        client.chat_update(channel=meta["channel"], ts=meta["ts"], text=f"Hidden: {reason}")

    @app.command("/modstats")
    def stats(ack, command) -> None:  # type: ignore[no-untyped-def]
        ack(text=f"stats for {command['text']}")

    server: WSGIServer = make_server(
        "127.0.0.1", 0, SlackRequestHandler(app), handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/slack/events"
    finally:
        server.shutdown()
        server.server_close()


def test_signed_payloads_drive_a_real_bolt_app(slack: FakeSlack, bolt_url: str) -> None:
    client = WebClient(base_url=slack.base_url, token=DEFAULT_TOKEN)
    posted = client.chat_postMessage(channel="C0MODQUEUE", text="pending")
    ts = posted["ts"]

    with httpx.Client(timeout=5.0) as http:
        click = block_actions_payload(
            user_id="U0MOD1",
            action_id="mod_hide",
            value='{"p":"fb","c":"1"}',
            channel_id="C0MODQUEUE",
            message_ts=ts,
            response_url=slack.response_url("click"),
        )
        assert post_signed(http, bolt_url, form_body(click), SECRET).status_code == 200
        slack.wait_for("chat.update")
        slack.wait_for(RESPONSE_URL_METHOD)
        message = slack.message("C0MODQUEUE", ts)
        assert message is not None
        assert message["text"] == "Hidden"

        submission = view_submission_payload(
            user_id="U0MOD1",
            callback_id="hide_reason",
            private_metadata=json.dumps({"channel": "C0MODQUEUE", "ts": ts}),
            values={"reason": {"reason_input": "abusive"}},
        )
        assert post_signed(http, bolt_url, form_body(submission), SECRET).status_code == 200
        slack.wait_for("chat.update", count=2)
        message = slack.message("C0MODQUEUE", ts)
        assert message is not None
        assert message["text"] == "Hidden: abusive"

        form = slash_command_form(
            command="/modstats", user_id="U0MOD1", text="week", response_url=slack.response_url("s")
        )
        resp = post_signed(http, bolt_url, encode_form(form), SECRET)
        assert (resp.status_code, resp.text) == (200, "stats for week")

        stale = post_signed(http, bolt_url, form_body(click), SECRET, int(time.time()) - 400)
        assert stale.status_code == 401
