"""What each platform really lets SMAT do, known without building a connector."""

from __future__ import annotations

from platforms import facebook, instagram, x, youtube
from platforms.base import Action
from platforms.types import Platform

ACTIONS_BY_PLATFORM: dict[Platform, frozenset[Action]] = {
    Platform.FACEBOOK: facebook.ACTIONS,
    Platform.INSTAGRAM: instagram.ACTIONS,
    Platform.YOUTUBE: youtube.ACTIONS,
    Platform.X: x.ACTIONS,
}

BLOCK_EQUIVALENT = {Action.BLOCK: Action.MUTE, Action.UNBLOCK: Action.UNMUTE}
"""Where a platform cannot block (X, except on Enterprise plans), SMAT's Block mutes instead."""

REPLIES_REFUSED_WHEN_HIDDEN = frozenset({Platform.INSTAGRAM})
"""Platforms that refuse a reply to a hidden comment: the reply must be posted before hiding."""


def platform_action(platform: Platform, wanted: Action) -> Action | None:
    """The platform's own action for what SMAT wants, or None if it has nothing like it."""
    offered = ACTIONS_BY_PLATFORM[platform]
    if wanted in offered:
        return wanted
    fallback = BLOCK_EQUIVALENT.get(wanted)
    return fallback if fallback in offered else None
