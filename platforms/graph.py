"""What the Facebook and Instagram connectors share: Meta's Graph API over an injected client.

``GraphClient`` sends requests through the ``httpx.Client`` the composition root built (base
URL from the settings; the token in its ``Authorization: Bearer`` header, so it never reaches a
URL or a log line), turns Graph's error envelope into ``platforms.errors``, reads the rate-limit
usage headers and follows ``paging.next``. ``PostMark`` is the per-post watermark both
connectors keep instead of Graph cursors, which Meta says die when the item they point at is
deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from platforms.base import Action, ActionResult
from platforms.errors import (
    AuthExpired,
    Gone,
    Invalid,
    PermissionDenied,
    PlatformError,
    RateLimited,
    Transient,
)
from platforms.types import Platform

DEFAULT_API_VERSION = "v25.0"
DEFAULT_BACKOFF_S = 60.0
"""Wait after a throttle error that came without ``estimated_time_to_regain_access``."""
SLOW_DOWN_PERCENT = 80.0
"""Above this usage a poller should stretch its interval; Meta throttles at 100 %."""

THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, 80001})
AUTH_CODES = frozenset({102, 190})
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2})
POLICY_BLOCK_CODE = 368
GONE_CODE, GONE_SUBCODE = 100, 33
USAGE_HEADERS = ("x-business-use-case-usage", "x-app-usage", "x-page-usage")
USAGE_METRICS = ("call_count", "total_cputime", "total_time")
MAX_MESSAGE_CHARS = 300


def parse_graph_time(value: object) -> datetime:
    """Parse a Graph time ("2026-01-01T00:06:38+0000", ISO 8601 or Unix seconds) as aware UTC."""
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not a time: {value!r}") from None
    if parsed.tzinfo is None:
        # Graph always sends an offset; a bare time can only be UTC.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def first_valid_time(*values: object) -> datetime | None:
    """The first of several candidate values that parses as a Graph time (webhook fallbacks)."""
    for value in values:
        try:
            return parse_graph_time(value)
        except ValueError:
            continue
    return None


def format_time(moment: datetime) -> str:
    """An aware time as the ISO 8601 UTC string watermarks store."""
    return moment.astimezone(UTC).isoformat()


def first_line(text: object, *, limit: int = 100) -> str | None:
    """A post's first non-blank line, trimmed and shortened for use as a title."""
    if not isinstance(text, str):
        return None
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return None


@dataclass(frozen=True)
class PostMark:
    """How far one post's comments have been read: the newest second seen and its ids.

    Keeping every id seen at that exact second means comments sharing a second with the last
    one we read are neither lost (``>`` alone) nor read twice (``>=`` alone).
    """

    until: datetime
    ids: frozenset[str] = frozenset()

    def is_new(self, created: datetime, comment_id: str) -> bool:
        """Whether a comment lies past this mark."""
        return created > self.until or (created == self.until and comment_id not in self.ids)

    def advance(self, created: datetime, comment_id: str) -> PostMark:
        """The mark after reading this comment as well."""
        if created > self.until:
            return PostMark(created, frozenset({comment_id}))
        if created == self.until:
            return PostMark(self.until, self.ids | {comment_id})
        return self

    def to_json(self) -> dict[str, Any]:
        """The JSON form stored inside a watermark."""
        return {"until": format_time(self.until), "ids": sorted(self.ids)}

    @classmethod
    def from_json(cls, value: object) -> PostMark | None:
        """Read a stored mark; ``None`` if it is missing or malformed."""
        if not isinstance(value, Mapping):
            return None
        try:
            until = parse_graph_time(value.get("until"))
        except ValueError:
            return None
        ids = value.get("ids")
        return cls(until, frozenset(str(i) for i in ids) if isinstance(ids, list) else frozenset())


def read_marks(watermark: Mapping[str, Any]) -> dict[str, PostMark] | None:
    """The per-post marks of a watermark, or ``None`` for an empty one (meaning "from now")."""
    posts = watermark.get("posts")
    if not isinstance(posts, Mapping):
        return None
    marks: dict[str, PostMark] = {}
    for post_id, value in posts.items():
        mark = PostMark.from_json(value)
        if mark is not None:
            marks[str(post_id)] = mark
    return marks


