"""Identifiers shared by the Block Kit renderers and the Slack listeners.

Buttons carry ``{"item": <review item id>, "version": <card version>}`` as their value (removal
request buttons carry ``{"request": <id>}``); modals carry the same in ``private_metadata`` plus
the card's channel and ts. Listeners must treat all of it as untrusted input.
"""

from __future__ import annotations

# Card buttons
APPROVE = "smat_approve"
HIDE = "smat_hide"  # opens the hide modal
DELETE = "smat_delete"  # opens the delete modal
BLOCK = "smat_block"  # opens the block modal (Mute on X)
WARN = "smat_warn"  # opens the warn modal
UNDO = "smat_undo"  # reverses the latest hide or block
OPEN_PERMALINK = "smat_open_permalink"
REPLY = "smat_reply"  # opens the reply modal (any card may carry it: same button value)
APPROVE_REMOVAL = "smat_approve_removal"
DECLINE_REMOVAL = "smat_decline_removal"
ESCALATE = "smat_escalate"  # opens the escalation modal
EVIDENCE_PACK = "smat_evidence_pack"  # value {"item": <review item id>}

# The Clerk's buttons on an escalation card (value {"escalation": id, "version": v})
ESCALATION_ACK = "smat_escalation_ack"  # value {"escalation": id}
ESCALATION_UPHOLD = "smat_escalation_uphold"  # the outcome buttons open the outcome modal
ESCALATION_OVERRULE = "smat_escalation_overrule"
ESCALATION_POLICE = "smat_escalation_police"
ESCALATION_REPORT = "smat_escalation_report"

# Modals (callback ids)
HIDE_MODAL = "smat_hide_modal"
DELETE_MODAL = "smat_delete_modal"
BLOCK_MODAL = "smat_block_modal"
WARN_MODAL = "smat_warn_modal"
ESCALATE_MODAL = "smat_escalate_modal"
ESCALATION_OUTCOME_MODAL = "smat_escalation_outcome_modal"

# Modal inputs: block id -> action id
REASON_BLOCK, REASON_INPUT = "reason", "reason_code"  # static_select of policy reason codes
NOTE_BLOCK, NOTE_INPUT = "note", "note"  # plain_text_input, optional, at most 2000 characters
CHOICE_BLOCK, CHOICE_INPUT = "choice", "choice"  # block modal: radio "warn_first" | "block_now"
ESCALATION_REASON_BLOCK, ESCALATION_REASON_INPUT = "escalation_reason", "escalation_reason"
OFFENCES_BLOCK, OFFENCES_INPUT = "offences", "offences"  # multi_static_select, optional

# Replies and the standard responses library
REPLY_MODAL = "smat_reply_modal"
RESPONSE_MODAL = "smat_response_modal"  # the Clerk's editor of one standard response
REPLY_RESPONSE_BLOCK, REPLY_RESPONSE_INPUT = "reply_response", "smat_reply_response"
"""static_select of standard responses (``key:version``, or ``own`` for the person's own words);
it dispatches an action, so choosing one refreshes the text and the preview."""
REPLY_TEXT_BLOCK, REPLY_TEXT_INPUT = "reply_text", "reply_text"
"""The reply's words; the block id gets ``:<choice>`` appended so Slack refills it on a change."""
REPLY_ROUTE_BLOCK, REPLY_ROUTE_INPUT = "reply_route", "reply_route"  # static_select, optional
REPLY_ONLY_ROUTE_BLOCK, REPLY_ONLY_ROUTE_INPUT = "reply_only_route", "reply_only_route"
"""checkboxes: ``route_only`` — pass it on without a public reply."""
RESPONSE_KEY_BLOCK, RESPONSE_KEY_INPUT = "response_key", "response_key"
RESPONSE_TITLE_BLOCK, RESPONSE_TITLE_INPUT = "response_title", "response_title"
RESPONSE_BODY_BLOCK, RESPONSE_BODY_INPUT = "response_body", "response_body"
# Escalation card: the evidence pack, DM'd to the Clerk or Deputy who clicks it.
# Value: {"item": <review item id>}.
EVIDENCE_PACK = "smat_evidence_pack"
# Blocked-author register: the Clerk's review reminder (value {"block": id, "due": "YYYY-MM-DD"})
KEEP_BLOCKED = "smat_block_keep"
UNBLOCK_FROM_REVIEW = "smat_block_unblock"  # opens the unblock modal
UNBLOCK_MODAL = "smat_block_unblock_modal"
# Batch cards (surges): Approve all carries {"batch": <id>, "items": [[<item id>, <version>], ...]};
# Review separately carries {"batch": <id>, "item": <item id>}.
BATCH_APPROVE_ALL = "smat_batch_approve_all"
BATCH_SEPARATE = "smat_batch_separate"
