"""Block Kit modals for escalations: Escalate… for SMAT, and the Clerk's outcome form.

Both quote the comment as ``plain_text`` and say plainly what will happen. Escalate… carries the
card in ``private_metadata`` as the decision modals do (``bot.modals.modal_metadata`` reads it);
the Clerk's form carries the escalation, the card's version and the outcome
(``outcome_metadata`` reads it). Listeners treat both, and every submitted value, as untrusted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot import ui_ids
from bot.cards import EscalationView, TriageCard
from bot.escalation_card import status_line
from bot.escalation_words import REASONS, reason_label
from bot.rendering import escape_mrkdwn, mrkdwn, plain
from config.settings import EscalationSettings, ReasonCode
from platforms.types import Platform

Block = dict[str, Any]

OPTION_TEXT = 75
MAX_NOTE = 2000
QUOTE_LIMIT = 2000
MAX_METADATA = 3000
OUTCOME_METADATA_KEYS = frozenset({"escalation", "version", "outcome", "channel", "ts"})
OUTCOME_BUTTONS = {
    ui_ids.ESCALATION_UPHOLD: "upheld",
    ui_ids.ESCALATION_OVERRULE: "overruled",
    ui_ids.ESCALATION_POLICE: "hidden_referred_police",
    ui_ids.ESCALATION_REPORT: "reported_to_platform",
}
"""Which outcome each of the Clerk's buttons opens the form for."""
DASH = "\N{EN DASH}"
DAY_NAMES = {
    "mon": "Mon",
    "tue": "Tue",
    "wed": "Wed",
    "thu": "Thu",
    "fri": "Fri",
    "sat": "Sat",
    "sun": "Sun",
}


def describe_working_hours(settings: EscalationSettings) -> str:
    """``Mon-Fri 09:00-17:00`` with en dashes (or the configured days, listed)."""
    hours = settings.working_hours
    days = list(hours.days)
    order = list(DAY_NAMES)
    consecutive = [order.index(d) for d in days] == list(
        range(order.index(days[0]), order.index(days[0]) + len(days))
    )
    if consecutive and len(days) > 2:
        names = f"{DAY_NAMES[days[0]]}{DASH}{DAY_NAMES[days[-1]]}"
    else:
        names = ", ".join(DAY_NAMES[d] for d in days)
    return f"{names} {hours.start:%H:%M}{DASH}{hours.end:%H:%M}"


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, OPTION_TEXT), "value": value}


def _quote(card: TriageCard) -> list[Block]:
    where = f"{card.author_name} on {card.platform.display_name} · {card.account_name} wrote:"
    return [
        {"type": "context", "elements": [plain(where, 2000)]},
        {"type": "section", "text": plain(card.text, QUOTE_LIMIT)},
    ]


def _note_block(label: str, hint: str) -> Block:
    return {
        "type": "input",
        "block_id": ui_ids.NOTE_BLOCK,
        "optional": True,
        "label": plain(label, 2000),
        "hint": plain(hint, 2000),
        "element": {
            "type": "plain_text_input",
            "action_id": ui_ids.NOTE_INPUT,
            "multiline": True,
            "max_length": MAX_NOTE,
        },
    }


def suggested_reason(card: TriageCard, settings: EscalationSettings) -> str | None:
    """The escalation reason the policy's suggestion points to, if any."""
    return settings.reason_for_code.get(card.reason_code or "")


