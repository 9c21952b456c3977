"""A fake YouTube Data API v3 for the comment endpoints, as an ``httpx.MockTransport`` handler.

Payloads follow the discovery document's field names (shared/reference/platform-apis.md §3):
``youtube#commentThread`` with an embedded ``topLevelComment`` and a few ``replies``,
``youtube#comment`` resources, ``nextPageToken`` paging, ``setModerationStatus`` answering
204, and Google's ``{"error": {...}}`` envelope for failures. Thread listings filter on
``moderationStatus`` (``published`` by default, ``heldForReview``, ``likelySpam``) as the real
API does; ``totalReplyCount`` and replies count published replies only.
"""

from __future__ import annotations

import base64
import itertools
import json
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from platforms.http import make_client

TOKEN = "ya29.a0-test-youtube-access-token"
CHANNEL_ID = "UCcouncil000000000000000"
COUNCIL_NAME = "@ExampleTownCouncil"
PREFIX = "/youtube/v3/"

_ID_CHARS = string.ascii_letters + string.digits + "_-"
LISTED_STATUSES = ("published", "heldForReview", "likelySpam")
"""What ``commentThreads.list?moderationStatus=`` accepts."""


def google_error(status: int, reason: str, message: str, domain: str = "youtube.comment") -> Any:
    """Google's JSON error envelope."""
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
        }
    }


def error_response(
    status: int, reason: str, message: str = "", domain: str = "youtube.comment"
) -> httpx.Response:
    """A failed response carrying Google's envelope."""
    return httpx.Response(status, json=google_error(status, reason, message or reason, domain))


def quota_exceeded() -> httpx.Response:
    """What every call answers once the project's daily quota is spent."""
    message = "The request cannot be completed because you have exceeded your quota."
    return error_response(403, "quotaExceeded", message, "youtube.quota")


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    return int(base64.urlsafe_b64decode(token.encode()).decode().split(":")[1])


@dataclass
class _Comment:
    id: str
    video_id: str
    author: str
    author_channel: str
    text: str
    published: datetime
    parent_id: str | None = None
    status: str = "published"

    def resource(self) -> dict[str, Any]:
        snippet: dict[str, Any] = {
            "channelId": CHANNEL_ID,
            "videoId": self.video_id,
            "textDisplay": self.text,
            "textOriginal": self.text,
            "authorDisplayName": self.author,
            "authorProfileImageUrl": "https://yt3.ggpht.com/a/default-user=s48",
            "authorChannelUrl": f"http://www.youtube.com/channel/{self.author_channel}",
            "authorChannelId": {"value": self.author_channel},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 0,
            "moderationStatus": self.status,
            "publishedAt": _time(self.published),
            "updatedAt": _time(self.published),
        }
        if self.parent_id:
            snippet["parentId"] = self.parent_id
        return {
            "kind": "youtube#comment",
            "etag": f"etag-{self.id[-6:]}",
            "id": self.id,
            "snippet": snippet,
        }


