"""Readiness: can this process do its work now? (database, Slack credentials, classifier).

A load balancer sends traffic only to ready processes, and an orchestrator restarts a process
only when it is not *alive* (``/healthz``), so a database outage takes every process out of
rotation without a storm of restarts. Answers name what failed, by a short code, never with a
connection string, token or exception text that could carry one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, text

OK = "ok"


@dataclass(frozen=True)
class Readiness:
    """The outcome of one readiness check."""

    ready: bool
    checks: dict[str, str]

    def as_dict(self) -> dict[str, object]:
        """The JSON body /readyz answers with."""
        return {"status": "ready" if self.ready else "not ready", "checks": self.checks}


class ReadinessProbe:
    """Checks the database every time, Slack's ``auth.test`` at most once per ``cache_seconds``."""

    def __init__(
        self,
        engine: Engine,
        slack_client: WebClient | None,
        classifier_loaded: Callable[[], bool],
        *,
        cache_seconds: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._slack = slack_client
        self._classifier_loaded = classifier_loaded
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._slack_lock = threading.Lock()
        self._slack_result: tuple[float, str] | None = None

    def check(self) -> Readiness:
        """Run every check; ready only if all are ``ok``."""
        checks = {
            "database": self._database(),
            "slack": self._slack_auth(),
            "classifier": self._classifier(),
        }
        return Readiness(all(v == OK for v in checks.values()), checks)

    def _database(self) -> str:
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            # The type only: a driver's message can quote the URL, password included.
            return f"unreachable ({type(exc).__name__})"
        return OK

    def _slack_auth(self) -> str:
        if self._slack is None:
            return "not configured"
        with self._slack_lock:  # one probe at a time asks Slack; the rest share its answer
            now = self._monotonic()
            if self._slack_result is not None and now - self._slack_result[0] < self._cache_seconds:
                return self._slack_result[1]
            result = self._ask_slack(self._slack)
            self._slack_result = (now, result)
            return result

    @staticmethod
    def _ask_slack(client: WebClient) -> str:
        try:
            client.auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            return f"auth.test failed ({_safe_code(error)})"
        except Exception as exc:
            return f"auth.test failed ({type(exc).__name__})"
        return OK

    def _classifier(self) -> str:
        return OK if self._classifier_loaded() else "not loaded"


def _safe_code(error: object) -> str:
    """Slack's error codes are short snake_case words; anything else is not echoed."""
    if isinstance(error, str) and error.replace("_", "").isalnum() and len(error) <= 64:
        return error
    return "error"
