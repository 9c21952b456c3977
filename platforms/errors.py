"""The small error tree every connector translates its vendor's errors into.

Callers branch on these types, never on a vendor's status codes:

- ``RateLimited``: try again after ``retry_after`` seconds (from Retry-After, Graph usage
  headers, X reset times or YouTube's daily quota reset);
- ``AuthExpired``: the token is expired or revoked; the account needs attention, retrying
  will not help;
- ``PermissionDenied``: the token is valid but lacks a permission or role;
- ``Gone``: the comment, post or user no longer exists (or is not visible to us);
- ``Transient``: a temporary failure (5xx, timeouts, connection errors); retry with back-off;
- ``Invalid``: our request was wrong; do not retry it blindly;
- ``Unsupported``: the platform does not offer this action at all.
"""

from __future__ import annotations


class PlatformError(Exception):
    """Base class: something a platform call could not do. ``str()`` is safe to show and log."""

    def __init__(self, platform: str, detail: str) -> None:
        super().__init__(f"{platform}: {detail}")
        self.platform = platform
        self.detail = detail


class RateLimited(PlatformError):
    """The platform asked us to slow down; ``retry_after`` is in seconds."""

    def __init__(self, platform: str, detail: str, retry_after: float) -> None:
        super().__init__(platform, f"{detail} (retry in {retry_after:.0f} s)")
        self.retry_after = retry_after


class AuthExpired(PlatformError):
    """The token is expired, revoked or invalid."""


class PermissionDenied(PlatformError):
    """The token is valid but not allowed to do this."""


class Gone(PlatformError):
    """The object no longer exists or cannot be seen."""


class Transient(PlatformError):
    """A temporary failure worth retrying with back-off."""


class Invalid(PlatformError):
    """The request itself was wrong."""


class Unsupported(PlatformError):
    """The platform offers no API for this action."""