@dataclass
class FakeYouTube:
    """An in-memory channel: videos, comment threads, replies and moderation state."""

    channel_id: str = CHANNEL_ID
    token: str = TOKEN
    page_size: int = 100
    """The most threads or replies per page (the real API's cap is 100)."""
    embedded_replies: int = 5
    """How many replies a thread listing embeds; the rest need comments.list?parentId."""
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 16, 9, 0, tzinfo=UTC))
    videos: dict[str, str] = field(default_factory=dict)
    comments: dict[str, _Comment] = field(default_factory=dict)
    banned: set[str] = field(default_factory=set)
    requests: list[httpx.Request] = field(default_factory=list)
    queued: list[httpx.Response | Exception] = field(default_factory=list)
    """Canned failures (or responses) returned before normal handling, first in first out."""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # Building the channel

    def add_video(self, video_id: str = "dQw4w9WgXcQ", title: str = "Full Council, 12 Nov") -> str:
        """Add a video to the channel."""
        self.videos[video_id] = title
        return video_id

    def add_comment(
        self,
        text: str,
        at: datetime,
        *,
        video_id: str = "dQw4w9WgXcQ",
        author: str = "@resident",
        author_channel: str = "UCresident0000000000000",
        status: str = "published",
    ) -> str:
        """A new top-level comment (a thread); returns its id.

        ``status`` ``heldForReview`` or ``likelySpam`` is a comment YouTube's filter held.
        """
        self.videos.setdefault(video_id, "Full Council, 12 Nov")
        comment_id = self._new_id("Ugz")
        self.comments[comment_id] = _Comment(
            comment_id, video_id, author, author_channel, text, at.astimezone(UTC), status=status
        )
        return comment_id

    def add_reply(
        self,
        parent_id: str,
        text: str,
        at: datetime,
        *,
        author: str = "@neighbour",
        author_channel: str = "UCneighbour000000000000",
    ) -> str:
        """A reply to a top-level comment; returns its id (``parent.suffix``, as YouTube does)."""
        parent = self.comments[parent_id]
        reply_id = f"{parent_id}.{self._new_id('AT')[:22]}"
        self.comments[reply_id] = _Comment(
            reply_id,
            parent.video_id,
            author,
            author_channel,
            text,
            at.astimezone(UTC),
            parent_id=parent_id,
        )
        return reply_id

    def fail_next(self, *responses: httpx.Response | Exception) -> None:
        """Answer the next requests with these (a response, or an exception to raise)."""
        self.queued.extend(responses)

    def client(self, base_url: str = "https://www.googleapis.com/youtube/v3/") -> httpx.Client:
        """A client as production builds it, routed to this fake."""
        return make_client(self.token, base_url=base_url, transport=httpx.MockTransport(self))

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        """Requests made to one endpoint (``path`` relative to the API root)."""
        return [r for r in self.requests if r.method == method and _route(r) == path]

    def listings(self, status: str = "published") -> list[httpx.Request]:
        """``commentThreads.list`` requests for one moderation status."""
        return [
            r
            for r in self.calls("GET", "commentThreads")
            if r.url.params.get("moderationStatus", "published") == status
        ]

    def _new_id(self, prefix: str) -> str:
        seq = next(self._ids)
        body = "".join(_ID_CHARS[(seq * 7919 + i * 31) % len(_ID_CHARS)] for i in range(20))
        return f"{prefix}{body}{seq:03d}"[:26]

    # Serving

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.queued:
            queued = self.queued.pop(0)
            if isinstance(queued, Exception):
                raise queued
            return queued
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return error_response(401, "authError", "Invalid Credentials", "global")
        route = (request.method, _route(request))
        handler = {
            ("GET", "commentThreads"): self._list_threads,
            ("GET", "comments"): self._list_comments,
            ("GET", "videos"): self._list_videos,
            ("POST", "comments/setModerationStatus"): self._set_status,
            ("POST", "comments"): self._insert,
        }.get(route)
        if handler is None:
            return error_response(404, "notFound", f"No such method {route}", "global")
        return handler(request)

    def _list_threads(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if params.get("allThreadsRelatedToChannelId") != self.channel_id:
            return error_response(404, "channelNotFound", "The channel could not be found.")
        wanted = params.get("moderationStatus", "published")
        if wanted not in LISTED_STATUSES:
            return error_response(400, "invalidModerationStatus", "Invalid moderation status.")
        tops = [c for c in self.comments.values() if c.parent_id is None and c.status == wanted]
        # order=time: newest first (later additions first among equal times).
        tops = sorted(reversed(tops), key=lambda c: c.published, reverse=True)
        items, next_token = self._page(tops, params)
        return self._ok(
            "youtube#commentThreadListResponse",
            [self._thread(c) for c in items],
            next_token,
            len(tops),
        )

    def _thread(self, top: _Comment) -> dict[str, Any]:
        replies = self._replies(top.id)
        thread: dict[str, Any] = {
            "kind": "youtube#commentThread",
            "etag": f"etag-t-{top.id[-6:]}",
            "id": top.id,
            "snippet": {
                "channelId": self.channel_id,
                "videoId": top.video_id,
                "topLevelComment": top.resource(),
                "canReply": True,
                "totalReplyCount": len(replies),
                "isPublic": True,
            },
        }
        if replies:
            thread["replies"] = {
                "comments": [r.resource() for r in replies[: self.embedded_replies]]
            }
        return thread

    def _replies(self, parent_id: str) -> list[_Comment]:
        replies = [
            c
            for c in self.comments.values()
            if c.parent_id == parent_id and c.status == "published"
        ]
        return sorted(replies, key=lambda c: c.published)

    def _list_comments(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if "id" in params:
            ids = params["id"].split(",")
            found = [self.comments[i] for i in ids if i in self.comments]
            visible = [c for c in found if c.status != "rejected"]
            return self._ok("youtube#commentListResponse", [c.resource() for c in visible])
        parent_id = params.get("parentId", "")
        if parent_id not in self.comments:
            return error_response(404, "commentNotFound", "The parent comment was not found.")
        items, next_token = self._page(self._replies(parent_id), params)
        return self._ok("youtube#commentListResponse", [c.resource() for c in items], next_token)

    def _list_videos(self, request: httpx.Request) -> httpx.Response:
        ids = request.url.params.get("id", "").split(",")
        items = [
            {
                "kind": "youtube#video",
                "id": video_id,
                "snippet": {
                    "channelId": self.channel_id,
                    "title": self.videos[video_id],
                    "description": "Recording of the meeting.",
                    "publishedAt": "2026-11-12T21:00:00Z",
                },
            }
            for video_id in ids
            if video_id in self.videos
        ]
        return self._ok("youtube#videoListResponse", items)

    def _set_status(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        status = params.get("moderationStatus")
        ban = params.get("banAuthor") == "true"
        if status not in ("heldForReview", "published", "rejected"):
            return error_response(400, "invalidModerationStatus", "Invalid moderation status.")
        if ban and status != "rejected":
            return error_response(400, "banWithoutReject", "banAuthor needs rejected.")
        targets = params.get("id", "").split(",")
        if any(i not in self.comments for i in targets):
            return error_response(404, "commentNotFound", "The comment could not be found.")
        for comment_id in targets:
            comment = self.comments[comment_id]
            if comment.status == "rejected" and status == "published":
                return error_response(400, "operationNotSupported", "Cannot publish rejected.")
            comment.status = status
            if ban:
                self.banned.add(comment.author_channel)
        return httpx.Response(204)

    def _insert(self, request: httpx.Request) -> httpx.Response:
        snippet = json.loads(request.content).get("snippet", {})
        parent = self.comments.get(snippet.get("parentId", ""))
        if parent is None:
            return error_response(404, "commentNotFound", "The parent comment was not found.")
        if parent.parent_id is not None:
            return error_response(400, "operationNotSupported", "Replies nest one level only.")
        reply_id = self.add_reply(
            parent.id,
            snippet["textOriginal"],
            self.now,
            author=COUNCIL_NAME,
            author_channel=self.channel_id,
        )
        return httpx.Response(200, json=self.comments[reply_id].resource())

    def _page(
        self, rows: list[_Comment], params: httpx.QueryParams
    ) -> tuple[list[_Comment], str | None]:
        size = min(int(params.get("maxResults", "20")), self.page_size)
        start = _offset(params.get("pageToken"))
        end = start + size
        return rows[start:end], (_page_token(end) if end < len(rows) else None)

    def _ok(
        self,
        kind: str,
        items: list[dict[str, Any]],
        next_token: str | None = None,
        total: int | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "kind": kind,
            "etag": "etag-list",
            "pageInfo": {
                "totalResults": len(items) if total is None else total,
                "resultsPerPage": len(items),
            },
            "items": items,
        }
        if next_token:
            body["nextPageToken"] = next_token
        return httpx.Response(200, json=body)


def _route(request: httpx.Request) -> str:
    path = request.url.path
    return path.split(PREFIX, 1)[1] if PREFIX in path else path.lstrip("/")
