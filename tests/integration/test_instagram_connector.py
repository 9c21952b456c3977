"""The Instagram connector against a fake Graph API: polling, actions, errors, webhooks."""

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
from platforms.instagram import InstagramConnector, parse_webhook
from platforms.types import IncomingComment, Platform, Source
from tests.fakes.clock import FakeClock
from tests.fakes.fake_graph import IG_USER_ID, TOKEN, FakeGraph, graph_error

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
MEDIA = "17900000000000001"
JO = ("17841400000000001", "resident_jo")


def cid(n: int) -> str:
    """An Instagram comment id."""
    return f"178900123456{n:05d}"


def at(second: int) -> datetime:
    """A time in the last hour, to the second."""
    return NOW - timedelta(hours=1) + timedelta(seconds=second)


@pytest.fixture
def graph() -> FakeGraph:
    fake = FakeGraph()
    fake.add_media(MEDIA, NOW - timedelta(days=1), "Roadworks on the A38 this week\n#roads")
    return fake


@pytest.fixture
def ig(graph: FakeGraph) -> InstagramConnector:
    return InstagramConnector(
        graph.client(), ig_user_id=IG_USER_ID, account="Testshire IG", clock=FakeClock(NOW)
    )


def ids(result: FetchResult) -> list[str]:
    return [comment.external_id for comment in result.comments]


def started(ig: InstagramConnector) -> dict[str, Any]:
    """The watermark after a first poll (which starts "from now")."""
    return ig.fetch_new({}).watermark


# ---------------------------------------------------------------- polling


def test_first_poll_starts_from_now(graph: FakeGraph, ig: InstagramConnector) -> None:
    graph.add_ig_comment(MEDIA, cid(1), at(1))
    graph.add_ig_comment(MEDIA, cid(2), at(2), parent=cid(1))
    result = ig.fetch_new({})
    assert result.comments == []
    assert result.watermark == {"posts": {MEDIA: {"until": at(2).isoformat(), "ids": [cid(2)]}}}


def test_comments_and_replies_across_pages_come_oldest_first(
    graph: FakeGraph, ig: InstagramConnector
) -> None:
    watermark = started(ig)
    graph.requests.clear()
    for n in range(1, 6):
        graph.add_ig_comment(MEDIA, cid(n), at(n))
    # Five replies to the first comment: more than the nested first page holds.
    for n in range(10, 15):
        graph.add_ig_comment(MEDIA, cid(n), at(n), "a reply", parent=cid(1))
    result = ig.fetch_new(watermark)
    assert ids(result) == [cid(n) for n in (1, 2, 3, 4, 5, 10, 11, 12, 13, 14)]
    assert all(c.parent_id == cid(1) for c in result.comments[5:])
    assert all(c.parent_id is None for c in result.comments[:5])
    paths = [r.path for r in graph.requests]
    assert paths.count(f"{MEDIA}/comments") == 3  # 5 top-level comments, two per page
    assert paths.count(f"{cid(1)}/replies") == 2  # the nested page's paging.next, followed
    fields = next(r for r in graph.requests if r.path == f"{MEDIA}/comments").params["fields"]
    assert "replies{" in fields
    assert "from{id,username}" in fields


def test_second_poll_returns_only_new_comments_including_replies_to_old_ones(
    graph: FakeGraph, ig: InstagramConnector
) -> None:
    graph.add_ig_comment(MEDIA, cid(1), at(1))
    first = started(ig)
    graph.add_ig_comment(MEDIA, cid(2), at(2))
    graph.add_ig_comment(MEDIA, cid(3), at(3), parent=cid(1))
    second = ig.fetch_new(first)
    assert ids(second) == [cid(2), cid(3)]
    assert ig.fetch_new(second.watermark).comments == []


def test_comments_sharing_a_second_are_neither_lost_nor_duplicated(
    graph: FakeGraph, ig: InstagramConnector
) -> None:
    graph.add_ig_comment(MEDIA, cid(5), at(10))
    watermark = started(ig)
    graph.add_ig_comment(MEDIA, cid(1), at(10))
    graph.add_ig_comment(MEDIA, cid(9), at(10), parent=cid(5))
    result = ig.fetch_new(watermark)
    assert ids(result) == [cid(1), cid(9)]
    assert result.watermark["posts"][MEDIA]["ids"] == [cid(1), cid(5), cid(9)]
    graph.add_ig_comment(MEDIA, cid(3), at(10))
    again = ig.fetch_new(result.watermark)
    assert ids(again) == [cid(3)]
    assert ig.fetch_new(again.watermark).comments == []


