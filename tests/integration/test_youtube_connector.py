"""The YouTube connector against a fake Data API v3: polling, actions and error translation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

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
from platforms.youtube import HELD_QUEUE_KEY, YouTubeConnector, seconds_until_quota_reset
from tests.fakes.clock import FakeClock
from tests.fakes.fake_youtube import (
    CHANNEL_ID,
    TOKEN,
    FakeYouTube,
    error_response,
    quota_exceeded,
)

T0 = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
"""Comments in these tests are posted after the clock's 09:00, when polling started."""


def at(seconds: int) -> datetime:
    """A time ``seconds`` after T0."""
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def fake() -> FakeYouTube:
    return FakeYouTube()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 16, 9, 0, tzinfo=UTC))


@pytest.fixture
def yt(fake: FakeYouTube, clock: FakeClock) -> YouTubeConnector:
    return YouTubeConnector(fake.client(), channel_id=CHANNEL_ID, account="council-yt", clock=clock)


def ids(comments: list[IncomingComment]) -> list[str]:
    return [c.external_id for c in comments]


def started(yt: YouTubeConnector) -> dict[str, object]:
    """The watermark after a first poll."""
    return yt.fetch_new({}).watermark


def position(watermark: Mapping[str, Any]) -> dict[str, object]:
    """The part of a watermark that says how far the published listing has been read."""
    return {"until": watermark["until"], "ids": watermark["ids"]}


def threads(watermark: Mapping[str, Any]) -> dict[str, Any]:
    """The recent threads a watermark keeps, by id."""
    return dict(watermark["threads"])


def ids_at(fake: FakeYouTube, second: int) -> list[str]:
    """The ids of the fake's comments published at ``at(second)``."""
    return sorted(c.id for c in fake.comments.values() if c.published == at(second))


# Polling


def test_it_satisfies_the_connector_protocol(yt: YouTubeConnector) -> None:
    connector: Connector = yt
    assert connector.platform is Platform.YOUTUBE
    assert connector.actions == {
        Action.HIDE,
        Action.UNHIDE,
        Action.DELETE,
        Action.BLOCK,
        Action.REPLY,
    }


def test_the_first_poll_starts_from_now(fake: FakeYouTube, yt: YouTubeConnector) -> None:
    old = fake.add_comment("Old news", at(0))
    also = fake.add_comment("Also old", at(5))
    newest = fake.add_reply(old, "A reply is the newest of all", at(7))
    result = yt.fetch_new({})
    assert result.comments == []
    assert position(result.watermark) == {"until": "2026-11-16T10:00:07+00:00", "ids": [newest]}
    assert set(threads(result.watermark)) == {old, also}
    # One page of each listing: published, held for review, likely spam.
    assert len(fake.requests) == 3
    assert len(fake.listings()) == 1


def test_the_first_poll_of_an_empty_channel_starts_at_the_clock(
    yt: YouTubeConnector, clock: FakeClock
) -> None:
    result = yt.fetch_new({})
    assert result.comments == []
    now = {"until": clock.now.isoformat(), "ids": []}
    assert result.watermark == {
        **now,
        "threads": {},
        "held": {"heldForReview": now, "likelySpam": now},
    }


