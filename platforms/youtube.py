"""YouTube Data API v3: comments on one channel's videos, and their moderation.

YouTube has no push for comments and no "since" filter, so polling walks ``commentThreads``
newest first. A listing orders threads by when they started, so a new reply on an older
thread shows only as a larger ``totalReplyCount``: the watermark keeps each recent thread's
count (threads from the last ``lookback_days``), and the walk goes back that far. Comments
YouTube's own filter holds for review or as likely spam are listed separately, from two more
queues with their own watermarks.

Every call costs quota from a daily budget (10,000 units per Google Cloud project, reset at
midnight Pacific time): listing costs 1 unit a page, each moderation call or reply 50. A poll
costs one unit per 100 threads started within the lookback window (plus the page where the
walk passes the window's edge), one unit for each held queue, and one unit per page of
replies for each thread whose reply count grew beyond the replies the listing embeds. A quiet
channel with N recent threads costs at most N // 100 + 3 units a poll (3 up to 99 threads).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from platforms.base import Action, ActionResult, FetchResult, ThreadContext, Watermark
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
from platforms.http import Clock
from platforms.types import IncomingComment, Platform, Source

BASE_URL = "https://www.googleapis.com/youtube/v3/"
PAGE_SIZE = 100
"""The most the API returns per page; fewer pages means less quota."""
QUOTA_TIMEZONE = ZoneInfo("America/Los_Angeles")
"""The daily quota resets at midnight in this zone."""
THROTTLE_BASE_S = 30.0
THROTTLE_MAX_S = 900.0
"""Google sends no reliable Retry-After when throttling, so back off 30 s, 60 s, ... 15 min."""

MODERATION_STATUS = {
    Action.HIDE: "heldForReview",
    Action.UNHIDE: "published",
    Action.DELETE: "rejected",
    Action.BLOCK: "rejected",
}
"""How our actions map onto ``comments.setModerationStatus``."""
DETAIL = {
    Action.HIDE: "held for review",
    Action.UNHIDE: "published",
    Action.DELETE: "removed (rejected); YouTube cannot publish it again",
    Action.BLOCK: "removed and author banned from the channel",
}
UNSUPPORTED = {
    Action.UNBLOCK: "YouTube's API can ban a commenter but not lift a ban; use YouTube Studio",
    Action.MUTE: "YouTube has no mute; hold the comment for review or ban the author",
    Action.UNMUTE: "YouTube has no mute to undo",
}

HELD_QUEUES = ("heldForReview", "likelySpam")
"""YouTube's own review queues (``moderationStatus`` values other than ``published``)."""
HELD_QUEUE_KEY = "smatHeldQueue"
"""Added to ``IncomingComment.raw`` for a comment read from a held queue: which one."""


def seconds_until_quota_reset(now: datetime) -> float:
    """Seconds from ``now`` (timezone-aware) until the next midnight in Pacific time."""
    local = now.astimezone(QUOTA_TIMEZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=QUOTA_TIMEZONE)
    # Subtract in UTC: aware datetimes sharing one tzinfo subtract as wall-clock times, which
    # is an hour out on the days the clocks change.
    return (midnight.astimezone(UTC) - now.astimezone(UTC)).total_seconds()


@dataclass(frozen=True)
class _Position:
    """The watermark: the newest publish time seen, and the ids seen at that very second.

    YouTube times have one-second precision, so several comments can share the newest second;
    remembering their ids lets the next poll take the others without repeating these.
    """

    until: datetime | None
    ids: frozenset[str]

    @classmethod
    def load(cls, watermark: Watermark) -> _Position:
        until = watermark.get("until")
        return cls(
            datetime.fromisoformat(until) if until else None, frozenset(watermark.get("ids", ()))
        )

    def is_new(self, comment: IncomingComment) -> bool:
        if self.until is None or comment.created_at > self.until:
            return True
        return comment.created_at == self.until and comment.external_id not in self.ids

    def advanced(self, comments: list[IncomingComment]) -> _Position:
        """The position after these comments; never earlier than this one.

        A new reply on an older thread can be older than the position: it leaves it as is.
        """
        if self.until is not None:
            comments = [c for c in comments if c.created_at >= self.until]
        if not comments:
            return self
        newest = max(c.created_at for c in comments)
        at_newest = {c.external_id for c in comments if c.created_at == newest}
        if newest == self.until:
            at_newest |= self.ids
        return _Position(newest, frozenset(at_newest))

    def dump(self) -> dict[str, Any]:
        return {"until": self.until.isoformat() if self.until else None, "ids": sorted(self.ids)}


