"""What every source of comments (platform API, webhook, import feed) hands to ingestion."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Platform(StrEnum):
    """The platforms a council account can live on."""

    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    YOUTUBE = "youtube"
    X = "x"

    @property
    def display_name(self) -> str:
        """How people write the platform's name."""
        return {"facebook": "Facebook", "instagram": "Instagram", "youtube": "YouTube"}.get(
            self.value, "X"
        )


class Source(StrEnum):
    """How a comment reached SMAT Bot."""

    IMPORT = "import"
    POLL = "poll"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class IncomingComment:
    """One public comment as a source saw it, parsed out of the vendor's payload."""

    platform: Platform
    account: str
    """The council account's id on the platform (page id, channel id, handle)."""
    external_id: str
    author_id: str
    author_name: str
    text: str
    created_at: datetime
    source: Source
    permalink: str | None = None
    parent_id: str | None = None
    post_id: str | None = None
    post_title: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
