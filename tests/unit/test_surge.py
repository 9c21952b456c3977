"""Surges without Slack or a database: the batching policy, the pacer, batch card rendering and
the batch card click parser."""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from slack_sdk.models.blocks import Block

from bot import ui_ids
from bot.batch_cards import SYSTEM, BatchCard, BatchLine, render_batch_card, short_text
from bot.services.batching import pick_batch, should_batch
from bot.services.pacing import ChannelPacer, PostingTooSoon
from config.settings import SurgeSettings
from handlers.payloads import PayloadError, parse_batch_click
from tests.fakes.clock import FakeClock
from tests.unit.test_rendering import (
    HOSTILE_COMMENT,
    HOSTILE_PIECES,
    clean_card,
    decision,
    text_objects,
)

LONDON = ZoneInfo("Europe/London")


# --- the batching policy ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("waiting", "backlog", "expected"),
    [(0, 30, False), (30, 30, False), (31, 30, True), (2, 1, True), (1, 1, False)],
)
def test_clean_comments_are_batched_only_beyond_the_backlog(
    waiting: int, backlog: int, expected: bool
) -> None:
    assert should_batch(waiting, SurgeSettings(batch_backlog=backlog)) is expected


def test_a_batch_is_the_anchor_then_the_oldest_others() -> None:
    assert pick_batch(5, [9, 3, 5, 7, 4], 4) == [5, 3, 4, 7]
    assert pick_batch(5, [], 10) == [5]
    assert pick_batch(5, [6, 6, 7], 10) == [5, 6, 7]  # duplicates never count twice