def test_listing_asks_for_every_thread_on_the_channel_newest_first(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    yt.fetch_new({})
    params = dict(fake.calls("GET", "commentThreads")[0].url.params)
    assert params == {
        "part": "snippet,replies",
        "allThreadsRelatedToChannelId": CHANNEL_ID,
        "order": "time",
        "maxResults": "100",
        "textFormat": "plainText",
    }


def test_pages_are_walked_until_the_watermark_and_no_further(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    # The watermark is older than the lookback window (say, after a long outage): the walk
    # goes back to the watermark, not just to the window's edge.
    fake.page_size = 2
    for i in range(4):
        fake.add_comment(f"old {i}", at(i) - timedelta(days=20))
    watermark = started(yt)
    new = [fake.add_comment(f"new {i}", at(100 + i)) for i in range(4)]
    fake.requests.clear()

    result = yt.fetch_new(watermark)

    assert ids(result.comments) == new  # oldest first
    pages = fake.listings()
    # new3 new2 | new1 new0 | old3 old2 -> old2 is older than the watermark, so stop there.
    assert len(pages) == 3
    assert "pageToken" not in pages[0].url.params
    assert pages[1].url.params["pageToken"] != pages[2].url.params["pageToken"]
    assert position(result.watermark) == {"until": "2026-11-16T10:01:43+00:00", "ids": [new[-1]]}
    assert set(threads(result.watermark)) == set(new)  # the old ones are outside the window


def test_pages_are_walked_back_to_the_lookback_window_and_no_further(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    fake.page_size = 2
    ancient = [fake.add_comment(f"ancient {i}", at(i) - timedelta(days=20)) for i in range(2)]
    recent = [fake.add_comment(f"recent {i}", at(10 + i)) for i in range(4)]
    watermark = started(yt)
    new = [fake.add_comment(f"new {i}", at(100 + i)) for i in range(2)]
    fake.requests.clear()

    result = yt.fetch_new(watermark)

    assert ids(result.comments) == new
    # new1 new0 | recent3 recent2 | recent1 recent0 | ancient1 ancient0 -> past the window.
    assert len(fake.listings()) == 4
    assert set(threads(result.watermark)) == {*recent, *new}
    assert not set(ancient) & set(threads(result.watermark))


def test_a_second_poll_returns_only_new_comments(fake: FakeYouTube, yt: YouTubeConnector) -> None:
    watermark = started(yt)
    first = [fake.add_comment("one", at(10)), fake.add_comment("two", at(20))]
    result = yt.fetch_new(watermark)
    assert ids(result.comments) == first

    again = yt.fetch_new(result.watermark)
    assert again.comments == []
    assert again.watermark == result.watermark

    third = fake.add_comment("three", at(30))
    assert ids(yt.fetch_new(again.watermark).comments) == [third]


def test_comments_in_the_same_second_are_neither_lost_nor_repeated(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    watermark = started(yt)
    a = fake.add_comment("a", at(10))
    first = yt.fetch_new(watermark)
    assert ids(first.comments) == [a]

    b = fake.add_comment("b, published in the same second as a", at(10))
    second = yt.fetch_new(first.watermark)
    assert ids(second.comments) == [b]
    assert position(second.watermark) == {
        "until": "2026-11-16T10:00:10+00:00",
        "ids": sorted([a, b]),
    }

    c = fake.add_comment("c, a second later", at(11))
    d = fake.add_comment("d, same second as c", at(11))
    third = yt.fetch_new(second.watermark)
    assert ids(third.comments) == [c, d]
    assert third.watermark["ids"] == sorted([c, d])
    assert yt.fetch_new(third.watermark).comments == []


def test_replies_beyond_the_embedded_ones_are_fetched(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    fake.embedded_replies = 2
    watermark = started(yt)
    busy = fake.add_comment("Why is the car park closed?", at(10))
    replies = [fake.add_reply(busy, f"reply {i}", at(20 + i)) for i in range(4)]
    quiet = fake.add_comment("Thanks for streaming", at(15))
    quiet_reply = fake.add_reply(quiet, "+1", at(16))

    result = yt.fetch_new(watermark)

    assert ids(result.comments) == [busy, quiet, quiet_reply, *replies]
    reply_calls = fake.calls("GET", "comments")
    assert len(reply_calls) == 1  # only the thread with more replies than embedded
    assert dict(reply_calls[0].url.params) == {
        "part": "snippet",
        "parentId": busy,
        "maxResults": "100",
        "textFormat": "plainText",
    }
    assert all(c.parent_id == busy for c in result.comments[3:])


def test_reply_pages_are_walked(fake: FakeYouTube, yt: YouTubeConnector) -> None:
    fake.embedded_replies = 1
    fake.page_size = 2
    watermark = started(yt)
    top = fake.add_comment("Bins not collected", at(10))
    replies = [fake.add_reply(top, f"me too {i}", at(20 + i)) for i in range(5)]
    result = yt.fetch_new(watermark)
    assert ids(result.comments) == [top, *replies]
    assert len(fake.calls("GET", "comments")) == 3


def test_a_new_reply_on_an_older_thread_is_found(fake: FakeYouTube, yt: YouTubeConnector) -> None:
    old = fake.add_comment("Old thread", at(0))
    watermark = started(yt)
    reply = fake.add_reply(old, "A late answer", at(50))
    result = yt.fetch_new(watermark)
    assert ids(result.comments) == [reply]
    assert result.comments[0].parent_id == old
    assert fake.calls("GET", "comments") == []  # embedded: no extra quota spent


def test_comments_are_parsed_into_incoming_comments(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    fake.add_video("vid00000001", "Budget consultation")
    watermark = started(yt)
    top = fake.add_comment("Audio dropped at 45:10", at(10), video_id="vid00000001")
    reply = fake.add_reply(top, "Same here", at(11))

    first, second = yt.fetch_new(watermark).comments

    assert first.platform is Platform.YOUTUBE
    assert first.account == CHANNEL_ID
    assert first.external_id == top
    assert (first.author_id, first.author_name) == ("UCresident0000000000000", "@resident")
    assert first.text == "Audio dropped at 45:10"
    assert first.created_at == at(10)
    assert first.source is Source.POLL
    assert first.permalink == f"https://www.youtube.com/watch?v=vid00000001&lc={top}"
    assert (first.post_id, first.parent_id) == ("vid00000001", None)
    assert first.raw["kind"] == "youtube#comment"
    json.dumps(first.raw)  # storable as JSON
    assert second.parent_id == top
    assert second.permalink == f"https://www.youtube.com/watch?v=vid00000001&lc={reply}"


def test_a_same_second_comment_on_the_next_page_is_not_lost(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    fake.page_size = 1
    fake.add_comment("older", at(0))
    # Held by YouTube's filter at first, then approved: it keeps its original time.
    late = fake.add_comment("approved later", at(10))
    fake.comments[late].status = "heldForReview"
    seen = fake.add_comment("seen", at(10))
    watermark = started(yt)
    assert position(watermark) == {"until": "2026-11-16T10:00:10+00:00", "ids": [seen]}
    fake.comments[late].status = "published"

    result = yt.fetch_new(watermark)

    assert ids(result.comments) == [late]  # listed after ``seen``, on the next page
    assert result.watermark["ids"] == sorted([seen, late])


# Replies on older threads, YouTube's held queues, and the quota a poll costs


def test_a_new_reply_on_a_thread_older_than_the_watermark_is_returned_exactly_once(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    fake.page_size = 2
    old = fake.add_comment("Is the library open on Sunday?", at(0))
    for i in range(4):
        fake.add_comment(f"later thread {i}", at(10 + 10 * i))
    watermark = started(yt)
    reply = fake.add_reply(old, "It is, 10 till 4", at(100))
    newer = fake.add_comment("A new thread, newer than the reply", at(200))

    first = yt.fetch_new(watermark)

    # The old thread is on the third page, well past the watermark (at 40 s).
    assert ids(first.comments) == [reply, newer]
    assert first.comments[0].parent_id == old
    assert fake.calls("GET", "comments") == []  # embedded in the listing: no extra quota
    assert yt.fetch_new(first.watermark).comments == []

    # Older than the watermark (200 s) but newer than the thread's last reply: still new.
    second_reply = fake.add_reply(old, "Thanks!", at(150))
    second = yt.fetch_new(first.watermark)
    assert ids(second.comments) == [second_reply]
    assert position(second.watermark) == position(first.watermark)  # never goes back
    assert yt.fetch_new(second.watermark).comments == []


def test_replies_beyond_the_embedded_ones_on_an_old_thread_are_fetched(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    fake.embedded_replies = 2
    old = fake.add_comment("Potholes on Mill Lane", at(0))
    for i in range(3):
        fake.add_reply(old, f"earlier reply {i}", at(1 + i))
    fake.add_comment("A newer thread", at(10))
    watermark = started(yt)
    # The first poll read the busy thread's replies once, to know where they end.
    assert len(fake.calls("GET", "comments")) == 1
    fake.requests.clear()
    new = [fake.add_reply(old, f"later reply {i}", at(100 + i)) for i in range(2)]

    result = yt.fetch_new(watermark)

    assert ids(result.comments) == new  # not the three from before the first poll
    (reply_call,) = fake.calls("GET", "comments")
    assert reply_call.url.params["parentId"] == old
    assert threads(result.watermark)[old]["replies"] == 5
    fake.requests.clear()
    assert yt.fetch_new(result.watermark).comments == []
    assert fake.calls("GET", "comments") == []  # the count did not grow: nothing to read


@pytest.mark.parametrize("queue", ["heldForReview", "likelySpam"])
def test_a_comment_youtube_holds_is_returned_once_and_not_again(
    fake: FakeYouTube, yt: YouTubeConnector, queue: str
) -> None:
    watermark = started(yt)
    public = fake.add_comment("When is the next meeting?", at(10))
    # The newest comment of all, so newer than the public listing's watermark.
    held = fake.add_comment("Buy followers at example.com", at(11), status=queue)

    first = yt.fetch_new(watermark)

    assert ids(first.comments) == [public, held]
    comment = first.comments[1]
    assert comment.raw[HELD_QUEUE_KEY] == queue
    assert comment.raw["snippet"]["moderationStatus"] == queue
    assert HELD_QUEUE_KEY not in first.comments[0].raw
    assert first.watermark["held"][queue]["ids"] == [held]
    listed = fake.listings(queue)
    assert listed
    assert {r.url.params["order"] for r in listed} == {"time"}
    assert yt.fetch_new(first.watermark).comments == []

    # Approved in YouTube Studio: now public, but SMAT has seen it already.
    fake.comments[held].status = "published"
    approved = yt.fetch_new(first.watermark)
    assert approved.comments == []
    # Once public its thread is watched like any other: a reply to it is new.
    reply = fake.add_reply(held, "Reported", at(50))
    assert ids(yt.fetch_new(approved.watermark).comments) == [reply]


def test_a_held_comment_approved_before_the_next_poll_is_returned_once(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    watermark = started(yt)
    held = fake.add_comment("Held, then approved", at(10), status="heldForReview")
    fake.comments[held].status = "published"
    result = yt.fetch_new(watermark)
    assert ids(result.comments) == [held]
    assert HELD_QUEUE_KEY not in result.comments[0].raw
    assert yt.fetch_new(result.watermark).comments == []


def test_held_comments_from_before_the_first_poll_are_not_returned(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    fake.add_comment("Held before SMAT started", at(5), status="heldForReview")
    fake.add_comment("Spam before SMAT started", at(6), status="likelySpam")
    watermark = started(yt)
    assert watermark["held"] == {
        "heldForReview": {"until": "2026-11-16T10:00:05+00:00", "ids": ids_at(fake, 5)},
        "likelySpam": {"until": "2026-11-16T10:00:06+00:00", "ids": ids_at(fake, 6)},
    }
    assert yt.fetch_new(watermark).comments == []


def test_a_comment_smat_hides_is_not_returned_again_from_the_held_queue(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    watermark = started(yt)
    fake.add_comment("Older", at(5))
    abusive = fake.add_comment("Something abusive", at(10))
    first = yt.fetch_new(watermark)
    assert abusive in ids(first.comments)

    yt.perform(Action.HIDE, first.comments[-1])
    assert fake.comments[abusive].status == "heldForReview"
    hidden = yt.fetch_new(first.watermark)
    assert hidden.comments == []

    yt.perform(Action.UNHIDE, first.comments[-1])
    assert yt.fetch_new(hidden.watermark).comments == []


def test_a_watermark_from_before_thread_tracking_still_finds_everything_new(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    fake.embedded_replies = 2
    old = fake.add_comment("Old busy thread", at(0))
    for i in range(3):
        fake.add_reply(old, f"old reply {i}", at(1 + i))
    watermark = {"until": at(5).isoformat(), "ids": []}
    reply = fake.add_reply(old, "A new reply, not embedded", at(10))
    held = fake.add_comment("Held since", at(12), status="heldForReview")

    result = yt.fetch_new(watermark)

    assert ids(result.comments) == [reply, held]
    assert set(threads(result.watermark)) == {old, held}
    assert yt.fetch_new(result.watermark).comments == []


def test_threads_older_than_the_lookback_window_drop_out_of_the_watermark(
    fake: FakeYouTube, clock: FakeClock
) -> None:
    yt = YouTubeConnector(
        fake.client(), channel_id=CHANNEL_ID, account="council-yt", clock=clock, lookback_days=2
    )
    old = fake.add_comment("Monday's thread", at(0))
    watermark = started(yt)
    assert set(threads(watermark)) == {old}

    clock.advance(days=1)
    watermark = yt.fetch_new(watermark).watermark
    assert set(threads(watermark)) == {old}

    clock.advance(days=2)  # the thread started more than two days ago now
    new = fake.add_comment("Thursday's thread", at(0) + timedelta(days=3))
    result = yt.fetch_new(watermark)
    assert ids(result.comments) == [new]
    assert set(threads(result.watermark)) == {new}


def test_the_lookback_window_is_two_weeks_by_default(
    fake: FakeYouTube, yt: YouTubeConnector, clock: FakeClock
) -> None:
    old = fake.add_comment("Thread", at(0))
    watermark = started(yt)
    clock.advance(days=13)
    watermark = yt.fetch_new(watermark).watermark
    assert set(threads(watermark)) == {old}
    clock.advance(days=2)
    assert threads(yt.fetch_new(watermark).watermark) == {}


def test_a_quiet_poll_costs_little_quota(fake: FakeYouTube, yt: YouTubeConnector) -> None:
    for i in range(10):
        fake.add_comment(f"ancient {i}", at(i) - timedelta(days=30))
    recent = [fake.add_comment(f"recent {i}", at(10 + i)) for i in range(150)]
    busy = recent[:3]
    for thread in busy:
        for i in range(8):  # more than the five a listing embeds
            fake.add_reply(thread, f"reply {i}", at(200 + i))
    watermark = started(yt)
    # 2 pages of threads, 1 for each held queue, and the busy threads' replies once.
    assert len(fake.listings()) == 2
    assert len(fake.requests) == 2 + 2 + 3

    fake.requests.clear()
    quiet = yt.fetch_new(watermark)
    assert quiet.comments == []
    assert len(fake.requests) == 4  # 150 recent threads: 2 pages, and 1 per held queue
    assert fake.calls("GET", "comments") == []
    assert len(threads(quiet.watermark)) == 150

    fake.requests.clear()
    reply = fake.add_reply(busy[1], "One more", at(300))
    embedded = fake.add_reply(recent[100], "First reply", at(301))
    result = yt.fetch_new(quiet.watermark)
    assert ids(result.comments) == [reply, embedded]
    assert len(fake.requests) == 5  # one replies page, for the busy thread only
    assert fake.calls("GET", "comments")[0].url.params["parentId"] == busy[1]


# Reading one comment and its context


def test_fetch_comment_reads_the_comment_as_it_is_now(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    top = fake.add_comment("Original", at(10))
    fake.comments[top].text = "Edited"
    comment = yt.fetch_comment(top)
    assert comment.text == "Edited"
    assert dict(fake.requests[-1].url.params) == {
        "part": "snippet",
        "id": top,
        "textFormat": "plainText",
    }


def test_fetch_comment_of_a_removed_comment_is_gone(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    with pytest.raises(Gone, match="UgzMissing"):
        yt.fetch_comment("UgzMissing")


def test_fetch_thread_gives_the_video_title_and_the_parent(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    fake.add_video("vid00000002", "Christmas lights switch-on")
    top = fake.add_comment("Lovely evening", at(10), video_id="vid00000002")
    reply = yt.fetch_comment(fake.add_reply(top, "Agreed", at(11)))

    context = yt.fetch_thread(reply)

    assert context.post_id == "vid00000002"
    assert context.post_text == "Christmas lights switch-on"
    assert context.post_permalink == "https://www.youtube.com/watch?v=vid00000002"
    assert context.parent is not None
    assert context.parent.external_id == top
    assert context.parent.text == "Lovely evening"
    video_call = fake.calls("GET", "videos")[0]
    assert dict(video_call.url.params) == {"part": "snippet", "id": "vid00000002"}


# Actions


@pytest.mark.parametrize(
    ("action", "params", "status"),
    [
        (Action.HIDE, {"moderationStatus": "heldForReview"}, "heldForReview"),
        (Action.DELETE, {"moderationStatus": "rejected"}, "rejected"),
        (Action.BLOCK, {"moderationStatus": "rejected", "banAuthor": "true"}, "rejected"),
    ],
)
def test_moderation_actions_set_the_moderation_status(
    fake: FakeYouTube,
    yt: YouTubeConnector,
    action: Action,
    params: dict[str, str],
    status: str,
) -> None:
    comment = yt.fetch_comment(fake.add_comment("Something", at(10)))
    fake.requests.clear()

    result = yt.perform(action, comment)

    (request,) = fake.requests
    assert (request.method, request.url.path) == (
        "POST",
        "/youtube/v3/comments/setModerationStatus",
    )
    assert dict(request.url.params) == {"id": comment.external_id, **params}
    assert request.content == b""
    assert result.done
    assert result.action is action
    assert result.comment_id == comment.external_id
    assert fake.comments[comment.external_id].status == status
    assert (comment.author_id in fake.banned) is (action is Action.BLOCK)


def test_unhide_publishes_a_held_comment(fake: FakeYouTube, yt: YouTubeConnector) -> None:
    comment = yt.fetch_comment(fake.add_comment("Held", at(10)))
    yt.perform(Action.HIDE, comment)
    result = yt.perform(Action.UNHIDE, comment)
    assert fake.requests[-1].url.params["moderationStatus"] == "published"
    assert result.done
    assert fake.comments[comment.external_id].status == "published"


def test_delete_says_it_cannot_be_undone(fake: FakeYouTube, yt: YouTubeConnector) -> None:
    comment = yt.fetch_comment(fake.add_comment("Abuse", at(10)))
    result = yt.perform(Action.DELETE, comment)
    assert "cannot" in result.detail
    with pytest.raises(Invalid, match="operationNotSupported"):
        yt.perform(Action.UNHIDE, comment)


def test_deleting_a_gone_comment_is_done_but_hiding_it_is_gone(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    comment = yt.fetch_comment(fake.add_comment("Soon gone", at(10)))
    del fake.comments[comment.external_id]
    result = yt.perform(Action.DELETE, comment)
    assert (result.done, result.detail) == (True, "already gone")
    with pytest.raises(Gone, match="commentNotFound"):
        yt.perform(Action.HIDE, comment)


def test_reply_to_a_top_level_comment(fake: FakeYouTube, yt: YouTubeConnector) -> None:
    comment = yt.fetch_comment(fake.add_comment("When is bin day?", at(10)))
    fake.requests.clear()

    result = yt.perform(Action.REPLY, comment, text="Thursdays - see our website.")

    (request,) = fake.requests
    assert (request.method, request.url.path) == ("POST", "/youtube/v3/comments")
    assert dict(request.url.params) == {"part": "snippet"}
    assert json.loads(request.content) == {
        "snippet": {"parentId": comment.external_id, "textOriginal": "Thursdays - see our website."}
    }
    assert result.done
    assert result.created_id is not None
    assert fake.comments[result.created_id].parent_id == comment.external_id


def test_reply_to_a_reply_answers_its_thread(fake: FakeYouTube, yt: YouTubeConnector) -> None:
    top = fake.add_comment("Road closed?", at(10))
    reply = yt.fetch_comment(fake.add_reply(top, "Which road?", at(11)))
    result = yt.perform(Action.REPLY, reply, text="Station Road, until Friday.")
    assert json.loads(fake.requests[-1].content)["snippet"]["parentId"] == top
    assert (result.created_id or "").startswith(f"{top}.")


def test_reply_without_text_is_invalid(fake: FakeYouTube, yt: YouTubeConnector) -> None:
    comment = yt.fetch_comment(fake.add_comment("Hello", at(10)))
    with pytest.raises(Invalid):
        yt.perform(Action.REPLY, comment, text="")


@pytest.mark.parametrize(
    ("action", "why"),
    [(Action.UNBLOCK, "not lift a ban"), (Action.MUTE, "no mute"), (Action.UNMUTE, "no mute")],
)
def test_actions_youtube_lacks_are_unsupported_and_say_why(
    fake: FakeYouTube, yt: YouTubeConnector, action: Action, why: str
) -> None:
    comment = yt.fetch_comment(fake.add_comment("Hello", at(10)))
    fake.requests.clear()
    with pytest.raises(Unsupported, match=why):
        yt.perform(action, comment)
    assert fake.requests == []
    assert action not in yt.actions


# Errors


@pytest.mark.parametrize(
    ("now", "seconds"),
    [
        # Winter: Pacific is UTC-8, so midnight is 08:00 UTC.
        (datetime(2026, 1, 15, 12, 0, tzinfo=UTC), 20 * 3600),
        # Summer: Pacific is UTC-7, so midnight is 07:00 UTC.
        (datetime(2026, 7, 15, 12, 0, tzinfo=UTC), 19 * 3600),
        # 01:00 PST on the day the clocks go forward: the local day is 23 hours long.
        (datetime(2026, 3, 8, 9, 0, tzinfo=UTC), 22 * 3600),
        # One second after midnight Pacific: almost a whole day to wait.
        (datetime(2026, 11, 16, 8, 0, 1, tzinfo=UTC), 24 * 3600 - 1),
    ],
)
def test_quota_exceeded_waits_until_pacific_midnight(
    fake: FakeYouTube, clock: FakeClock, now: datetime, seconds: int
) -> None:
    clock.now = now
    yt = YouTubeConnector(fake.client(), channel_id=CHANNEL_ID, account="council-yt", clock=clock)
    fake.fail_next(quota_exceeded())
    with pytest.raises(RateLimited) as caught:
        yt.fetch_new({})
    assert caught.value.retry_after == seconds
    assert seconds_until_quota_reset(now) == seconds
    assert "quotaExceeded" in str(caught.value)


def test_throttling_backs_off_exponentially_until_a_success(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    delays = []
    throttled = [
        (403, "rateLimitExceeded"),
        (403, "userRateLimitExceeded"),
        (429, "rateLimitExceeded"),
    ]
    for status, reason in throttled:
        fake.fail_next(error_response(status, reason))
        with pytest.raises(RateLimited) as caught:
            yt.fetch_new({})
        delays.append(caught.value.retry_after)
    assert delays == [30, 60, 120]
    yt.fetch_new({})
    fake.fail_next(error_response(403, "rateLimitExceeded"))
    with pytest.raises(RateLimited) as caught:
        yt.fetch_new({})
    assert caught.value.retry_after == 30


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (error_response(401, "authError", "Invalid Credentials", "global"), AuthExpired),
        (
            error_response(403, "forbidden", "The caller is not the channel owner."),
            PermissionDenied,
        ),
        (error_response(403, "insufficientPermissions", "Insufficient scope"), PermissionDenied),
        (error_response(404, "commentNotFound", "The comment could not be found."), Gone),
        (error_response(400, "processingFailure", "The API server failed."), Invalid),
        (error_response(500, "backendError", "Backend Error", "global"), Transient),
        (httpx.Response(503, text="<html>Service Unavailable</html>"), Transient),
        (httpx.ReadTimeout("timed out"), Transient),
        (httpx.ConnectError("connection refused"), Transient),
    ],
)
def test_errors_are_translated(
    fake: FakeYouTube,
    yt: YouTubeConnector,
    response: httpx.Response | Exception,
    error: type[PlatformError],
) -> None:
    comment = yt.fetch_comment(fake.add_comment("Hello", at(10)))
    fake.fail_next(response)
    with pytest.raises(error) as caught:
        yt.perform(Action.HIDE, comment)
    assert type(caught.value) is error
    assert caught.value.platform == "youtube"
    assert "council-yt" in str(caught.value)


def test_a_revoked_token_is_auth_expired(fake: FakeYouTube, yt: YouTubeConnector) -> None:
    fake.token = "ya29.a-new-token-the-connector-lacks"
    with pytest.raises(AuthExpired, match="Invalid Credentials"):
        yt.fetch_new({})


def test_the_token_travels_only_in_the_authorization_header(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    watermark = started(yt)
    top = fake.add_comment("Hello", at(10))
    fake.add_reply(top, "Hi", at(11))
    comment = yt.fetch_new(watermark).comments[0]
    yt.fetch_thread(comment)
    yt.perform(Action.REPLY, comment, text="Hello from the council")
    yt.perform(Action.HIDE, comment)
    fake.fail_next(error_response(401, "authError", "Invalid Credentials", "global"))
    with pytest.raises(AuthExpired) as caught:
        yt.fetch_comment(comment.external_id)

    assert len(fake.requests) >= 6
    for request in fake.requests:
        assert TOKEN not in str(request.url)
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(caught.value)


def test_the_base_url_is_configurable(fake: FakeYouTube, clock: FakeClock) -> None:
    client = fake.client(base_url="http://proxy.internal:8080/youtube/v3/")
    yt = YouTubeConnector(client, channel_id=CHANNEL_ID, account="council-yt", clock=clock)
    yt.fetch_new({})
    assert str(fake.requests[0].url).startswith(
        "http://proxy.internal:8080/youtube/v3/commentThreads?"
    )


def test_a_retry_after_header_is_honoured_when_google_sends_one(
    fake: FakeYouTube, yt: YouTubeConnector
) -> None:
    throttled = error_response(429, "rateLimitExceeded")
    throttled.headers["Retry-After"] = "7"
    fake.fail_next(throttled)
    with pytest.raises(RateLimited) as caught:
        yt.fetch_new({})
    assert caught.value.retry_after == 7


def test_an_html_page_instead_of_json_is_transient(fake: FakeYouTube, yt: YouTubeConnector) -> None:
    fake.fail_next(httpx.Response(200, text="<html>Proxy login</html>"))
    with pytest.raises(Transient, match="unreadable response"):
        yt.fetch_new({})


def test_a_comment_from_another_account_is_refused(fake: FakeYouTube, yt: YouTubeConnector) -> None:
    comment = yt.fetch_comment(fake.add_comment("Hello", at(10)))
    fake.requests.clear()
    with pytest.raises(Invalid, match="not a comment on this channel"):
        yt.perform(Action.DELETE, replace(comment, account="UCsomeoneelse00000000000"))
    assert fake.requests == []
