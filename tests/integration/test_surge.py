"""Batch cards against real databases: formed once, approved exactly once, even concurrently."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.container import Container, build
from bot.services.batch_review import BatchReview
from bot.services.review import Action, DecisionRequest, Refused
from config.settings import Settings, deep_merge
from storage.models import Decision, OutboxMessage, ReviewItem, SlackBatch, SlackBatchItem
from tests.conftest import MakeSettings, slack_overrides
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.fake_slack import FakeSlack
from tests.integration.helpers import incoming

SMAT1, SMAT2, OUTSIDER = "U0SMAT1", "U0SMAT2", "U0OUTSIDER"
SURGE = {"burst": 100, "batch_backlog": 2, "batch_size": 5}


def _container(settings: Settings) -> Container:
    return build(settings, classifier=KeywordClassifier(), clock=FakeClock())


def _settings(make_settings: MakeSettings, fake_slack: FakeSlack) -> Settings:
    overrides = slack_overrides(fake_slack, (SMAT1, "smat"), (SMAT2, "smat"))
    return make_settings(**deep_merge(overrides, {"surge": SURGE}))


def _surge(container: Container, count: int, prefix: str = "c") -> None:
    container.ingest().ingest(
        incoming(f"{prefix}{n}", f"Lovely lights, well done ({prefix}{n})") for n in range(count)
    )


def _drain(container: Container) -> None:
    for _ in range(20):
        if not container.outbox.pending_count():
            return
        if container.outbox.deliver_due().delivered == 0:
            clock = container.clock
            assert isinstance(clock, FakeClock)
            clock.advance(seconds=5)  # what is left waits on a short retry: let it come round
    with container.sessions() as session:
        stuck = [
            (m.idempotency_key, m.status, m.last_error)
            for m in session.scalars(select(OutboxMessage).where(OutboxMessage.status != "done"))
        ]
    raise AssertionError(f"the outbox did not drain: {stuck}")


def _batches(container: Container) -> dict[int, list[tuple[int, int]]]:
    """Each batch's comments as (review item id, version), in card order."""
    with container.sessions() as session:
        rows = session.execute(
            select(SlackBatchItem.batch_id, ReviewItem.id, ReviewItem.version)
            .join(ReviewItem, ReviewItem.id == SlackBatchItem.review_item_id)
            .order_by(SlackBatchItem.batch_id, SlackBatchItem.position)
        ).all()
    found: dict[int, list[tuple[int, int]]] = {}
    for batch_id, item_id, version in rows:
        found.setdefault(batch_id, []).append((item_id, version))
    return found


def _review(container: Container) -> BatchReview:
    return BatchReview(
        container.sessions, container.members, container.review, container.outbox, container.clock
    )


def _decisions(container: Container) -> list[Decision]:
    with container.sessions() as session:
        return list(session.scalars(select(Decision).order_by(Decision.id)))


def _shown_once(container: Container, fake_slack: FakeSlack) -> None:
    """Every comment is in Slack exactly once: on its own card or one batch card line."""
    triage = fake_slack.channel_id("#smat-triage")
    with container.sessions() as session:
        own = {ts: i for i, ts in session.execute(select(ReviewItem.id, ReviewItem.slack_ts)) if ts}
        items = set(session.scalars(select(ReviewItem.id)))
    shown: list[int] = []
    for message in fake_slack.messages(triage):
        lines = [
            int(b["block_id"].split(":")[1])
            for b in message["blocks"]
            if str(b.get("block_id", "")).startswith("batch_line:")
        ]
        shown += lines or [own[message["ts"]]]
    assert sorted(shown) == sorted(items)


