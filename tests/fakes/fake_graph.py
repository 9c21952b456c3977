"""An in-memory Meta Graph API (Facebook Pages and Instagram) behind ``httpx.MockTransport``.

It keeps posts, media and comments, serves the edges the connectors use with cursor paging
(small pages, so tests cross page boundaries), carries out actions, and records every request.
Cursors are positions (time, id), so like real Graph paging they survive most deletions; the
connectors never store them anyway. Tests can queue error responses or transport exceptions.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx

VERSION = "v25.0"
HOST = "https://graph.facebook.com"
TOKEN = "EAAGtestPAGEtoken123"
PAGE_ID = "104567890123456"
IG_USER_ID = "17841400000000000"


def graph_time(moment: datetime) -> str:
    """A time as Graph writes it: ``2026-01-01T00:06:38+0000``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def graph_error(code: int, subcode: int | None = None, message: str = "error") -> dict[str, Any]:
    """A Graph error envelope."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "AbCdEf123"
    return {"error": error}


GONE = graph_error(100, 33, "Unsupported get request. Object with ID does not exist")


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    """The path after the API version, e.g. ``123_456/comments``."""
    params: dict[str, str]
    form: dict[str, str]
    url: str
    headers: httpx.Headers


@dataclass
class Node:
    """A post, media or comment."""

    id: str
    kind: str  # "post", "comment", "media", "ig_comment"
    created: datetime
    container: str  # the page, IG user, post or media it belongs to
    fields: dict[str, Any]
    parent: str | None = None


@dataclass
class Failure:
    """A queued failure for the next request that matches."""

    match: Callable[[httpx.Request], bool]
    response: httpx.Response | None = None
    exception: Exception | None = None


@dataclass
class FakeGraph:
    """Graph API state and the request handler for ``httpx.MockTransport``."""

    page_size: int = 2
    usage_headers: dict[str, str] = field(default_factory=dict)
    echo_token_in_next: bool = False
    """Put ``access_token`` into paging.next links, as Graph does for query-string tokens."""
    nodes: dict[str, Node] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    on_request: Callable[[Recorded], None] | None = None
    _counter: int = 0

    # ------------------------------------------------------------------ building state

    def client(self, base_url: str = HOST) -> httpx.Client:
        """An ``httpx.Client`` wired to this fake, with the token as a Bearer header."""
        return httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {TOKEN}"},
            transport=httpx.MockTransport(self.handle),
        )

    def add_post(self, post_id: str, created: datetime, message: str | None = "A post") -> None:
        """A published post on the Page."""
        fields: dict[str, Any] = {
            "permalink_url": f"https://www.facebook.com/{PAGE_ID}/posts/{post_id.split('_')[-1]}",
            "updated_time": graph_time(created),
        }
        if message is not None:
            fields["message"] = message
        self.nodes[post_id] = Node(post_id, "post", created, PAGE_ID, fields)

    def add_comment(
        self,
        post_id: str,
        comment_id: str,
        created: datetime,
        message: str = "A comment",
        *,
        author: tuple[str, str] | None = ("6123456789012345", "A Resident"),
        parent: str | None = None,
    ) -> None:
        """A comment (or, with ``parent``, a reply) on a Facebook post."""
        fields: dict[str, Any] = {
            "message": message,
            "is_hidden": False,
            "can_hide": True,
            "can_remove": True,
            "can_reply_privately": True,
            "comment_count": 0,
            "permalink_url": f"https://www.facebook.com/posts/1?comment_id={comment_id}",
        }
        if author is not None:
            fields["from"] = {"id": author[0], "name": author[1]}
        self.nodes[comment_id] = Node(comment_id, "comment", created, post_id, fields, parent)

    def add_media(self, media_id: str, created: datetime, caption: str | None = "A photo") -> None:
        """A media object on the Instagram account."""
        fields: dict[str, Any] = {
            "permalink": f"https://www.instagram.com/p/{media_id}/",
            "media_product_type": "FEED",
        }
        if caption is not None:
            fields["caption"] = caption
        self.nodes[media_id] = Node(media_id, "media", created, IG_USER_ID, fields)

    def add_ig_comment(
        self,
        media_id: str,
        comment_id: str,
        created: datetime,
        text: str = "Road closure again?!",
        *,
        author: tuple[str, str] | None = ("17841400000000001", "resident_jo"),
        parent: str | None = None,
    ) -> None:
        """A comment (or, with ``parent``, a reply) on an Instagram media."""
        fields: dict[str, Any] = {"text": text, "hidden": False, "like_count": 0}
        if author is not None:
            fields["from"] = {"id": author[0], "username": author[1]}
            fields["username"] = author[1]
        self.nodes[comment_id] = Node(comment_id, "ig_comment", created, media_id, fields, parent)

    def delete(self, node_id: str) -> None:
        """Remove an object, as if its author deleted it."""
        del self.nodes[node_id]

    def fail_next(
        self,
        status: int = 400,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        exception: Exception | None = None,
        match: Callable[[httpx.Request], bool] = lambda request: True,
    ) -> None:
        """Answer the next matching request with this response (or raise ``exception``)."""
        response = None
        if exception is None:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            response = httpx.Response(status, content=content, headers=headers)
        self.failures.append(Failure(match, response, exception))

    # ------------------------------------------------------------------ serving

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The ``httpx.MockTransport`` handler."""
        form = dict(httpx.QueryParams(request.content.decode())) if request.content else {}
        prefix = f"/{VERSION}/"
        path = request.url.path
        recorded = Recorded(
            request.method,
            path[len(prefix) :] if path.startswith(prefix) else path,
            dict(request.url.params),
            form,
            str(request.url),
            request.headers,
        )
        self.requests.append(recorded)
        if self.on_request is not None:
            self.on_request(recorded)
        for failure in self.failures:
            if failure.match(request):
                self.failures.remove(failure)
                if failure.exception is not None:
                    raise failure.exception
                assert failure.response is not None
                return failure.response
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return self._json(graph_error(190, 467, "Invalid OAuth access token"), 401)
        if not path.startswith(prefix):
            return self._json(graph_error(2500, message="Unknown path components"), 400)
        return self._route(recorded)

    def _route(self, r: Recorded) -> httpx.Response:
        parts = r.path.split("/")
        node_id, edge = parts[0], (parts[1] if len(parts) > 1 else None)
        values = {**r.params, **r.form}
        if node_id == PAGE_ID and edge == "blocked":
            return self._blocked(r.method, values)
        if node_id in (PAGE_ID, IG_USER_ID) and r.method == "GET" and edge:
            return self._list_posts(node_id, edge, r)
        node = self.nodes.get(node_id)
        if node is None:
            return self._json(GONE, 400)
        if edge is None:
            return self._node_call(node, r.method, values)
        if r.method == "GET" and edge in ("comments", "replies"):
            return self._list_comments(node, edge, r)
        if r.method == "POST" and edge in ("comments", "replies"):
            return self._create_reply(node, edge, values)
        return self._json(graph_error(100, message="Unsupported request"), 400)

    def _node_call(self, node: Node, method: str, values: dict[str, str]) -> httpx.Response:
        if method == "GET":
            return self._json(self._render(node, values.get("fields", "")))
        if method == "DELETE":
            self.delete(node.id)
            for child in [n for n in self.nodes.values() if n.parent == node.id]:
                self.delete(child.id)
            return self._json({"success": True})
        if "is_hidden" in values:
            node.fields["is_hidden"] = values["is_hidden"] == "true"
        if "hide" in values:
            node.fields["hidden"] = values["hide"] == "true"
        return self._json({"success": True})

    def _blocked(self, method: str, values: dict[str, str]) -> httpx.Response:
        if method == "POST":
            uids = json.loads(values["uid"])
            self.blocked.update(uids)
            return self._json({uid: True for uid in uids})
        self.blocked.discard(values["uid"])
        return self._json({"success": True})

    def _list_posts(self, owner: str, edge: str, r: Recorded) -> httpx.Response:
        kind = {"published_posts": "post", "media": "media"}.get(edge)
        if kind is None:
            return self._json(graph_error(100, message="Unknown edge"), 400)
        since = int(r.params.get("since", "0"))
        items = [
            n
            for n in self.nodes.values()
            if n.kind == kind and n.container == owner and n.created.timestamp() >= since
        ]
        items.sort(key=lambda n: (n.created, n.id), reverse=True)
        return self._page(items, r)

    def _list_comments(self, node: Node, edge: str, r: Recorded) -> httpx.Response:
        if node.kind in ("post", "media") and edge == "comments":
            items = [n for n in self.nodes.values() if n.container == node.id]
            flat = node.kind == "post" and r.params.get("filter") == "stream"
            if not flat:
                items = [n for n in items if n.parent is None]
        else:  # replies to one comment
            items = [n for n in self.nodes.values() if n.parent == node.id]
        newest_first = r.params.get("order") == "reverse_chronological"
        items.sort(key=lambda n: (n.created, n.id), reverse=newest_first)
        return self._page(items, r)

    def _create_reply(self, node: Node, edge: str, values: dict[str, str]) -> httpx.Response:
        if node.kind == "ig_comment" and node.fields.get("hidden"):
            return self._json(graph_error(100, message="Cannot reply to this comment"), 400)
        self._counter += 1
        new_id = f"{node.id.split('_')[0]}_9{self._counter:05d}"
        created = max(n.created for n in self.nodes.values())
        if node.kind == "comment":
            self.add_comment(
                node.container,
                new_id,
                created,
                values["message"],
                author=(PAGE_ID, "Council"),
                parent=node.parent or node.id,
            )
        else:
            new_id = f"1799{self._counter:011d}"
            self.add_ig_comment(
                node.container,
                new_id,
                created,
                values["message"],
                author=(IG_USER_ID, "ourcouncil"),
                parent=node.id,
            )
        return self._json({"id": new_id})

    # ------------------------------------------------------------------ rendering

    def _render(self, node: Node, fields: str = "") -> dict[str, Any]:
        time_key = "timestamp" if node.kind in ("media", "ig_comment") else "created_time"
        out: dict[str, Any] = {"id": node.id, time_key: graph_time(node.created), **node.fields}
        if node.kind == "comment" and node.parent:
            out["parent"] = {"id": node.parent}
        if node.kind == "ig_comment":
            if node.parent:
                out["parent_id"] = node.parent
            if "replies{" in fields and not node.parent:
                replies = sorted(
                    (n for n in self.nodes.values() if n.parent == node.id),
                    key=lambda n: (n.created, n.id),
                )
                if replies:
                    out["replies"] = self._page_body(replies, f"{node.id}/replies", {"limit": "2"})
            if "media{" in fields:
                media = self.nodes[node.container]
                out["media"] = {"id": media.id, **media.fields}
        if node.kind == "media":
            out["comments_count"] = sum(1 for n in self.nodes.values() if n.container == node.id)
        return out

    def _page(self, items: list[Node], r: Recorded) -> httpx.Response:
        return self._json(self._page_body(items, r.path, r.params))

    def _page_body(self, items: list[Node], path: str, params: dict[str, str]) -> dict[str, Any]:
        size = min(int(params.get("limit", "25")), self.page_size)
        start = 0
        if "after" in params:
            created, last_id = json.loads(base64.urlsafe_b64decode(params["after"]))
            position = (created, last_id)
            start = next(
                (
                    i
                    for i, n in enumerate(items)
                    if self._is_after(items, position, (graph_time(n.created), n.id))
                ),
                len(items),
            )
        chunk = items[start : start + size]
        body: dict[str, Any] = {"data": [self._render(n, params.get("fields", "")) for n in chunk]}
        if chunk:
            last = chunk[-1]
            cursor = base64.urlsafe_b64encode(
                json.dumps([graph_time(last.created), last.id]).encode()
            ).decode()
            body["paging"] = {"cursors": {"before": "QVFIUfirst", "after": cursor}}
            if start + size < len(items):
                query = {k: v for k, v in params.items() if k != "after"} | {"after": cursor}
                if self.echo_token_in_next:
                    query["access_token"] = TOKEN
                body["paging"]["next"] = f"{HOST}/{VERSION}/{path}?{urlencode(query)}"
        return body

    @staticmethod
    def _is_after(items: list[Node], position: tuple[str, str], key: tuple[str, str]) -> bool:
        # Items are sorted one way or the other; "after" follows the list's own direction.
        ascending = len(items) < 2 or (items[0].created, items[0].id) <= (
            items[-1].created,
            items[-1].id,
        )
        return key > position if ascending else key < position

    def _json(self, body: Any, status: int = 200) -> httpx.Response:
        return httpx.Response(status, json=body, headers=self.usage_headers)
