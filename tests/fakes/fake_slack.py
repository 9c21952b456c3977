"""A fake Slack Web API server that the real ``slack_sdk.WebClient`` talks to.

The fake runs a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (ephemeral port) so tests exercise
the real client end to end: URL building, JSON/form/multipart encoding, the bearer token, HTTP
status handling and the SDK's retry handlers. It keeps just enough state (messages, views,
uploaded files) for tests to assert on what a moderator would see, and it can misbehave on
demand (rate limits, ``ok: false`` errors, slow answers, outages).

Usage::

    with FakeSlack() as slack:
        client = WebClient(base_url=slack.base_url, token=DEFAULT_TOKEN)
        posted = client.chat_postMessage(channel="#social-moderation", text="hi")
        client.chat_update(channel=posted["channel"], ts=posted["ts"], text="handled")
        assert slack.message(posted["channel"], posted["ts"])["text"] == "handled"
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import itertools
import json
import math
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.loopback import LoopbackServer

JsonDict = dict[str, Any]

DEFAULT_TOKEN = "xoxb-test-token"
DEFAULT_TEAM_ID = "T0COUNCIL"
DEFAULT_BOT_USER_ID = "U0SMATBOT"
DEFAULT_BOT_ID = "B0SMATBOT"
DEFAULT_APP_ID = "A0SMATBOT"

# Method names under which non-Web-API requests are recorded.
RESPONSE_URL_METHOD = "response_url"
UPLOAD_METHOD = "files.upload_url"

# 2026-01-02T08:00:00Z: a fixed epoch so message timestamps look real but are deterministic.
_BASE_TS = 1767340800
# Scopes echoed in auth.test's x-oauth-scopes header; Bolt copies them into AuthorizeResult.
_BOT_SCOPES = "chat:write,commands,files:write,users:read,usergroups:read,im:write"
# Form-encoded requests carry these as JSON strings; decode them so params look the same
# whichever encoding slack_sdk picked for the method.
_JSON_FIELDS = frozenset({"blocks", "attachments", "view", "files", "metadata", "payload"})
_CONVERSATION_ID = re.compile(r"^[CDG][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_HTTP_ERROR_NAMES = {
    429: "ratelimited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass(frozen=True)
class RecordedCall:
    """One request the fake received, recorded after its effects were applied."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    path: str = ""
    status: int = 200
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the fake answered this call successfully (HTTP 200 and no error)."""
        return self.status == 200 and self.error is None


@dataclass(frozen=True)
class FakeFile:
    """A file shared through files.getUploadURLExternal + upload + completeUploadExternal."""

    id: str
    filename: str
    title: str
    content: bytes
    channels: tuple[str, ...]
    initial_comment: str | None = None
    thread_ts: str | None = None


@dataclass
class _Failure:
    status: int
    error: str
    retry_after: int | None
    remaining: int


@dataclass
class _PendingUpload:
    filename: str
    length: int
    content: bytes | None = None


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def json(
        cls, data: JsonDict, status: int = 200, headers: dict[str, str] | None = None
    ) -> _Reply:
        error = None if data.get("ok", True) else str(data.get("error"))
        return cls(status, json.dumps(data).encode(), headers=headers or {}, error=error)

    @classmethod
    def text(cls, text: str, status: int = 200, error: str | None = None) -> _Reply:
        return cls(status, text.encode(), "text/plain; charset=utf-8", error=error)


class _ApiError(Exception):
    """Raised inside a method handler to answer like Slack does on failure."""

    def __init__(self, error: str, status: int = 200, retry_after: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.retry_after = retry_after

    def reply(self, *, api: bool) -> _Reply:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        if api:
            return _Reply.json({"ok": False, "error": self.error}, self.status, headers)
        # response_url and upload endpoints answer plain text, as Slack's do.
        return _Reply(
            self.status,
            self.error.encode(),
            "text/plain; charset=utf-8",
            headers,
            error=self.error,
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The stdlib default backlog of 5 makes bursts of parallel clients (Bolt's listener
    # pool, concurrency tests) wait ~1 s for a SYN retransmit; Slack itself never queues.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], fake: FakeSlack) -> None:
        super().__init__(address, _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    # A stuck client must not hang the server thread (and thus test teardown) forever.
    timeout = 10
    server_version = "FakeSlack/1.0"

    def do_POST(self) -> None:
        cast(_Server, self.server).fake._serve(self)

    def do_GET(self) -> None:
        cast(_Server, self.server).fake._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        # Keep pytest output clean; the recorded calls are the log.
        pass


class FakeSlack(LoopbackServer):
    """Fake Slack Web API (plus upload and response_url endpoints) on a local port."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (DEFAULT_TOKEN,),
        team_id: str = DEFAULT_TEAM_ID,
        team_name: str = "Example Council",
        team_domain: str = "examplecouncil",
        bot_user_id: str = DEFAULT_BOT_USER_ID,
        bot_id: str = DEFAULT_BOT_ID,
        bot_name: str = "smat-bot",
        app_id: str = DEFAULT_APP_ID,
        host: str = "127.0.0.1",
    ) -> None:
        self.tokens = frozenset(tokens)
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id
        super().__init__(host)
        # One lock guards all state; the condition lets wait_for sleep until a call lands.
        self._lock = threading.RLock()
        self._recorded = threading.Condition(self._lock)
        # Counters survive reset() so timestamps and ids never repeat within one fake.
        self._ts_seq = itertools.count(1)
        self._id_seq = itertools.count(1)
        self._handlers: dict[str, Callable[[JsonDict], JsonDict]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        self._init_state()

    def _init_state(self) -> None:
        self._calls: list[RecordedCall] = []
        self._messages: dict[str, dict[str, JsonDict]] = {}  # channel -> ts -> message
        self._views: dict[str, JsonDict] = {}
        self._home_views: dict[str, str] = {}  # user id -> view id
        self._used_triggers: set[str] = set()
        self._users: dict[str, JsonDict] = {}
        self._uploads: dict[str, _PendingUpload] = {}
        self._files: list[FakeFile] = []
        self._response_urls: dict[str, tuple[str, str] | None] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._delays: dict[str, float] = {}
        self._down = False
        self._channel_interval: float | None = None
        self._rate_clock: Callable[[], datetime] | None = None
        self._last_post: dict[str, float | datetime] = {}

    # ------------------------------------------------------------------ lifecycle

    def _make_server(self, address: tuple[str, int]) -> ThreadingHTTPServer:
        return _Server(address, self)

    @property
    def base_url(self) -> str:
        """The value for ``WebClient(base_url=...)``; it must end in a slash for urljoin."""
        return f"{self.url_root}/api/"

    # ------------------------------------------------------------------ recorded calls

    def calls(self, method: str | None = None, *, ok: bool | None = None) -> list[RecordedCall]:
        """Recorded calls in arrival order, optionally filtered by method and outcome."""
        with self._lock:
            return [
                c
                for c in self._calls
                if (method is None or c.method == method) and (ok is None or c.ok == ok)
            ]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 5.0, *, ok: bool | None = None
    ) -> list[RecordedCall]:
        """Block until ``count`` matching calls arrived; AssertionError lists what came instead.

        Listeners run after Bolt has acked, so tests must wait rather than assert at once.
        Failed attempts count unless ``ok=True`` is given (e.g. to wait past a 429 retry).
        """
        deadline = time.monotonic() + timeout
        with self._recorded:
            while True:
                matching = self.calls(method, ok=ok)
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [
                        f"{c.method}[{c.status}{' ' + c.error if c.error else ''}]"
                        for c in self._calls
                    ]
                    raise AssertionError(
                        f"expected {count} {method!r} call(s) (ok={ok}) within {timeout}s, "
                        f"got {len(matching)}; all calls: {seen}"
                    )
                self._recorded.wait(remaining)

    def reset(self) -> None:
        """Forget calls, messages, views, files, users and all injected failures."""
        with self._lock:
            self._init_state()

    # ------------------------------------------------------------------ state for assertions

    def channel_id(self, channel: str) -> str:
        """Map a channel name ("#x" or "x") to a stable fake C-id; ids pass through."""
        if _CONVERSATION_ID.match(channel):
            return channel
        if _USER_ID.match(channel):
            # Posting to a user id lands in the app's DM with that user.
            return self.dm_channel_id(channel)
        name = channel.lstrip("#").lower()
        digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()
        return "C" + digest[:10].upper()

    def dm_channel_id(self, *user_ids: str) -> str:
        """The D-id conversations.open returns for this set of users (G-id for several)."""
        users = sorted(set(user_ids))
        prefix = "D" if len(users) == 1 else "G"
        digest = hashlib.sha1(",".join(users).encode(), usedforsecurity=False).hexdigest()
        return prefix + digest[:10].upper()

    def message(self, channel: str, ts: str) -> JsonDict | None:
        """A copy of the message as it stands now (after updates), or None if absent/deleted."""
        with self._lock:
            found = self._messages.get(self.channel_id(channel), {}).get(ts)
            return copy.deepcopy(found)

    def messages(self, channel: str) -> list[JsonDict]:
        """Copies of the channel's current messages in posting order (thread replies too)."""
        with self._lock:
            return copy.deepcopy(list(self._messages.get(self.channel_id(channel), {}).values()))

    def view(self, view_id: str) -> JsonDict | None:
        """A copy of the current state of a view opened, pushed, updated or published."""
        with self._lock:
            return copy.deepcopy(self._views.get(view_id))

    def views(self) -> list[JsonDict]:
        """Copies of every view opened or updated, oldest first (modals and home tabs)."""
        with self._lock:
            return [copy.deepcopy(view) for view in self._views.values()]

    def home_view(self, user_id: str) -> JsonDict | None:
        """A copy of the App Home view last published for the user."""
        with self._lock:
            view_id = self._home_views.get(user_id)
            return copy.deepcopy(self._views.get(view_id)) if view_id else None

    def files(self, channel: str | None = None) -> list[FakeFile]:
        """Completed file uploads, optionally only those shared to ``channel``."""
        with self._lock:
            if channel is None:
                return list(self._files)
            cid = self.channel_id(channel)
            return [f for f in self._files if cid in f.channels]

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        real_name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> None:
        """Register a user for users.info (unknown ids get a synthesised profile)."""
        with self._lock:
            self._users[user_id] = self._user_record(user_id, name, real_name, is_bot, deleted)

    def response_url(self, name: str, *, channel: str | None = None, ts: str | None = None) -> str:
        """A response_url on this server; bound to a message, replace/delete_original apply."""
        with self._lock:
            self._response_urls[name] = (self.channel_id(channel), ts) if channel and ts else None
        return f"{self.url_root}/response/{name}"

    # ------------------------------------------------------------------ failure injection

    def fail(
        self,
        method: str,
        *,
        times: int = 1,
        status: int | None = None,
        retry_after: int | None = 1,
        error: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` ("*" for any) fail.

        Without ``error`` the answer is HTTP ``status`` (default 429, with ``Retry-After``);
        with ``error`` it is ``{"ok": false, "error": error}`` over HTTP 200 unless ``status``
        is also given. Several fail() calls queue up in order.
        """
        if status is None and error is None:
            status = 429
        elif status is None:
            # API errors ride on HTTP 200; response_url/upload endpoints use status codes.
            status = 404 if method in (RESPONSE_URL_METHOD, UPLOAD_METHOD) else 200
        failure = _Failure(
            status=status,
            error=error or _HTTP_ERROR_NAMES.get(status, f"http_{status}"),
            retry_after=retry_after if status == 429 else None,
            remaining=times,
        )
        with self._lock:
            self._failures.setdefault(method, []).append(failure)

    def delay(self, method: str, seconds: float) -> None:
        """Sleep ``seconds`` before answering each ``method`` ("*" for any); 0 clears it."""
        with self._lock:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def down(self, is_down: bool = True) -> None:
        """While down, every request (API, upload, response_url) answers HTTP 503."""
        with self._lock:
            self._down = is_down

    def enforce_channel_rate(
        self, min_interval_s: float | None = 1.0, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        """Answer 429 to chat.postMessage arriving sooner than this after the last accepted one
        to the same channel, like Slack's ~1 message/second/channel limit; None disables it.

        Time is the real monotonic clock unless ``clock`` (e.g. a FakeClock) is given, so a
        long surge can be simulated without waiting for it.
        """
        with self._lock:
            self._channel_interval = min_interval_s or None
            self._rate_clock = clock
            self._last_post.clear()

    # ------------------------------------------------------------------ request plumbing

    def _serve(self, handler: _Handler) -> None:
        """Route one HTTP request, record it, and write the answer."""
        # Read the whole body first even when failing: closing on an unread body can make
        # the client see a connection reset instead of our status code.
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        split = urlsplit(handler.path)
        # Accept both ".../api/<method>" and "/<method>" so either base_url style works.
        route = unquote(split.path).lstrip("/").removeprefix("api/")
        content_type = headers.get("content-type", "")

        target = ""
        if route.startswith("upload/"):
            method, api, target = UPLOAD_METHOD, False, route.removeprefix("upload/")
            params: JsonDict = {"file_id": target}
        elif route.startswith("response/"):
            method, api, target = RESPONSE_URL_METHOD, False, route.removeprefix("response/")
            params = self._parse_body(body, content_type)
        else:
            method, api = route, True
            params = self._parse_query(split.query)
            params.update(self._parse_body(body, content_type))

        try:
            reply = self._process(method, api, target, params, body, headers, split.path)
        except Exception as exc:  # a bug in the fake should fail the test loudly, not hang it
            reply = _Reply.text(
                f"fake_slack_internal_error: {exc}\n{traceback.format_exc()}",
                500,
                error=f"fake_slack_internal_error: {exc}",
            )
            self._record(method, params, headers, split.path, reply)

        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client died waiting (crash tests kill it)

    def _process(
        self,
        method: str,
        api: bool,
        target: str,
        params: JsonDict,
        body: bytes,
        headers: dict[str, str],
        path: str,
    ) -> _Reply:
        with self._lock:
            is_down = self._down
            pause = self._delays.get(method, self._delays.get("*", 0.0))
        if is_down:
            reply = _ApiError("service_unavailable", 503).reply(api=api)
            return self._record(method, params, headers, path, reply)
        if pause:
            time.sleep(pause)  # outside the lock so other requests keep flowing

        with self._lock:
            try:
                if api:
                    result = self._call_api(method, params, headers)
                    reply = _Reply.json(result, headers=self._extra_headers(method))
                elif method == UPLOAD_METHOD:
                    reply = self._upload(params, body, headers)
                else:
                    reply = self._respond(target, params)
            except _ApiError as exc:
                reply = exc.reply(api=api)
            # Record while still holding the lock and before answering, so that a test
            # returning from wait_for() always sees the state change the call made.
            return self._record(method, params, headers, path, reply)

    def _call_api(self, method: str, params: JsonDict, headers: dict[str, str]) -> JsonDict:
        handler = self._handlers.get(method)
        if handler is None:
            raise _ApiError("unknown_method")
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        token = token or params.pop("token", None)
        if not token:
            raise _ApiError("not_authed")
        if token not in self.tokens:
            raise _ApiError("invalid_auth")
        self._take_failure(method)
        return handler(params)

    def _take_failure(self, method: str) -> None:
        for key in (method, "*"):
            queue = self._failures.get(key)
            if queue:
                failure = queue[0]
                failure.remaining -= 1
                if failure.remaining <= 0:
                    queue.pop(0)
                raise _ApiError(failure.error, failure.status, failure.retry_after)

    def _extra_headers(self, method: str) -> dict[str, str]:
        return {"x-oauth-scopes": _BOT_SCOPES} if method == "auth.test" else {}

    def _record(
        self,
        method: str,
        params: JsonDict,
        headers: dict[str, str],
        path: str,
        reply: _Reply,
    ) -> _Reply:
        call = RecordedCall(
            method=method,
            params=params,
            headers=headers,
            at=time.time(),
            path=path,
            status=reply.status,
            error=reply.error,
        )
        with self._recorded:
            self._calls.append(call)
            self._recorded.notify_all()
        return reply

    @staticmethod
    def _parse_query(query: str) -> JsonDict:
        return {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}

    @staticmethod
    def _parse_body(body: bytes, content_type: str) -> JsonDict:
        """Decode JSON, form or multipart bodies into one flat params dict."""
        if not body:
            return {}
        ctype = content_type.split(";")[0].strip().lower()
        params: JsonDict
        if ctype == "application/json":
            loaded = json.loads(body)
            params = loaded if isinstance(loaded, dict) else {"_json": loaded}
        elif ctype == "multipart/form-data":
            params = {}
            for part in _multipart_parts(body, content_type):
                name = part.get_param("name", header="content-disposition")
                data = part.get_payload(decode=True)
                if isinstance(name, str) and isinstance(data, bytes):
                    params[name] = data if part.get_filename() else data.decode()
        else:
            params = FakeSlack._parse_query(body.decode("utf-8", "replace"))
        for key in _JSON_FIELDS & params.keys():
            value = params[key]
            if isinstance(value, str) and value[:1] in ("[", "{"):
                # Malformed JSON stays as sent so the test can see what the app sent.
                with contextlib.suppress(json.JSONDecodeError):
                    params[key] = json.loads(value)
        return params

    # ------------------------------------------------------------------ helpers under lock

    def _next_ts(self) -> str:
        micros = next(self._ts_seq) * 100
        return f"{_BASE_TS + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}0FAKE{next(self._id_seq):05d}"

    def _require(self, params: JsonDict, key: str, error: str = "invalid_arguments") -> Any:
        value = params.get(key)
        if value in (None, ""):
            raise _ApiError(error)
        return value

    def _find_message(self, params: JsonDict) -> tuple[str, str, JsonDict]:
        channel = self.channel_id(str(self._require(params, "channel", "channel_not_found")))
        ts = str(self._require(params, "ts", "message_not_found"))
        found = self._messages.get(channel, {}).get(ts)
        if found is None:
            raise _ApiError("message_not_found")
        return channel, ts, found

    @staticmethod
    def _apply_content(message: JsonDict, params: JsonDict) -> None:
        # Copies, so a test poking at RecordedCall.params cannot rewrite stored state.
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params:
                message[key] = copy.deepcopy(params[key])

    def _user_record(
        self, user_id: str, name: str, real_name: str | None, is_bot: bool, deleted: bool
    ) -> JsonDict:
        real = real_name or name
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real,
            "deleted": deleted,
            "is_bot": is_bot,
            "tz": "Europe/London",
            "profile": {"display_name": name, "real_name": real},
        }

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, params: JsonDict) -> JsonDict:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "team_id": self.team_id,
            "user": self.bot_name,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: JsonDict) -> JsonDict:
        channel = self.channel_id(str(self._require(params, "channel", "channel_not_found")))
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise _ApiError("no_text")
        if self._channel_interval is not None:
            now: float | datetime = (
                self._rate_clock() if self._rate_clock is not None else time.monotonic()
            )
            last = self._last_post.get(channel)
            if last is not None:
                # Datetimes subtract exactly (microseconds); floats would round near 1.0 s.
                elapsed = (
                    (now - last).total_seconds()
                    if isinstance(now, datetime) and isinstance(last, datetime)
                    else float(now) - float(last)  # type: ignore[arg-type]
                )
                if elapsed < self._channel_interval:
                    wait = math.ceil(self._channel_interval - elapsed)
                    raise _ApiError("ratelimited", 429, retry_after=max(1, wait))
            self._last_post[channel] = now
        ts = self._next_ts()
        message: JsonDict = {
            "type": "message",
            "text": params.get("text", ""),
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
        }
        self._apply_content(message, params)
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        self._messages.setdefault(channel, {})[ts] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_get_permalink(self, params: JsonDict) -> JsonDict:
        channel = self.channel_id(str(self._require(params, "channel", "channel_not_found")))
        ts = str(self._require(params, "message_ts", "message_not_found"))
        if ts not in self._messages.get(channel, {}):
            raise _ApiError("message_not_found")
        link = f"https://examplecouncil.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _chat_update(self, params: JsonDict) -> JsonDict:
        channel, ts, message = self._find_message(params)
        self._apply_content(message, params)
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message.get("text", ""),
            "message": copy.deepcopy(message),
        }

    def _chat_delete(self, params: JsonDict) -> JsonDict:
        channel, ts, _ = self._find_message(params)
        del self._messages[channel][ts]
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_post_ephemeral(self, params: JsonDict) -> JsonDict:
        self._require(params, "channel", "channel_not_found")
        self._require(params, "user", "user_not_in_channel")
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise _ApiError("no_text")
        # Ephemeral messages are not kept: Slack cannot update or fetch them either.
        return {"ok": True, "message_ts": self._next_ts()}

    def _new_view(self, view: JsonDict, view_id: str, root_view_id: str) -> JsonDict:
        view = copy.deepcopy(view)
        stored: JsonDict = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type", "modal"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{_BASE_TS + next(self._id_seq)}.{view_id.lower()}",
            "root_view_id": root_view_id,
            "previous_view_id": None,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
        }
        for key in ("title", "submit", "close", "clear_on_close", "notify_on_close"):
            if key in view:
                stored[key] = view[key]
        self._views[view_id] = stored
        return stored

    def _take_trigger(self, params: JsonDict) -> None:
        trigger = str(self._require(params, "trigger_id", "invalid_trigger_id"))
        if trigger in self._used_triggers:
            raise _ApiError("exchanged_trigger_id")  # trigger ids are single-use in Slack
        self._used_triggers.add(trigger)

    def _view_param(self, params: JsonDict) -> JsonDict:
        view = self._require(params, "view")
        if not isinstance(view, dict):
            raise _ApiError("invalid_arguments")
        return view

    def _views_open(self, params: JsonDict) -> JsonDict:
        view = self._view_param(params)
        self._take_trigger(params)
        view_id = self._next_id("V")
        return {"ok": True, "view": copy.deepcopy(self._new_view(view, view_id, view_id))}

    def _views_push(self, params: JsonDict) -> JsonDict:
        return self._views_open(params)

    def _views_update(self, params: JsonDict) -> JsonDict:
        view = self._view_param(params)
        view_id = params.get("view_id")
        if not view_id and params.get("external_id"):
            view_id = next(
                (
                    v["id"]
                    for v in self._views.values()
                    if v["external_id"] == params["external_id"]
                ),
                None,
            )
        current = self._views.get(str(view_id)) if view_id else None
        if current is None:
            raise _ApiError("not_found")
        if params.get("hash") and params["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        updated = self._new_view(view, current["id"], current["root_view_id"])
        return {"ok": True, "view": copy.deepcopy(updated)}

    def _views_publish(self, params: JsonDict) -> JsonDict:
        view = self._view_param(params)
        user_id = str(self._require(params, "user_id", "invalid_arguments"))
        current_id = self._home_views.get(user_id)
        current = self._views.get(current_id) if current_id else None
        if current and params.get("hash") and params["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        view_id = current_id or self._next_id("V")
        self._home_views[user_id] = view_id
        return {"ok": True, "view": copy.deepcopy(self._new_view(view, view_id, view_id))}

    def _conversations_open(self, params: JsonDict) -> JsonDict:
        if params.get("channel"):
            return {"ok": True, "channel": {"id": self.channel_id(str(params["channel"]))}}
        users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if not users:
            raise _ApiError("users_list_not_supplied")
        channel_id = self.dm_channel_id(*users)
        # Slack answers already_open once the DM exists; messages are our proxy for that.
        already_open = channel_id in self._messages
        return {
            "ok": True,
            "no_op": already_open,
            "already_open": already_open,
            "channel": {"id": channel_id},
        }

    def _users_info(self, params: JsonDict) -> JsonDict:
        user_id = str(self._require(params, "user", "user_not_found"))
        user = self._users.get(user_id) or self._user_record(
            user_id, user_id.lower(), None, is_bot=False, deleted=False
        )
        return {"ok": True, "user": copy.deepcopy(user)}

    def _files_get_upload_url(self, params: JsonDict) -> JsonDict:
        filename = str(self._require(params, "filename"))
        length = int(self._require(params, "length"))
        file_id = self._next_id("F")
        self._uploads[file_id] = _PendingUpload(filename=filename, length=length)
        return {"ok": True, "upload_url": f"{self.url_root}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, params: JsonDict) -> JsonDict:
        entries = self._require(params, "files")
        if not isinstance(entries, list):
            raise _ApiError("invalid_arguments")
        channels: list[str] = []
        if params.get("channel_id"):
            channels.append(self.channel_id(str(params["channel_id"])))
        for name in str(params.get("channels") or "").split(","):
            if name.strip():
                channels.append(self.channel_id(name.strip()))
        shared: list[JsonDict] = []
        for entry in entries:
            pending = self._uploads.get(str(entry.get("id")))
            if pending is None or pending.content is None:
                # Unknown ids and ids whose bytes never arrived both fail in Slack.
                raise _ApiError("file_not_found")
            fake_file = FakeFile(
                id=entry["id"],
                filename=pending.filename,
                title=entry.get("title") or pending.filename,
                content=pending.content,
                channels=tuple(channels),
                initial_comment=params.get("initial_comment"),
                thread_ts=params.get("thread_ts"),
            )
            self._files.append(fake_file)
            del self._uploads[fake_file.id]
            shared.append(
                {
                    "id": fake_file.id,
                    "name": fake_file.filename,
                    "title": fake_file.title,
                    "size": len(fake_file.content),
                    "channels": list(fake_file.channels),
                }
            )
        return {"ok": True, "files": shared}

    # ------------------------------------------------------------------ non-API endpoints

    def _upload(self, params: JsonDict, body: bytes, headers: dict[str, str]) -> _Reply:
        self._take_failure(UPLOAD_METHOD)
        pending = self._uploads.get(params["file_id"])
        if pending is None:
            raise _ApiError("file_not_found", 404)
        content = body
        content_type = headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            # Slack's upload URL takes multipart too: keep the first part's bytes.
            parts = _multipart_parts(body, content_type)
            payload = parts[0].get_payload(decode=True) if parts else b""
            content = payload if isinstance(payload, bytes) else b""
        pending.content = content
        params["size"] = len(content)
        return _Reply.text(f"OK - {len(content)}")

    def _respond(self, name: str, params: JsonDict) -> _Reply:
        self._take_failure(RESPONSE_URL_METHOD)
        target = self._response_urls.get(name)
        if target is not None:
            channel, ts = target
            message = self._messages.get(channel, {}).get(ts)
            if message is not None and _truthy(params.get("delete_original")):
                del self._messages[channel][ts]
            elif message is not None and _truthy(params.get("replace_original")):
                self._apply_content(message, params)
        return _Reply.text("ok")


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _multipart_parts(body: bytes, content_type: str) -> list[EmailMessage]:
    """Split a multipart/form-data body with the stdlib email parser."""
    envelope = f"Content-Type: {content_type}\r\n\r\n".encode() + body
    message = BytesParser(policy=HTTP).parsebytes(envelope)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        return []
    return list(cast(Iterable[EmailMessage], message.iter_parts()))
