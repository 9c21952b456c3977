"""Enquiry detection: which common enquiries a comment looks like, and the replies that fit.

Pure and cheap: whole-word, case-insensitive matching of the configured keywords and phrases
(``replies.topics`` in the settings). It only suggests; a SMAT member always chooses the reply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from config.settings import EnquiryTopic, RouteKind


@dataclass(frozen=True)
class EnquiryMatch:
    """One topic a comment matched, with the words that matched it."""

    topic: str
    label: str
    matched: tuple[str, ...]
    responses: tuple[str, ...]
    route: RouteKind | None


@lru_cache(maxsize=512)
def _pattern(keyword: str) -> re.Pattern[str]:
    # Whole words; spaces, hyphens and runs of whitespace in a phrase match each other.
    words = [re.escape(word) for word in re.split(r"[\s\-]+", keyword.strip().lower()) if word]
    return re.compile(r"(?<!\w)" + r"[\s\-]+".join(words) + r"(?!\w)")


def detect_enquiries(text: str, topics: Mapping[str, EnquiryTopic]) -> list[EnquiryMatch]:
    """The topics whose keywords occur in ``text``: most matched words first, then config order."""
    lowered = text.lower()
    found: list[tuple[int, int, EnquiryMatch]] = []
    for order, (name, topic) in enumerate(topics.items()):
        matched = tuple(word for word in topic.keywords if _pattern(word).search(lowered))
        if matched:
            match = EnquiryMatch(name, topic.label, matched, topic.responses, topic.route)
            found.append((-len(matched), order, match))
    return [match for _, _, match in sorted(found, key=lambda item: item[:2])]


def suggested_responses(matches: Sequence[EnquiryMatch], available: Sequence[str]) -> list[str]:
    """Response keys the matches suggest, best first, without repeats, only ones that exist."""
    known = set(available)
    keys: list[str] = []
    for match in matches:
        for key in match.responses:
            if key in known and key not in keys:
                keys.append(key)
    return keys


def suggested_route(matches: Sequence[EnquiryMatch]) -> RouteKind | None:
    """The route of the best-matching topic that has one, if any."""
    return next((match.route for match in matches if match.route is not None), None)
