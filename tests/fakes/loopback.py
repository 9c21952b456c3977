"""The lifecycle every fake HTTP server shares: serve on an ephemeral loopback port in a thread."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Self


class LoopbackServer(ABC):
    """Start, stop and address a threaded HTTP server; subclasses build the server itself."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def _make_server(self, address: tuple[str, int]) -> ThreadingHTTPServer:
        """Build the (not yet serving) server bound to ``address``."""

    def start(self) -> Self:
        """Bind an ephemeral port and serve in a daemon thread (idempotent)."""
        if self._server is None:
            self._server = self._make_server((self._host, 0))
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # quick shutdown between tests
                name=f"{type(self).__name__}:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port (only while started)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() or use `with`")
        return int(self._server.server_address[1])

    @property
    def url_root(self) -> str:
        """``http://127.0.0.1:PORT`` with no trailing slash."""
        return f"http://{self._host}:{self.port}"
