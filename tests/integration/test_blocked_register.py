"""The blocked-author register, kept by real block and unblock decisions; reviews by FakeClock."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.services.blocks import REMINDER_KIND, BlockRefused, reminder_key
from bot.services.review import Action
from storage.models import BlockedAuthor, BlockReview, Member, OutboxMessage
from tests.conftest import MakeSettings, slack_overrides
from tests.fakes.fake_slack import FakeSlack
from tests.integration.records_world import CLERK, DEPUTY, SMAT1, World, build_world


def reviews_due(fake_slack: FakeSlack, user: str) -> list[dict[str, Any]]:
    """Block-review reminders in a person's DM (escalations about the threats go there too)."""
    messages = fake_slack.messages(fake_slack.dm_channel_id(user))
    return [m for m in messages if "review is due" in str(m.get("text", ""))]


@pytest.fixture
def world(make_settings: MakeSettings, fake_slack: FakeSlack) -> World:
    return build_world(make_settings, slack=slack_overrides(fake_slack)["slack"])


def _row(world: World) -> BlockedAuthor:
    with world.container.sessions() as session:
        return session.scalars(select(BlockedAuthor)).one()


def _reminders(world: World) -> list[OutboxMessage]:
    with world.container.sessions() as session:
        return list(
            session.scalars(select(OutboxMessage).where(OutboxMessage.kind == REMINDER_KIND))
        )


def test_a_block_decision_fills_the_register_and_its_undo_empties_it(world: World) -> None:
    row = _row(world)
    assert row.comment_id == world.ids["blocked"]
    assert (row.reason_code, row.blocked_by) == ("bullying_or_harassment", SMAT1)
    assert row.review_due == world.clock() + timedelta(days=182)
    assert row.unblocked_at is None
    [entry] = world.container.blocks.entries()
    assert (entry.author_name, entry.account_name) == ("Gus Blocked", "Example Town Council")
    assert entry.platform_outcome == "done"

    world.clock.advance(days=3)
    unblock = world.decide("blocked", Action.UNBLOCK, user=SMAT1)
    row = _row(world)
    assert row.unblock_decision_id == unblock
    assert row.unblocked_at == world.clock()
    assert world.container.blocks.entries() == []
    assert len(world.container.blocks.entries(include_unblocked=True)) == 1


def test_the_clerk_is_reminded_once_per_due_date(world: World, fake_slack: FakeSlack) -> None:
    blocks = world.container.blocks
    world.clock.advance(days=181)
    assert blocks.queue_due_reminders() == 0
    world.clock.advance(days=1, minutes=1)
    assert blocks.queue_due_reminders() == 1
    assert blocks.queue_due_reminders() == 1  # the next day's check finds it again ...
    [reminder] = _reminders(world)  # ... but the Clerk is reminded once
    row = _row(world)
    assert reminder.idempotency_key == reminder_key(row.id, row.review_due.date())

    world.container.outbox.deliver_due()
    [message] = reviews_due(fake_slack, CLERK)
    assert "Gus Blocked" in json.dumps(message["blocks"])
    buttons = [e for b in message["blocks"] for e in b.get("elements", []) if "action_id" in e]
    assert [b["action_id"] for b in buttons] == ["smat_block_keep", "smat_block_unblock"]
    assert json.loads(buttons[0]["value"]) == {
        "block": row.id,
        "due": row.review_due.date().isoformat(),
    }


def test_keeping_a_block_logs_the_review_and_sets_the_next_date(world: World) -> None:
    blocks = world.container.blocks
    world.clock.advance(days=183)
    blocks.queue_due_reminders()
    due = _row(world).review_due
    with pytest.raises(BlockRefused) as refused:
        blocks.keep_blocked(_row(world).id, SMAT1, expected_due=due.date())
    assert refused.value.code == "not_allowed"
    entry = blocks.keep_blocked(
        _row(world).id, CLERK, expected_due=due.date(), note="Still abusive"
    )
    assert entry.review_due == world.clock() + timedelta(days=182)
    with world.container.sessions() as session:
        review = session.scalars(select(BlockReview)).one()
    assert (review.outcome, review.reviewed_by, review.previous_due, review.note) == (
        "kept",
        CLERK,
        due,
        "Still abusive",
    )
    with pytest.raises(BlockRefused) as twice:
        blocks.keep_blocked(entry.id, DEPUTY, expected_due=due.date())
    assert twice.value.code == "already_reviewed"
    # The queued reminder for the old date is dropped, not sent.
    world.container.outbox.deliver_due()
    assert blocks.entries(due_only=True) == []
    world.clock.advance(days=183)
    assert blocks.queue_due_reminders() == 1
    assert len(_reminders(world)) == 2  # one per due date


def test_with_no_clerk_the_deputy_is_reminded(world: World, fake_slack: FakeSlack) -> None:
    with world.container.sessions.begin() as session:
        session.execute(update(Member).where(Member.slack_user_id == CLERK).values(active=False))
    world.clock.advance(days=183)
    world.container.blocks.queue_due_reminders()
    world.container.outbox.deliver_due()
    assert reviews_due(fake_slack, CLERK) == []
    assert len(reviews_due(fake_slack, DEPUTY)) == 1


def test_a_reminder_for_a_block_lifted_since_is_not_sent(
    world: World, fake_slack: FakeSlack
) -> None:
    world.clock.advance(days=183)
    world.container.blocks.queue_due_reminders()
    world.decide("blocked", Action.UNBLOCK, user=CLERK)
    world.container.outbox.deliver_due()
    assert reviews_due(fake_slack, CLERK) == []


def test_unblocking_from_the_register_needs_a_deciding_member(world: World) -> None:
    row = _row(world)
    with pytest.raises(BlockRefused) as refused:
        world.container.blocks.unblock_target(row.id, "U0VIEWER")
    assert refused.value.code == "not_allowed"
    target = world.container.blocks.unblock_target(row.id, CLERK)
    assert target.review_item_id == world.item("blocked").id
    assert target.platform_can_unblock