def test_a_backlog_of_clean_comments_is_batched_and_each_shown_once(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    container = _container(_settings(make_settings, fake_slack))
    _surge(container, 12)
    container.ingest().ingest([incoming("abuse", "you stupid idiot")])
    _drain(container)

    batches = _batches(container)
    # 12 clean: batched five at a time while more than two waited (12 → 7 → 2), then two alone.
    assert [len(items) for items in batches.values()] == [5, 5]
    posts = fake_slack.calls("chat.postMessage")
    assert len(posts) == 1 + 2 + 2
    assert "suggested" in posts[0].params["text"]  # the flagged comment went first
    _shown_once(container, fake_slack)
    # The batch cards were drawn once each: the other comments' messages did not redraw them.
    assert fake_slack.calls("chat.update") == []


def test_approve_all_records_one_decision_per_comment_exactly_once(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    container = _container(_settings(make_settings, fake_slack))
    _surge(container, 7)  # five in one batch card, two on their own
    _drain(container)
    [(batch_id, shown)] = list(_batches(container).items())
    review = _review(container)

    with pytest.raises(Refused) as refused:
        review.approve_all(batch_id, shown, OUTSIDER)
    assert refused.value.code == "not_allowed"
    assert _decisions(container) == []

    # One comment is decided on its own before Approve all gets to it.
    first_item, first_version = shown[0]
    container.review.decide(DecisionRequest(first_item, first_version, Action.APPROVE, SMAT2))

    outcome = review.approve_all(batch_id, shown, SMAT1)
    assert outcome.approved == [item for item, _ in shown[1:]]
    assert len(outcome.skipped) == 1
    assert outcome.skipped[0][0] == 1
    assert f"Already handled by <@{SMAT2}>" in outcome.skipped[0][1]
    summary = outcome.summary()
    assert summary is not None
    assert summary.startswith("Approved 4 comments; skipped 1:")

    again = review.approve_all(batch_id, shown, SMAT1)
    assert again.approved == []
    assert len(again.skipped) == len(shown)

    decisions = _decisions(container)
    assert sorted(d.review_item_id for d in decisions) == sorted(item for item, _ in shown)
    assert {d.actor_slack_id for d in decisions[1:]} == {SMAT1}
    assert all(d.action == "approve" for d in decisions)
    # The batch card now says who approved what.
    with container.sessions() as session:
        ts = session.scalar(select(SlackBatch.slack_ts).where(SlackBatch.id == batch_id))
    assert ts is not None
    card = fake_slack.message(fake_slack.channel_id("#smat-triage"), ts)
    assert card is not None
    text = json.dumps(card["blocks"])
    assert text.count(f"Approved by <@{SMAT1}>") == 4
    assert text.count(f"Approved by <@{SMAT2}>") == 1
    assert "smat_batch_approve_all" not in text


def test_forged_items_in_approve_all_are_ignored(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    container = _container(_settings(make_settings, fake_slack))
    _surge(container, 7)  # five in one batch card, two on their own
    _drain(container)
    [(batch_id, shown)] = list(_batches(container).items())
    with container.sessions() as session:
        outside = session.scalars(
            select(ReviewItem.id).where(ReviewItem.id.not_in([i for i, _ in shown]))
        ).first()
    assert outside is not None
    outcome = _review(container).approve_all(batch_id, [(outside, 1), shown[0]], SMAT1)
    assert outcome.approved == [shown[0][0]]
    assert [d.review_item_id for d in _decisions(container)] == [shown[0][0]]


def test_review_separately_gives_a_comment_its_own_card_once(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    container = _container(_settings(make_settings, fake_slack))
    _surge(container, 7)  # five in one batch card, two on their own
    _drain(container)
    [(batch_id, shown)] = list(_batches(container).items())
    review = _review(container)
    item_id = shown[1][0]

    with pytest.raises(Refused):
        review.separate(batch_id, item_id, OUTSIDER)
    review.separate(batch_id, item_id, SMAT1)
    with pytest.raises(Refused) as again:
        review.separate(batch_id, item_id, SMAT2)
    assert again.value.code == "already_handled"

    with container.sessions() as session:
        own = session.get_one(ReviewItem, item_id)
    assert own.slack_ts is not None
    _shown_once_or_moved(container, fake_slack, item_id)

    outcome = review.approve_all(batch_id, shown, SMAT1)
    assert item_id not in outcome.approved
    assert (2, "moved to its own card") in outcome.skipped
    with container.sessions() as session:
        assert session.get_one(ReviewItem, item_id).status == "pending"


def _shown_once_or_moved(container: Container, fake_slack: FakeSlack, moved: int) -> None:
    triage = fake_slack.channel_id("#smat-triage")
    cards = fake_slack.messages(triage)
    text = json.dumps(cards)
    assert "Moved to its own card by <@U0SMAT1>" in text
    with container.sessions() as session:
        ts = session.get_one(ReviewItem, moved).slack_ts
    assert sum(1 for card in cards if card["ts"] == ts) == 1


def test_an_edit_that_flags_a_batched_comment_moves_it_to_its_own_card(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    container = _container(_settings(make_settings, fake_slack))
    _surge(container, 7)  # five in one batch card, two on their own
    _drain(container)
    [(batch_id, shown)] = list(_batches(container).items())
    posts = len(fake_slack.calls("chat.postMessage"))

    container.ingest().ingest([incoming("c2", "Actually you are all useless idiots")])
    _drain(container)

    with container.sessions() as session:
        edited = session.scalar(select(ReviewItem).where(ReviewItem.id == shown[2][0]))
        member = session.scalar(
            select(SlackBatchItem).where(SlackBatchItem.review_item_id == shown[2][0])
        )
    assert edited is not None
    assert member is not None
    assert edited.slack_ts is not None  # its own card now
    assert member.pulled_out_by == "system"
    new_posts = fake_slack.calls("chat.postMessage")[posts:]
    assert len(new_posts) == 1
    assert "suggested" in new_posts[0].params["text"]
    assert "edited, and now flagged" in json.dumps(fake_slack.messages("#smat-triage"))
    assert batch_id in _batches(container)


# ---------------------------------------------------------------------- concurrency (PostgreSQL)


def _race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment; return each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.postgres
def test_two_approve_alls_at_once_decide_each_comment_once(
    postgres_url: str, fake_slack: FakeSlack
) -> None:
    overrides = slack_overrides(fake_slack, (SMAT1, "smat"), (SMAT2, "smat"))
    settings = Settings(**deep_merge({"database_url": postgres_url, "surge": SURGE}, overrides))
    container = _container(settings)
    _surge(container, 7)  # five in one batch card, two on their own
    _drain(container)
    [(batch_id, shown)] = list(_batches(container).items())
    review = _review(container)

    one, two = _race(
        lambda: review.approve_all(batch_id, shown, SMAT1),
        lambda: review.approve_all(batch_id, shown, SMAT2),
    )
    assert len(one.approved) + len(two.approved) == len(shown)
    assert len(one.skipped) + len(two.skipped) == len(shown)
    decisions = _decisions(container)
    assert sorted(d.review_item_id for d in decisions) == sorted(item for item, _ in shown)


@pytest.mark.postgres
def test_approve_all_racing_a_single_decision_leaves_one_decision(
    postgres_url: str, fake_slack: FakeSlack
) -> None:
    overrides = slack_overrides(fake_slack, (SMAT1, "smat"), (SMAT2, "smat"))
    settings = Settings(**deep_merge({"database_url": postgres_url, "surge": SURGE}, overrides))
    container = _container(settings)
    _surge(container, 7)  # five in one batch card, two on their own
    _drain(container)
    [(batch_id, shown)] = list(_batches(container).items())
    last_item, last_version = shown[-1]

    outcome, single = _race(
        lambda: _review(container).approve_all(batch_id, shown, SMAT1),
        lambda: container.review.decide(
            DecisionRequest(last_item, last_version, Action.APPROVE, SMAT2)
        ),
    )
    with container.sessions() as session:
        per_item = dict(
            session.execute(
                select(Decision.review_item_id, func.count(Decision.id)).group_by(
                    Decision.review_item_id
                )
            ).all()
        )
    assert per_item == {item: 1 for item, _ in shown}
    single_won = not isinstance(single, Refused)
    assert (last_item in outcome.approved) is not single_won


@pytest.mark.postgres
def test_two_workers_delivering_a_surge_batch_each_comment_once(
    postgres_url: str, fake_slack: FakeSlack
) -> None:
    overrides = slack_overrides(fake_slack, (SMAT1, "smat"))
    settings = Settings(**deep_merge({"database_url": postgres_url, "surge": SURGE}, overrides))
    container = _container(settings)
    _surge(container, 40)
    _race(container.outbox.deliver_due, container.outbox.deliver_due)
    _drain(container)
    _shown_once(container, fake_slack)
    assert _batches(container), "the surge was batched"
    assert fake_slack.calls("chat.postMessage", ok=False) == []