_NOTHING = _Position(None, frozenset())
"""A position before everything: every comment is new."""


@dataclass(frozen=True)
class _ThreadMark:
    """What the watermark keeps about one recent thread.

    When it started (so it leaves the watermark with the lookback window), its
    ``totalReplyCount`` when last listed (a larger count means new replies), and the newest
    reply seen in it, so that only replies after that are new.
    """

    at: datetime
    replies: int
    seen: _Position

    @classmethod
    def load(cls, data: object) -> _ThreadMark | None:
        if not isinstance(data, Mapping) or not data.get("at"):
            return None
        at = datetime.fromisoformat(data["at"])
        return cls(at, int(data.get("replies") or 0), _Position.load(data))

    def dump(self) -> dict[str, Any]:
        data: dict[str, Any] = {"at": self.at.isoformat(), "replies": self.replies}
        if self.seen.until is not None:
            data.update(self.seen.dump())
        return data


@dataclass(frozen=True)
class _Thread:
    """A listed thread: its top-level comment, the replies embedded, and how many there are."""

    top: IncomingComment
    embedded: list[IncomingComment]
    total: int
    video_id: str | None


ACTIONS = frozenset({Action.HIDE, Action.UNHIDE, Action.DELETE, Action.BLOCK, Action.REPLY})
"""Hold for review, publish again, remove (one-way), ban the author, reply."""