def escalate_modal(
    card: TriageCard,
    *,
    settings: EscalationSettings,
    reason_codes: Mapping[str, ReasonCode],
    channel: str,
    ts: str,
) -> dict[str, Any]:
    """The modal behind Escalate…: why, which offences (if any), and a note for the Clerk."""
    reasons = [_option(label, code) for code, label in REASONS.items()]
    reason_element: dict[str, Any] = {
        "type": "radio_buttons",
        "action_id": ui_ids.ESCALATION_REASON_INPUT,
        "options": reasons,
    }
    wanted = suggested_reason(card, settings)
    initial = next((option for option in reasons if option["value"] == wanted), None)
    if initial is not None:
        reason_element["initial_option"] = initial
    offence_options = [
        _option(offence.name, key) for key, offence in list(settings.offences.items())[:100]
    ]
    suggested_code = reason_codes.get(card.reason_code or "")
    suggested_laws = set(suggested_code.legislation) if suggested_code else set()
    offence_element: dict[str, Any] = {
        "type": "multi_static_select",
        "action_id": ui_ids.OFFENCES_INPUT,
        "placeholder": plain("None, or pick from Appendix C", 150),
        "options": offence_options,
    }
    preselected = [
        option
        for option, offence in zip(offence_options, settings.offences.values(), strict=False)
        if offence.name in suggested_laws
    ]
    if preselected:
        offence_element["initial_options"] = preselected
    immediate = ", ".join(reason_label(r).lower() for r in settings.immediate_reasons)
    blocks: list[Block] = [
        *_quote(card),
        {
            "type": "section",
            "text": mrkdwn(
                ":rotating_light: The Town Clerk gets this by DM and in the escalation channel, "
                "with the Clerk's buttons, and is reminded until someone acknowledges it; the "
                "Deputy Clerk is pinged if the Clerk does not answer in time."
            ),
        },
        {
            "type": "context",
            "elements": [
                mrkdwn(
                    f"*{escape_mrkdwn(immediate.capitalize() or 'Nothing')} go at once, even at "
                    f"night.* Anything else reaches the Clerk's DM in working hours "
                    f"({escape_mrkdwn(describe_working_hours(settings))})."
                )
            ],
        },
        {
            "type": "input",
            "block_id": ui_ids.ESCALATION_REASON_BLOCK,
            "label": plain("Why does this go to the Clerk?", 2000),
            "element": reason_element,
        },
        {
            "type": "input",
            "block_id": ui_ids.OFFENCES_BLOCK,
            "optional": True,
            "label": plain("Possible offence(s)", 2000),
            "hint": plain(
                "The legislation in the council's policy (Biggleswade Appendix C). Leave empty "
                "if none applies or you are unsure.",
                2000,
            ),
            "element": offence_element,
        },
        _note_block("Note for the Clerk (optional)", "What the Clerk should know; kept on record."),
    ]
    metadata = json.dumps(
        {"item": card.review_item_id, "version": card.review_version, "channel": channel, "ts": ts},
        separators=(",", ":"),
    )
    return {
        "type": "modal",
        "callback_id": ui_ids.ESCALATE_MODAL,
        "title": plain("Escalate to the Clerk", 24),
        "submit": plain("Escalate", 24),
        "close": plain("Cancel", 24),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def _reason_block(reason_codes: Mapping[str, ReasonCode], initial: str | None) -> Block:
    options = []
    for code, reason in list(reason_codes.items())[:100]:
        label = f"{reason.label} — {reason.clause}"
        if len(label) > OPTION_TEXT:
            label = label[: OPTION_TEXT - 1] + "…"
        options.append(_option(label, code))
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": ui_ids.REASON_INPUT,
        "placeholder": plain("Choose the policy reason", 150),
        "options": options,
    }
    chosen = next((option for option in options if option["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return {
        "type": "input",
        "block_id": ui_ids.REASON_BLOCK,
        "label": plain("Policy reason for hiding", 2000),
        "hint": plain("Only the policy's reasons; never opinion or criticism.", 2000),
        "element": element,
    }


def _outcome_words(
    outcome: str, card: TriageCard, escalation: EscalationView
) -> tuple[str, str, str]:
    """Title, submit label and what will happen, for one outcome."""
    name = escape_mrkdwn(card.platform.display_name)
    hidden = escalation.hide_stands
    preserve = " The original is preserved first."
    if outcome == "upheld":
        what = (
            "The comment is already hidden: it stays hidden, and the escalation is closed as "
            "upheld."
            if hidden
            else f"Upholding *hides the comment on {name} now*, as the Clerk: no second "
            "approval is needed." + preserve
        )
        return "Uphold", "Uphold", what
    if outcome == "overruled":
        what = (
            f"Overruling keeps the comment: *it will be unhidden on {name}*."
            if hidden
            else "Overruling keeps the comment up: it is recorded as approved."
        )
        return "Overrule", "Overrule", what + " The escalation is closed."
    if outcome == "hidden_referred_police":
        what = "" if hidden else f"The comment is *hidden on {name} now*, as the Clerk." + preserve
        what += (
            " The preserved original is put on *legal hold*, so it is kept until the hold is "
            "lifted. SMAT Bot does not contact the police: report it yourself (999 in an "
            "emergency, otherwise 101 or online) and note the police reference below."
        )
        return "Refer to the police", "Hide and refer", what.strip()
    what = (
        f"SMAT Bot cannot report a comment through {name}'s API. Report it on {name} yourself "
        f"(*View on {name}*, then the comment's menu → Report), then record it here. Nothing "
        "changes on the comment."
    )
    if card.platform is Platform.X:
        what += " On X, report the post from its ⋯ menu."
    return "Report to platform", "Record report", what


def outcome_modal(
    card: TriageCard,
    escalation: EscalationView,
    outcome: str,
    *,
    reason_codes: Mapping[str, ReasonCode],
    tz: Any,
    channel: str,
    ts: str,
) -> dict[str, Any]:
    """The Clerk's form for one outcome: what will happen, a policy reason to hide, a note."""
    title, submit, what = _outcome_words(outcome, card, escalation)
    blocks: list[Block] = [
        {
            "type": "context",
            "elements": [
                mrkdwn(
                    f":rotating_light: *{escape_mrkdwn(reason_label(escalation.reason))}* · "
                    f"{status_line(escalation, tz)}"
                )
            ],
        },
        *_quote(card),
        {"type": "section", "text": mrkdwn(what)},
    ]
    if outcome in ("upheld", "hidden_referred_police"):
        initial = card.reason_code
        if card.decision is not None and card.decision.reason_code:
            initial = card.decision.reason_code
        blocks.append(_reason_block(reason_codes, initial))
    hint = "Kept with the escalation and shown on the card."
    label = "Note (optional)"
    if outcome == "hidden_referred_police":
        label = "Police reference and note (optional)"
    elif outcome == "reported_to_platform":
        label = "What you reported (optional)"
    blocks.append(_note_block(label, hint))
    metadata = json.dumps(
        {
            "escalation": escalation.id,
            "version": card.review_version,
            "outcome": outcome,
            "channel": channel,
            "ts": ts,
        },
        separators=(",", ":"),
    )
    return {
        "type": "modal",
        "callback_id": ui_ids.ESCALATION_OUTCOME_MODAL,
        "title": plain(title, 24),
        "submit": plain(submit, 24),
        "close": plain("Cancel", 24),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def outcome_metadata(view: Mapping[str, Any]) -> dict[str, Any]:
    """Parse the Clerk's form's ``private_metadata``; ValueError on anything malformed."""
    raw = view.get("private_metadata") if isinstance(view, Mapping) else None
    if not isinstance(raw, str) or not raw or len(raw) > MAX_METADATA:
        raise ValueError("the view has no usable private_metadata")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError("private_metadata is not JSON") from error
    if not isinstance(data, dict) or set(data) != OUTCOME_METADATA_KEYS:
        raise ValueError("private_metadata has the wrong fields")
    escalation, version = data["escalation"], data["version"]
    if type(escalation) is not int or escalation < 1:
        raise ValueError("private_metadata escalation is not an escalation id")
    if type(version) is not int or version < 1:
        raise ValueError("private_metadata version is not a version number")
    if data["outcome"] not in OUTCOME_BUTTONS.values():
        raise ValueError("private_metadata outcome is not one of the Clerk's outcomes")
    for key in ("channel", "ts"):
        value = data[key]
        if (
            not isinstance(value, str)
            or not value
            or len(value) > 255
            or not value.isprintable()
            or any(ch.isspace() for ch in value)
        ):
            raise ValueError(f"private_metadata {key} is not a Slack {key}")
    return data
