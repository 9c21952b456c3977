"""The Facebook connector against a fake Graph API: polling, actions, errors, webhooks."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from platforms.base import Action, FetchResult
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
from platforms.facebook import FacebookConnector, parse_webhook, removed_comment_ids
from platforms.graph import parse_graph_time
from platforms.types import IncomingComment, Platform, Source
from tests.fakes.clock import FakeClock
from tests.fakes.fake_graph import GONE, PAGE_ID, TOKEN, VERSION, FakeGraph, graph_error

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
POST = f"{PAGE_ID}_987654321098765"
RESIDENT = ("6123456789012345", "A Resident")


def cid(n: int) -> str:
    """A comment id on POST."""
    return f"987654321098765_{112233445566000 + n}"


def at(second: int) -> datetime:
    """A time in the last hour, to the second."""
    return NOW - timedelta(hours=1) + timedelta(seconds=second)


@pytest.fixture
def graph() -> FakeGraph:
    fake = FakeGraph()
    fake.add_post(POST, NOW - timedelta(days=1), "  Bin collections over Christmas  \nDetails...")
    return fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def fb(graph: FakeGraph, clock: FakeClock) -> FacebookConnector:
    return FacebookConnector(graph.client(), page_id=PAGE_ID, account="Testshire CC", clock=clock)


def ids(result: FetchResult) -> list[str]:
    return [comment.external_id for comment in result.comments]


def comment_calls(graph: FakeGraph) -> list[Any]:
    return [r for r in graph.requests if r.method == "GET" and r.path.endswith("/comments")]


def started(fb: FacebookConnector) -> dict[str, Any]:
    """The watermark after a first poll (which starts "from now")."""
    return fb.fetch_new({}).watermark


# ---------------------------------------------------------------- polling


def test_first_poll_starts_from_now_reading_only_the_newest_page(
    graph: FakeGraph, fb: FacebookConnector
) -> None:
    for n in range(5):
        graph.add_comment(POST, cid(n), at(n))
    result = fb.fetch_new({})
    assert result.comments == []
    assert result.watermark == {
        "posts": {POST: {"until": at(4).isoformat(), "ids": [cid(4)]}},
    }
    assert len(comment_calls(graph)) == 1  # no need to walk older pages


def test_new_comments_across_pages_come_oldest_first(
    graph: FakeGraph, fb: FacebookConnector
) -> None:
    graph.add_comment(POST, cid(0), at(0))
    watermark = started(fb)
    graph.requests.clear()
    for n in range(1, 6):
        graph.add_comment(POST, cid(n), at(n), f"comment {n}")
    graph.add_comment(POST, cid(6), at(6), "a reply", parent=cid(2))
    result = fb.fetch_new(watermark)
    assert ids(result) == [cid(n) for n in range(1, 7)]
    calls = comment_calls(graph)
    assert len(calls) == 4  # 6 new + the old one, two per page
    assert calls[0].params["filter"] == "stream"
    assert calls[0].params["order"] == "reverse_chronological"
    assert "parent{id}" in calls[0].params["fields"]
    assert all(not r.params.get("after") for r in calls[:1])
    assert all(r.params.get("after") for r in calls[1:])  # followed paging.next
    assert result.comments[-1].parent_id == cid(2)


def test_second_poll_returns_only_new_comments(graph: FakeGraph, fb: FacebookConnector) -> None:
    graph.add_comment(POST, cid(0), at(0))
    first = started(fb)
    graph.add_comment(POST, cid(1), at(1))
    second = fb.fetch_new(first)
    assert ids(second) == [cid(1)]
    graph.add_comment(POST, cid(2), at(2))
    third = fb.fetch_new(second.watermark)
    assert ids(third) == [cid(2)]
    assert fb.fetch_new(third.watermark).comments == []


def test_paging_stops_at_the_watermark(graph: FakeGraph, fb: FacebookConnector) -> None:
    for n in range(8):
        graph.add_comment(POST, cid(n), at(n))
    watermark = started(fb)
    graph.add_comment(POST, cid(8), at(8))
    graph.requests.clear()
    assert ids(fb.fetch_new(watermark)) == [cid(8)]
    # Newest first: [8, 7] then [6, 5], where 6 is older than the mark; not all five pages.
    assert len(comment_calls(graph)) == 2


def test_comments_sharing_a_second_are_neither_lost_nor_duplicated(
    graph: FakeGraph, fb: FacebookConnector
) -> None:
    graph.add_comment(POST, cid(5), at(10))
    watermark = started(fb)
    # Two more in the very same second (one sorting before, one after the first), then later.
    graph.add_comment(POST, cid(1), at(10))
    graph.add_comment(POST, cid(9), at(10))
    result = fb.fetch_new(watermark)
    assert sorted(ids(result)) == [cid(1), cid(9)]
    assert result.watermark["posts"][POST] == {
        "until": at(10).isoformat(),
        "ids": sorted([cid(1), cid(5), cid(9)]),
    }
    graph.add_comment(POST, cid(3), at(10))
    graph.add_comment(POST, cid(4), at(11))
    again = fb.fetch_new(result.watermark)
    assert ids(again) == [cid(3), cid(4)]
    assert fb.fetch_new(again.watermark).comments == []


def test_deleted_comments_do_not_break_paging(graph: FakeGraph, fb: FacebookConnector) -> None:
    for n in range(3):
        graph.add_comment(POST, cid(n), at(n))
    watermark = started(fb)
    for n in range(3, 9):
        graph.add_comment(POST, cid(n), at(n))
    graph.delete(cid(2))  # the comment the watermark was anchored on
    graph.delete(cid(1))

    # ... and one more disappears while we are between pages.
    def delete_during_paging(request: Any) -> None:
        if request.params.get("after") and cid(5) in graph.nodes:
            graph.delete(cid(5))

    graph.on_request = delete_during_paging
    result = fb.fetch_new(watermark)
    assert ids(result) == [cid(3), cid(4), cid(6), cid(7), cid(8)]
    graph.on_request = None
    assert fb.fetch_new(result.watermark).comments == []


def test_the_pages_own_comments_are_skipped_but_read_past(
    graph: FakeGraph, fb: FacebookConnector
) -> None:
    watermark = started(fb)
    graph.add_comment(POST, cid(1), at(1), "Are the bins late?", author=RESIDENT)
    graph.add_comment(POST, cid(2), at(2), "Tomorrow!", author=(PAGE_ID, "Council"), parent=cid(1))
    result = fb.fetch_new(watermark)
    assert ids(result) == [cid(1)]
    assert result.watermark["posts"][POST]["ids"] == [cid(2)]


def test_comment_fields_are_filled_from_the_payload(
    graph: FakeGraph, fb: FacebookConnector
) -> None:
    watermark = started(fb)
    graph.add_comment(POST, cid(1), at(1), "When will the bins be collected?", author=RESIDENT)
    graph.add_comment(POST, cid(2), at(2), "No name on me", author=None, parent=cid(1))
    first, second = fb.fetch_new(watermark).comments
    assert first == IncomingComment(
        platform=Platform.FACEBOOK,
        account=PAGE_ID,
        external_id=cid(1),
        author_id=RESIDENT[0],
        author_name=RESIDENT[1],
        text="When will the bins be collected?",
        created_at=at(1),
        source=Source.POLL,
        permalink=f"https://www.facebook.com/posts/1?comment_id={cid(1)}",
        parent_id=None,
        post_id=POST,
        post_title="Bin collections over Christmas",
        raw=first.raw,
    )
    assert first.raw["id"] == cid(1)
    assert first.raw["created_time"] == at(1).strftime("%Y-%m-%dT%H:%M:%S+0000")
    assert (second.author_id, second.author_name) == ("unknown", "unknown")
    assert second.parent_id == cid(1)


def test_only_recent_posts_are_read_and_new_posts_count_in_full(
    graph: FakeGraph, fb: FacebookConnector
) -> None:
    old_post = f"{PAGE_ID}_111"
    graph.add_post(old_post, NOW - timedelta(days=20))
    graph.add_comment(old_post, "111_1", at(1))
    graph.add_comment(POST, cid(1), at(1))
    watermark = started(fb)
    watermark["posts"][old_post] = {"until": at(0).isoformat(), "ids": []}
    new_post = f"{PAGE_ID}_222"
    graph.add_post(new_post, at(5), message=None)
    graph.add_comment(new_post, "222_1", at(6))
    graph.add_comment(new_post, "222_2", at(7))
    result = fb.fetch_new(watermark)
    assert ids(result) == ["222_1", "222_2"]
    assert result.comments[0].post_title is None
    assert set(result.watermark["posts"]) == {POST, new_post}  # the old post dropped out
    listing = next(r for r in graph.requests if r.path.endswith("/published_posts"))
    assert listing.params["since"] == str(int((NOW - timedelta(days=14)).timestamp()))


def test_posts_are_listed_across_pages_and_quiet_posts_keep_a_mark(
    graph: FakeGraph, fb: FacebookConnector
) -> None:
    for n in range(5):
        graph.add_post(f"{PAGE_ID}_30{n}", NOW - timedelta(hours=n + 2))
    watermark = started(fb)
    assert len(watermark["posts"]) == 6
    assert watermark["posts"][f"{PAGE_ID}_300"]["until"] == (NOW - timedelta(hours=2)).isoformat()
    graph.add_comment(f"{PAGE_ID}_304", "304_1", at(1))
    assert ids(fb.fetch_new(watermark)) == ["304_1"]


def test_a_post_deleted_while_polling_is_skipped(graph: FakeGraph, fb: FacebookConnector) -> None:
    graph.add_post(f"{PAGE_ID}_5", NOW - timedelta(hours=3))
    watermark = started(fb)
    graph.add_comment(POST, cid(1), at(1))
    graph.fail_next(400, GONE, match=lambda request: f"{PAGE_ID}_5/comments" in request.url.path)
    result = fb.fetch_new(watermark)
    assert ids(result) == [cid(1)]
    assert set(result.watermark["posts"]) == {POST}


def test_the_token_travels_only_in_the_authorization_header(
    graph: FakeGraph, fb: FacebookConnector
) -> None:
    graph.echo_token_in_next = True  # as if Graph had echoed a token into paging.next
    watermark = started(fb)
    for n in range(1, 6):
        graph.add_comment(POST, cid(n), at(n))
    fb.fetch_new(watermark)
    comment = fb.fetch_comment(cid(1))
    fb.perform(Action.HIDE, comment)
    fb.perform(Action.REPLY, comment, text="Thanks")
    assert len(graph.requests) > 5
    for request in graph.requests:
        assert TOKEN not in request.url
        assert "access_token" not in request.url
        assert TOKEN not in json.dumps(request.form)
        assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_the_api_version_is_configurable() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200, json={"data": []})

    client = httpx.Client(base_url="https://graph.example", transport=httpx.MockTransport(handler))
    fb = FacebookConnector(
        client, page_id=PAGE_ID, account="x", clock=FakeClock(NOW), api_version="v26.0"
    )
    assert fb.fetch_new({}).watermark == {"posts": {}}
    assert paths == [f"/v26.0/{PAGE_ID}/published_posts"]


# ---------------------------------------------------------------- single objects


def test_fetch_comment_returns_the_comment_as_it_is_now(
    graph: FakeGraph, fb: FacebookConnector
) -> None:
    graph.add_comment(POST, cid(1), at(1), "edited text")
    comment = fb.fetch_comment(cid(1))
    assert (comment.external_id, comment.text, comment.post_id) == (cid(1), "edited text", POST)
    graph.delete(cid(1))
    with pytest.raises(Gone):
        fb.fetch_comment(cid(1))


def test_fetch_thread_gives_the_post_and_the_parent(
    graph: FakeGraph, fb: FacebookConnector
) -> None:
    graph.add_comment(POST, cid(1), at(1), "parent")
    graph.add_comment(POST, cid(2), at(2), "reply", parent=cid(1))
    reply = fb.fetch_comment(cid(2))
    thread = fb.fetch_thread(reply)
    assert thread.post_id == POST
    assert thread.post_text is not None
    assert thread.post_text.startswith("  Bin collections")
    assert thread.post_permalink == "https://www.facebook.com/104567890123456/posts/987654321098765"
    assert thread.parent is not None
    assert thread.parent.text == "parent"
    top = fb.fetch_thread(fb.fetch_comment(cid(1)))
    assert top.parent is None


# ---------------------------------------------------------------- actions


@pytest.fixture
def resident_comment(graph: FakeGraph, fb: FacebookConnector) -> IncomingComment:
    graph.add_comment(POST, cid(1), at(1), "spam spam", author=RESIDENT)
    return fb.fetch_comment(cid(1))


@pytest.mark.parametrize(
    ("action", "method", "path", "sent"),
    [
        (Action.HIDE, "POST", cid(1), {"is_hidden": "true"}),
        (Action.UNHIDE, "POST", cid(1), {"is_hidden": "false"}),
        (Action.DELETE, "DELETE", cid(1), {}),
        (Action.BLOCK, "POST", f"{PAGE_ID}/blocked", {"uid": json.dumps([RESIDENT[0]])}),
        (Action.UNBLOCK, "DELETE", f"{PAGE_ID}/blocked", {"uid": RESIDENT[0]}),
        (Action.REPLY, "POST", f"{cid(1)}/comments", {"message": "Please see our website"}),
    ],
)
def test_each_action_sends_the_documented_request(
    graph: FakeGraph,
    fb: FacebookConnector,
    resident_comment: IncomingComment,
    action: Action,
    method: str,
    path: str,
    sent: dict[str, str],
) -> None:
    graph.requests.clear()
    text = "Please see our website" if action is Action.REPLY else None
    result = fb.perform(action, resident_comment, text=text)
    (request,) = graph.requests
    assert (request.method, request.path) == (method, path)
    assert (request.form if method == "POST" else request.params) == sent
    assert result.done
    assert result.action is action
    assert result.comment_id == cid(1)
    if action is Action.REPLY:
        assert result.created_id is not None
        assert graph.nodes[result.created_id].fields["message"] == "Please see our website"
    if action is Action.HIDE:
        assert graph.nodes[cid(1)].fields["is_hidden"] is True
    if action is Action.DELETE:
        assert cid(1) not in graph.nodes
    if action is Action.BLOCK:
        assert graph.blocked == {RESIDENT[0]}


def test_deleting_an_already_deleted_comment_counts_as_done(
    graph: FakeGraph, fb: FacebookConnector, resident_comment: IncomingComment
) -> None:
    graph.delete(cid(1))
    result = fb.perform(Action.DELETE, resident_comment)
    assert result.done
    assert result.detail == "already deleted"
    with pytest.raises(Gone):  # hiding a vanished comment is not silently "done"
        fb.perform(Action.HIDE, resident_comment)


def test_mute_is_unsupported_and_actions_say_so(
    graph: FakeGraph, fb: FacebookConnector, resident_comment: IncomingComment
) -> None:
    assert fb.platform is Platform.FACEBOOK
    assert fb.actions == {
        Action.HIDE,
        Action.UNHIDE,
        Action.DELETE,
        Action.BLOCK,
        Action.UNBLOCK,
        Action.REPLY,
    }
    graph.requests.clear()
    for action in (Action.MUTE, Action.UNMUTE):
        with pytest.raises(Unsupported):
            fb.perform(action, resident_comment)
    assert graph.requests == []


def test_bad_action_requests_are_refused_before_calling_graph(
    graph: FakeGraph, fb: FacebookConnector, resident_comment: IncomingComment
) -> None:
    graph.requests.clear()
    with pytest.raises(Invalid):
        fb.perform(Action.REPLY, resident_comment, text="  ")
    with pytest.raises(Invalid):
        fb.perform(Action.BLOCK, replace(resident_comment, author_id="unknown"))
    with pytest.raises(Invalid):
        fb.perform(Action.HIDE, replace(resident_comment, account="another-page"))
    assert graph.requests == []


# ---------------------------------------------------------------- errors


def buc_header(minutes: int, percent: int = 100) -> dict[str, str]:
    usage = {
        PAGE_ID: [
            {
                "type": "pages",
                "call_count": percent,
                "total_cputime": 12,
                "total_time": 20,
                "estimated_time_to_regain_access": minutes,
            }
        ]
    }
    return {"X-Business-Use-Case-Usage": json.dumps(usage)}


@pytest.mark.parametrize(
    ("code", "subcode", "expected"),
    [
        (190, 463, AuthExpired),
        (190, 460, AuthExpired),
        (102, None, AuthExpired),
        (10, None, PermissionDenied),
        (200, None, PermissionDenied),
        (368, None, PermissionDenied),
        (100, 33, Gone),
        (1, None, Transient),
        (2, None, Transient),
        (100, None, Invalid),
    ],
)
def test_graph_error_codes_are_translated(
    graph: FakeGraph,
    fb: FacebookConnector,
    code: int,
    subcode: int | None,
    expected: type[PlatformError],
) -> None:
    graph.fail_next(400, graph_error(code, subcode, "(#x) something went wrong"))
    with pytest.raises(expected) as raised:
        fb.fetch_new({})
    assert type(raised.value) is expected
    assert raised.value.platform == "facebook"
    assert "Testshire CC" in str(raised.value)
    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_throttling_waits_as_long_as_the_usage_header_says(
    graph: FakeGraph, fb: FacebookConnector, code: int
) -> None:
    graph.fail_next(400, graph_error(code, message="too many calls"), headers=buc_header(5))
    with pytest.raises(RateLimited) as raised:
        fb.fetch_new({})
    assert raised.value.retry_after == 300
    assert fb.usage_percent == 100


def test_throttling_without_a_usage_header_uses_a_default_back_off(
    graph: FakeGraph, fb: FacebookConnector
) -> None:
    graph.fail_next(400, graph_error(80001, message="too many calls"))
    with pytest.raises(RateLimited) as raised:
        fb.fetch_new({})
    assert raised.value.retry_after == 60


@pytest.mark.parametrize(
    ("status", "body", "exception"),
    [
        (500, b"<html>Internal Server Error</html>", None),
        (503, graph_error(2, message="Service temporarily unavailable"), None),
        (502, b"", None),
        (0, None, httpx.ReadTimeout("timed out")),
        (0, None, httpx.ConnectError("connection refused")),
    ],
)
def test_outages_and_timeouts_are_transient(
    graph: FakeGraph,
    fb: FacebookConnector,
    status: int,
    body: Any,
    exception: Exception | None,
) -> None:
    graph.add_comment(POST, cid(1), at(1))
    comment = fb.fetch_comment(cid(1))
    graph.fail_next(status, body, exception=exception)
    with pytest.raises(Transient):
        fb.perform(Action.HIDE, comment)


def test_other_http_failures_without_an_envelope(graph: FakeGraph, fb: FacebookConnector) -> None:
    graph.fail_next(429, b"slow down", headers={"Retry-After": "12"})
    with pytest.raises(RateLimited) as raised:
        fb.fetch_new({})
    assert raised.value.retry_after == 12
    # A bare 404 (a proxy's page, an outage) is not proof that anything was deleted.
    graph.fail_next(404, b"not found")
    with pytest.raises(Transient):
        fb.fetch_new({})


def test_usage_headers_are_exposed_so_a_poller_can_slow_down(
    graph: FakeGraph, fb: FacebookConnector
) -> None:
    assert fb.usage_percent is None
    assert not fb.near_limit
    graph.usage_headers = {
        "X-App-Usage": json.dumps({"call_count": 12, "total_cputime": 3, "total_time": 4}),
        **buc_header(0, percent=85),
    }
    fb.fetch_new({})
    assert fb.usage_percent == 85
    assert fb.near_limit
    graph.usage_headers = {"X-Page-Usage": json.dumps({"call_count": 40, "total_time": 2})}
    fb.fetch_new({})
    assert fb.usage_percent == 40
    assert not fb.near_limit
    graph.usage_headers = {"X-App-Usage": "not json"}
    fb.fetch_new({})  # a garbled header never fails a call
    assert fb.usage_percent == 40


# ---------------------------------------------------------------- webhooks


def delivery(*values: dict[str, Any], page_id: str = PAGE_ID) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [
            {
                "id": page_id,
                "time": 1767225600,
                "changes": [{"field": "feed", "value": value} for value in values],
            }
        ],
    }


def comment_value(verb: str = "add", **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "item": "comment",
        "verb": verb,
        "post_id": POST,
        "comment_id": cid(1),
        "parent_id": POST,
        "created_time": 1767225598,
        "from": {"id": RESIDENT[0], "name": RESIDENT[1]},
        "message": "When will the bins on Mill Lane be collected?",
    }
    value.update(overrides)
    return value


def test_webhook_add_and_edited_comments_are_parsed() -> None:
    payload = delivery(
        comment_value("add"),
        comment_value("edited", comment_id=cid(2), parent_id=cid(1), message="(edited)"),
    )
    added, edited = parse_webhook(payload)
    assert added.platform is Platform.FACEBOOK
    assert added.source is Source.WEBHOOK
    assert (added.account, added.external_id, added.post_id) == (PAGE_ID, cid(1), POST)
    assert (added.author_id, added.author_name) == RESIDENT
    assert added.created_at == datetime.fromtimestamp(1767225598, UTC)
    assert added.parent_id is None  # a top-level comment's parent is the post
    assert added.text == "When will the bins on Mill Lane be collected?"
    assert added.raw["verb"] == "add"
    assert (edited.external_id, edited.parent_id, edited.text) == (cid(2), cid(1), "(edited)")
    assert removed_comment_ids(payload) == []


def test_webhook_noise_and_the_pages_own_comments_are_ignored() -> None:
    payload = delivery(
        comment_value("add", **{"from": {"id": PAGE_ID, "name": "Council"}}),
        comment_value("hide"),
        {"item": "reaction", "verb": "add", "post_id": POST, "reaction_type": "like"},
        {"item": "status", "verb": "add", "post_id": POST, "message": "A new post"},
        comment_value("add", comment_id=cid(3), **{"from": None}),
    )
    (only,) = parse_webhook(payload)
    assert only.external_id == cid(3)
    assert (only.author_id, only.author_name) == ("unknown", "unknown")
    assert parse_webhook({"object": "instagram", "entry": payload["entry"]}) == []
    assert parse_webhook({"object": "page", "entry": "garbage"}) == []


def test_webhook_removals_give_the_removed_comment_ids() -> None:
    payload = delivery(
        comment_value("remove"),
        comment_value("delete", comment_id=cid(2)),
        {"item": "post", "verb": "remove", "post_id": POST},
    )
    assert removed_comment_ids(payload) == [(PAGE_ID, cid(1)), (PAGE_ID, cid(2))]
    assert parse_webhook(payload) == []


# ---------------------------------------------------------------- times


@pytest.mark.parametrize(
    "value",
    ["2026-01-01T00:06:38+0000", "2026-01-01T00:06:38Z", "2026-01-01T01:06:38+01:00", 1767225998],
)
def test_graph_times_parse_to_aware_utc(value: object) -> None:
    assert parse_graph_time(value) == datetime(2026, 1, 1, 0, 6, 38, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, "", "yesterday", True])
def test_bad_graph_times_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="time"):
        parse_graph_time(value)


def test_versions_default_to_v25(graph: FakeGraph, fb: FacebookConnector) -> None:
    fb.fetch_new({})
    assert all(r.url.startswith(f"https://graph.facebook.com/{VERSION}/") for r in graph.requests)
