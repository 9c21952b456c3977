"""Links, link shorteners and spam.

A link is worth a look; spam is a reason to hide. So a single ordinary link, an e-mail address,
a decimal number or a resident who works from home must never count as spam.
"""

from __future__ import annotations

import pytest

from classifiers.detectors import RuleDetectors, find_links
from classifiers.detectors.links import find_shortened_links, find_spam_signals, link_host
from config.settings import DetectorSettings, SpamSettings

SHORTENERS = ("bit.ly", "tinyurl.com", "t.co", "shorturl.at", "is.gd")


@pytest.fixture(scope="module")
def detectors() -> RuleDetectors:
    return RuleDetectors(
        DetectorSettings(spam=SpamSettings(link_shorteners=SHORTENERS, max_links=2))
    )


# --- links ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("<https://x.test/a|x.test/a>", ["https://x.test/a"], id="Slack link"),
        pytest.param(
            "see <https://x.test/a|the offer> now", ["https://x.test/a"], id="Slack label words"
        ),
        pytest.param(
            "Go to example-quick-cash.test/offer now",
            ["example-quick-cash.test/offer"],
            id="bare domain with path",
        ),
        pytest.param("www.x.co.uk", ["www.x.co.uk"], id="www and co.uk"),
        pytest.param("visit x.co.uk.", ["x.co.uk"], id="bare co.uk"),
        pytest.param("example.com, then", ["example.com"], id="bare com"),
        pytest.param("bit.ly/3xYz", ["bit.ly/3xYz"], id="bare shortener"),
        pytest.param("try shorturl.at", ["shorturl.at"], id="bare shortener with unusual tld"),
        pytest.param("LEIGHTON-LINSLADE.GOV.UK", ["LEIGHTON-LINSLADE.GOV.UK"], id="capitals"),
        pytest.param(
            "https://a.test and a.test",
            ["https://a.test", "a.test"],
            id="repeats are kept",
        ),
    ],
)
def test_finds_links(text: str, expected: list[str]) -> None:
    assert find_links(text, SHORTENERS) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Email clerk@leighton-linslade.gov.uk today", id="e-mail address"),
        pytest.param("jo+council@mail.example.org", id="e-mail with plus"),
        pytest.param("inflation is 2.5 percent", id="decimal"),
        pytest.param("£2.50 and 3.5m and 10.30am", id="money and times"),
        pytest.param("Python 3.11.2, v1.2.3", id="version numbers"),
        pytest.param("12.11.2026", id="dotted date"),
        pytest.param("It was great.Thanks all", id="missing space after a full stop"),
        pytest.param("St.Helens and Mr.Smith", id="abbreviations"),
        pytest.param("e.g. i.e. a.m. p.m. U.K.", id="dotted abbreviations"),
        pytest.param("see the agenda.pdf file", id="file name"),
        pytest.param("Done.It is fine", id="country code that is a word"),
        pytest.param("the http protocol", id="scheme word"),
    ],
)
def test_does_not_find_links_where_there_are_none(text: str) -> None:
    assert find_links(text, SHORTENERS) == []


@pytest.mark.parametrize(
    ("link", "host"),
    [
        ("https://Bit.ly/x", "bit.ly"),
        ("www.x.co.uk/page", "x.co.uk"),
        ("example.test:8080/x", "example.test"),
        ("http://a.test?x=1", "a.test"),
    ],
)
def test_link_host(link: str, host: str) -> None:
    assert link_host(link) == host


# --- link shorteners --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://bit.ly/3xYz", ["https://bit.ly/3xYz"]),
        ("see bit.ly/abc", ["bit.ly/abc"]),
        ("http://www.tinyurl.com/y4", ["http://www.tinyurl.com/y4"]),
        ("HTTPS://T.CO/abc", ["HTTPS://T.CO/abc"]),
        ("is.gd/x and https://council.test", ["is.gd/x"]),
    ],
)
def test_finds_shortened_links(detectors: RuleDetectors, text: str, expected: list[str]) -> None:
    assert detectors.detect(text)["link_shortener"] == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://www.leighton-linslade.gov.uk/meetings",
        "https://notbit.ly/x",
        "https://bit.lyrics.test/x",
        "https://t.com/x",
        "see https://example.test/bit.ly",
    ],
)
def test_ordinary_links_are_not_shortened(detectors: RuleDetectors, text: str) -> None:
    found = detectors.detect(text)
    assert "link" in found
    assert "link_shortener" not in found


def test_shortened_links_of_a_subdomain() -> None:
    assert find_shortened_links(["https://go.bit.ly/x"], ["bit.ly"]) == ["https://go.bit.ly/x"]


# --- spam -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        pytest.param("Click here for free money", "click here", id="click here"),
        pytest.param("CLICK  THE LINK in my profile", "click here", id="click the link"),
        pytest.param("I make £500 a day from my phone", "income claim", id="make £500 a day"),
        pytest.param("earning $3,000 per week", "income claim", id="earn per week"),
        pytest.param("earn up to £2k a month", "income claim", id="up to £2k"),
        pytest.param(
            "Work from home and earn more than your boss!", "work from home offer", id="wfh offer"
        ),
        pytest.param(
            "working-from-home opportunity, DM me", "work from home offer", id="wfh opportunity"
        ),
        pytest.param("Guaranteed returns of 40%", "guaranteed returns", id="guaranteed returns"),
        pytest.param("Double your bitcoin in 7 days", "double your money", id="double"),
        pytest.param(
            "Thanks to my crypto account manager I retired", "investment lure", id="crypto lure"
        ),
        pytest.param("I invested with Mrs Clara and won", "investment lure", id="invest with"),
        pytest.param("achieve financial freedom today", "financial freedom", id="freedom"),
    ],
)
def test_finds_spam_phrases(detectors: RuleDetectors, text: str, signal: str) -> None:
    assert signal in detectors.detect(text)["spam"]


def test_too_many_links_is_spam(detectors: RuleDetectors) -> None:
    text = "https://a.test https://b.test https://c.test"
    assert detectors.detect(text)["spam"] == ["3 links (more than 2)"]


def test_the_same_link_repeated_counts_every_time() -> None:
    assert find_spam_signals("", ["a.test"] * 3, 2) == ["3 links (more than 2)"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Minutes are at https://council.test/minutes", id="one ordinary link"),
        pytest.param("See https://a.test and https://b.test", id="two links at the limit"),
        pytest.param("I work from home and the roadworks are very loud", id="working from home"),
        pytest.param(
            "I work from home. Earn your keep, councillors!", id="work from home, then earn"
        ),
        pytest.param("The council should not invest in crypto", id="opinion about crypto"),
        pytest.param("The car park makes £500 a day for the council", id="council income"),
        pytest.param("Click the button on the form to report it", id="click on a form"),
        pytest.param("Email me at gary.n@example.com", id="e-mail address"),
    ],
)
def test_ordinary_comments_are_not_spam(detectors: RuleDetectors, text: str) -> None:
    assert "spam" not in detectors.detect(text)
