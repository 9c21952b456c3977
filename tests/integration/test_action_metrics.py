"""Platform action failures are counted for the metrics, by platform and kind of failure."""

from __future__ import annotations

from typing import Any

import pytest

from bot import metrics
from bot.container import build
from bot.services.executor import Executor
from bot.services.outbox import RetryLater
from bot.services.review import Action, DecisionRequest, Recorded
from platforms.base import Action as PlatformAction
from platforms.errors import RateLimited, Transient
from platforms.types import Platform
from storage.models import ReviewItem
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.connector import FakeConnector
from tests.integration.helpers import incoming


def _failures(error: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "smat_action_failures_total", {"platform": "facebook", "error": error}
    )
    return value or 0.0


def test_failed_platform_actions_are_counted(make_settings: MakeSettings) -> None:
    settings = make_settings(
        members=[{"slack_user_id": "U0SMAT1", "role": "smat", "name": "Jo"}],
        accounts=[
            {
                "name": "fb-main",
                "platform": "facebook",
                "id": "ExampleTownCouncil",
                "display_name": "Example Town Council",
                "token": "env:FB_TOKEN",
            }
        ],
    )
    container = build(settings, classifier=KeywordClassifier(), clock=FakeClock())
    container.ingest().ingest([incoming("c1", "You stupid useless idiot")])
    with container.sessions() as session:
        version = session.get_one(ReviewItem, 1).version
    recorded = container.review.decide(
        DecisionRequest(1, version, Action.HIDE, "U0SMAT1", reason_code="bullying_or_harassment")
    )
    assert isinstance(recorded, Recorded)
    connector = FakeConnector(Platform.FACEBOOK)
    errors: list[Exception] = [Transient("facebook", "HTTP 502"), RateLimited("facebook", "x", 60)]
    original = connector.perform

    def flaky(action: PlatformAction, comment: Any, *, text: str | None = None) -> Any:
        if errors:
            raise errors.pop(0)
        return original(action, comment, text=text)

    connector.perform = flaky  # type: ignore[method-assign]
    executor = Executor(
        container.sessions,
        container.settings,
        lambda _: connector,
        container.accounts,
        container.clock,
    )
    before = _failures("Transient"), _failures("rate_limited")
    payload = {"decision_id": recorded.decision_id}
    with pytest.raises(Transient):
        executor.execute(payload)
    with pytest.raises(RetryLater):
        executor.execute(payload)
    executor.execute(payload)
    assert (_failures("Transient"), _failures("rate_limited")) == (before[0] + 1, before[1] + 1)
