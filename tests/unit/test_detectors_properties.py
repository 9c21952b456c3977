"""Properties of every detector: any text is handled, and no input makes a regex blow up."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from classifiers.detectors import KINDS, RuleDetectors, detect
from classifiers.detectors.links import (
    LINK_OR_EMAIL,
    LINK_OR_EMAIL_MARK,
    SPAM_SIGNALS,
    SPAM_WORDS,
)
from classifiers.detectors.rules import NEED_A_DIGIT, PERSONAL_DATA
from classifiers.detectors.watch_list import PhraseMatcher
from config.settings import DetectorSettings, SpamSettings, WatchListSettings

DETECTORS = RuleDetectors(
    DetectorSettings(
        watch_list=WatchListSettings(
            officers=("the clerk", "clerk"),
            councillors=("Cllr Jones",),
            safeguarding=("how old are you",),
            threats=("i know where you live",),
        ),
        spam=SpamSettings(link_shorteners=("bit.ly", "t.co")),
    ),
    political_terms=("vote", "polling station"),
)

# Pieces of the things the detectors look for, so that random text often comes close to them.
FRAGMENTS = [
    "07700 900123",
    "+44",
    "020 7946",
    "@",
    ".",
    "-",
    "/",
    "|",
    "<",
    ">",
    "https://",
    "www.",
    "example.com",
    "bit.ly/",
    "LU7 1AA",
    "SW1A",
    "GIR 0AA",
    "7 ",
    "Station Road",
    " St",
    "AB 12 34 56 C",
    "20-00-00",
    "12345678",
    "GB82 WEST 1234 5698 7654 32",
    "click here",
    "£500 a day",
    "the clerk",
    "Cllr. Jones",
    "vote",
    "Diolch am y fideo",
    "谢谢",
    " ",
    "\n",
    "2.5",
    "12/11/2026",
    "A14",
]

SPAM_PHRASES = [
    "click here",
    "CLICK the link",
    "making £500 a week",
    "earned up to $3,000 per day",
    "work from home",
    "working-from-home, DM me",
    "guaranteed returns",
    "double your bitcoin",
    "crypto account manager",
    "Forex signals",
    "binary options expert",
    "invested with Mrs",
    "trading with expert",
    "financial freedom",
]

texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=5), max_size=40).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_any_text_gives_known_kinds_with_non_empty_findings(text: str) -> None:
    found = DETECTORS.detect(text)
    assert set(found) <= set(KINDS)
    for hits in found.values():
        assert hits
        assert all(isinstance(hit, str) and hit for hit in hits)
        assert len(hits) == len(set(hits))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_detect_with_default_settings_never_raises(text: str) -> None:
    assert set(detect(text)) <= set(KINDS)


def _without_digits(text: str) -> str:
    return "".join(ch for ch in text if not ch.isdigit())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts.map(_without_digits))
def test_finders_said_to_need_a_digit_find_nothing_without_one(text: str) -> None:
    # The detectors skip these finders for text without a digit; that must change nothing.
    for kind in NEED_A_DIGIT:
        finder, _ = PERSONAL_DATA[kind]
        assert finder(text) == []


@settings(max_examples=300, deadline=None)
@given(
    texts | st.lists(st.sampled_from(SPAM_PHRASES) | st.text(max_size=8), max_size=12).map(" ".join)
)
def test_every_spam_phrase_contains_a_spam_word(text: str) -> None:
    # find_spam_signals looks for the phrases only when it sees one of these words.
    if any(pattern.search(text) for _, pattern in SPAM_SIGNALS):
        assert SPAM_WORDS.search(text)


@settings(max_examples=300, deadline=None)
@given(texts)
@example("write to x@y_.1 today")  # an address whose dot has no letter after it
@example("see http://localhost/page")  # a link without a dot
@example("WWW.Example")
def test_every_link_or_email_has_the_mark_looked_for_first(text: str) -> None:
    # find_links scans for links and e-mail addresses only when it sees this mark.
    if LINK_OR_EMAIL.search(text):
        assert LINK_OR_EMAIL_MARK.search(text)


WATCHED = ("the clerk", "town clerk", "clerk", "Cllr Jones", "how old are you", "i know where")
WATCH_FRAGMENTS = [
    "the",
    "The",
    "CLERK",
    "clerk",
    "Clerks",
    "town",
    "cllr",
    "Jones",
    "how old",
    "are you",
    "I KNOW",
    "where",
    " ",
    "  ",
    ".",
    ", ",
    "_",
    "-",
    "\n",
    "3",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WATCH_FRAGMENTS) | st.text(max_size=4), max_size=20).map("".join))
def test_a_watch_list_finds_what_its_pattern_alone_finds(text: str) -> None:
    # A term outside ASCII turns the first-word shortcut off and can match no ASCII text.
    shortcut, pattern_only = PhraseMatcher(WATCHED), PhraseMatcher((*WATCHED, "zzé"))
    assert shortcut.find(text) == pattern_only.find(text)


def test_kinds_are_the_ones_the_policy_knows() -> None:
    # config/defaults.yaml's policy.detection_reasons and policy.review_detections name these;
    # repeated_text is found by comparing comments, not by a rule detector.
    assert set(KINDS) == {
        "email_address", "phone_number", "postcode", "home_address", "ni_number",
        "bank_details", "link", "link_shortener", "spam", "named_officer", "named_councillor",
        "safeguarding_term", "threat_phrase", "political", "other_language",
    }  # fmt: skip


PATHOLOGICAL = {
    "letters": "a" * 25_000,
    "dotted letters": "a." * 12_500,
    "digits": "1" * 25_000,
    "spaced digits": "1 " * 12_500,
    "at signs": "a@" * 12_500,
    "dotted at": "a.b@" * 6_250,
    "hyphens": "x" + "-" * 25_000,
    "digit hyphens": "12-" * 8_333,
    "endless link": "https://" + "a" * 25_000,
    "www": "www." * 6_250,
    "slack label": "<https://x.test|" + "a" * 25_000,
    "road numbers": "A1 " * 8_333,
    "capitalised words": "7 " + "Abc " * 6_000,
    "house numbers": "7 Abc " * 4_000,
    "iban groups": "GB82 " + "1234 " * 5_000,
    "spam words": "work from home " * 1_600,
    "punctuation": "!?.,;:" * 4_000,
    "watch-list near misses": "the clerk" * 2_500 + "the " * 500,
    "mixed": "aA1.@-/|<> " * 2_300,
}


@pytest.mark.parametrize("text", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_input_finishes_quickly(text: str) -> None:
    # A generous bound: catastrophic backtracking takes minutes, not seconds.
    started = time.perf_counter()
    DETECTORS.detect(text)
    assert time.perf_counter() - started < 5.0