class YouTubeConnector:
    """One council YouTube channel, through the Data API v3 with the owner's OAuth token."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        channel_id: str,
        account: str,
        clock: Clock,
        lookback_days: int = 14,
    ) -> None:
        self._client = client
        self._channel_id = channel_id
        self._account = account
        self._clock = clock
        self._lookback = timedelta(days=lookback_days)
        """How long a thread is watched for new replies after it starts."""
        self._throttled = 0
        """Throttled responses in a row, for exponential back-off."""

    @property
    def platform(self) -> Platform:
        """Always YouTube."""
        return Platform.YOUTUBE

    @property
    def account(self) -> str:
        """The account's name in the council's register (used in error messages)."""
        return self._account

    @property
    def actions(self) -> frozenset[Action]:
        """Hold, restore, remove, ban (remove and ban the author) and reply."""
        return ACTIONS

    # Reading

    def fetch_new(self, watermark: Watermark) -> FetchResult:
        """Comments and replies published (or held by YouTube) since the watermark, oldest first.

        The watermark holds the newest publish time seen (``until``, ``ids``), each thread
        started within the lookback window (``threads``) and a position in each of YouTube's
        held queues (``held``). Watermarks written before the last two existed still work:
        whatever is newer than ``until`` is new.
        """
        position = _Position.load(watermark)
        cutoff = self._clock().astimezone(UTC) - self._lookback
        if position.until is None:
            return self._start_from_now(cutoff)
        marks = _load_marks(watermark.get("threads"))
        # Threads that left the lookback window drop out of the watermark here.
        new_marks = {key: mark for key, mark in marks.items() if mark.at >= cutoff}
        found: dict[str, IncomingComment] = {}
        saved_held = watermark.get("held")
        saved_held = saved_held if isinstance(saved_held, Mapping) else {}
        held: dict[str, _Position] = {}
        # The held queues first: a comment approved while this poll runs is then in one
        # listing or the other (or both, and reported once), never in neither.
        for queue in HELD_QUEUES:
            since = _Position.load(saved_held[queue]) if queue in saved_held else position
            held[queue] = self._read_held(queue, since, marks, new_marks, found, cutoff)
        position = self._read_published(position, marks, new_marks, found, cutoff)
        # Parents before their replies when they share a second.
        comments = sorted(found.values(), key=lambda c: (c.created_at, c.parent_id is not None))
        return FetchResult(comments, _dump(position, new_marks, held))

    def fetch_comment(self, comment_id: str) -> IncomingComment:
        """One comment (top-level or reply) as it is now; ``Gone`` if removed or deleted."""
        data = self._get(
            "comments", {"part": "snippet", "id": comment_id, "textFormat": "plainText"}
        )
        items = data.get("items") or []
        if not items:
            raise Gone(self.platform.value, f"{self._account}: comment {comment_id} not found")
        return self._parse(items[0], video_id=None)

    def fetch_thread(self, comment: IncomingComment) -> ThreadContext:
        """The video's title and link, and the parent comment for a reply."""
        title: str | None = None
        raw: dict[str, Any] = {}
        if comment.post_id:
            data = self._get("videos", {"part": "snippet", "id": comment.post_id})
            videos = data.get("items") or []
            if videos:
                raw = videos[0]
                title = videos[0].get("snippet", {}).get("title")
        parent = None
        if comment.parent_id:
            try:
                parent = self.fetch_comment(comment.parent_id)
            except Gone:
                parent = None  # A reply can outlive a removed parent; context is best effort.
        return ThreadContext(
            post_id=comment.post_id,
            post_text=title,
            post_permalink=_video_url(comment.post_id) if comment.post_id else None,
            parent=parent,
            raw=raw,
        )

    # Acting

    def perform(
        self, action: Action, comment: IncomingComment, *, text: str | None = None
    ) -> ActionResult:
        """Moderate a comment through ``setModerationStatus``, or reply to its thread."""
        if comment.platform is not Platform.YOUTUBE or comment.account != self._channel_id:
            raise Invalid(self.platform.value, f"{self._account}: not a comment on this channel")
        if action is Action.REPLY:
            return self._reply(comment, text)
        if action in UNSUPPORTED:
            raise Unsupported(self.platform.value, f"{self._account}: {UNSUPPORTED[action]}")
        params: dict[str, str] = {
            "id": comment.external_id,
            "moderationStatus": MODERATION_STATUS[action],
        }
        if action is Action.BLOCK:
            params["banAuthor"] = "true"
        try:
            self._request("POST", "comments/setModerationStatus", params=params)
        except Gone:
            if action is not Action.DELETE:
                raise
            # Removing what is already gone has the effect asked for.
            return ActionResult(action, comment.external_id, True, "already gone")
        return ActionResult(action, comment.external_id, True, DETAIL[action])

    def _reply(self, comment: IncomingComment, text: str | None) -> ActionResult:
        if not text:
            raise Invalid(self.platform.value, f"{self._account}: a reply needs text")
        # Replies nest one level only: answering a reply means answering its thread.
        thread_id = comment.parent_id or comment.external_id
        body = {"snippet": {"parentId": thread_id, "textOriginal": text}}
        created = self._request("POST", "comments", params={"part": "snippet"}, body=body)
        new_id = self._json(created).get("id")
        return ActionResult(Action.REPLY, comment.external_id, True, "replied", new_id)

    # Listing helpers

    def _start_from_now(self, cutoff: datetime) -> FetchResult:
        """First poll: remember where the channel is now and report nothing older.

        Every recent thread goes into the watermark with all its replies read (a one-off
        ``comments.list`` for each thread with more replies than the listing embeds), so that
        later polls know exactly which replies are new.
        """
        marks: dict[str, _ThreadMark] = {}
        seen: list[IncomingComment] = []
        for listed in self._threads_since(cutoff):
            thread = self._thread(listed)
            recent = thread.top.created_at >= cutoff
            replies = self._replies(thread, fetch=recent)
            seen += [thread.top, *replies]
            if recent:
                marks[thread.top.external_id] = _ThreadMark(
                    thread.top.created_at, thread.total, _NOTHING.advanced(replies)
                )
        # An empty channel: our own clock is the only "now" there is.
        position = _NOTHING.advanced(seen) if seen else self._now()
        held = {queue: self._start_held(queue) for queue in HELD_QUEUES}
        return FetchResult([], _dump(position, marks, held))

    def _start_held(self, queue: str) -> _Position:
        """Where a held queue is now: its newest comment, or our clock when it is empty."""
        page = self._get("commentThreads", self._thread_params(None, queue))
        newest = [c for t in page.get("items") or [] for c in self._listed_comments(t)]
        return _NOTHING.advanced(newest) if newest else self._now()

    def _now(self) -> _Position:
        return _Position(self._clock().astimezone(UTC), frozenset())

    def _read_published(
        self,
        position: _Position,
        marks: Mapping[str, _ThreadMark],
        new_marks: dict[str, _ThreadMark],
        found: dict[str, IncomingComment],
        cutoff: datetime,
    ) -> _Position:
        """New public threads, and new replies on the threads of the lookback window.

        Walks back to the window's edge, or to the watermark when that is older (after a long
        outage). Returns the advanced position; adds to ``found`` and ``new_marks``.
        """
        assert position.until is not None
        handled: list[IncomingComment] = []
        threads = list(self._threads_since(min(position.until, cutoff)))
        # The listing is newest first; reversed, threads sharing a second keep their order.
        for listed in reversed(threads):
            thread = self._thread(listed)
            top = thread.top
            known = marks.get(top.external_id)
            recent = top.created_at >= cutoff
            if known is None and position.is_new(top):
                # Started since the last poll: the thread and all its replies are new.
                replies = self._replies(thread, fetch=True)
                new = [top, *(r for r in replies if position.is_new(r))]
                seen = _NOTHING.advanced(replies)
            else:
                if position.is_new(top):
                    handled.append(top)  # reported from a held queue before it was approved
                # Only replies can be new. A thread the watermark does not know (one from a
                # watermark older than thread tracking) counts replies after ``until`` as new.
                since = known.seen if known else position
                grew = known is None or thread.total > known.replies
                # Embedded replies cost nothing to check; the rest only when the count grew,
                # and only within the window (older threads are no longer watched).
                replies = self._replies(thread, fetch=grew and recent)
                new = [r for r in replies if since.is_new(r)]
                seen = since.advanced(new)
            for comment in new:
                found.setdefault(comment.external_id, comment)
            handled.extend(new)
            if recent:
                new_marks[top.external_id] = _ThreadMark(top.created_at, thread.total, seen)
        return position.advanced(handled)

    def _read_held(
        self,
        queue: str,
        since: _Position,
        marks: Mapping[str, _ThreadMark],
        new_marks: dict[str, _ThreadMark],
        found: dict[str, IncomingComment],
        cutoff: datetime,
    ) -> _Position:
        """Comments newly in one of YouTube's held queues, marked as such in ``raw``."""
        if since.until is None:
            return self._start_held(queue)
        handled: list[IncomingComment] = []
        threads = list(self._threads_since(since.until, queue))
        for listed in reversed(threads):
            thread = self._thread(listed)
            top = thread.top
            if not since.is_new(top):
                continue
            handled.append(top)
            if top.external_id in marks:
                continue  # seen while it was public: SMAT (or YouTube) has held it since
            replies = self._replies(thread, fetch=True)
            for comment in (top, *replies):
                raw = {**comment.raw, HELD_QUEUE_KEY: queue}
                found.setdefault(comment.external_id, replace(comment, raw=raw))
            handled.extend(replies)
            if top.created_at >= cutoff:
                # Known from now on: when approved it is not reported a second time.
                new_marks[top.external_id] = _ThreadMark(
                    top.created_at, thread.total, _NOTHING.advanced(replies)
                )
        return since.advanced(handled)

    def _threads_since(self, until: datetime, queue: str | None = None) -> Iterator[dict[str, Any]]:
        """Thread resources, newest first, until one starts before ``until``."""
        page_token: str | None = None
        while True:
            page = self._get("commentThreads", self._thread_params(page_token, queue))
            threads = page.get("items") or []
            yield from threads
            # Keep walking through threads at exactly ``until``: one may not be seen yet.
            if any(_top_published(t) < until for t in threads):
                return
            page_token = page.get("nextPageToken")
            if not page_token:
                return

    def _thread_params(
        self, page_token: str | None, queue: str | None = None
    ) -> dict[str, str | int]:
        params: dict[str, str | int] = {
            "part": "snippet,replies",
            "allThreadsRelatedToChannelId": self._channel_id,
            "order": "time",
            "maxResults": PAGE_SIZE,
            "textFormat": "plainText",
        }
        if queue:
            params["moderationStatus"] = queue  # left out, the API lists published threads
        if page_token:
            params["pageToken"] = page_token
        return params

    def _thread(self, thread: dict[str, Any]) -> _Thread:
        top, *embedded = self._listed_comments(thread)
        snippet = thread.get("snippet", {})
        total = int(snippet.get("totalReplyCount") or 0)
        return _Thread(top, embedded, total, snippet.get("videoId"))

    def _replies(self, thread: _Thread, *, fetch: bool) -> list[IncomingComment]:
        """The thread's replies: the embedded ones, or (``fetch``) all of them when more exist.

        Fetching costs a unit of quota per page of 100 replies.
        """
        if not fetch or thread.total <= len(thread.embedded):
            return thread.embedded
        try:
            return list(self._all_replies(thread.top.external_id, thread.video_id))
        except Gone:
            return thread.embedded  # removed between listing and reading; so are its replies

    def _listed_comments(self, thread: dict[str, Any]) -> list[IncomingComment]:
        """The thread's top-level comment and the replies embedded in the listing."""
        snippet = thread.get("snippet", {})
        video_id = snippet.get("videoId")
        embedded = thread.get("replies", {}).get("comments") or []
        return [
            self._parse(snippet["topLevelComment"], video_id),
            *(self._parse(r, video_id) for r in embedded),
        ]

    def _all_replies(self, parent_id: str, video_id: str | None) -> Iterator[IncomingComment]:
        page_token: str | None = None
        while True:
            params: dict[str, str | int] = {
                "part": "snippet",
                "parentId": parent_id,
                "maxResults": PAGE_SIZE,
                "textFormat": "plainText",
            }
            if page_token:
                params["pageToken"] = page_token
            page = self._get("comments", params)
            for item in page.get("items") or []:
                yield self._parse(item, video_id)
            page_token = page.get("nextPageToken")
            if not page_token:
                return

    def _parse(self, resource: dict[str, Any], video_id: str | None) -> IncomingComment:
        """A ``youtube#comment`` resource as an IncomingComment."""
        snippet = resource["snippet"]
        comment_id = resource["id"]
        video_id = snippet.get("videoId") or video_id
        name = snippet.get("authorDisplayName") or ""
        return IncomingComment(
            platform=Platform.YOUTUBE,
            account=self._channel_id,
            external_id=comment_id,
            author_id=(snippet.get("authorChannelId") or {}).get("value") or f"name:{name}",
            author_name=name,
            text=snippet.get("textOriginal") or snippet.get("textDisplay") or "",
            created_at=_parse_time(snippet["publishedAt"]),
            source=Source.POLL,
            permalink=f"{_video_url(video_id)}&lc={comment_id}" if video_id else None,
            parent_id=snippet.get("parentId"),
            post_id=video_id,
            raw=resource,
        )

    # HTTP and errors

    def _get(self, path: str, params: Mapping[str, str | int]) -> dict[str, Any]:
        return self._json(self._request("GET", path, params=params))

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int],
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        try:
            response = self._client.request(method, path, params=params, json=body)
        except httpx.TimeoutException:
            raise Transient(self.platform.value, f"{self._account}: timed out") from None
        except httpx.TransportError as exc:
            raise Transient(
                self.platform.value, f"{self._account}: connection failed ({type(exc).__name__})"
            ) from None
        if response.is_success:
            self._throttled = 0
            return response
        raise self._error(response)

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON object in a successful response; anything else is a proxy or outage page."""
        if response.status_code == 204 or not response.content:
            return {}
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise Transient(
                self.platform.value,
                f"{self._account}: unreadable response ({response.status_code})",
            )
        return data

    def _error(self, response: httpx.Response) -> PlatformError:
        """Translate a Google error envelope into our error tree."""
        status = response.status_code
        reasons, message = _google_error(response)
        where = self.platform.value
        detail = f"{self._account}: {message or response.reason_phrase} ({status}"
        detail += f" {', '.join(sorted(reasons))})" if reasons else ")"
        if "quotaExceeded" in reasons or "dailyLimitExceeded" in reasons:
            return RateLimited(where, detail, seconds_until_quota_reset(self._clock()))
        if reasons & {"rateLimitExceeded", "userRateLimitExceeded"} or status == 429:
            self._throttled += 1
            return RateLimited(where, detail, self._backoff(response))
        if status == 401:
            return AuthExpired(where, detail)
        if status == 403:
            return PermissionDenied(where, detail)
        if status == 404:
            return Gone(where, detail)
        if status >= 500:
            return Transient(where, detail)
        return Invalid(where, detail)

    def _backoff(self, response: httpx.Response) -> float:
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.isdigit():
            return float(retry_after)
        return min(THROTTLE_BASE_S * 2.0 ** (self._throttled - 1), THROTTLE_MAX_S)


def _load_marks(data: object) -> dict[str, _ThreadMark]:
    if not isinstance(data, Mapping):
        return {}
    marks = {str(key): _ThreadMark.load(value) for key, value in data.items()}
    return {key: mark for key, mark in marks.items() if mark is not None}


def _dump(
    position: _Position, marks: Mapping[str, _ThreadMark], held: Mapping[str, _Position]
) -> dict[str, Any]:
    return {
        **position.dump(),
        "threads": {key: marks[key].dump() for key in sorted(marks)},
        "held": {queue: held[queue].dump() for queue in sorted(held)},
    }


def _video_url(video_id: str | None) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def _top_published(thread: dict[str, Any]) -> datetime:
    return _parse_time(thread["snippet"]["topLevelComment"]["snippet"]["publishedAt"])


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _google_error(response: httpx.Response) -> tuple[set[str], str]:
    """The reasons and message of a Google error envelope (empty when it is not one)."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return set(), ""
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return set(), ""
    reasons = {
        str(e["reason"]) for e in error.get("errors") or [] if isinstance(e, dict) and "reason" in e
    }
    return reasons, str(error.get("message") or "")[:200]
