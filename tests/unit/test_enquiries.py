"""Enquiry detection against the shipped topics and small hand-made ones."""

from __future__ import annotations

import pytest

from classifiers.enquiries import detect_enquiries, suggested_responses, suggested_route
from config.settings import EnquiryTopic, Settings


@pytest.fixture(scope="module")
def topics() -> dict[str, EnquiryTopic]:
    settings = Settings(
        council={"name": "Example Town Council"},
        slack={"channels": {"triage": "#t", "escalation": "#e", "digest": "#d"}},
    )
    return dict(settings.replies.topics)


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("My bin wasn't collected AGAIN this week", "bins"),
        ("There's a massive pothole on Station Road", "highways"),
        ("Street lights out on the High Street", "highways"),
        ("Has anyone seen the planning application for the old garage?", "planning"),
        ("How do I contact the council about the allotments?", "contact"),
        ("My neighbour keeps parking across my drive", "sensitive"),
        ("The bus shelter is broken and needs fixing", "service_request"),
        ("I want to make a formal complaint about the clerk's office", "complaint"),
        ("I'm a reporter at the Gazette, could we get a statement from the council?", "press"),
        ("Fly-tipping in the lay-by again", "service_request"),
    ],
)
def test_common_enquiries_are_recognised(
    topics: dict[str, EnquiryTopic], text: str, topic: str
) -> None:
    assert topic in [match.topic for match in detect_enquiries(text, topics)]


@pytest.mark.parametrize(
    "text",
    [
        "Lovely photos of the Christmas lights, well done everyone",
        "The councillors are a disgrace and should resign",
        "Binary thinking from the council as usual",  # "bin" only as a whole word
        "Potholing is a hobby of mine",  # a different word from "pothole"
    ],
)
def test_ordinary_comments_match_nothing(topics: dict[str, EnquiryTopic], text: str) -> None:
    assert detect_enquiries(text, topics) == []


def test_matching_is_whole_word_and_phrases_allow_hyphens_and_spaces() -> None:
    topics = {
        "tip": EnquiryTopic(label="Tipping", keywords=("fly tipping",), responses=("tip",)),
        "bin": EnquiryTopic(label="Bins", keywords=("bin",), responses=("bins",)),
    }
    assert [m.topic for m in detect_enquiries("FLY-TIPPING again", topics)] == ["tip"]
    assert [m.topic for m in detect_enquiries("fly  tipping", topics)] == ["tip"]
    assert detect_enquiries("cabinet and binary", topics) == []
    assert [m.matched for m in detect_enquiries("Bin day?", topics)] == [("bin",)]


def test_more_matched_words_rank_first_then_config_order() -> None:
    topics = {
        "a": EnquiryTopic(label="A", keywords=("road",), responses=("ra",)),
        "b": EnquiryTopic(label="B", keywords=("bin", "bag"), responses=("rb", "ra")),
        "c": EnquiryTopic(label="C", keywords=("lamp",), responses=("rc",), route="complaint"),
    }
    matches = detect_enquiries("road lamp bin bag", topics)
    assert [m.topic for m in matches] == ["b", "a", "c"]
    assert suggested_responses(matches, ["ra", "rb", "rc"]) == ["rb", "ra", "rc"]
    assert suggested_responses(matches, ["rc"]) == ["rc"], "only responses that exist"
    assert suggested_route(matches) == "complaint"
    assert suggested_route(detect_enquiries("road", topics)) is None
