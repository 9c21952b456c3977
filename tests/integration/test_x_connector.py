"""The X connector against a fake API v2: mentions, actions and error translation."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from platforms.base import Action, Connector
from platforms.errors import (
    AuthExpired,
    Gone,
    Invalid,
    PermissionDenied,
    PlatformError,
    RateLimited,
    Transient,
    Unsupported,
)
from platforms.types import IncomingComment, Platform, Source
from platforms.x import XConnector, snowflake_at
from tests.fakes.clock import FakeClock
from tests.fakes.fake_x import COUNCIL_ID, TOKEN, FakeX, problem_response

T0 = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
"""Posts in these tests are made after the clock's 09:00, when polling started."""

TWEET_FIELDS = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets"


def at(seconds: int) -> datetime:
    """A time ``seconds`` after T0."""
    return T0 + timedelta(seconds=seconds)


def ids(comments: list[IncomingComment]) -> list[str]:
    return [c.external_id for c in comments]


@pytest.fixture
def fake() -> FakeX:
    return FakeX()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 16, 9, 0, tzinfo=UTC))


@pytest.fixture
def x(fake: FakeX, clock: FakeClock) -> XConnector:
    return XConnector(fake.client(), user_id=COUNCIL_ID, account="council-x", clock=clock)


@pytest.fixture
def resident(fake: FakeX) -> str:
    return fake.add_user("stationrd_res", "Station Rd Resident")


@pytest.fixture
def council_post(fake: FakeX) -> str:
    return fake.post(COUNCIL_ID, "Roadworks on Station Rd start Monday.", at(0))


def reply(fake: FakeX, author: str, to: str, text: str, seconds: int) -> str:
    """A reply that mentions the council, as X prefixes replies with the handle."""
    return fake.post(author, f"@ExampleCouncil {text}", at(seconds), reply_to=to)


# Polling


def test_it_satisfies_the_connector_protocol(x: XConnector) -> None:
    connector: Connector = x
    assert connector.platform is Platform.X
    assert connector.actions == {
        Action.HIDE,
        Action.UNHIDE,
        Action.MUTE,
        Action.UNMUTE,
        Action.REPLY,
    }


def test_the_first_poll_reads_one_small_page_and_starts_from_now(
    fake: FakeX, x: XConnector, resident: str, council_post: str
) -> None:
    older = [reply(fake, resident, council_post, f"old {i}", i) for i in range(7)]
    result = x.fetch_new({})
    assert result.comments == []
    assert result.watermark == {"since_id": older[-1]}
    (request,) = fake.requests
    assert request.url.path == f"/2/users/{COUNCIL_ID}/mentions"
    assert dict(request.url.params) == {
        "tweet.fields": TWEET_FIELDS,
        "expansions": "author_id",
        "user.fields": "username,name",
        "max_results": "5",
    }


def test_the_first_poll_without_mentions_starts_at_the_clock(
    fake: FakeX, x: XConnector, clock: FakeClock, resident: str, council_post: str
) -> None:
    result = x.fetch_new({})
    assert result.watermark == {"since_id": snowflake_at(clock.now)}
    later = reply(fake, resident, council_post, "first!", 5)
    assert ids(x.fetch_new(result.watermark).comments) == [later]


def test_pages_are_followed_and_the_newest_id_becomes_the_watermark(
    fake: FakeX, x: XConnector, resident: str, council_post: str
) -> None:
    fake.page_size = 2
    watermark = x.fetch_new({}).watermark
    new = [reply(fake, resident, council_post, f"new {i}", 10 + i) for i in range(5)]
    fake.requests.clear()

    result = x.fetch_new(watermark)

    assert ids(result.comments) == new  # oldest first
    assert result.watermark == {"since_id": new[-1]}
    pages = fake.calls("GET", f"users/{COUNCIL_ID}/mentions")
    assert len(pages) == 3
    assert [p.url.params.get("pagination_token") for p in pages] == [None, "2", "4"]
    for page in pages:
        assert page.url.params["since_id"] == watermark["since_id"]
        assert page.url.params["max_results"] == "100"
        assert page.url.params["tweet.fields"] == TWEET_FIELDS


def test_a_second_poll_returns_only_new_mentions(
    fake: FakeX, x: XConnector, resident: str, council_post: str
) -> None:
    watermark = x.fetch_new({}).watermark
    first = reply(fake, resident, council_post, "one", 10)
    result = x.fetch_new(watermark)
    assert ids(result.comments) == [first]

    again = x.fetch_new(result.watermark)
    assert again.comments == []
    assert again.watermark == result.watermark  # an empty page has no newest_id: keep ours

    second = reply(fake, resident, council_post, "two", 20)
    assert ids(x.fetch_new(again.watermark).comments) == [second]


