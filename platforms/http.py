"""What every connector's HTTP client has in common."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware (platforms do not import the bot's clock)."""

TIMEOUT = httpx.Timeout(20.0, connect=10.0)


def make_client(
    access_token: str,
    *,
    base_url: str,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A client for one platform API: the token rides in a header, never in a URL or a log."""
    return httpx.Client(
        base_url=base_url,
        headers={
            "Authorization": f"Bearer {access_token}",
            "Accept": "application/json",
            "User-Agent": "smat-bot",
        },
        timeout=TIMEOUT,
        transport=transport,
    )
