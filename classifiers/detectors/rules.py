"""Every rule detector, configured once: what a toxicity model cannot see."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

from classifiers.detectors.addresses import (
    find_home_addresses,
    find_postcodes,
    mask_home_address,
    mask_postcode,
)
from classifiers.detectors.contact import (
    find_emails,
    find_phone_numbers,
    mask_email,
    mask_phone_number,
)
from classifiers.detectors.identifiers import (
    find_bank_details,
    find_ni_numbers,
    mask_bank_details,
    mask_ni_number,
)
from classifiers.detectors.language import (
    DEFAULT_CANDIDATES,
    find_other_language,
    find_other_languages,
    language_codes,
    language_detector,
)
from classifiers.detectors.links import find_links, find_shortened_links, find_spam_signals
from classifiers.detectors.watch_list import PhraseMatcher, ascii_words
from config.settings import DetectorSettings

Detections = dict[str, list[str]]
"""Detection kind (e.g. ``phone_number``) to what was found, in order of appearance."""

PERSONAL_DATA: dict[str, tuple[Callable[[str], list[str]], Callable[[str], str]]] = {
    "email_address": (find_emails, mask_email),
    "phone_number": (find_phone_numbers, mask_phone_number),
    "postcode": (find_postcodes, mask_postcode),
    "home_address": (find_home_addresses, mask_home_address),
    "ni_number": (find_ni_numbers, mask_ni_number),
    "bank_details": (find_bank_details, mask_bank_details),
}
"""Personal-data kinds: their finder and the mask applied to what it finds. Detections are
shown in Slack and stored with every classification, so personal data is only ever reported
masked ("07700 ••••23"); the full value stays in the preserved comment alone."""

NEED_A_DIGIT = frozenset(("phone_number", "postcode", "home_address", "ni_number", "bank_details"))
"""Personal-data kinds whose finders match only text with a digit in it (numbers, postcodes,
house numbers): most comments have none, and they skip these finders."""

LINK_KINDS = ("link", "link_shortener", "spam")
WATCH_LIST_KINDS = ("named_officer", "named_councillor", "safeguarding_term", "threat_phrase")
KINDS = (*PERSONAL_DATA, *LINK_KINDS, *WATCH_LIST_KINDS, "political", "other_language")
"""Every kind of detection, in the order a result lists them. The policy's
``detection_reasons`` and ``review_detections`` refer to these names."""


def _unique(items: list[str]) -> list[str]:
    """The items without repeats, in order of first appearance."""
    return list(dict.fromkeys(items))


class RuleDetectors:
    """Every rule detector, configured once from the settings; safe to share between threads.

    ``political_terms`` are the pre-election period's terms (``policy.pre_election``); whether
    the period is on is the policy's business, so they are looked for all the time.
    """

    def __init__(self, settings: DetectorSettings, political_terms: tuple[str, ...] = ()) -> None:
        """Compile the watch lists and check the language codes (no models are loaded yet).

        Raises:
            ConfigError: a language code that lingua does not know, naming the setting.
        """
        self._settings = settings
        watch = settings.watch_list
        self._watch_lists = {
            "named_officer": PhraseMatcher(watch.officers),
            "named_councillor": PhraseMatcher(watch.councillors),
            "safeguarding_term": PhraseMatcher(watch.safeguarding),
            "threat_phrase": PhraseMatcher(watch.threats),
            "political": PhraseMatcher(political_terms),
        }
        language = settings.language
        self._candidates = language_codes(
            language.candidates or DEFAULT_CANDIDATES, "detectors.language.candidates"
        )
        self._covered = language_codes(language.covered, "detectors.language.covered")

    def detect(self, text: str) -> Detections:
        """Run every detector; only kinds that found something appear in the result."""
        other_language = find_other_language(
            text, self._candidates, self._covered, self._settings.language.min_chars
        )
        return self._detect(text, other_language)

    def detect_all(self, texts: Sequence[str]) -> list[Detections]:
        """``detect`` for each text, with the language models weighing the batch in parallel."""
        languages = find_other_languages(
            texts, self._candidates, self._covered, self._settings.language.min_chars
        )
        return [
            self._detect(text, other_language)
            for text, other_language in zip(texts, languages, strict=True)
        ]

    def _detect(self, text: str, other_language: list[str]) -> Detections:
        spam_settings = self._settings.spam
        links = find_links(text, spam_settings.link_shorteners)
        has_digit = any(map(str.isdigit, text))
        found: Detections = {
            kind: [mask(hit) for hit in finder(text)]
            if has_digit or kind not in NEED_A_DIGIT
            else []
            for kind, (finder, mask) in PERSONAL_DATA.items()
        }
        found["link"] = links
        found["link_shortener"] = find_shortened_links(links, spam_settings.link_shorteners)
        found["spam"] = find_spam_signals(text, links, spam_settings.max_links)
        words = ascii_words(text) if text.isascii() else None
        for kind, matcher in self._watch_lists.items():
            found[kind] = matcher.find(text, words)
        found["other_language"] = other_language
        return {kind: _unique(hits) for kind, hits in found.items() if hits}

    def warm_up(self) -> None:
        """Load the language models now (a few seconds) rather than on the first comment."""
        detector = language_detector(self._candidates | self._covered)
        sample = "Diolch am y fideo, thanks for the video"
        detector.compute_language_confidence_values(sample)
        detector.detect_multiple_languages_of(sample)


@cache
def _default_detectors() -> RuleDetectors:
    return RuleDetectors(DetectorSettings())


def detect(text: str) -> Detections:
    """Run the detectors with the default settings (for callers without a configuration)."""
    return _default_detectors().detect(text)
