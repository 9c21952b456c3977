# ruff: noqa: RUF001 - text in other languages has its own punctuation
"""Language: comments in a language the classifier does not cover go to a person.

These run lingua's real models (shipped in its wheel; no network).
"""

from __future__ import annotations

import threading

import pytest

from classifiers.detectors import RuleDetectors, detect
from classifiers.detectors.language import DEFAULT_CANDIDATES, language_codes
from config.settings import ConfigError, DetectorSettings, LanguageSettings

CANDIDATES = ("en", "cy", "pl", "ro", "fr", "es", "de", "ur", "ar", "zh")


@pytest.fixture(scope="module")
def detectors() -> RuleDetectors:
    return RuleDetectors(
        DetectorSettings(language=LanguageSettings(covered=("en",), candidates=CANDIDATES))
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param(
            "Diolch am y fideo. A fydd y cyfarfod nesaf yn cael ei gyfieithu i'r Gymraeg?",
            "cy",
            id="Welsh",
        ),
        pytest.param("Pryd mae'r cyngor yn mynd i drwsio'r ffordd ger yr ysgol?", "cy", id="cy2"),
        pytest.param(
            "Dziękuję za informację. Kiedy będzie następne spotkanie rady?", "pl", id="Polish"
        ),
        pytest.param(
            "Mulțumesc pentru informații. Când va avea loc următoarea ședință?", "ro", id="ro"
        ),
        pytest.param("Il y a un grand trou dans la route près de l'école.", "fr", id="French"),
        pytest.param("معلومات کے لیے شکریہ۔ کونسل کا اگلا اجلاس کب ہوگا؟", "ur", id="Urdu"),
        pytest.param(
            "谢谢你的信息。下一次议会会议什么时候举行？我们可以在哪里停车？", "zh", id="Chinese"
        ),
        pytest.param(
            "Diolch yn fawr! https://example.test/fideo @cyngor #Cymraeg Bore da i bawb yma",
            "cy",
            id="Welsh with a link, a mention and a hashtag",
        ),
    ],
)
def test_other_languages_are_flagged(detectors: RuleDetectors, text: str, code: str) -> None:
    assert detectors.detect(text)["other_language"] == [code]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Thanks!", id="short thanks"),
        pytest.param("Diolch!", id="short Welsh is too short to tell"),
        pytest.param("Merci beaucoup", id="short French"),
        pytest.param("What time does the switch-on start?", id="short question"),
        pytest.param(
            "Watched the full council meeting. Cllr Jones did not answer a single question "
            "about the car park sale. Shocking lack of transparency, frankly incompetent.",
            id="criticism",
        ),
        pytest.param(
            "There is a massive pothole on Mill Lane outside number 14, it has been there for "
            "weeks. Who do I report it to?",
            id="enquiry",
        ),
        pytest.param(
            "Great to see Llanelli and Aberystwyth mentioned, thanks to the council for the "
            "lovely photos of the Eisteddfod",
            id="English with Welsh names",
        ),
        pytest.param(
            "Lovely photos of Llanfairpwllgwyngyll and Betws-y-Coed today", id="Welsh places"
        ),
        pytest.param("Thanks for the update, diolch yn fawr!", id="English with a Welsh thanks"),
        pytest.param(
            " ".join(
                ["The council's budget report for 2026/27 was discussed at length tonight."] * 300
            ),
            id="long English",
        ),
        pytest.param("https://example.test/aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", id="only a link"),
        pytest.param("12345 67890 !!! ??? 2026-11-16 10:30 £12,500", id="no letters"),
    ],
)
def test_english_and_short_texts_are_not_flagged(detectors: RuleDetectors, text: str) -> None:
    assert "other_language" not in detectors.detect(text)


