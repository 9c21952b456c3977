"""Facebook Pages: poll a Page's recent posts for comments, act on them, read feed webhooks.

Polling walks each recent post's comments newest first (``filter=stream`` so replies come
too) and stops at that post's ``PostMark``; see ``platforms.graph`` for why it is not a cursor.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from platforms.base import Action, ActionResult, FetchResult, ThreadContext, Watermark
from platforms.errors import Gone, Invalid, Unsupported
from platforms.graph import (
    DEFAULT_API_VERSION,
    GraphClient,
    PostMark,
    action_result,
    as_list,
    as_mapping,
    first_line,
    first_valid_time,
    parse_graph_time,
    read_marks,
    str_or_none,
    write_marks,
)
from platforms.http import Clock
from platforms.types import IncomingComment, Platform, Source

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
"""Author id and name when Graph leaves ``from`` out."""
POST_FIELDS = "id,created_time,updated_time,permalink_url,message"
COMMENT_FIELDS = (
    "id,message,created_time,from,parent{id},is_hidden,can_hide,can_remove,"
    "can_reply_privately,permalink_url,comment_count"
)
POSTS_PAGE_SIZE = "25"
COMMENTS_PAGE_SIZE = "50"
WEBHOOK_VERBS = frozenset({"add", "edited"})
REMOVE_VERBS = frozenset({"remove", "delete"})
ACTIONS = frozenset(
    {Action.HIDE, Action.UNHIDE, Action.DELETE, Action.BLOCK, Action.UNBLOCK, Action.REPLY}
)


class FacebookConnector:
    """One Facebook Page, read and moderated with a Page access token."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        page_id: str,
        account: str,
        clock: Clock,
        lookback_days: int = 14,
        api_version: str = DEFAULT_API_VERSION,
    ) -> None:
        self.page_id = page_id
        self.account = account
        self._clock = clock
        self._lookback = timedelta(days=lookback_days)
        self._graph = GraphClient(
            client, platform=Platform.FACEBOOK, account=account, api_version=api_version
        )

    @property
    def platform(self) -> Platform:
        """Facebook."""
        return Platform.FACEBOOK

    @property
    def actions(self) -> frozenset[Action]:
        """Everything but mute, which Pages do not have."""
        return ACTIONS

    @property
    def usage_percent(self) -> float | None:
        """The highest rate-limit usage Graph reported on the latest call, in percent."""
        return self._graph.usage_percent

    @property
    def near_limit(self) -> bool:
        """Whether a poller should slow down (usage above about 80 %)."""
        return self._graph.near_limit

    def fetch_new(self, watermark: Watermark) -> FetchResult:
        """New comments and replies on posts from the last ``lookback_days``, oldest first."""
        marks = read_marks(watermark)
        known = marks or {}
        comments: list[IncomingComment] = []
        new_marks: dict[str, PostMark] = {}
        for post in self._recent_posts():
            post_id = str(post["id"])
            try:
                found, mark = self._read_post(post, known.get(post_id), emit=marks is not None)
            except Gone:
                continue  # deleted between listing and reading: nothing left to moderate
            comments.extend(found)
            new_marks[post_id] = mark
        # Posts that left the lookback window drop out of the watermark with the rest.
        comments.sort(key=lambda comment: (comment.created_at, comment.external_id))
        return FetchResult(comments, write_marks(new_marks))

    def fetch_comment(self, comment_id: str) -> IncomingComment:
        """One comment as it is now; raises ``Gone`` if it was deleted."""
        item = self._graph.get(comment_id, {"fields": COMMENT_FIELDS})
        return self._comment(item, post_id=self._post_id_of(comment_id), post_title=None)

    def fetch_thread(self, comment: IncomingComment) -> ThreadContext:
        """The post a comment is on, and its parent comment if it is a reply."""
        post_id = comment.post_id or self._post_id_of(comment.external_id)
        if post_id is None:
            return ThreadContext(post_id=None, post_text=None, post_permalink=None)
        post = self._graph.get(post_id, {"fields": POST_FIELDS})
        parent: IncomingComment | None = None
        if comment.parent_id and comment.parent_id != post_id:
            try:
                parent = self.fetch_comment(comment.parent_id)
            except Gone:
                parent = None  # the reply outlived its parent; the post is still context
        return ThreadContext(
            post_id=post_id,
            post_text=str_or_none(post.get("message")),
            post_permalink=str_or_none(post.get("permalink_url")),
            parent=parent,
            raw={"post": post, "parent": parent.raw if parent else None},
        )

    def perform(
        self, action: Action, comment: IncomingComment, *, text: str | None = None
    ) -> ActionResult:
        """Hide, unhide, delete, reply to a comment, or block/unblock its author from the Page."""
        if action not in ACTIONS:
            raise Unsupported(
                self.platform.value, f"{self.account}: Facebook Pages cannot {action}"
            )
        if comment.platform is not Platform.FACEBOOK or comment.account != self.page_id:
            raise Invalid(self.platform.value, f"{self.account}: not a comment on this Page")
        cid = comment.external_id
        if action in (Action.HIDE, Action.UNHIDE):
            hidden = "true" if action is Action.HIDE else "false"
            return action_result(action, cid, self._graph.post(cid, {"is_hidden": hidden}))
        if action is Action.DELETE:
            try:
                return action_result(action, cid, self._graph.delete(cid))
            except Gone:
                # Graph answers a second delete with 100/33; the comment is gone either way.
                return ActionResult(action, cid, done=True, detail="already deleted")
        if action is Action.REPLY:
            return self._reply(cid, text)
        return self._block(action, comment)

    def _recent_posts(self) -> Iterator[dict[str, Any]]:
        cutoff = self._clock() - self._lookback
        params = {
            "fields": POST_FIELDS,
            "since": str(int(cutoff.timestamp())),
            "limit": POSTS_PAGE_SIZE,
        }
        for post in self._graph.paginate(f"{self.page_id}/published_posts", params):
            # ``since`` should already exclude older posts; this guards against it being ignored.
            if post.get("id") and self._time(post.get("created_time")) >= cutoff:
                yield post

    def _read_post(
        self, post: Mapping[str, Any], mark: PostMark | None, *, emit: bool
    ) -> tuple[list[IncomingComment], PostMark]:
        """New comments on one post and the post's next mark.

        With ``emit`` false (the first poll: an empty watermark means "from now") only the
        newest second is read, to set the mark. A post without a mark is new since the last
        poll, so all its comments are new.
        """
        post_id = str(post["id"])
        title = first_line(post.get("message"))
        latest = mark or PostMark(self._time(post.get("created_time")))
        found: list[IncomingComment] = []
        params = {
            "fields": COMMENT_FIELDS,
            "filter": "stream",
            "order": "reverse_chronological",
            "limit": COMMENTS_PAGE_SIZE,
        }
        for item in self._graph.paginate(f"{post_id}/comments", params):
            comment_id = str(item.get("id", ""))
            created = self._time(item.get("created_time"))
            if mark is not None and created < mark.until:
                break  # newest first: everything from here on was read before
            if not emit and created < latest.until:
                break
            is_new = mark is None or mark.is_new(created, comment_id)
            if emit and is_new and comment_id and not self._is_own(item):
                found.append(self._comment(item, post_id=post_id, post_title=title))
            # Our own replies move the mark too, so they are never looked at again.
            latest = latest.advance(created, comment_id)
        return found, latest

    def _reply(self, comment_id: str, text: str | None) -> ActionResult:
        if not text or not text.strip():
            raise Invalid(self.platform.value, f"{self.account}: a reply needs text")
        body = self._graph.post(f"{comment_id}/comments", {"message": text})
        created = str_or_none(body.get("id"))
        return ActionResult(Action.REPLY, comment_id, done=created is not None, created_id=created)

    def _block(self, action: Action, comment: IncomingComment) -> ActionResult:
        author = comment.author_id
        if not author or author == UNKNOWN:
            raise Invalid(self.platform.value, f"{self.account}: the comment's author is unknown")
        path = f"{self.page_id}/blocked"
        if action is Action.UNBLOCK:
            return action_result(
                action, comment.external_id, self._graph.delete(path, {"uid": author})
            )
        # The SDK declares ``uid`` as list<string> here, sent JSON-encoded; the answer maps
        # each id to whether it was blocked.
        body = self._graph.post(path, {"uid": json.dumps([author])})
        done = body.get(author) is True or body.get("success") is True
        return ActionResult(action, comment.external_id, done=done)

    def _comment(
        self, item: Mapping[str, Any], *, post_id: str | None, post_title: str | None
    ) -> IncomingComment:
        author = as_mapping(item.get("from"))
        return IncomingComment(
            platform=Platform.FACEBOOK,
            account=self.page_id,
            external_id=str(item["id"]),
            author_id=str(author.get("id") or UNKNOWN),
            author_name=str(author.get("name") or UNKNOWN),
            text=str(item.get("message") or ""),
            created_at=self._time(item.get("created_time")),
            source=Source.POLL,
            permalink=str_or_none(item.get("permalink_url")),
            parent_id=str_or_none(as_mapping(item.get("parent")).get("id")),
            post_id=post_id,
            post_title=post_title,
            raw=dict(item),
        )

    def _is_own(self, item: Mapping[str, Any]) -> bool:
        return as_mapping(item.get("from")).get("id") == self.page_id

    def _post_id_of(self, comment_id: str) -> str | None:
        # A Page comment id is "{post object id}_{comment number}" and the post's id is
        # "{page id}_{post object id}" (see the reference's samples); Graph has no post field.
        head, sep, _ = comment_id.partition("_")
        return f"{self.page_id}_{head}" if sep and head else None

    def _time(self, value: object) -> datetime:
        try:
            return parse_graph_time(value)
        except ValueError:
            raise Invalid(
                self.platform.value, f"{self.account}: Graph sent a bad time {value!r}"
            ) from None


