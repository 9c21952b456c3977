"""A scripted Connector: hands out comments newer than the watermark, or raises what it is told."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from platforms.base import Action, ActionResult, FetchResult, ThreadContext
from platforms.errors import Gone, PlatformError
from platforms.types import IncomingComment, Platform


class FakeConnector:
    """Comments are 'published' with ``publish``; ``fail_next`` makes the next fetch raise."""

    def __init__(self, platform: Platform = Platform.FACEBOOK) -> None:
        self._platform = platform
        self.published: list[IncomingComment] = []
        self.errors: list[PlatformError] = []
        self.watermarks_seen: list[dict[str, Any]] = []
        self.performed: list[tuple[Action, str]] = []
        self.edits: dict[str, str] = {}
        self.deleted: set[str] = set()
        self.fetch_comment_errors: list[PlatformError] = []
        self.near_limit = False
        """Like Graph connectors: True when usage headers say the budget is nearly spent."""

    @property
    def platform(self) -> Platform:
        return self._platform

    @property
    def actions(self) -> frozenset[Action]:
        return frozenset({Action.HIDE, Action.UNHIDE, Action.DELETE, Action.REPLY})

    def publish(self, *comments: IncomingComment) -> None:
        self.published.extend(comments)

    def edit(self, external_id: str, text: str) -> None:
        """The author edits a comment: fetch_comment now returns the new text."""
        self.edits[external_id] = text

    def delete(self, external_id: str) -> None:
        """The author deletes a comment: fetch_comment now raises Gone."""
        self.deleted.add(external_id)

    def fail_next(self, error: PlatformError) -> None:
        self.errors.append(error)

    def fetch_new(self, watermark: Mapping[str, Any]) -> FetchResult:
        self.watermarks_seen.append(dict(watermark))
        if self.errors:
            raise self.errors.pop(0)
        seen = int(watermark.get("count", 0))
        return FetchResult(self.published[seen:], {"count": len(self.published)})

    def fetch_comment(self, comment_id: str) -> IncomingComment:
        if self.fetch_comment_errors:
            raise self.fetch_comment_errors.pop(0)
        for comment in self.published:
            if comment.external_id == comment_id and comment_id not in self.deleted:
                if comment_id in self.edits:
                    return replace(comment, text=self.edits[comment_id])
                return comment
        raise Gone(self._platform.value, f"comment {comment_id} not found")

    def fetch_thread(self, comment: IncomingComment) -> ThreadContext:
        return ThreadContext(comment.post_id, comment.post_title, None)

    def perform(
        self, action: Action, comment: IncomingComment, *, text: str | None = None
    ) -> ActionResult:
        self.performed.append((action, comment.external_id))
        return ActionResult(action, comment.external_id, done=True)
