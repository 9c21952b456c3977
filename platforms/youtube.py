"""YouTube Data API v3: comments on one channel's videos, and their moderation.

YouTube has no push for comments and no "since" filter, so polling walks ``commentThreads``
newest first until it reaches the watermark. Every call costs quota from a daily budget
(10,000 units per Google Cloud project, reset at midnight Pacific time): listing costs 1 unit
a page, each moderation call or reply 50, so the connector asks only for what it needs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
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

Clock = Callable[[], datetime]


def make_client(
    access_token: str,
    *,
    base_url: str = BASE_URL,
    timeout: float = 20.0,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """An HTTP client for the API that sends the OAuth token in a header, never in a URL."""
    return httpx.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        timeout=timeout,
        transport=transport,
    )


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
        if not comments:
            return self
        newest = max(c.created_at for c in comments)
        at_newest = {c.external_id for c in comments if c.created_at == newest}
        if newest == self.until:
            at_newest |= self.ids
        return _Position(newest, frozenset(at_newest))

    def dump(self) -> dict[str, Any]:
        return {"until": self.until.isoformat() if self.until else None, "ids": sorted(self.ids)}


class YouTubeConnector:
    """One council YouTube channel, through the Data API v3 with the owner's OAuth token."""

    def __init__(
        self, client: httpx.Client, *, channel_id: str, account: str, clock: Clock
    ) -> None:
        self._client = client
        self._channel_id = channel_id
        self._account = account
        self._clock = clock
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
        return frozenset({Action.HIDE, Action.UNHIDE, Action.DELETE, Action.BLOCK, Action.REPLY})

    # Reading

    def fetch_new(self, watermark: Watermark) -> FetchResult:
        """Comments and replies published since the watermark, oldest first."""
        position = _Position.load(watermark)
        if position.until is None:
            return self._start_from_now()
        threads = list(self._threads_since(position.until))
        found: dict[str, IncomingComment] = {}
        # The listing is newest first; reversed, threads sharing a second keep their order.
        for thread in reversed(threads):
            for comment in self._thread_comments(thread, position):
                if position.is_new(comment):
                    found[comment.external_id] = comment
        # Parents before their replies when they share a second.
        comments = sorted(found.values(), key=lambda c: (c.created_at, c.parent_id is not None))
        return FetchResult(comments, position.advanced(comments).dump())

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

    def _start_from_now(self) -> FetchResult:
        """First poll: remember where the channel is now and report nothing older."""
        page = self._get("commentThreads", self._thread_params(None))
        newest = [c for t in page.get("items") or [] for c in self._listed_comments(t)]
        if not newest:
            # An empty channel: our own clock is the only "now" there is.
            return FetchResult([], {"until": self._clock().astimezone(UTC).isoformat(), "ids": []})
        return FetchResult([], _Position(None, frozenset()).advanced(newest).dump())

    def _threads_since(self, until: datetime) -> Iterator[dict[str, Any]]:
        """Thread resources, newest first, until one starts before ``until``."""
        page_token: str | None = None
        while True:
            page = self._get("commentThreads", self._thread_params(page_token))
            threads = page.get("items") or []
            yield from threads
            # Keep walking through threads at exactly ``until``: one may not be seen yet.
            if any(_top_published(t) < until for t in threads):
                return
            page_token = page.get("nextPageToken")
            if not page_token:
                return

    def _thread_params(self, page_token: str | None) -> dict[str, str | int]:
        params: dict[str, str | int] = {
            "part": "snippet,replies",
            "allThreadsRelatedToChannelId": self._channel_id,
            "order": "time",
            "maxResults": PAGE_SIZE,
            "textFormat": "plainText",
        }
        if page_token:
            params["pageToken"] = page_token
        return params

    def _thread_comments(
        self, thread: dict[str, Any], position: _Position
    ) -> list[IncomingComment]:
        """The thread's top-level comment and its replies, fetching replies not embedded."""
        top, *replies = self._listed_comments(thread)
        snippet = thread.get("snippet", {})
        # The listing embeds only a few replies. Fetch the rest only for threads that started
        # after the watermark: each call costs quota, and older threads were read before.
        if snippet.get("totalReplyCount", 0) > len(replies) and position.is_new(top):
            replies = list(self._all_replies(top.external_id, snippet.get("videoId")))
        return [top, *replies]

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