def test_mentions_are_parsed_into_incoming_comments(
    fake: FakeX, x: XConnector, resident: str, council_post: str
) -> None:
    watermark = x.fetch_new({}).watermark
    top = reply(fake, resident, council_post, "the pothole on Station Rd is back", 10)
    nested = reply(fake, resident, top, "and it's getting bigger", 20)

    first, second = x.fetch_new(watermark).comments

    assert first.platform is Platform.X
    assert first.account == COUNCIL_ID
    assert first.external_id == top
    assert (first.author_id, first.author_name) == (resident, "@stationrd_res")
    assert first.text == "@ExampleCouncil the pothole on Station Rd is back"
    assert first.created_at == at(10)
    assert first.source is Source.POLL
    assert first.permalink == f"https://x.com/stationrd_res/status/{top}"
    assert (first.parent_id, first.post_id) == (council_post, council_post)
    assert first.raw["data"]["id"] == top
    assert first.raw["includes"]["users"][0]["username"] == "stationrd_res"
    json.dumps(first.raw)
    assert (second.external_id, second.parent_id, second.post_id) == (nested, top, council_post)


def test_the_councils_own_posts_are_skipped(
    fake: FakeX, x: XConnector, resident: str, council_post: str
) -> None:
    watermark = x.fetch_new({}).watermark
    theirs = reply(fake, resident, council_post, "when does it finish?", 10)
    ours = reply(fake, COUNCIL_ID, theirs, "Friday, weather permitting.", 20)
    result = x.fetch_new(watermark)
    assert ids(result.comments) == [theirs]
    assert result.watermark == {"since_id": ours}  # read past, not again


def test_partial_errors_in_a_200_do_not_fail_the_fetch(
    fake: FakeX, x: XConnector, resident: str, council_post: str
) -> None:
    watermark = x.fetch_new({}).watermark
    suspended = fake.add_user("gone_account")
    lost = reply(fake, suspended, council_post, "spam spam", 10)
    kept = reply(fake, resident, council_post, "useful", 20)
    del fake.users[suspended]

    result = x.fetch_new(watermark)

    assert ids(result.comments) == [lost, kept]
    stray = result.comments[0]
    assert stray.author_name == f"X user {suspended}"
    assert stray.permalink == f"https://x.com/i/web/status/{lost}"


def test_a_page_with_partial_errors_really_carries_them(
    fake: FakeX, resident: str, council_post: str
) -> None:
    suspended = fake.add_user("gone_account")
    reply(fake, suspended, council_post, "spam", 10)
    del fake.users[suspended]
    body = fake.client().get(f"users/{COUNCIL_ID}/mentions", params={"max_results": 5}).json()
    assert body["errors"][0]["type"].endswith("/resource-not-found")
    assert body["data"]


# Reading one post and its context


def test_fetch_comment_reads_the_post(
    fake: FakeX, x: XConnector, resident: str, council_post: str
) -> None:
    post = reply(fake, resident, council_post, "hello", 10)
    comment = x.fetch_comment(post)
    assert comment.text == "@ExampleCouncil hello"
    request = fake.requests[-1]
    assert request.url.path == f"/2/tweets/{post}"
    assert request.url.params["tweet.fields"] == TWEET_FIELDS


def test_fetch_comment_of_a_deleted_post_is_gone(fake: FakeX, x: XConnector) -> None:
    with pytest.raises(Gone, match="Could not find tweet"):
        x.fetch_comment("1874000000000000999")  # X answers 200 with only errors
    fake.fail_next(problem_response(404, "Not Found Error", "", "resource-not-found"))
    with pytest.raises(Gone):
        x.fetch_comment("1874000000000000999")


def test_fetch_thread_gives_the_root_post_and_the_parent(
    fake: FakeX, x: XConnector, resident: str, council_post: str
) -> None:
    first = reply(fake, resident, council_post, "how long?", 10)
    second = x.fetch_comment(reply(fake, resident, first, "anyone?", 20))

    context = x.fetch_thread(second)

    assert context.post_id == council_post
    assert context.post_text == "Roadworks on Station Rd start Monday."
    assert context.post_permalink == f"https://x.com/ExampleCouncil/status/{council_post}"
    assert context.parent is not None
    assert context.parent.external_id == first


