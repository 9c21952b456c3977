"""The Clerk's card, the reminder and Deputy messages, the escalation forms and their payloads."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import ui_ids
from bot.cards import EscalationView
from bot.escalation_card import deputy_message, reminder_message, render_clerk_card
from bot.escalation_modals import (
    describe_working_hours,
    escalate_modal,
    outcome_metadata,
    outcome_modal,
)
from bot.rendering import render_card
from config.settings import EscalationSettings, Settings
from handlers.escalation_payloads import (
    parse_escalate_submission,
    parse_escalation_click,
    parse_outcome_submission,
)
from handlers.payloads import PayloadError
from tests.unit.test_rendering import make_card

LONDON = ZoneInfo("Europe/London")
DASH = "\N{EN DASH}"
SETTINGS = Settings(database_url="sqlite://")
HOSTILE = "<!channel> *bold* <https://evil.example|click> &amp;"


def escalation(**changes: Any) -> EscalationView:
    view = EscalationView(
        id=5,
        review_item_id=7,
        reason="abuse_of_staff",
        offences=("Protection from Harassment Act 1997, s2",),
        note=HOSTILE,
        escalated_by="U0SMAT1",
        escalated_at=datetime(2026, 11, 16, 10, 0, tzinfo=UTC),
        immediate=False,
        status="open",
    )
    return dataclasses.replace(view, **changes)


def clerk_card(**changes: Any) -> Any:
    about = {o.name: o.about for o in SETTINGS.escalation.offences.values()}
    codes = SETTINGS.policy.reason_codes
    return render_clerk_card(
        make_card(text=HOSTILE, author_name=HOSTILE, review_version=3),
        escalation(**changes),
        offence_about=about,
        reason_labels={code: r.label for code, r in codes.items()},
        reason_clauses={code: r.clause for code, r in codes.items()},
        tz=LONDON,
    )


def mrkdwn_texts(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            found.append(node["text"])
        for value in node.values():
            found += mrkdwn_texts(value)
    elif isinstance(node, list):
        for value in node:
            found += mrkdwn_texts(value)
    return found


def button_ids(message: Any) -> list[str]:
    return [
        e["action_id"]
        for b in message.blocks
        for e in b.get("elements", [])
        if e.get("type") == "button"
    ]


def test_the_clerks_card_keeps_hostile_text_out_of_markup() -> None:
    message = clerk_card()
    for text in mrkdwn_texts(message.blocks):
        assert "<!channel>" not in text
        assert "<https://evil" not in text
    body = [b for b in message.blocks if b.get("text", {}).get("text") == HOSTILE]
    assert [b["text"]["type"] for b in body] == ["plain_text"]
    headline = message.blocks[0]["text"]["text"]
    assert headline == ":rotating_light: *Escalation to the Town Clerk* — Abuse of staff"
    offences = json.dumps(message.blocks, ensure_ascii=False)
    assert "Protection from Harassment Act 1997, s2 — Harassment" in offences


def test_the_clerks_buttons_follow_the_escalation() -> None:
    assert button_ids(clerk_card()) == [
        ui_ids.ESCALATION_ACK,
        ui_ids.ESCALATION_UPHOLD,
        ui_ids.ESCALATION_OVERRULE,
        ui_ids.ESCALATION_POLICE,
        ui_ids.ESCALATION_REPORT,
        ui_ids.REPLY,
        ui_ids.EVIDENCE_PACK,
        ui_ids.OPEN_PERMALINK,
    ]
    acknowledged = clerk_card(status="acknowledged", acknowledged_by="U0CLERK")
    assert ui_ids.ESCALATION_ACK not in button_ids(acknowledged)
    assert ui_ids.ESCALATION_UPHOLD in button_ids(acknowledged)
    closed = clerk_card(
        status="closed",
        outcome="hidden_referred_police",
        outcome_by="U0CLERK",
        outcome_at=datetime(2026, 11, 16, 11, 0, tzinfo=UTC),
    )
    assert button_ids(closed) == [ui_ids.REPLY, ui_ids.EVIDENCE_PACK, ui_ids.OPEN_PERMALINK]
    assert closed.blocks[0]["text"]["text"].startswith(
        ":oncoming_police_car: *Hidden and referred to the police* by <@U0CLERK> at 11:00"
    )
    values = {
        e["action_id"]: e.get("value")
        for b in clerk_card().blocks
        for e in b.get("elements", [])
        if e.get("type") == "button"
    }
    assert json.loads(values[ui_ids.ESCALATION_UPHOLD]) == {"escalation": 5, "version": 3}
    assert json.loads(values[ui_ids.ESCALATION_ACK]) == {"escalation": 5}
    assert json.loads(values[ui_ids.REPLY]) == {"item": 7, "version": 3}
    assert json.loads(values[ui_ids.EVIDENCE_PACK]) == {"item": 7}


def test_status_line_says_reminders_and_the_deputy() -> None:
    message = clerk_card(
        reminders_sent=2, deputy_notified_at=datetime(2026, 11, 16, 14, 0, tzinfo=UTC)
    )
    status = message.blocks[1]["elements"][0]["text"]
    assert "Escalated by <@U0SMAT1> at 10:00 on 16 Nov 2026" in status
    assert "(2 reminders sent)" in status
    assert "Deputy Clerk pinged at 14:00" in status
    system = clerk_card(escalated_by="system", immediate=True)
    assert "SMAT Bot (automatically)" in system.blocks[1]["elements"][0]["text"]
    assert "*Immediate*" in system.blocks[0]["text"]["text"]


def test_the_triage_card_shows_the_escalation_above_its_buttons() -> None:
    card = make_card(escalation=escalation(reminders_sent=1))
    message = render_card(card, reason_labels={}, tz=LONDON)
    assert message.blocks[-1]["type"] == "actions"
    line = message.blocks[-2]["elements"][0]["text"]
    assert line.startswith(":rotating_light: *With the Town Clerk* — Abuse of staff")
    assert "(1 reminder sent)" in line
    assert ui_ids.ESCALATE not in json.dumps(message.blocks), "no second escalation while open"
    closed = make_card(
        escalation=escalation(
            status="closed",
            outcome="overruled",
            outcome_by="U0CLERK",
            outcome_at=datetime(2026, 11, 16, 11, 0, tzinfo=UTC),
        )
    )
    message = render_card(closed, reason_labels={}, tz=LONDON)
    assert "*Overruled* by the Clerk (<@U0CLERK>)" in json.dumps(message.blocks)
    assert ui_ids.ESCALATE in json.dumps(message.blocks)


def test_reminder_and_deputy_messages_carry_acknowledge() -> None:
    reminder = reminder_message(
        escalation(), 2, "4 hours", channel="C0ESCALATE", channel_name="#smat-escalations"
    )
    assert reminder.text.startswith(":bell: Reminder 2: an escalation (Abuse of staff)")
    assert "<#C0ESCALATE>" in reminder.text
    assert button_ids(reminder) == [ui_ids.ESCALATION_ACK]
    deputy = deputy_message(escalation(), LONDON, channel=None, channel_name="#smat-escalations")
    assert "As Deputy Clerk" in deputy.text
    assert "#smat-escalations" in deputy.text
    assert button_ids(deputy) == [ui_ids.ESCALATION_ACK]


def test_the_escalate_form_preselects_from_the_policy() -> None:
    card = make_card(reason_code="violent_or_threatening", suggested_action="escalate")
    view = escalate_modal(
        card,
        settings=SETTINGS.escalation,
        reason_codes=SETTINGS.policy.reason_codes,
        channel="C1",
        ts="1.2",
    )
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    reason = blocks[ui_ids.ESCALATION_REASON_BLOCK]["element"]
    assert reason["initial_option"]["value"] == "threat"
    assert len(reason["options"]) == 7
    offences = blocks[ui_ids.OFFENCES_BLOCK]["element"]
    assert len(offences["options"]) == 15
    assert {o["value"] for o in offences["initial_options"]} == {
        "malicious_communications_s1",
        "offences_against_person_s16",
        "harassment_s4",
    }
    assert all(len(o["text"]["text"]) <= 75 for o in offences["options"])
    assert json.loads(view["private_metadata"]) == {
        "item": 7,
        "version": 2,
        "channel": "C1",
        "ts": "1.2",
    }
    assert f"Mon{DASH}Fri 09:00{DASH}17:00" in json.dumps(view, ensure_ascii=False)


def test_working_hours_are_described_plainly() -> None:
    assert describe_working_hours(EscalationSettings()) == f"Mon{DASH}Fri 09:00{DASH}17:00"
    odd = EscalationSettings(working_hours={"days": ["mon", "wed"], "start": "08:30"})
    assert describe_working_hours(odd) == f"Mon, Wed 08:30{DASH}17:00"


@pytest.mark.parametrize(
    ("outcome", "asks_reason", "says"),
    [
        ("upheld", True, "hides the comment on Facebook now"),
        ("overruled", False, "it is recorded as approved"),
        ("hidden_referred_police", True, "legal hold"),
        ("reported_to_platform", False, "cannot report a comment through Facebook's API"),
    ],
)
def test_the_clerks_form_for_each_outcome(outcome: str, asks_reason: bool, says: str) -> None:
    view = outcome_modal(
        make_card(review_version=3),
        escalation(),
        outcome,
        reason_codes=SETTINGS.policy.reason_codes,
        tz=LONDON,
        channel="D1",
        ts="1.2",
    )
    assert view["callback_id"] == ui_ids.ESCALATION_OUTCOME_MODAL
    assert any(b.get("block_id") == ui_ids.REASON_BLOCK for b in view["blocks"]) == asks_reason
    assert says in json.dumps(view)
    assert outcome_metadata(view)["outcome"] == outcome
    assert len(view["title"]["text"]) <= 24


def _click(value: Any, action_id: str = ui_ids.ESCALATION_UPHOLD) -> dict[str, Any]:
    return {
        "user": {"id": "U0CLERK"},
        "trigger_id": "1.2.abc",
        "container": {"channel_id": "D1", "message_ts": "1.2"},
        "actions": [{"action_id": action_id, "value": json.dumps(value)}],
    }


def test_clerk_clicks_are_parsed_and_forgeries_refused() -> None:
    click = parse_escalation_click(_click({"escalation": 5, "version": 3}))
    assert (click.escalation_id, click.review_version, click.trigger_id) == (5, 3, "1.2.abc")
    ack = parse_escalation_click(_click({"escalation": 5}, ui_ids.ESCALATION_ACK))
    assert ack.review_version is None
    for forged in ({"escalation": "5"}, {"escalation": 0}, {"escalation": True}, [5], {}):
        with pytest.raises(PayloadError):
            parse_escalation_click(_click(forged))


def _submission(callback: str, metadata: Any, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "user": {"id": "U0SMAT1"},
        "view": {
            "callback_id": callback,
            "private_metadata": json.dumps(metadata),
            "state": {"values": values},
        },
    }


def test_escalate_submissions_are_checked() -> None:
    meta = {"item": 7, "version": 2, "channel": "C1", "ts": "1.2"}
    values = {
        ui_ids.ESCALATION_REASON_BLOCK: {
            ui_ids.ESCALATION_REASON_INPUT: {"selected_option": {"value": "press"}}
        },
        ui_ids.OFFENCES_BLOCK: {
            ui_ids.OFFENCES_INPUT: {"selected_options": [{"value": "defamation"}] * 2}
        },
    }
    parsed = parse_escalate_submission(_submission(ui_ids.ESCALATE_MODAL, meta, values))
    assert (parsed.reason, parsed.offences, parsed.note) == ("press", ("defamation",), None)
    assert parsed.field_errors() == {}
    values[ui_ids.ESCALATION_REASON_BLOCK] = {
        ui_ids.ESCALATION_REASON_INPUT: {"selected_option": {"value": "revenge"}}
    }
    bad = parse_escalate_submission(_submission(ui_ids.ESCALATE_MODAL, meta, values))
    assert ui_ids.ESCALATION_REASON_BLOCK in bad.field_errors()
    with pytest.raises(PayloadError):
        parse_escalate_submission(_submission(ui_ids.HIDE_MODAL, meta, values))
    with pytest.raises(PayloadError):
        parse_escalate_submission(_submission(ui_ids.ESCALATE_MODAL, {**meta, "item": "7"}, values))


def test_outcome_submissions_are_checked() -> None:
    meta = {"escalation": 5, "version": 3, "outcome": "upheld", "channel": "D1", "ts": "1.2"}
    parsed = parse_outcome_submission(_submission(ui_ids.ESCALATION_OUTCOME_MODAL, meta, {}))
    assert parsed.asks_reason
    assert parsed.field_errors() == {ui_ids.REASON_BLOCK: "Pick a reason"}
    for forged in (
        {**meta, "outcome": "deleted"},
        {**meta, "escalation": -1},
        {**meta, "extra": 1},
        {**meta, "channel": "D 1"},
    ):
        with pytest.raises(PayloadError):
            parse_outcome_submission(_submission(ui_ids.ESCALATION_OUTCOME_MODAL, forged, {}))
