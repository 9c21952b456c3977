"""Work that follows a request without delaying its answer, coalesced and run one at a time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Nudge:
    """Runs ``work`` in a background thread when nudged; nudges meanwhile fold into one rerun."""

    def __init__(self, work: Callable[[], None], name: str) -> None:
        self._work = work
        self._name = name
        self._lock = threading.Lock()
        self._running = False
        self._again = False

    def __call__(self) -> None:
        """Ask for the work to run soon; returns at once."""
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        threading.Thread(target=self._loop, name=self._name, daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                self._work()
            except Exception:
                log.exception("background %s failed; the scheduler will retry it", self._name)
            with self._lock:
                if not self._again:
                    self._running = False
                    return
                self._again = False
