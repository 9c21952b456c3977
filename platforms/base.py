"""The Connector protocol: one per platform, wired in the composition root.

A connector speaks one platform's API through an ``httpx.Client`` whose base URL comes from the
settings (so it can sit behind a proxy or point at a test server). It parses vendor payloads
into ``IncomingComment`` at the edge, translates vendor errors into ``platforms.errors``, and
keeps its polling position in an opaque JSON-serialisable watermark that ingestion stores.
Tokens travel only in request headers, never in URLs, so they cannot end up in logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from platforms.types import IncomingComment, Platform

Watermark = Mapping[str, Any]
"""A connector's own record of how far it has read (JSON-serialisable; {} means "from now")."""


class Action(StrEnum):
    """What SMAT can ask a platform to do."""

    HIDE = "hide"
    UNHIDE = "unhide"
    DELETE = "delete"
    BLOCK = "block"
    UNBLOCK = "unblock"
    MUTE = "mute"
    UNMUTE = "unmute"
    REPLY = "reply"


@dataclass(frozen=True)
class FetchResult:
    """New comments (oldest first) and the watermark to store once they are safely stored."""

    comments: list[IncomingComment]
    watermark: dict[str, Any]


@dataclass(frozen=True)
class ThreadContext:
    """What a comment answers: the post, and the parent comment for a reply."""

    post_id: str | None
    post_text: str | None
    post_permalink: str | None
    parent: IncomingComment | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ActionResult:
    """What the platform said when it carried out an action."""

    action: Action
    comment_id: str
    done: bool
    detail: str = ""
    created_id: str | None = None
    """The new object's id, for a reply."""


class Connector(Protocol):
    """One council account on one platform."""

    @property
    def platform(self) -> Platform:
        """Which platform this connector talks to."""
        ...

    @property
    def actions(self) -> frozenset[Action]:
        """The actions this platform really offers; the rest raise ``Unsupported``."""
        ...

    def fetch_new(self, watermark: Watermark) -> FetchResult:
        """Comments and replies created since the watermark, all pages, oldest first."""
        ...

    def fetch_comment(self, comment_id: str) -> IncomingComment:
        """One comment as it is now (to spot edits); raises ``Gone`` if it was deleted."""
        ...

    def fetch_thread(self, comment: IncomingComment) -> ThreadContext:
        """The post a comment is on, and its parent comment if it is a reply."""
        ...

    def perform(
        self, action: Action, comment: IncomingComment, *, text: str | None = None
    ) -> ActionResult:
        """Carry out an action on a comment (or its author); ``text`` is for replies."""
        ...
