"""X API v2: replies and mentions of one council account, and what X lets us do about them.

Residents' replies usually @-mention the council, so polling reads the account's mentions
timeline from the newest id seen. X bills reads per post returned, so the first poll reads
the smallest page it can, only to learn where "now" is. X offers hide, mute and reply to
third-party posts; it offers no delete (own posts only) and block only on Enterprise plans.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

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

BASE_URL = "https://api.x.com/2/"
PAGE_SIZE = 100
FIRST_PAGE_SIZE = 5
"""The smallest page the mentions endpoint allows: the first poll only needs the newest id."""
DEFAULT_RETRY_S = 900.0
"""X rate-limit windows are 15 minutes; wait one when the reset header is missing."""
SNOWFLAKE_EPOCH_MS = 1288834974657
"""X ids carry their creation time in milliseconds since this instant, shifted left 22 bits."""

TWEET_PARAMS = {
    "tweet.fields": "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets",
    "expansions": "author_id",
    "user.fields": "username,name",
}

UNSUPPORTED = {
    Action.DELETE: "X lets an account delete only its own posts; hide the reply instead",
    Action.BLOCK: "X offers blocking through the API only on Enterprise plans; mute instead",
    Action.UNBLOCK: "X offers blocking through the API only on Enterprise plans",
}


def snowflake_at(moment: datetime) -> str:
    """The smallest X id that could have been created at ``moment`` (timezone-aware)."""
    millis = int(moment.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS
    return str(max(millis, 0) << 22)


ACTIONS = frozenset({Action.HIDE, Action.UNHIDE, Action.MUTE, Action.UNMUTE, Action.REPLY})
"""Hide and unhide replies, mute and unmute authors, reply (no delete or block by API)."""


class XConnector:
    """One council X account, through API v2 with the account's OAuth 2.0 user token."""

    def __init__(self, client: httpx.Client, *, user_id: str, account: str, clock: Clock) -> None:
        self._client = client
        self._user_id = user_id
        self._account = account
        self._clock = clock

    @property
    def platform(self) -> Platform:
        """Always X."""
        return Platform.X

    @property
    def account(self) -> str:
        """The account's name in the council's register (used in error messages)."""
        return self._account

    @property
    def actions(self) -> frozenset[Action]:
        """Hide and unhide replies, mute and unmute authors, and reply."""
        return ACTIONS

    # Reading

    def fetch_new(self, watermark: Watermark) -> FetchResult:
        """Mentions newer than the watermark's ``since_id``, all pages, oldest first."""
        since_id = watermark.get("since_id")
        if not since_id:
            return self._start_from_now()
        newest: str | None = None
        found: dict[str, IncomingComment] = {}
        for page in self._mention_pages(str(since_id)):
            newest = newest or page.get("meta", {}).get("newest_id")
            # A 200 may carry ``errors`` for posts or authors deleted or protected meanwhile;
            # they are simply absent from ``data`` and ``includes``, so read what is there.
            users = _users(page)
            for tweet in page.get("data") or []:
                if tweet.get("author_id") == self._user_id:
                    continue  # The council's own posts are not comments to moderate.
                found[tweet["id"]] = self._parse(tweet, users)
        comments = sorted(found.values(), key=lambda c: int(c.external_id))
        return FetchResult(comments, {"since_id": newest or str(since_id)})

    def fetch_comment(self, comment_id: str) -> IncomingComment:
        """One post as it is now; ``Gone`` if deleted or no longer visible to us."""
        data = self._get(f"tweets/{_segment(comment_id)}", TWEET_PARAMS)
        tweet = data.get("data")
        if not isinstance(tweet, dict):
            # X answers 200 with only ``errors`` (resource-not-found, not-authorized) here.
            problem = _first_problem(data.get("errors"))
            raise Gone(self.platform.value, f"{self._account}: post {comment_id}: {problem}")
        return self._parse(tweet, _users(data))

    def fetch_thread(self, comment: IncomingComment) -> ThreadContext:
        """The conversation's root post, and the post replied to when that is not the root."""
        root_id = comment.post_id or comment.external_id
        root = comment if root_id == comment.external_id else self._fetch_or_none(root_id)
        parent = None
        if comment.parent_id and comment.parent_id != root_id:
            parent = self._fetch_or_none(comment.parent_id)
        return ThreadContext(
            post_id=root_id,
            post_text=root.text if root else None,
            post_permalink=root.permalink if root else None,
            parent=parent,
            raw=root.raw if root else {},
        )

    def _fetch_or_none(self, post_id: str) -> IncomingComment | None:
        try:
            return self.fetch_comment(post_id)
        except Gone:
            return None  # Context is best effort: a deleted parent leaves the reply standing.

    # Acting

    def perform(
        self, action: Action, comment: IncomingComment, *, text: str | None = None
    ) -> ActionResult:
        """Hide or unhide a reply, mute or unmute its author, or reply to it."""
        if comment.platform is not Platform.X or comment.account != self._user_id:
            raise Invalid(self.platform.value, f"{self._account}: not a mention of this account")
        if action in UNSUPPORTED:
            raise Unsupported(self.platform.value, f"{self._account}: {UNSUPPORTED[action]}")
        post = _segment(comment.external_id)
        me = _segment(self._user_id)
        if action in (Action.HIDE, Action.UNHIDE):
            hidden = action is Action.HIDE
            data = self._send("PUT", f"tweets/{post}/hidden", {"hidden": hidden})
            done = data.get("hidden") is hidden
            return _result(action, comment, done, "hidden" if hidden else "unhidden")
        if action is Action.MUTE:
            data = self._send("POST", f"users/{me}/muting", {"target_user_id": comment.author_id})
            done = data.get("muting") is True
            return _result(action, comment, done, "author muted")
        if action is Action.UNMUTE:
            data = self._send("DELETE", f"users/{me}/muting/{_segment(comment.author_id)}")
            done = data.get("muting") is False
            return _result(action, comment, done, "author unmuted")
        if action is Action.REPLY:
            if not text:
                raise Invalid(self.platform.value, f"{self._account}: a reply needs text")
            body = {"text": text, "reply": {"in_reply_to_tweet_id": comment.external_id}}
            created = self._send("POST", "tweets", body).get("id")
            return ActionResult(action, comment.external_id, bool(created), "replied", created)
        raise Unsupported(self.platform.value, f"{self._account}: X has no API to {action}")

    # Listing helpers

    def _start_from_now(self) -> FetchResult:
        """First poll: learn the newest mention's id and report nothing older."""
        page = self._get(
            f"users/{_segment(self._user_id)}/mentions",
            {**TWEET_PARAMS, "max_results": FIRST_PAGE_SIZE},
        )
        newest = page.get("meta", {}).get("newest_id")
        # No mentions yet: an id minted from our clock marks "now" just as well.
        return FetchResult([], {"since_id": newest or snowflake_at(self._clock())})

    def _mention_pages(self, since_id: str) -> Iterator[dict[str, Any]]:
        """Pages of mentions newer than ``since_id``, newest page first."""
        params: dict[str, str | int] = {
            **TWEET_PARAMS,
            "since_id": since_id,
            "max_results": PAGE_SIZE,
        }
        while True:
            page = self._get(f"users/{_segment(self._user_id)}/mentions", params)
            yield page
            next_token = page.get("meta", {}).get("next_token")
            if not next_token:
                return
            params = {**params, "pagination_token": next_token}

    def _parse(self, tweet: dict[str, Any], users: Mapping[str, dict[str, Any]]) -> IncomingComment:
        """A post and its expanded author as an IncomingComment."""
        post_id = tweet["id"]
        author_id = str(tweet.get("author_id") or "")
        user = users.get(author_id)
        username = user.get("username") if user else None
        replied_to = next(
            (
                ref.get("id")
                for ref in tweet.get("referenced_tweets") or []
                if ref.get("type") == "replied_to"
            ),
            None,
        )
        return IncomingComment(
            platform=Platform.X,
            account=self._user_id,
            external_id=post_id,
            author_id=author_id,
            # The author may be missing from ``includes`` (suspended, or a partial error).
            author_name=f"@{username}" if username else f"X user {author_id}",
            text=tweet.get("text") or "",
            created_at=datetime.fromisoformat(tweet["created_at"]).astimezone(UTC),
            source=Source.POLL,
            permalink=f"https://x.com/{username or 'i/web'}/status/{post_id}",
            parent_id=replied_to,
            post_id=tweet.get("conversation_id"),
            raw={"data": tweet, "includes": {"users": [user] if user else []}},
        )

    # HTTP and errors

    def _get(self, path: str, params: Mapping[str, str | int]) -> dict[str, Any]:
        return self._json(self._request("GET", path, params=params))

    def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Make a write call and return its ``data`` object."""
        data = self._json(self._request(method, path, body=body)).get("data")
        return data if isinstance(data, dict) else {}

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        try:
            response = self._client.request(method, path, params=params, json=body)
        except httpx.TimeoutException:
            raise Transient(self.platform.value, f"{self._account}: timed out") from None
        except httpx.HTTPError as exc:  # transport, decoding and redirect errors alike
            raise Transient(
                self.platform.value, f"{self._account}: connection failed ({type(exc).__name__})"
            ) from None
        if response.is_success:
            return response
        raise self._error(response)

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON object in a successful response; anything else is a proxy or outage page."""
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
        """Translate X's HTTP status and problem details into our error tree."""
        status = response.status_code
        kind, message = _problem(response)
        where = self.platform.value
        detail = f"{self._account}: {message or response.reason_phrase} ({status}"
        detail += f" {kind})" if kind else ")"
        if status == 429:  # Both the 15-minute windows and the monthly usage cap.
            return RateLimited(where, detail, self._retry_after(response))
        if status == 401:
            return AuthExpired(where, detail)
        if status == 403:
            return PermissionDenied(where, detail)
        if status == 404:
            # Only X's own problem details prove the post is gone; a bare 404 is a proxy or an
            # outage page, and calling it Gone would mark comments deleted that are not.
            return Gone(where, detail) if kind else Transient(where, detail)
        if status >= 500:
            return Transient(where, detail)
        return Invalid(where, detail)

    def _retry_after(self, response: httpx.Response) -> float:
        """Seconds until ``x-rate-limit-reset`` (Unix time); X sends no Retry-After."""
        reset = response.headers.get("x-rate-limit-reset", "")
        if not reset.isdigit():
            return DEFAULT_RETRY_S
        # At least a second, so a reset already past on our clock does not spin.
        return max(int(reset) - self._clock().timestamp(), 1.0)


def _segment(value: str) -> str:
    """A value made safe to place in a URL path."""
    return quote(value, safe="")


def _users(payload: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Expanded users by id."""
    users = payload.get("includes", {}).get("users") or []
    return {str(u["id"]): u for u in users if isinstance(u, dict) and "id" in u}


def _result(action: Action, comment: IncomingComment, done: bool, what: str) -> ActionResult:
    detail = what if done else f"X did not confirm: {what}"
    return ActionResult(action, comment.external_id, done, detail)


def _first_problem(errors: Any) -> str:
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return str(first.get("detail") or first.get("title") or first.get("message") or "")[:200]
    return "not found"


def _problem(response: httpx.Response) -> tuple[str, str]:
    """The problem type (last part of its URI) and message of an error body."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    kind = str(data.get("type") or "").rsplit("/", 1)[-1]
    message = str(data.get("detail") or data.get("title") or "")
    if not message:  # Some endpoints still answer in the older ``errors: [...]`` shape.
        message = _first_problem(data.get("errors")) if data.get("errors") else ""
    return ("" if kind == "about:blank" else kind), message[:200]