def test_deleted_comments_do_not_break_paging(graph: FakeGraph, ig: InstagramConnector) -> None:
    for n in range(1, 4):
        graph.add_ig_comment(MEDIA, cid(n), at(n))
    watermark = started(ig)
    for n in range(4, 9):
        graph.add_ig_comment(MEDIA, cid(n), at(n))
    graph.delete(cid(3))  # the watermark's anchor
    graph.delete(cid(2))

    def delete_during_paging(request: Any) -> None:
        if request.params.get("after") and cid(7) in graph.nodes:
            graph.delete(cid(7))

    graph.on_request = delete_during_paging
    result = ig.fetch_new(watermark)
    assert ids(result) == [cid(4), cid(5), cid(6), cid(8)]
    graph.on_request = None
    assert ig.fetch_new(result.watermark).comments == []


def test_the_accounts_own_comments_are_skipped(graph: FakeGraph, ig: InstagramConnector) -> None:
    watermark = started(ig)
    graph.add_ig_comment(MEDIA, cid(1), at(1), "When does it end?", author=JO)
    graph.add_ig_comment(MEDIA, cid(2), at(2), "Friday", author=(IG_USER_ID, "ourcouncil"))
    graph.add_ig_comment(
        MEDIA, cid(3), at(3), "Thanks!", author=(IG_USER_ID, "ourcouncil"), parent=cid(1)
    )
    result = ig.fetch_new(watermark)
    assert ids(result) == [cid(1)]
    assert result.watermark["posts"][MEDIA]["ids"] == [cid(3)]


def test_media_without_comments_cost_no_comment_calls(
    graph: FakeGraph, ig: InstagramConnector
) -> None:
    graph.add_media("17900000000000002", NOW - timedelta(hours=3))
    graph.add_media("17900000000000003", NOW - timedelta(days=30))  # outside the lookback
    watermark = started(ig)
    assert set(watermark["posts"]) == {MEDIA, "17900000000000002"}
    assert not [r for r in graph.requests if r.path.endswith("/comments")]
    listing = next(r for r in graph.requests if r.path == f"{IG_USER_ID}/media")
    assert listing.params["since"] == str(int((NOW - timedelta(days=14)).timestamp()))
    assert "comments_count" in listing.params["fields"]


def test_comment_fields_are_filled_from_the_payload(
    graph: FakeGraph, ig: InstagramConnector
) -> None:
    watermark = started(ig)
    graph.add_ig_comment(MEDIA, cid(1), at(1), "Road closure again?!", author=JO)
    graph.add_ig_comment(MEDIA, cid(2), at(2), "anonymous", author=None, parent=cid(1))
    first, second = ig.fetch_new(watermark).comments
    assert first == IncomingComment(
        platform=Platform.INSTAGRAM,
        account=IG_USER_ID,
        external_id=cid(1),
        author_id=JO[0],
        author_name=JO[1],
        text="Road closure again?!",
        created_at=at(1),
        source=Source.POLL,
        permalink=f"https://www.instagram.com/p/{MEDIA}/",
        parent_id=None,
        post_id=MEDIA,
        post_title="Roadworks on the A38 this week",
        raw=first.raw,
    )
    assert "replies" not in first.raw  # the nested replies are comments of their own
    assert first.raw["timestamp"] == at(1).strftime("%Y-%m-%dT%H:%M:%S+0000")
    assert (second.author_id, second.author_name, second.parent_id) == (
        "unknown",
        "unknown",
        cid(1),
    )


def test_the_token_travels_only_in_the_authorization_header(
    graph: FakeGraph, ig: InstagramConnector
) -> None:
    graph.echo_token_in_next = True
    watermark = started(ig)
    for n in range(1, 6):
        graph.add_ig_comment(MEDIA, cid(n), at(n))
    for n in range(10, 14):
        graph.add_ig_comment(MEDIA, cid(n), at(n), parent=cid(1))
    ig.fetch_new(watermark)
    ig.perform(Action.REPLY, ig.fetch_comment(cid(2)), text="Thanks")
    assert any(r.params.get("after") for r in graph.requests)
    for request in graph.requests:
        assert TOKEN not in request.url
        assert "access_token" not in request.url
        assert request.headers["authorization"] == f"Bearer {TOKEN}"


