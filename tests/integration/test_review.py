"""Decisions: roles, one decision per card version, and races between people."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from bot.container import Container, build
from bot.services.review import Action, DecisionRequest, Recorded, Refused
from config.settings import Settings
from storage.models import Decision
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.integration.helpers import incoming

MEMBERS = [
    {"slack_user_id": "U0SMAT1", "role": "smat", "name": "Jo"},
    {"slack_user_id": "U0SMAT2", "role": "smat", "name": "Sam"},
    {"slack_user_id": "U0VIEWER", "role": "viewer", "name": "Viv"},
]


def _ready(settings: Settings) -> Container:
    container = build(settings, classifier=KeywordClassifier(), clock=FakeClock())
    container.ingest().ingest([incoming("c1", "When is the switch-on?")])
    return container


def _approve(container: Container, user: str, version: int = 1) -> Recorded:
    return container.review.decide(DecisionRequest(1, version, Action.APPROVE, user))


def test_a_member_approves_and_a_second_click_is_refused(make_settings: MakeSettings) -> None:
    container = _ready(make_settings(members=MEMBERS))
    recorded = _approve(container, "U0SMAT1")
    with pytest.raises(Refused) as refused:
        _approve(container, "U0SMAT2")
    assert refused.value.code == "already_handled"
    assert "<@U0SMAT1>" in refused.value.message
    with container.sessions() as session:
        decision = session.get_one(Decision, recorded.decision_id)
        assert (decision.actor_slack_id, decision.actor_name, decision.review_version) == (
            "U0SMAT1",
            "Jo",
            1,
        )


@pytest.mark.parametrize("user", ["U0VIEWER", "U0STRANGER"])
def test_viewers_and_strangers_cannot_decide(make_settings: MakeSettings, user: str) -> None:
    container = _ready(make_settings(members=MEMBERS))
    with pytest.raises(Refused) as refused:
        _approve(container, user)
    assert refused.value.code == "not_allowed"
    with container.sessions() as session:
        assert session.scalars(select(Decision)).all() == []


def test_a_click_on_an_out_of_date_card_is_refused(make_settings: MakeSettings) -> None:
    container = _ready(make_settings(members=MEMBERS))
    container.ingest().ingest([incoming("c1", "When is the switch-on? Edited: and parking?")])
    with pytest.raises(Refused) as refused:
        _approve(container, "U0SMAT1", version=1)
    assert refused.value.code == "stale"
    _approve(container, "U0SMAT1", version=2)


@pytest.mark.postgres
def test_simultaneous_clicks_make_exactly_one_decision_on_postgres(postgres_url: str) -> None:
    from config.settings import deep_merge

    container = _ready(Settings(**deep_merge({"database_url": postgres_url}, {"members": MEMBERS})))
    outcomes: list[object] = []
    barrier = threading.Barrier(8)

    def click(user: str) -> None:
        barrier.wait()
        try:
            outcomes.append(_approve(container, user))
        except Refused as refusal:
            outcomes.append(refusal.code)

    threads = [
        threading.Thread(target=click, args=("U0SMAT1" if i % 2 else "U0SMAT2",)) for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(o, Recorded) for o in outcomes) == 1
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["already_handled"] * 7
    with container.sessions() as session:
        assert len(session.scalars(select(Decision)).all()) == 1
