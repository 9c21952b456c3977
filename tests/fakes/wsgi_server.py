"""Serve a WSGI app with waitress (the server `smat-bot run` uses) on an ephemeral loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import waitress


@contextmanager
def serve_wsgi(app: Any, threads: int = 8) -> Iterator[str]:
    """Run the app in a background thread; yield its base URL; stop it afterwards."""
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads)
    stop = threading.Event()

    def loop() -> None:
        # Closing the socket from another thread races the select() in waitress' loop, so
        # the loop polls a stop flag and closes the server itself.
        while not stop.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1)
        server.close()
        server.task_dispatcher.shutdown()

    thread = threading.Thread(target=loop, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(timeout=5)