@pytest.mark.parametrize(
    "bad",
    [
        {"posts_per_second": 0},
        {"burst": 0},
        {"batch_backlog": 0},
        {"batch_size": 1},
        {"batch_size": 21},
        {"batch_sise": 10},
    ],
)
def test_surge_settings_refuse_nonsense(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SurgeSettings(**bad)


# --- the pacer --------------------------------------------------------------------------------


class Sleeper:
    """Sleeps on a fake clock and remembers how long it was asked to."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.slept: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(microseconds=math.ceil(seconds * 1_000_000))


def test_one_message_a_second_per_channel_after_the_burst() -> None:
    clock = FakeClock()
    sleep = Sleeper(clock)
    pacer = ChannelPacer(1.0, 3, clock=clock, sleep=sleep)
    start = clock.now
    waits = [pacer.acquire("#triage") for _ in range(6)]
    assert waits == [0, 0, 0, 1, 1, 1]
    assert (clock.now - start).total_seconds() == 3
    assert pacer.acquire("#other") == 0  # each channel has its own pace


def test_the_bucket_refills_while_nothing_is_posted() -> None:
    clock = FakeClock()
    pacer = ChannelPacer(2.0, 2, clock=clock, sleep=Sleeper(clock))
    assert [pacer.acquire("c") for _ in range(3)] == [0, 0, 0.5]
    clock.advance(seconds=10)
    assert [pacer.acquire("c") for _ in range(2)] == [0, 0]  # never more than the burst


def test_a_long_wait_is_refused_without_taking_a_slot() -> None:
    clock = FakeClock()
    pacer = ChannelPacer(1.0, 1, clock=clock, sleep=Sleeper(clock), max_wait=2)
    pacer.hold("c", 30)  # Slack said Retry-After: 30
    with pytest.raises(PostingTooSoon) as refused:
        pacer.acquire("c")
    assert refused.value.wait_seconds == pytest.approx(30)
    clock.advance(seconds=30)
    assert pacer.acquire("c") == 0  # nothing was booked by the refusal


def test_concurrent_senders_queue_for_separate_slots() -> None:
    clock = FakeClock()
    lock = threading.Lock()
    booked: list[float] = []

    def sleep(seconds: float) -> None:
        with lock:
            booked.append(seconds)  # record the wait each sender was given; do not move time

    pacer = ChannelPacer(1.0, 1, clock=clock, sleep=sleep, max_wait=100)
    threads = [threading.Thread(target=pacer.acquire, args=("c",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(booked) == [1, 2, 3, 4, 5, 6, 7]  # one sender went at once, no two share


def test_the_pacer_refuses_a_meaningless_rate() -> None:
    with pytest.raises(ValueError, match="rate"):
        ChannelPacer(0, 1)


# --- batch card rendering ---------------------------------------------------------------------


def line(item: int, **changes: Any) -> BatchLine:
    card = clean_card(review_item_id=item, review_version=1, author_name=f"Resident {item}")
    return BatchLine(dataclasses.replace(card, **changes))


def batch(*lines: BatchLine) -> BatchCard:
    return BatchCard(
        batch_id=4,
        channel="#smat-triage",
        slack_channel=None,
        slack_ts=None,
        shown_digest=None,
        lines=tuple(lines),
    )


def approve_all(message: Any) -> dict[str, Any] | None:
    for block in message.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == ui_ids.BATCH_APPROVE_ALL:
                return dict(element)
    return None


def test_a_waiting_batch_lists_each_comment_with_its_own_button_and_approve_all() -> None:
    card = batch(*(line(n) for n in range(1, 11)))
    message = render_batch_card(card, tz=LONDON)

    sections = [b for b in message.blocks if str(b.get("block_id", "")).startswith("batch_line:")]
    assert [b["block_id"] for b in sections] == [f"batch_line:{n}" for n in range(1, 11)]
    assert all(b["text"]["type"] == "plain_text" for b in sections)
    assert sections[0]["text"]["text"].startswith("1. Resident 1 · Facebook · “")
    separate = sections[2]["accessory"]
    assert separate["action_id"] == ui_ids.BATCH_SEPARATE
    assert json.loads(separate["value"]) == {"batch": 4, "item": 3}
    button = approve_all(message)
    assert button is not None
    assert button["text"]["text"] == "Approve all (10)"
    assert json.loads(button["value"]) == {"batch": 4, "items": [[n, 1] for n in range(1, 11)]}
    assert "confirm" in button
    assert message.text == "10 comments to check together (10 waiting)"


def test_a_batch_shows_who_approved_what_and_what_moved_out() -> None:
    approved = decision(actor_slack_id="U0SMAT1", actor_name="Jo")
    card = batch(
        line(1, status="decided", decision=approved),
        BatchLine(
            line(2).card, pulled_out_by="U0SMAT2", pulled_out_at=datetime(2026, 7, 1, 9, tzinfo=UTC)
        ),
        BatchLine(
            line(3).card, pulled_out_by=SYSTEM, pulled_out_at=datetime(2026, 7, 1, tzinfo=UTC)
        ),
        line(4, review_version=3, comment_version=2),
        line(5, deleted=True),
    )
    message = render_batch_card(card, tz=LONDON)
    statuses = [b["elements"][0]["text"] for b in message.blocks if b["type"] == "context"]
    assert ":white_check_mark: Approved by <@U0SMAT1> at 11:04 on 1 Jul 2026" in statuses
    assert ":arrow_heading_down: Moved to its own card by <@U0SMAT2> at 10:00 on 1 Jul 2026" in (
        statuses
    )
    assert ":arrow_heading_down: Moved to its own card: edited, and now flagged" in statuses
    assert ":wastebasket: deleted by its author" in statuses
    assert "1 approved · 2 reviewed separately · 2 waiting" in statuses
    button = approve_all(message)
    assert button is not None
    # Only what is still waiting, at the version shown: the edited comment at its new version.
    assert json.loads(button["value"])["items"] == [[4, 3], [5, 1]]
    edited = next(b for b in message.blocks if b.get("block_id") == "batch_line:4")
    assert "(edited)" in edited["text"]["text"]


def test_a_fully_decided_batch_has_no_buttons() -> None:
    card = batch(*(line(n, status="decided", decision=decision()) for n in (1, 2)))
    message = render_batch_card(card, tz=LONDON)
    assert approve_all(message) is None
    assert not any("accessory" in b for b in message.blocks)
    assert message.text.startswith("2 comments checked together: 2 approved")


def test_nothing_a_resident_wrote_becomes_markup_on_a_batch_card() -> None:
    card = batch(line(1, text=HOSTILE_COMMENT, author_name="<!here> Mallory"))
    message = render_batch_card(card, tz=LONDON)
    mrkdwn = [o["text"] for o in text_objects(message.blocks) if o["type"] == "mrkdwn"]
    for piece in (*HOSTILE_PIECES, "<!here>"):
        assert all(piece not in text for text in mrkdwn)
    plain = [o["text"] for o in text_objects(message.blocks) if o["type"] == "plain_text"]
    assert any("<!channel>" in text and "<!here> Mallory" in text for text in plain)


def test_a_full_batch_card_validates_against_slack_sdk() -> None:
    long_text = "word " * 2000
    card = batch(*(line(n, text=long_text) for n in range(1, 21)))
    message = render_batch_card(card, tz=LONDON)
    assert len(message.blocks) <= 50
    for block in message.blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
    button = approve_all(message)
    assert button is not None
    assert len(button["value"]) <= 2000


def test_short_text_is_one_line_and_cut() -> None:
    assert short_text("a\n\n b\tc") == "a b c"
    cut = short_text("x" * 500)
    assert len(cut) == 140
    assert cut.endswith("…")


# --- the click parser -------------------------------------------------------------------------


def click(action_id: str, value: Any) -> dict[str, Any]:
    return {
        "user": {"id": "U0SMAT1"},
        "container": {"channel_id": "C0TRIAGE", "message_ts": "1.000100"},
        "actions": [{"action_id": action_id, "value": json.dumps(value)}],
    }


def test_approve_all_and_review_separately_clicks_are_parsed() -> None:
    parsed = parse_batch_click(
        click(ui_ids.BATCH_APPROVE_ALL, {"batch": 4, "items": [[1, 2], [3, 1]]})
    )
    assert (parsed.batch_id, parsed.items, parsed.review_item_id) == (4, ((1, 2), (3, 1)), None)
    parsed = parse_batch_click(click(ui_ids.BATCH_SEPARATE, {"batch": 4, "item": 3}))
    assert (parsed.batch_id, parsed.items, parsed.review_item_id) == (4, (), 3)
    assert parsed.user_id == "U0SMAT1"


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        (ui_ids.BATCH_APPROVE_ALL, {"batch": 4}),
        (ui_ids.BATCH_APPROVE_ALL, {"batch": 4, "items": "all"}),
        (ui_ids.BATCH_APPROVE_ALL, {"batch": 4, "items": [[1]]}),
        (ui_ids.BATCH_APPROVE_ALL, {"batch": 4, "items": [[1, True]]}),
        (ui_ids.BATCH_APPROVE_ALL, {"batch": 4, "items": [[1, 1]] * 51}),
        (ui_ids.BATCH_APPROVE_ALL, {"batch": -4, "items": []}),
        (ui_ids.BATCH_SEPARATE, {"batch": 4, "item": "3"}),
        (ui_ids.BATCH_SEPARATE, {"item": 3}),
        ("smat_something_else", {"batch": 4, "item": 3}),
    ],
)
def test_forged_batch_clicks_are_refused(action_id: str, value: Any) -> None:
    with pytest.raises(PayloadError):
        parse_batch_click(click(action_id, value))


def test_deeply_nested_values_do_not_crash_the_parser() -> None:
    body = click(ui_ids.BATCH_SEPARATE, {})
    body["actions"][0]["value"] = "[" * 100_000
    with pytest.raises(PayloadError):
        parse_batch_click(body)
