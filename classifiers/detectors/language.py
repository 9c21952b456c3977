"""The language a comment is written in, when it is not one the classifier covers.

Lingua's models ship inside its wheel, so detection needs no network. Two checks must agree
before a comment is called another language: lingua's confidence for the whole text, and its
word-by-word split (so an English comment full of Welsh place names stays English). Measured
in high-accuracy mode on the 6,000 comments of ``shared/eval-public`` (English, apart from a
few Dutch tweets) and 25 short council comments in the 18 default candidate languages: 9 English
comments flagged (0.15%; 51 on confidence alone, without a floor), the Dutch ones flagged, every
foreign comment caught, about 1 ms a comment. The models take about 3 s to load on first use
(``RuleDetectors.warm_up`` loads them at start-up) and some 300 MB of memory.
Low-accuracy mode is about 3.5 times faster (0.3 ms) but flags 2.9% of the English comments,
even 1.4% with a 0.8 confidence floor, because it ignores the short n-grams that matter in
short comments; a false "other language" costs a moderator's time, a millisecond does not.

When English is covered, text that is plainly English (:mod:`.english`: enough different words,
30% of them distinctly English, none of a candidate language's) is told without lingua, in
about 0.03 ms. That takes 40% of the ``eval-public`` comments (lingua finds no other language in
any of them) and most ordinary council comments (84% of ``bench/ingest.py``'s); with it the
``eval-public`` comments cost 0.41 ms each on average instead of 0.60 ms.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence

from lingua import ConfidenceValue, IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

from classifiers.detectors.english import plainly_english
from config.settings import ConfigError

# fmt: off
DEFAULT_CANDIDATES = (
    "en", "cy", "pl", "ro", "pa", "ur", "bn", "gu", "ar", "fr", "es", "pt", "it", "de", "lt", "so",
    "tr", "zh",
)
"""Used when no candidates are configured (the list config/defaults.yaml ships): English, Welsh
and languages widely spoken in England and Wales."""
# fmt: on

MIN_CONFIDENCE = 0.4
"""How sure lingua must be (0-1) before a comment is called another language: below this, short
English comments with names or slang are sometimes taken for Welsh, German or Italian."""

MIN_OTHER_WORDS = 0.3
"""The share of words lingua assigns to uncovered languages, word by word, for the comment to
count as another language: English with a few Welsh names has none; a bilingual comment, half."""

ENGLISH = IsoCode639_1.EN

MAX_CHARS = 2_000
"""Only the start of a long comment is looked at: it tells the language as well as the whole."""

_NOT_LANGUAGE = re.compile(r"(?<!\S)\S*(?:https?://|www\.|@)\S*|&#?\w+;|[#@]\w+")
"""Links, e-mail addresses, @mentions, hashtags and HTML entities: not words of any language.
A link is a whole token (starting after a space, so each token is scanned once)."""


def language_codes(codes: Iterable[str], setting: str) -> frozenset[IsoCode639_1]:
    """Lingua's codes for ISO 639-1 codes, or ConfigError naming the setting and the bad code."""
    found = set()
    for code in codes:
        try:
            found.add(IsoCode639_1.from_str(code.strip()))
        except ValueError:
            raise ConfigError(
                f"Invalid setting {setting}: {code!r} is not an ISO 639-1 code of a language "
                "the language detector knows"
            ) from None
    return frozenset(found)


_detectors: dict[frozenset[IsoCode639_1], LanguageDetector] = {}
_detectors_lock = threading.Lock()


def language_detector(codes: frozenset[IsoCode639_1]) -> LanguageDetector:
    """The shared lingua detector for these languages, built on first use (thread-safe).

    Lingua shares its loaded models between detectors and a detector may be used from many
    threads at once; the lock only keeps two threads from building the same one.
    """
    detector = _detectors.get(codes)
    if detector is None:
        with _detectors_lock:
            detector = _detectors.get(codes)
            if detector is None:
                detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()
                _detectors[codes] = detector
    return detector