def parse_webhook(payload: Mapping[str, Any]) -> list[IncomingComment]:
    """New and edited comments in a Page ``feed`` webhook delivery, minus the Page's own."""
    comments: list[IncomingComment] = []
    for page_id, sent_at, value in _feed_changes(payload):
        if value.get("item") != "comment" or value.get("verb") not in WEBHOOK_VERBS:
            continue
        author = as_mapping(value.get("from"))
        comment_id = str_or_none(value.get("comment_id"))
        if comment_id is None or author.get("id") == page_id:
            continue  # nothing to moderate, or our own reply
        created = first_valid_time(value.get("created_time"), sent_at)
        if created is None:
            # Nothing to date it by: storing it would invent a time; the next poll finds it.
            log.warning(
                "skipped facebook comment %s in a webhook delivery: no readable time", comment_id
            )
            continue
        post_id = str_or_none(value.get("post_id"))
        parent_id = str_or_none(value.get("parent_id"))
        comments.append(
            IncomingComment(
                platform=Platform.FACEBOOK,
                account=page_id,
                external_id=comment_id,
                author_id=str(author.get("id") or UNKNOWN),
                author_name=str(author.get("name") or UNKNOWN),
                text=str(value.get("message") or ""),
                created_at=created,
                source=Source.WEBHOOK,
                # A top-level comment's parent_id is the post itself.
                parent_id=parent_id if parent_id != post_id else None,
                post_id=post_id,
                raw=dict(value),
            )
        )
    return comments


def removed_comment_ids(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(page id, comment id)`` for each comment a ``feed`` delivery says was removed."""
    removed: list[tuple[str, str]] = []
    for page_id, _, value in _feed_changes(payload):
        comment_id = str_or_none(value.get("comment_id"))
        if value.get("item") == "comment" and value.get("verb") in REMOVE_VERBS and comment_id:
            removed.append((page_id, comment_id))
    return removed


def _feed_changes(payload: Mapping[str, Any]) -> Iterator[tuple[str, object, Mapping[str, Any]]]:
    """``(page id, entry time, change value)`` for every ``feed`` change in a delivery."""
    if payload.get("object") != "page":
        return
    for entry in as_list(payload.get("entry")):
        entry_map = as_mapping(entry)
        page_id = str_or_none(entry_map.get("id"))
        if page_id is None:
            continue
        for change in as_list(entry_map.get("changes")):
            change_map = as_mapping(change)
            if change_map.get("field") == "feed":
                yield page_id, entry_map.get("time"), as_mapping(change_map.get("value"))
