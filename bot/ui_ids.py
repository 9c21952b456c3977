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
APPROVE_REMOVAL = "smat_approve_removal"
DECLINE_REMOVAL = "smat_decline_removal"

# Modals (callback ids)
HIDE_MODAL = "smat_hide_modal"
DELETE_MODAL = "smat_delete_modal"
BLOCK_MODAL = "smat_block_modal"
WARN_MODAL = "smat_warn_modal"

# Modal inputs: block id -> action id
REASON_BLOCK, REASON_INPUT = "reason", "reason_code"  # static_select of policy reason codes
NOTE_BLOCK, NOTE_INPUT = "note", "note"  # plain_text_input, optional, at most 2000 characters
CHOICE_BLOCK, CHOICE_INPUT = "choice", "choice"  # block modal: radio "warn_first" | "block_now"

# Batch cards (surges): Approve all carries {"batch": <id>, "items": [[<item id>, <version>], ...]};
# Review separately carries {"batch": <id>, "item": <item id>}.
BATCH_APPROVE_ALL = "smat_batch_approve_all"
BATCH_SEPARATE = "smat_batch_separate"