def letter_count(text: str) -> int:
    """How many letters (in any script) the text has.

    A Chinese, Japanese or Korean character counts as two: one or two of them make a word.
    """
    if text.isascii():  # most comments: no wide characters, and a count done in C
        return sum(map(str.isalpha, text))
    return sum(
        (2 if unicodedata.east_asian_width(ch) in "WF" else 1) for ch in text if ch.isalpha()
    )


def strip_non_words(text: str) -> str:
    """The start of the text with links, mentions, hashtags and entities blanked: what is read."""
    return _NOT_LANGUAGE.sub(" ", text[:MAX_CHARS])


def find_other_language(
    text: str,
    candidates: frozenset[IsoCode639_1],
    covered: frozenset[IsoCode639_1],
    min_chars: int,
) -> list[str]:
    """``[code]`` when the text is in a candidate language not covered, else ``[]``.

    Texts with fewer than ``min_chars`` letters are too short to tell ("Thanks!") and are never
    flagged; nor is a text lingua is unsure about, nor one whose words are mostly in a covered
    language. Plainly English text is told without lingua when English is covered.
    """
    words = _words_to_weigh(text, covered, min_chars)
    return [] if words is None else lingua_other_language(words, candidates, covered)


def find_other_languages(
    texts: Sequence[str],
    candidates: frozenset[IsoCode639_1],
    covered: frozenset[IsoCode639_1],
    min_chars: int,
) -> list[list[str]]:
    """``find_other_language`` for each text; lingua weighs the texts it must see in parallel.

    Lingua's parallel call spreads the texts over the cores (0.25 ms a text instead of 0.5 ms
    on two, for ``eval-public``); its confidences can differ from the one-text call's in the
    last binary digit, far below anything a verdict turns on.
    """
    verdicts: list[list[str]] = [[] for _ in texts]
    unsure = [
        (index, words)
        for index, text in enumerate(texts)
        if (words := _words_to_weigh(text, covered, min_chars)) is not None
    ]
    if not unsure:
        return verdicts
    detector = language_detector(candidates | covered)
    weighed = detector.compute_language_confidence_values_in_parallel([w for _, w in unsure])
    for (index, words), confidences in zip(unsure, weighed, strict=True):
        verdicts[index] = _verdict(detector, words, confidences, covered)
    return verdicts


def _words_to_weigh(text: str, covered: frozenset[IsoCode639_1], min_chars: int) -> str | None:
    """What lingua must read of the text, or None when the text is told without it."""
    words = strip_non_words(text)
    if letter_count(words) < min_chars:
        return None
    if ENGLISH in covered and plainly_english(words):
        return None
    return words


def lingua_other_language(
    words: str, candidates: frozenset[IsoCode639_1], covered: frozenset[IsoCode639_1]
) -> list[str]:
    """Lingua's verdict on text already stripped of links and mentions, with no shortcut."""
    detector = language_detector(candidates | covered)
    return _verdict(detector, words, detector.compute_language_confidence_values(words), covered)


def _verdict(
    detector: LanguageDetector,
    words: str,
    confidences: Sequence[ConfidenceValue],
    covered: frozenset[IsoCode639_1],
) -> list[str]:
    """``[code]`` when lingua is sure of an uncovered language and the words agree, else []."""
    if not confidences or confidences[0].value < MIN_CONFIDENCE:
        return []
    code = confidences[0].language.iso_code_639_1
    if code in covered or _uncovered_share(detector, words, covered) < MIN_OTHER_WORDS:
        return []
    return [code.name.lower()]


def _uncovered_share(
    detector: LanguageDetector, text: str, covered: frozenset[IsoCode639_1]
) -> float:
    """The share of the text's words that lingua, word by word, puts in uncovered languages."""
    sections = detector.detect_multiple_languages_of(text)
    total = sum(section.word_count for section in sections)
    uncovered = sum(
        section.word_count for section in sections if section.language.iso_code_639_1 not in covered
    )
    return uncovered / total if total else 0.0
