"""A fake X API v2 for mentions, post lookup, hide, mute and reply, as a MockTransport handler.

Payloads follow shared/reference/platform-apis.md §4: ``data`` / ``includes.users`` /
``meta`` (``newest_id``, ``oldest_id``, ``result_count``, ``next_token``), partial ``errors``
inside a 200, problem-details JSON for failures, and ``x-rate-limit-*`` headers on every
response. Ids are snowflakes, so they grow with creation time as X's do.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from platforms.http import make_client

TOKEN = "x-user-token-test-0123456789"
COUNCIL_ID = "1200000000000000001"
COUNCIL_USERNAME = "ExampleCouncil"
PREFIX = "/2/"
SNOWFLAKE_EPOCH_MS = 1288834974657
PROBLEMS = "https://api.x.com/2/problems/"


def problem(status: int, title: str, detail: str, kind: str = "") -> dict[str, Any]:
    """An X problem-details body (``type`` is ``about:blank`` when no kind is given)."""
    return {
        "title": title,
        "detail": detail,
        "type": f"{PROBLEMS}{kind}" if kind else "about:blank",
        "status": status,
    }


def problem_response(
    status: int, title: str, detail: str = "", kind: str = "", headers: dict[str, str] | None = None
) -> httpx.Response:
    """A failed response with a problem-details body."""
    return httpx.Response(
        status, json=problem(status, title, detail or title, kind), headers=headers
    )


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class FakeX:
    """An in-memory slice of X: users, posts, mentions of the council, hidden and muted state."""

    token: str = TOKEN
    me: str = COUNCIL_ID
    page_size: int = 100
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 16, 9, 0, tzinfo=UTC))
    rate_limit_reset: int = 1_794_819_600
    """The Unix time sent in ``x-rate-limit-reset`` (any value works for ordinary responses)."""
    users: dict[str, dict[str, str]] = field(default_factory=dict)
    tweets: dict[str, dict[str, Any]] = field(default_factory=dict)
    hidden: dict[str, bool] = field(default_factory=dict)
    muted: set[str] = field(default_factory=set)
    requests: list[httpx.Request] = field(default_factory=list)
    queued: list[httpx.Response | Exception] = field(default_factory=list)
    """Canned failures (or responses) returned before normal handling, first in first out."""
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _user_seq: itertools.count[int] = field(default_factory=lambda: itertools.count(9))

    def __post_init__(self) -> None:
        self.users[self.me] = {"id": self.me, "username": COUNCIL_USERNAME, "name": "Example TC"}

    # Building the world

    def add_user(self, username: str, name: str = "") -> str:
        """A resident's account; returns its id."""
        user_id = f"15000000000000000{next(self._user_seq):02d}"
        self.users[user_id] = {"id": user_id, "username": username, "name": name or username}
        return user_id

    def post(self, author_id: str, text: str, at: datetime, *, reply_to: str | None = None) -> str:
        """A new post (a reply when ``reply_to`` is given); returns its snowflake id."""
        millis = int(at.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS
        post_id = str((millis << 22) + next(self._seq))
        tweet: dict[str, Any] = {
            "id": post_id,
            "text": text,
            "edit_history_tweet_ids": [post_id],
            "author_id": author_id,
            "conversation_id": post_id,
            "created_at": _time(at),
        }
        if reply_to is not None:
            parent = self.tweets[reply_to]
            tweet["conversation_id"] = parent["conversation_id"]
            tweet["in_reply_to_user_id"] = parent["author_id"]
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
        self.tweets[post_id] = tweet
        return post_id

    def fail_next(self, *responses: httpx.Response | Exception) -> None:
        """Answer the next requests with these (a response, or an exception to raise)."""
        self.queued.extend(responses)

    def client(self, base_url: str = "https://api.x.com/2/") -> httpx.Client:
        """A client as production builds it, routed to this fake."""
        return make_client(self.token, base_url=base_url, transport=httpx.MockTransport(self))

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        """Requests made to one endpoint (``path`` relative to the API root)."""
        return [r for r in self.requests if r.method == method and _route(r) == path]

    # Serving

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.queued:
            queued = self.queued.pop(0)
            if isinstance(queued, Exception):
                raise queued
            return queued
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return problem_response(401, "Unauthorized", "Unauthorized")
        response = self._dispatch(request)
        response.headers.update(
            {
                "x-rate-limit-limit": "300",
                "x-rate-limit-remaining": "299",
                "x-rate-limit-reset": str(self.rate_limit_reset),
            }
        )
        return response

    def _dispatch(self, request: httpx.Request) -> httpx.Response:
        parts = _route(request).split("/")
        match request.method, parts:
            case "GET", ["users", user_id, "mentions"]:
                return self._mentions(user_id, request.url.params)
            case "GET", ["tweets", post_id]:
                return self._lookup(post_id)
            case "PUT", ["tweets", post_id, "hidden"]:
                return self._hide(post_id, json.loads(request.content))
            case "POST", ["users", user_id, "muting"]:
                return self._mute(user_id, json.loads(request.content))
            case "DELETE", ["users", user_id, "muting", target]:
                return self._unmute(user_id, target)
            case "POST", ["tweets"]:
                return self._create(json.loads(request.content))
        return problem_response(404, "Not Found Error", "No such route", "resource-not-found")

    def _mentions(self, user_id: str, params: httpx.QueryParams) -> httpx.Response:
        max_results = int(params.get("max_results", "10"))
        if not 5 <= max_results <= 100:
            return problem_response(
                400, "Invalid Request", "max_results must be 5..100", "invalid-request"
            )
        handle = f"@{self.users[user_id]['username']}".lower()
        since = int(params.get("since_id", "0"))
        found = sorted(
            (
                t
                for t in self.tweets.values()
                if handle in t["text"].lower() and int(t["id"]) > since
            ),
            key=lambda t: int(t["id"]),
            reverse=True,
        )
        start = int(params.get("pagination_token", "0") or 0)
        end = start + min(max_results, self.page_size)
        page = found[start:end]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if end < len(found):
            meta["next_token"] = str(end)
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = page
            body.update(self._includes(page))
        return httpx.Response(200, json=body)

    def _includes(self, tweets: list[dict[str, Any]]) -> dict[str, Any]:
        """``includes.users`` for the authors, and partial errors for authors that are gone."""
        author_ids = list(dict.fromkeys(t["author_id"] for t in tweets))
        users = [self.users[a] for a in author_ids if a in self.users]
        errors = [
            {
                "value": a,
                "detail": f"Could not find user with author_id: [{a}].",
                "title": "Not Found Error",
                "resource_type": "user",
                "parameter": "author_id",
                "resource_id": a,
                "type": f"{PROBLEMS}resource-not-found",
            }
            for a in author_ids
            if a not in self.users
        ]
        result: dict[str, Any] = {"includes": {"users": users}}
        if errors:
            result["errors"] = errors
        return result

    def _lookup(self, post_id: str) -> httpx.Response:
        tweet = self.tweets.get(post_id)
        if tweet is None:
            # X answers a missing post with 200 and only ``errors``.
            return httpx.Response(
                200,
                json={
                    "errors": [
                        {
                            "value": post_id,
                            "detail": f"Could not find tweet with id: [{post_id}].",
                            "title": "Not Found Error",
                            "resource_type": "tweet",
                            "parameter": "id",
                            "resource_id": post_id,
                            "type": f"{PROBLEMS}resource-not-found",
                        }
                    ]
                },
            )
        return httpx.Response(200, json={"data": tweet, **self._includes([tweet])})

    def _hide(self, post_id: str, body: dict[str, Any]) -> httpx.Response:
        tweet = self.tweets.get(post_id)
        if tweet is None:
            return problem_response(
                404, "Not Found Error", f"Could not find tweet {post_id}", "resource-not-found"
            )
        if not isinstance(body.get("hidden"), bool):
            return problem_response(
                400, "Invalid Request", "hidden must be a boolean", "invalid-request"
            )
        root = self.tweets.get(tweet["conversation_id"], {})
        if root.get("author_id") != self.me or post_id == root.get("id"):
            return problem_response(
                403,
                "Forbidden",
                "You attempted to hide a Tweet that is not a reply to one of your Tweets.",
            )
        self.hidden[post_id] = body["hidden"]
        return httpx.Response(200, json={"data": {"hidden": body["hidden"]}})

    def _mute(self, user_id: str, body: dict[str, Any]) -> httpx.Response:
        if user_id != self.me:
            return problem_response(
                403, "Forbidden", "You can only mute for yourself.", "client-forbidden"
            )
        self.muted.add(body["target_user_id"])
        return httpx.Response(200, json={"data": {"muting": True}})

    def _unmute(self, user_id: str, target: str) -> httpx.Response:
        if user_id != self.me:
            return problem_response(
                403, "Forbidden", "You can only unmute for yourself.", "client-forbidden"
            )
        self.muted.discard(target)
        return httpx.Response(200, json={"data": {"muting": False}})

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to is not None and reply_to not in self.tweets:
            return problem_response(
                400, "Invalid Request", "The reply target does not exist.", "invalid-request"
            )
        post_id = self.post(self.me, body["text"], self.now, reply_to=reply_to)
        data = {"id": post_id, "text": body["text"], "edit_history_tweet_ids": [post_id]}
        return httpx.Response(201, json={"data": data})


def _route(request: httpx.Request) -> str:
    path = request.url.path
    return path.split(PREFIX, 1)[1] if PREFIX in path else path.lstrip("/")