# ---------------------------------------------------------------- single objects


def test_fetch_comment_and_thread(graph: FakeGraph, ig: InstagramConnector) -> None:
    graph.add_ig_comment(MEDIA, cid(1), at(1), "parent")
    graph.add_ig_comment(MEDIA, cid(2), at(2), "reply", parent=cid(1))
    reply = ig.fetch_comment(cid(2))
    assert (reply.post_id, reply.parent_id, reply.text) == (MEDIA, cid(1), "reply")
    assert reply.post_title == "Roadworks on the A38 this week"
    thread = ig.fetch_thread(reply)
    assert thread.post_id == MEDIA
    assert thread.post_text == "Roadworks on the A38 this week\n#roads"
    assert thread.post_permalink == f"https://www.instagram.com/p/{MEDIA}/"
    assert thread.parent is not None
    assert thread.parent.external_id == cid(1)
    graph.delete(cid(1))
    with pytest.raises(Gone):
        ig.fetch_comment(cid(1))


# ---------------------------------------------------------------- actions


@pytest.fixture
def top_level(graph: FakeGraph, ig: InstagramConnector) -> IncomingComment:
    graph.add_ig_comment(MEDIA, cid(1), at(1), "buy followers", author=JO)
    return ig.fetch_comment(cid(1))


@pytest.mark.parametrize(
    ("action", "method", "path", "sent"),
    [
        (Action.HIDE, "POST", cid(1), {"hide": "true"}),
        (Action.UNHIDE, "POST", cid(1), {"hide": "false"}),
        (Action.DELETE, "DELETE", cid(1), {}),
        (Action.REPLY, "POST", f"{cid(1)}/replies", {"message": "Please DM us"}),
    ],
)
def test_each_action_sends_the_documented_request(
    graph: FakeGraph,
    ig: InstagramConnector,
    top_level: IncomingComment,
    action: Action,
    method: str,
    path: str,
    sent: dict[str, str],
) -> None:
    graph.requests.clear()
    text = "Please DM us" if action is Action.REPLY else None
    result = ig.perform(action, top_level, text=text)
    (request,) = graph.requests
    assert (request.method, request.path) == (method, path)
    assert (request.form if method == "POST" else request.params) == sent
    assert result.done
    assert (result.action, result.comment_id) == (action, cid(1))
    if action is Action.HIDE:
        assert graph.nodes[cid(1)].fields["hidden"] is True
    if action is Action.REPLY:
        assert result.created_id is not None
        assert graph.nodes[result.created_id].parent == cid(1)


def test_deleting_an_already_deleted_comment_counts_as_done(
    graph: FakeGraph, ig: InstagramConnector, top_level: IncomingComment
) -> None:
    graph.delete(cid(1))
    result = ig.perform(Action.DELETE, top_level)
    assert result.done
    assert result.detail == "already deleted"


def test_replies_only_to_top_level_comments(
    graph: FakeGraph, ig: InstagramConnector, top_level: IncomingComment
) -> None:
    graph.add_ig_comment(MEDIA, cid(2), at(2), "a reply", parent=cid(1))
    reply = ig.fetch_comment(cid(2))
    graph.requests.clear()
    with pytest.raises(Invalid, match="top-level"):
        ig.perform(Action.REPLY, reply, text="Thanks")
    with pytest.raises(Invalid, match="needs text"):
        ig.perform(Action.REPLY, top_level, text="")
    assert graph.requests == []


def test_a_refused_reply_to_a_hidden_comment_is_explained(
    graph: FakeGraph, ig: InstagramConnector, top_level: IncomingComment
) -> None:
    ig.perform(Action.HIDE, top_level)
    with pytest.raises(Invalid, match="hidden comments; unhide it first"):
        ig.perform(Action.REPLY, top_level, text="Thanks")
    ig.perform(Action.UNHIDE, top_level)
    assert ig.perform(Action.REPLY, top_level, text="Thanks").done