def write_marks(marks: Mapping[str, PostMark]) -> dict[str, Any]:
    """A watermark holding these per-post marks (never a Graph cursor)."""
    return {"posts": {post_id: mark.to_json() for post_id, mark in sorted(marks.items())}}


def read_usage(headers: httpx.Headers) -> tuple[float | None, float]:
    """The highest usage percentage in the usage headers and the longest wait, in minutes."""
    highest: float | None = None
    wait_minutes = 0.0
    for name in USAGE_HEADERS:
        value = headers.get(name)
        if not value:
            continue
        try:
            decoded = json.loads(value)
        except ValueError:
            continue  # a garbled header must never fail the call it came with
        for record in _usage_records(decoded):
            for metric in USAGE_METRICS:
                number = _number(record.get(metric))
                if number is not None:
                    highest = number if highest is None else max(highest, number)
            wait_minutes = max(
                wait_minutes, _number(record.get("estimated_time_to_regain_access")) or 0.0
            )
    return highest, wait_minutes


def _usage_records(value: object) -> Iterator[Mapping[str, Any]]:
    # X-App-Usage and X-Page-Usage are one flat object; X-Business-Use-Case-Usage maps each
    # business object id to a list of such objects.
    if isinstance(value, Mapping):
        if any(key in value for key in (*USAGE_METRICS, "estimated_time_to_regain_access")):
            yield value
        else:
            for inner in value.values():
                yield from _usage_records(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _usage_records(inner)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def action_result(action: Action, comment_id: str, body: Mapping[str, Any]) -> ActionResult:
    """The result of an action Graph answers with ``{"success": true}``."""
    done = body.get("success") is True
    return ActionResult(action, comment_id, done=done, detail="" if done else json.dumps(body))


def as_mapping(value: object) -> Mapping[str, Any]:
    """A payload value as a mapping; anything else (missing, malformed) as an empty one."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: object) -> list[Any]:
    """A payload value as a list; anything else as an empty one."""
    return value if isinstance(value, list) else []


def str_or_none(value: object) -> str | None:
    """A payload value as text, or ``None`` when it is missing or empty."""
    return str(value) if value is not None and value != "" else None


class GraphClient:
    """Graph API calls for one account, with errors translated and usage headers tracked."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        platform: Platform,
        account: str,
        api_version: str = DEFAULT_API_VERSION,
        default_backoff: float = DEFAULT_BACKOFF_S,
    ) -> None:
        self._client = client
        self._platform = platform
        self._account = account
        self._version = api_version.strip("/")
        self._default_backoff = default_backoff
        self.usage_percent: float | None = None
        """The highest usage metric in the latest response that carried usage headers."""

    @property
    def near_limit(self) -> bool:
        """Whether the latest usage reading says a poller should slow down."""
        return self.usage_percent is not None and self.usage_percent >= SLOW_DOWN_PERCENT

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET a node or edge (``path`` without the version, e.g. ``"{id}/comments"``)."""
        return self._call("GET", self._url(path), params=params)

    def post(self, path: str, data: Mapping[str, str]) -> dict[str, Any]:
        """POST form fields to a node or edge."""
        return self._call("POST", self._url(path), data=data)

    def delete(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """DELETE a node, or an edge entry named by ``params``."""
        return self._call("DELETE", self._url(path), params=params)

    def paginate(self, path: str, params: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        """Every item of an edge, page after page; stop iterating to stop fetching."""
        yield from self.follow(self.get(path, params))

    def follow(self, page: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """The items of a page already fetched (e.g. a nested edge), then of its next pages."""
        seen: set[str] = set()
        while True:
            data = page.get("data")
            if isinstance(data, list):
                yield from (item for item in data if isinstance(item, dict))
            paging = page.get("paging")
            next_url = paging.get("next") if isinstance(paging, Mapping) else None
            if not isinstance(next_url, str) or not data or next_url in seen:
                return  # the end, an empty page, or a loop: Graph sometimes repeats a link
            seen.add(next_url)
            path, params = _relative(next_url)
            page = self._call("GET", path, params=params)

    def _url(self, path: str) -> str:
        return f"/{self._version}/{path.lstrip('/')}"

    def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | httpx.QueryParams | None = None,
        data: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        try:
            response = self._client.request(method, url, params=params, data=data)
        except httpx.TimeoutException:
            raise self._error(Transient, f"{method} {url} timed out") from None
        except httpx.HTTPError as exc:  # transport, decoding and redirect errors alike
            raise self._error(Transient, f"{method} {url} failed: {type(exc).__name__}") from None
        usage, wait_minutes = read_usage(response.headers)
        if usage is not None:
            self.usage_percent = usage
        body = _json(response)
        error = body.get("error") if body is not None else None
        if isinstance(error, Mapping):
            raise self._translate(error, response.status_code, wait_minutes)
        if not response.is_success:
            raise self._translate_status(response, wait_minutes)
        if body is None:
            raise self._error(Transient, f"{method} {url}: HTTP {response.status_code}, not JSON")
        return body

    def _translate(
        self, error: Mapping[str, Any], status: int, wait_minutes: float
    ) -> PlatformError:
        """Map Graph's error envelope to our error tree (on code/subcode, not HTTP status)."""
        code, subcode = error.get("code"), error.get("error_subcode")
        message = str(error.get("message") or "no message")[:MAX_MESSAGE_CHARS]
        detail = f"{message} (code {code}" + (f"/{subcode})" if subcode is not None else ")")
        if code in THROTTLE_CODES:
            return self._throttled(detail, wait_minutes)
        if code in AUTH_CODES:
            return self._error(AuthExpired, f"token expired or revoked: {detail}")
        if code in PERMISSION_CODES:
            return self._error(PermissionDenied, f"permission missing: {detail}")
        if code == POLICY_BLOCK_CODE:
            # Meta has blocked the account for policy reasons; retrying cannot help.
            return self._error(PermissionDenied, f"blocked by Meta policy: {detail}")
        if code == GONE_CODE and subcode == GONE_SUBCODE:
            return self._error(Gone, f"no longer exists or not visible: {detail}")
        if code in TRANSIENT_CODES or status >= 500:
            return self._error(Transient, detail)
        return self._error(Invalid, detail)

    def _translate_status(self, response: httpx.Response, wait_minutes: float) -> PlatformError:
        """Map an HTTP failure that came without a Graph envelope (a proxy, an outage)."""
        status = response.status_code
        detail = f"HTTP {status} without a Graph error"
        if status == 429:
            retry_after = _float_or_none(response.headers.get("retry-after"))
            if retry_after is not None:
                return RateLimited(self._platform.value, self._detail(detail), retry_after)
            return self._throttled(detail, wait_minutes)
        if status >= 500:
            return self._error(Transient, detail)
        if status == 401:
            return self._error(AuthExpired, detail)
        if status == 403:
            return self._error(PermissionDenied, detail)
        if status in (404, 410):
            # Without Graph's own error body a 404 is a proxy or an outage page, not proof the
            # comment is gone: calling it Gone would mark comments deleted that are not.
            return self._error(Transient, detail)
        return self._error(Invalid, detail)

    def _throttled(self, detail: str, wait_minutes: float) -> RateLimited:
        # Graph sends no Retry-After; the usage headers say how long, else a fixed back-off.
        retry_after = wait_minutes * 60 if wait_minutes > 0 else self._default_backoff
        return RateLimited(self._platform.value, self._detail(f"throttled: {detail}"), retry_after)

    def _error(self, kind: type[PlatformError], detail: str) -> PlatformError:
        return kind(self._platform.value, self._detail(detail))

    def _detail(self, detail: str) -> str:
        return f"{self._account}: {detail}"


def _relative(next_url: str) -> tuple[str, httpx.QueryParams]:
    """The path and query of a ``paging.next`` link, to send through our own base URL.

    Going through the injected client keeps a configured proxy or test server in the path, and
    dropping ``access_token`` keeps a token Graph may have echoed into the link out of our URLs.
    """
    url = httpx.URL(next_url)
    return url.path, url.params.remove("access_token")


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _float_or_none(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
