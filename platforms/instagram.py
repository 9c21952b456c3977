"""Instagram professional accounts: poll recent media for comments, act on them, read webhooks.

Instagram documents no order and no ``since`` for a media's comments, and new replies sit
under old top-level comments, so each recent media's comments are read in full and filtered
through that media's ``PostMark`` (see ``platforms.graph``). Media with no comments are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from platforms.base import Action, ActionResult, FetchResult, ThreadContext, Watermark
from platforms.errors import Gone, Invalid, PermissionDenied, PlatformError, Unsupported
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
"""Author id and name when Graph leaves them out."""
MEDIA_FIELDS = "id,caption,timestamp,permalink,comments_count,media_product_type"
REPLY_FIELDS = "id,text,timestamp,username,from{id,username},hidden,like_count,parent_id"
COMMENT_FIELDS = f"{REPLY_FIELDS},replies{{{REPLY_FIELDS}}}"
SINGLE_COMMENT_FIELDS = f"{REPLY_FIELDS},media{{id,caption,permalink}}"
MEDIA_PAGE_SIZE = "25"
COMMENTS_PAGE_SIZE = "50"
ACTIONS = frozenset({Action.HIDE, Action.UNHIDE, Action.DELETE, Action.REPLY})


class InstagramConnector:
    """One Instagram professional account, read and moderated through the Graph API."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        ig_user_id: str,
        account: str,
        clock: Clock,
        lookback_days: int = 14,
        api_version: str = DEFAULT_API_VERSION,
    ) -> None:
        self.ig_user_id = ig_user_id
        self.account = account
        self._clock = clock
        self._lookback = timedelta(days=lookback_days)
        self._graph = GraphClient(
            client, platform=Platform.INSTAGRAM, account=account, api_version=api_version
        )

    @property
    def platform(self) -> Platform:
        """Instagram."""
        return Platform.INSTAGRAM

    @property
    def actions(self) -> frozenset[Action]:
        """Hide, unhide, delete and reply; Instagram has no block or mute API."""
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
        """New comments and replies on media from the last ``lookback_days``, oldest first."""
        marks = read_marks(watermark)
        known = marks or {}
        comments: list[IncomingComment] = []
        new_marks: dict[str, PostMark] = {}
        for media in self._recent_media():
            media_id = str(media["id"])
            try:
                found, mark = self._read_media(media, known.get(media_id), emit=marks is not None)
            except Gone:
                continue  # deleted between listing and reading: nothing left to moderate
            comments.extend(found)
            new_marks[media_id] = mark
        comments.sort(key=lambda comment: (comment.created_at, comment.external_id))
        return FetchResult(comments, write_marks(new_marks))

    def fetch_comment(self, comment_id: str) -> IncomingComment:
        """One comment as it is now; raises ``Gone`` if it was deleted."""
        item = self._graph.get(comment_id, {"fields": SINGLE_COMMENT_FIELDS})
        return self._comment(item, media=as_mapping(item.get("media")), parent_id=None)

    def fetch_thread(self, comment: IncomingComment) -> ThreadContext:
        """The media a comment is on, and its parent comment if it is a reply."""
        media_id = comment.post_id
        if media_id is None:
            media_id = self.fetch_comment(comment.external_id).post_id
        if media_id is None:
            return ThreadContext(post_id=None, post_text=None, post_permalink=None)
        media = self._graph.get(media_id, {"fields": MEDIA_FIELDS})
        parent: IncomingComment | None = None
        if comment.parent_id:
            try:
                parent = self.fetch_comment(comment.parent_id)
            except Gone:
                parent = None  # the reply outlived its parent; the media is still context
        return ThreadContext(
            post_id=media_id,
            post_text=str_or_none(media.get("caption")),
            post_permalink=str_or_none(media.get("permalink")),
            parent=parent,
            raw={"media": media, "parent": parent.raw if parent else None},
        )

    def perform(
        self, action: Action, comment: IncomingComment, *, text: str | None = None
    ) -> ActionResult:
        """Hide, unhide, delete or reply to a comment; blocking and muting are unsupported."""
        if action not in ACTIONS:
            raise Unsupported(self.platform.value, f"{self.account}: Instagram has no {action} API")
        if comment.platform is not Platform.INSTAGRAM or comment.account != self.ig_user_id:
            raise Invalid(self.platform.value, f"{self.account}: not a comment on this account")
        cid = comment.external_id
        if action in (Action.HIDE, Action.UNHIDE):
            hide = "true" if action is Action.HIDE else "false"
            return action_result(action, cid, self._graph.post(cid, {"hide": hide}))
        if action is Action.DELETE:
            try:
                return action_result(action, cid, self._graph.delete(cid))
            except Gone:
                return ActionResult(action, cid, done=True, detail="already deleted")
        return self._reply(comment, text)

    def _recent_media(self) -> Iterator[dict[str, Any]]:
        cutoff = self._clock() - self._lookback
        params = {
            "fields": MEDIA_FIELDS,
            "since": str(int(cutoff.timestamp())),
            "limit": MEDIA_PAGE_SIZE,
        }
        for media in self._graph.paginate(f"{self.ig_user_id}/media", params):
            # ``since`` is only declared by the SDK on this edge; filter here as well.
            if media.get("id") and self._time(media.get("timestamp")) >= cutoff:
                yield media

    def _read_media(
        self, media: Mapping[str, Any], mark: PostMark | None, *, emit: bool
    ) -> tuple[list[IncomingComment], PostMark]:
        """New comments on one media and its next mark (``emit`` false on the first poll)."""
        latest = mark or PostMark(self._time(media.get("timestamp")))
        found: list[IncomingComment] = []
        if media.get("comments_count") == 0:
            return found, latest  # nothing to read; saves a call per quiet post
        for item, parent_id in self._all_comments(str(media["id"])):
            comment_id = str(item.get("id", ""))
            created = self._time(item.get("timestamp"))
            is_new = mark is None or mark.is_new(created, comment_id)
            if emit and is_new and comment_id and not self._is_own(item):
                found.append(self._comment(item, media=media, parent_id=parent_id))
            # Our own replies move the mark too, so they are never looked at again.
            latest = latest.advance(created, comment_id)
        return found, latest

    def _all_comments(self, media_id: str) -> Iterator[tuple[dict[str, Any], str | None]]:
        """Every comment on a media with the id of the comment it replies to (if any)."""
        params = {"fields": COMMENT_FIELDS, "limit": COMMENTS_PAGE_SIZE}
        for item in self._graph.paginate(f"{media_id}/comments", params):
            replies = as_mapping(item.pop("replies", None))
            yield item, None
            if replies:
                for reply in self._graph.follow(replies):
                    yield reply, str(item.get("id", ""))

    def _reply(self, comment: IncomingComment, text: str | None) -> ActionResult:
        cid = comment.external_id
        if comment.parent_id:
            raise Invalid(
                self.platform.value,
                f"{self.account}: Instagram only allows replies to top-level comments",
            )
        if not text or not text.strip():
            raise Invalid(self.platform.value, f"{self.account}: a reply needs text")
        try:
            body = self._graph.post(f"{cid}/replies", {"message": text})
        except (Invalid, PermissionDenied, Gone) as exc:
            # Instagram refuses replies to hidden comments without a documented error code,
            # so a refusal is explained by looking at the comment itself.
            if self._is_hidden(cid):
                raise Invalid(
                    self.platform.value,
                    f"{self.account}: Instagram does not allow replies to hidden comments; "
                    "unhide it first",
                ) from exc
            raise
        created = str_or_none(body.get("id"))
        return ActionResult(Action.REPLY, cid, done=created is not None, created_id=created)

    def _is_hidden(self, comment_id: str) -> bool:
        try:
            return self._graph.get(comment_id, {"fields": "id,hidden"}).get("hidden") is True
        except PlatformError:
            return False

    def _comment(
        self, item: Mapping[str, Any], *, media: Mapping[str, Any], parent_id: str | None
    ) -> IncomingComment:
        return _incoming(
            item,
            account=self.ig_user_id,
            created_at=self._time(item.get("timestamp")),
            source=Source.POLL,
            media=media,
            parent_id=parent_id,
        )

    def _is_own(self, item: Mapping[str, Any]) -> bool:
        return as_mapping(item.get("from")).get("id") == self.ig_user_id

    def _time(self, value: object) -> datetime:
        try:
            return parse_graph_time(value)
        except ValueError:
            raise Invalid(
                self.platform.value, f"{self.account}: Graph sent a bad time {value!r}"
            ) from None