def test_fetch_thread_of_a_direct_reply_has_no_parent_comment(
    fake: FakeX, x: XConnector, resident: str, council_post: str
) -> None:
    direct = x.fetch_comment(reply(fake, resident, council_post, "how long?", 10))
    fake.requests.clear()
    context = x.fetch_thread(direct)
    assert context.parent is None
    assert len(fake.requests) == 1  # just the root post


# Actions


@pytest.mark.parametrize(("action", "hidden"), [(Action.HIDE, True), (Action.UNHIDE, False)])
def test_hide_and_unhide_a_reply(
    fake: FakeX, x: XConnector, resident: str, council_post: str, action: Action, hidden: bool
) -> None:
    comment = x.fetch_comment(reply(fake, resident, council_post, "rude words", 10))
    fake.requests.clear()

    result = x.perform(action, comment)

    (request,) = fake.requests
    assert (request.method, request.url.path) == ("PUT", f"/2/tweets/{comment.external_id}/hidden")
    assert json.loads(request.content) == {"hidden": hidden}
    assert result.done
    assert result.action is action
    assert fake.hidden[comment.external_id] is hidden


def test_hiding_a_reply_outside_our_conversation_is_permission_denied(
    fake: FakeX, x: XConnector, resident: str
) -> None:
    theirs = fake.post(resident, "My own thread about @ExampleCouncil", at(0))
    comment = x.fetch_comment(reply(fake, resident, theirs, "more", 10))
    with pytest.raises(PermissionDenied, match="not a reply to one of your Tweets"):
        x.perform(Action.HIDE, comment)


def test_mute_and_unmute_the_author(
    fake: FakeX, x: XConnector, resident: str, council_post: str
) -> None:
    comment = x.fetch_comment(reply(fake, resident, council_post, "spam", 10))
    fake.requests.clear()

    muted = x.perform(Action.MUTE, comment)
    assert fake.muted == {resident}
    unmuted = x.perform(Action.UNMUTE, comment)
    assert fake.muted == set()

    mute, unmute = fake.requests
    assert (mute.method, mute.url.path) == ("POST", f"/2/users/{COUNCIL_ID}/muting")
    assert json.loads(mute.content) == {"target_user_id": resident}
    assert (unmute.method, unmute.url.path) == (
        "DELETE",
        f"/2/users/{COUNCIL_ID}/muting/{resident}",
    )
    assert unmute.content == b""
    assert (muted.done, unmuted.done) == (True, True)


def test_reply(fake: FakeX, x: XConnector, resident: str, council_post: str) -> None:
    comment = x.fetch_comment(reply(fake, resident, council_post, "bin day?", 10))
    fake.requests.clear()

    result = x.perform(Action.REPLY, comment, text="Thursdays - see our website.")

    (request,) = fake.requests
    assert (request.method, request.url.path) == ("POST", "/2/tweets")
    assert json.loads(request.content) == {
        "text": "Thursdays - see our website.",
        "reply": {"in_reply_to_tweet_id": comment.external_id},
    }
    assert result.done
    assert result.created_id in fake.tweets
    assert fake.tweets[result.created_id or ""]["author_id"] == COUNCIL_ID


def test_reply_without_text_is_invalid(
    fake: FakeX, x: XConnector, resident: str, council_post: str
) -> None:
    comment = x.fetch_comment(reply(fake, resident, council_post, "hi", 10))
    with pytest.raises(Invalid):
        x.perform(Action.REPLY, comment)


@pytest.mark.parametrize(
    ("action", "why"),
    [
        (Action.DELETE, "only its own posts"),
        (Action.BLOCK, "Enterprise"),
        (Action.UNBLOCK, "Enterprise"),
    ],
)
def test_actions_x_lacks_are_unsupported_and_say_why(
    fake: FakeX, x: XConnector, resident: str, council_post: str, action: Action, why: str
) -> None:
    comment = x.fetch_comment(reply(fake, resident, council_post, "hi", 10))
    fake.requests.clear()
    with pytest.raises(Unsupported, match=why):
        x.perform(action, comment)
    assert fake.requests == []
    assert action not in x.actions


# Errors


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (
            {
                "title": "Too Many Requests",
                "detail": "Too Many Requests",
                "type": "about:blank",
                "status": 429,
            },
            "",
        ),
        (
            {
                "title": "UsageCapExceeded",
                "detail": "Usage cap exceeded: Monthly product cap",
                "type": "https://api.x.com/2/problems/usage-capped",
                "status": 429,
            },
            "usage-capped",
        ),
    ],
)
def test_429_waits_until_the_rate_limit_reset(
    fake: FakeX, x: XConnector, clock: FakeClock, body: dict[str, object], kind: str
) -> None:
    reset = int(clock.now.timestamp()) + 417
    fake.fail_next(
        httpx.Response(
            429,
            json=body,
            headers={
                "x-rate-limit-limit": "300",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset),
            },
        )
    )
    with pytest.raises(RateLimited) as caught:
        x.fetch_new({"since_id": "1874000000000000001"})
    assert caught.value.retry_after == 417
    assert kind in str(caught.value)


