"""Serve an ``httpx.MockTransport``-style fake (e.g. ``FakeGraph.handle``) over real HTTP.

The bot builds its real connectors from the settings (``platforms.<name>.api_url`` and the
account's token), so to test them end to end the fake must be reachable on a socket. Each
request is turned into an ``httpx.Request`` for the fake's handler and its ``httpx.Response``
is written back. A handler that raises (``FakeGraph.fail_next(exception=...)``) makes the
server drop the connection without answering, which the client sees as a transport error.

Usage::

    graph = FakeGraph()
    with PlatformServer(graph.handle) as server:
        settings = {"platforms": {"facebook": {"api_url": server.base_url}}}
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import httpx

from tests.fakes.loopback import LoopbackServer

Handle = Callable[[httpx.Request], httpx.Response]

# Hop-by-hop or length headers the server sets itself.
_SKIP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "content-encoding"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], fake: PlatformServer) -> None:
        super().__init__(address, _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    timeout = 10
    protocol_version = "HTTP/1.1"
    server_version = "FakePlatform/1.0"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the fake's own request log is what tests look at

    def _serve(self) -> None:
        fake = cast(_Server, self.server).fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = httpx.Request(
            self.command,
            f"{fake.url_root}{self.path}",
            headers=list(self.headers.items()),
            content=body,
        )
        try:
            response = fake.dispatch(request)
        except Exception:
            # A transport failure: hang up without an answer.
            self.close_connection = True
            return
        content = response.read()
        try:
            self.send_response(response.status_code)
            for name, value in response.headers.multi_items():
                if name.lower() not in _SKIP_HEADERS:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client died waiting (crash tests kill it)


class PlatformServer(LoopbackServer):
    """A fake platform API on 127.0.0.1 (ephemeral port), serving requests one at a time."""

    def __init__(self, handle: Handle, host: str = "127.0.0.1") -> None:
        self._handle = handle
        super().__init__(host)
        self._lock = threading.Lock()  # the in-memory fakes are not thread-safe

    def dispatch(self, request: httpx.Request) -> httpx.Response:
        """Hand one request to the fake, serialised with every other."""
        with self._lock:
            return self._handle(request)

    def _make_server(self, address: tuple[str, int]) -> ThreadingHTTPServer:
        return _Server(address, self)

    @property
    def base_url(self) -> str:
        """The value for a platform's ``api_url`` setting."""
        return f"{self.url_root}/"