def test_a_refused_reply_that_is_not_about_hiding_keeps_its_error(
    graph: FakeGraph, ig: InstagramConnector, top_level: IncomingComment
) -> None:
    graph.fail_next(400, graph_error(10, message="Application does not have permission"))
    with pytest.raises(PermissionDenied):
        ig.perform(Action.REPLY, top_level, text="Thanks")


def test_block_and_mute_are_unsupported(
    graph: FakeGraph, ig: InstagramConnector, top_level: IncomingComment
) -> None:
    assert ig.platform is Platform.INSTAGRAM
    assert ig.actions == {Action.HIDE, Action.UNHIDE, Action.DELETE, Action.REPLY}
    graph.requests.clear()
    for action in (Action.BLOCK, Action.UNBLOCK, Action.MUTE, Action.UNMUTE):
        with pytest.raises(Unsupported):
            ig.perform(action, top_level)
    with pytest.raises(Invalid):
        ig.perform(Action.HIDE, replace(top_level, platform=Platform.FACEBOOK))
    assert graph.requests == []


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (400, graph_error(190, 463, "Session has expired"), {}, AuthExpired),
        (400, graph_error(10, message="Permission denied"), {}, PermissionDenied),
        (400, graph_error(200, message="Permissions error"), {}, PermissionDenied),
        (400, graph_error(100, 33, "Object does not exist"), {}, Gone),
        (400, graph_error(1, message="An unknown error occurred"), {}, Transient),
        (500, b"Internal Server Error", {}, Transient),
    ],
)
def test_graph_errors_are_translated(
    graph: FakeGraph,
    ig: InstagramConnector,
    status: int,
    body: Any,
    headers: dict[str, str],
    expected: type[PlatformError],
) -> None:
    graph.fail_next(status, body, headers=headers)
    with pytest.raises(expected) as raised:
        ig.fetch_new({})
    assert type(raised.value) is expected
    assert raised.value.platform == "instagram"


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_throttling_uses_estimated_time_to_regain_access(
    graph: FakeGraph, ig: InstagramConnector, code: int
) -> None:
    usage = {
        IG_USER_ID: [
            {
                "type": "instagram",
                "call_count": 100,
                "total_cputime": 5,
                "total_time": 5,
                "estimated_time_to_regain_access": 5,
            }
        ]
    }
    graph.fail_next(
        400,
        graph_error(code, message="Too many calls"),
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
    )
    with pytest.raises(RateLimited) as raised:
        ig.fetch_new({})
    assert raised.value.retry_after == 300
    assert ig.near_limit


def test_a_timeout_is_transient(graph: FakeGraph, ig: InstagramConnector) -> None:
    graph.fail_next(exception=httpx.ReadTimeout("timed out"))
    with pytest.raises(Transient):
        ig.fetch_new({})


# ---------------------------------------------------------------- webhooks


def delivery(*changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "instagram",
        "entry": [{"id": IG_USER_ID, "time": 1767258764, "changes": list(changes)}],
    }


def change(field: str = "comments", **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "from": {"id": JO[0], "username": JO[1]},
        "media": {"id": MEDIA, "media_product_type": "FEED"},
        "id": cid(1),
        "text": "Road closure again?!",
    }
    value.update(overrides)
    return {"field": field, "value": value}


def test_webhook_comments_are_parsed() -> None:
    top, reply = parse_webhook(delivery(change(), change(id=cid(2), parent_id=cid(1))))
    assert top.platform is Platform.INSTAGRAM
    assert top.source is Source.WEBHOOK
    assert (top.account, top.external_id, top.post_id, top.parent_id) == (
        IG_USER_ID,
        cid(1),
        MEDIA,
        None,
    )
    assert (top.author_id, top.author_name, top.text) == (JO[0], JO[1], "Road closure again?!")
    assert top.created_at == datetime.fromtimestamp(1767258764, UTC)  # the delivery's time
    assert reply.parent_id == cid(1)


def test_webhook_noise_and_own_comments_are_ignored() -> None:
    payload = delivery(
        change(**{"from": {"id": IG_USER_ID, "username": "ourcouncil"}}),
        change("mentions", id=cid(3)),
        change(id=""),
        change(id=cid(4)),
    )
    (only,) = parse_webhook(payload)
    assert only.external_id == cid(4)
    assert parse_webhook({"object": "page", "entry": payload["entry"]}) == []
