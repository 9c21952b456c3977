"""Rule detectors for what a toxicity model cannot see: personal data and links."""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers

from config.settings import DetectorSettings

Detections = dict[str, list[str]]
"""Detection kind (e.g. ``phone_number``) to what was found, in order of appearance."""

EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
LINK = re.compile(r"\b(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)


def find_emails(text: str) -> list[str]:
    """E-mail addresses in the text."""
    return EMAIL.findall(text)


MIN_PHONE_DIGITS = 10
"""UK numbers have 10 or 11 digits; shorter digit runs are dates, amounts and house numbers."""


def find_phone_numbers(text: str) -> list[str]:
    """UK (and international) phone numbers, normalised to E.164."""
    # POSSIBLE rather than VALID leniency: people post numbers from ranges the library does not
    # know to be allocated (and Ofcom's drama ranges), which are still personal data.
    matches = phonenumbers.PhoneNumberMatcher(text, "GB", leniency=phonenumbers.Leniency.POSSIBLE)
    return [
        phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        for match in matches
        if sum(ch.isdigit() for ch in match.raw_string) >= MIN_PHONE_DIGITS
    ]


def find_links(text: str) -> list[str]:
    """Web links in the text."""
    return [link.rstrip(".,;:!?)") for link in LINK.findall(text)]


DETECTORS: dict[str, Callable[[str], list[str]]] = {
    "email_address": find_emails,
    "phone_number": find_phone_numbers,
    "link": find_links,
}


class RuleDetectors:
    """Every rule detector, configured once from the settings; safe to share between threads."""

    def __init__(self, settings: DetectorSettings) -> None:
        self._settings = settings

    def detect(self, text: str) -> Detections:
        """Run every detector; only kinds that found something appear in the result."""
        found = {kind: detector(text) for kind, detector in DETECTORS.items()}
        return {kind: hits for kind, hits in found.items() if hits}


def detect(text: str) -> Detections:
    """Run the detectors with the default settings (for callers without a configuration)."""
    return RuleDetectors(DetectorSettings()).detect(text)