def test_a_covered_language_is_not_flagged() -> None:
    bilingual = RuleDetectors(
        DetectorSettings(language=LanguageSettings(covered=("en", "cy"), candidates=CANDIDATES))
    )
    text = "Diolch am y fideo. A fydd y cyfarfod nesaf yn cael ei gyfieithu i'r Gymraeg?"
    assert "other_language" not in bilingual.detect(text)


def test_min_chars_counts_letters() -> None:
    strict = RuleDetectors(DetectorSettings(language=LanguageSettings(min_chars=200)))
    text = "Diolch am y fideo. A fydd y cyfarfod nesaf yn cael ei gyfieithu i'r Gymraeg?"
    assert "other_language" not in strict.detect(text)


def test_covered_languages_are_candidates_even_when_not_listed() -> None:
    # Without English among the candidates every English comment would be "something else".
    detectors = RuleDetectors(
        DetectorSettings(language=LanguageSettings(covered=("en",), candidates=("cy", "pl")))
    )
    text = "What time does the Christmas lights switch-on start on Saturday?"
    assert "other_language" not in detectors.detect(text)


def test_default_settings_use_the_default_candidates() -> None:
    assert detect("Dziękuję za informację. Kiedy będzie następne spotkanie rady?") == {
        "other_language": ["pl"]
    }
    assert set(language_codes(DEFAULT_CANDIDATES, "x")) >= set(language_codes(["cy", "en"], "x"))


@pytest.mark.parametrize("field", ["candidates", "covered"])
def test_unknown_language_codes_fail_with_the_setting_named(field: str) -> None:
    settings = DetectorSettings(language=LanguageSettings(**{field: ("en", "xx")}))
    with pytest.raises(ConfigError, match=rf"detectors\.language\.{field}: 'xx'"):
        RuleDetectors(settings)


def test_detection_is_thread_safe(detectors: RuleDetectors) -> None:
    texts = {
        "Diolch am y fideo. A fydd y cyfarfod nesaf yn cael ei gyfieithu i'r Gymraeg?": ["cy"],
        "Dziękuję za informację. Kiedy będzie następne spotkanie rady?": ["pl"],
        "What time does the Christmas lights switch-on start on Saturday?": None,
    }
    results: list[bool] = []

    def work() -> None:
        for _ in range(20):
            for text, expected in texts.items():
                results.append(detectors.detect(text).get("other_language") == expected)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 * 20 * 3
    assert all(results)


def test_warm_up_loads_the_models(detectors: RuleDetectors) -> None:
    detectors.warm_up()
    assert detectors.detect("Bore da! Sut mae pawb yn y dref heddiw?") == {"other_language": ["cy"]}


def test_a_short_chinese_sentence_counts_its_characters_double(detectors: RuleDetectors) -> None:
    # 19 characters: a whole question in Chinese, though fewer than 20 "letters".
    assert detectors.detect("谢谢你的信息。下一次议会会议什么时候举行？") == {
        "other_language": ["zh"]
    }


def test_a_batch_gets_the_verdicts_its_texts_get_one_at_a_time(detectors: RuleDetectors) -> None:
    texts = [
        "Diolch am y fideo. A fydd y cyfarfod nesaf yn cael ei gyfieithu i'r Gymraeg?",
        "Thanks!",
        "There is a massive pothole on Mill Lane outside number 14, who do I report it to?",
        "Dziękuję za informację. Kiedy będzie następne spotkanie rady?",
        "Thanks for the update, diolch yn fawr!",
        "谢谢你的信息。下一次议会会议什么时候举行？我们可以在哪里停车？",
        "Call 07700 900123 about the car park, it was full again this morning",
        "Il y a un grand trou dans la route près de l'école.",
    ]
    batch = detectors.detect_all(texts)
    assert batch == [detectors.detect(text) for text in texts]
    assert [found.get("other_language") for found in batch] == [
        ["cy"],
        None,
        None,
        ["pl"],
        None,
        ["zh"],
        None,
        ["fr"],
    ]
    assert detectors.detect_all([]) == []