def parse_webhook(payload: Mapping[str, Any]) -> list[IncomingComment]:
    """New comments in an Instagram ``comments`` webhook delivery, minus the account's own."""
    if payload.get("object") != "instagram":
        return []
    comments: list[IncomingComment] = []
    for entry in as_list(payload.get("entry")):
        entry_map = as_mapping(entry)
        account = str_or_none(entry_map.get("id"))
        for change in as_list(entry_map.get("changes")):
            change_map = as_mapping(change)
            value = as_mapping(change_map.get("value"))
            if account is None or change_map.get("field") != "comments" or not value.get("id"):
                continue
            if as_mapping(value.get("from")).get("id") == account:
                continue  # our own reply
            # The payload carries no comment time; the delivery's time is the closest we have.
            created = first_valid_time(value.get("timestamp"), entry_map.get("time"))
            if created is None:
                # Nothing to date it by: storing it would invent a time; the next poll finds it.
                log.warning(
                    "skipped instagram comment %s in a webhook delivery: no readable time",
                    str(value.get("id"))[:60],
                )
                continue
            comments.append(
                _incoming(
                    value,
                    account=account,
                    created_at=created,
                    source=Source.WEBHOOK,
                    media=as_mapping(value.get("media")),
                    parent_id=None,
                )
            )
    return comments


def _incoming(
    item: Mapping[str, Any],
    *,
    account: str,
    created_at: datetime,
    source: Source,
    media: Mapping[str, Any],
    parent_id: str | None,
) -> IncomingComment:
    """An Instagram comment (from the API or a webhook) as an ``IncomingComment``."""
    author = as_mapping(item.get("from"))
    return IncomingComment(
        platform=Platform.INSTAGRAM,
        account=account,
        external_id=str(item["id"]),
        author_id=str(author.get("id") or UNKNOWN),
        author_name=str(author.get("username") or item.get("username") or UNKNOWN),
        text=str(item.get("text") or ""),
        created_at=created_at,
        source=source,
        # Instagram comments have no permalink of their own; the media's is the nearest.
        permalink=str_or_none(media.get("permalink")),
        parent_id=str_or_none(item.get("parent_id")) or parent_id,
        post_id=str_or_none(media.get("id")),
        post_title=first_line(media.get("caption")),
        raw=dict(item),
    )
