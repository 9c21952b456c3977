"""Watch lists: named officers and councillors, safeguarding terms, threats, political terms."""

from __future__ import annotations

import pytest

from classifiers.detectors import RuleDetectors
from classifiers.detectors.watch_list import PhraseMatcher
from config.settings import DetectorSettings, WatchListSettings

WATCH_LIST = WatchListSettings(
    officers=("the clerk", "town clerk", "deputy clerk", "clerk", "Sarah Jenkins"),
    councillors=("Cllr Jones", "Councillor Jones", "Mary Patel"),
    safeguarding=("grooming", "underage", "send me pics", "how old are you"),
    threats=("kill you", "i know where you live", "watch your back", "burn down"),
)
POLITICAL = ("vote", "election", "polling station")


@pytest.fixture(scope="module")
def detectors() -> RuleDetectors:
    return RuleDetectors(DetectorSettings(watch_list=WATCH_LIST), political_terms=POLITICAL)


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        pytest.param(
            "the clerk is a useless lying cow", "named_officer", ["the clerk"], id="title"
        ),
        pytest.param("THE CLERK!!", "named_officer", ["the clerk"], id="capitals"),
        pytest.param("The  Clerk, again", "named_officer", ["the clerk"], id="spaces and comma"),
        pytest.param("ask the town clerk", "named_officer", ["town clerk"], id="longest wins"),
        pytest.param("Clerk: answer me", "named_officer", ["clerk"], id="short form"),
        pytest.param(
            "Sarah Jenkins and the deputy clerk",
            "named_officer",
            ["Sarah Jenkins", "deputy clerk"],
            id="several, in order, as listed",
        ),
        pytest.param("sarah-jenkins is lazy", "named_officer", ["Sarah Jenkins"], id="hyphen"),
        pytest.param("Cllr. Jones lied", "named_councillor", ["Cllr Jones"], id="abbreviation"),
        pytest.param("mary patel", "named_councillor", ["Mary Patel"], id="lower-case name"),
        pytest.param("how old are you?", "safeguarding_term", ["how old are you"], id="question"),
        pytest.param(
            "Send me pics x", "safeguarding_term", ["send me pics"], id="safeguarding phrase"
        ),
        pytest.param(
            "I know... where  you LIVE",
            "threat_phrase",
            ["i know where you live"],
            id="punctuation inside",
        ),
        pytest.param("I'll kill you", "threat_phrase", ["kill you"], id="inside a sentence"),
        pytest.param(
            "watch your back. I'll burn down your shop",
            "threat_phrase",
            ["watch your back", "burn down"],
            id="two threats",
        ),
        pytest.param("Remember to vote!", "political", ["vote"], id="political"),
        pytest.param(
            "where is the polling  station", "political", ["polling station"], id="political phrase"
        ),
    ],
)
def test_finds_watch_list_terms(
    detectors: RuleDetectors, text: str, kind: str, expected: list[str]
) -> None:
    assert detectors.detect(text)[kind] == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("The clerks' office is closed", id="plural"),
        pytest.param("I'm a clerkess", id="inside a longer word"),
        pytest.param("a skill you need", id="kill inside skill"),
        pytest.param("the underaged... no: under age limits", id="underage split"),
        pytest.param("Mr Jones the butcher", id="surname alone"),
        pytest.param("They voted against it", id="inflected political word"),
        pytest.param("groomingdale", id="run-on word"),
        pytest.param("", id="empty"),
    ],
)
def test_does_not_find_watch_list_terms_where_there_are_none(
    detectors: RuleDetectors, text: str
) -> None:
    found = detectors.detect(text)
    for kind in ("named_officer", "named_councillor", "safeguarding_term", "threat_phrase"):
        assert kind not in found
    assert "political" not in found


def test_repeated_terms_are_reported_once(detectors: RuleDetectors) -> None:
    assert detectors.detect("clerk, clerk, CLERK")["named_officer"] == ["clerk"]


def test_political_terms_are_only_found_when_given() -> None:
    assert "political" not in RuleDetectors(DetectorSettings()).detect("Remember to vote")


def test_empty_and_punctuation_only_terms_match_nothing() -> None:
    matcher = PhraseMatcher(["", "  ", "!!!"])
    assert matcher.find("anything at all !!!") == []


def test_terms_are_words_not_regular_expressions() -> None:
    matcher = PhraseMatcher(["c++ dev", "a.b"])
    assert matcher.find("a c dev and axb") == ["c++ dev"]
