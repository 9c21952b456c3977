"""Small builders shared by the integration tests."""

from __future__ import annotations

from datetime import UTC, datetime

from platforms.types import IncomingComment, Platform, Source


def incoming(
    external_id: str,
    text: str,
    *,
    source: Source = Source.IMPORT,
    author: str = "Margaret H",
    platform: Platform = Platform.FACEBOOK,
    account: str = "ExampleTownCouncil",
) -> IncomingComment:
    """An incoming comment with sensible defaults."""
    return IncomingComment(
        platform=platform,
        account=account,
        external_id=external_id,
        author_id=f"id-{author}",
        author_name=author,
        text=text,
        created_at=datetime(2026, 11, 16, 10, 0, tzinfo=UTC),
        source=source,
        permalink=f"https://www.facebook.com/ExampleTownCouncil/posts/1?comment_id={external_id}",
        post_title="Christmas lights switch-on",
        raw={"id": external_id, "message": text},
    )