def test_429_without_a_reset_header_waits_one_window(fake: FakeX, x: XConnector) -> None:
    fake.fail_next(problem_response(429, "Too Many Requests"))
    with pytest.raises(RateLimited) as caught:
        x.fetch_new({})
    assert caught.value.retry_after == 900


def test_a_reset_time_already_past_still_waits_a_moment(
    fake: FakeX, x: XConnector, clock: FakeClock
) -> None:
    past = str(int(clock.now.timestamp()) - 30)
    fake.fail_next(problem_response(429, "Too Many Requests", headers={"x-rate-limit-reset": past}))
    with pytest.raises(RateLimited) as caught:
        x.fetch_new({})
    assert caught.value.retry_after == 1


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (problem_response(401, "Unauthorized"), AuthExpired),
        (
            problem_response(403, "Forbidden", "client-not-enrolled", "client-forbidden"),
            PermissionDenied,
        ),
        (problem_response(404, "Not Found Error", "gone", "resource-not-found"), Gone),
        (problem_response(400, "Invalid Request", "bad id", "invalid-request"), Invalid),
        (problem_response(500, "Internal Server Error"), Transient),
        (httpx.Response(503, text="upstream connect error"), Transient),
        (httpx.ReadTimeout("timed out"), Transient),
        (httpx.ConnectError("connection refused"), Transient),
    ],
)
def test_errors_are_translated(
    fake: FakeX,
    x: XConnector,
    resident: str,
    council_post: str,
    response: httpx.Response | Exception,
    error: type[PlatformError],
) -> None:
    comment = x.fetch_comment(reply(fake, resident, council_post, "hi", 10))
    fake.fail_next(response)
    with pytest.raises(error) as caught:
        x.perform(Action.HIDE, comment)
    assert type(caught.value) is error
    assert caught.value.platform == "x"
    assert "council-x" in str(caught.value)


def test_an_expired_token_is_auth_expired(fake: FakeX, x: XConnector) -> None:
    fake.token = "a-refreshed-token-the-connector-lacks"
    with pytest.raises(AuthExpired, match="Unauthorized"):
        x.fetch_new({})


def test_the_token_travels_only_in_the_authorization_header(
    fake: FakeX, x: XConnector, resident: str, council_post: str
) -> None:
    watermark = x.fetch_new({}).watermark
    first = reply(fake, resident, council_post, "hi", 10)
    reply(fake, resident, first, "again", 20)
    comments = x.fetch_new(watermark).comments
    x.fetch_thread(comments[-1])
    for action in (Action.HIDE, Action.UNHIDE, Action.MUTE, Action.UNMUTE):
        x.perform(action, comments[0])
    x.perform(Action.REPLY, comments[0], text="Thanks")
    fake.fail_next(problem_response(401, "Unauthorized"))
    with pytest.raises(AuthExpired) as caught:
        x.fetch_comment(first)

    assert len(fake.requests) >= 10
    for request in fake.requests:
        assert TOKEN not in str(request.url)
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(caught.value)


def test_the_base_url_is_configurable(fake: FakeX, clock: FakeClock) -> None:
    client = fake.client(base_url="http://proxy.internal:8080/2/")
    x = XConnector(client, user_id=COUNCIL_ID, account="council-x", clock=clock)
    x.fetch_new({})
    assert str(fake.requests[0].url).startswith(
        f"http://proxy.internal:8080/2/users/{COUNCIL_ID}/mentions?"
    )


def test_an_html_page_instead_of_json_is_transient(fake: FakeX, x: XConnector) -> None:
    fake.fail_next(httpx.Response(200, text="<html>Proxy login</html>"))
    with pytest.raises(Transient, match="unreadable response"):
        x.fetch_new({})


def test_a_post_from_another_account_is_refused(
    fake: FakeX, x: XConnector, resident: str, council_post: str
) -> None:
    comment = x.fetch_comment(reply(fake, resident, council_post, "hi", 10))
    fake.requests.clear()
    with pytest.raises(Invalid, match="not a mention of this account"):
        x.perform(Action.HIDE, replace(comment, platform=Platform.FACEBOOK))
    assert fake.requests == []
