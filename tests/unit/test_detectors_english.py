"""The plainly-English shortcut: it skips lingua only where lingua would find no other language.

These run lingua's real models (shipped in its wheel; no network).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from classifiers.detectors.english import ENGLISH_WORDS, FOREIGN_WORDS, MIN_WORDS, plainly_english
from classifiers.detectors.language import (
    DEFAULT_CANDIDATES,
    find_other_languages,
    language_codes,
    lingua_other_language,
    strip_non_words,
)

CANDIDATES = language_codes((*DEFAULT_CANDIDATES, "nl"), "candidates")
ENGLISH = language_codes(("en",), "covered")

ENGLISH_TEXTS = [
    "The bin collection on our street has been missed again, can someone tell me why?",
    "Thank you to everyone who came to the market today, it was really good to see you all.",
    "Why is the council wasting our money on this when the library is closing next year?",
    "I don't think they have any idea what they're doing with the car park, it's a mess.",
    "Great to see Llanelli and Aberystwyth mentioned, thanks to the council for the photos "
    "they have put up this week",
    "Can you please tell us when the bins will be collected, because they have not been for weeks",
]

OTHER_LANGUAGE_TEXTS = [
    pytest.param(
        "Diolch am y fideo. A fydd y cyfarfod nesaf yn cael ei gyfieithu i'r Gymraeg?",
        "cy",
        id="Welsh",
    ),
    pytest.param(
        "Thanks for the video, it was really good. Diolch yn fawr am y fideo, roedd yn dda iawn.",
        "cy",
        id="bilingual Welsh and English, a third of the words English",
    ),
    pytest.param(
        "We are very pleased to announce that the new library is open. Rydym yn falch iawn o "
        "gyhoeddi bod y llyfrgell newydd ar agor.",
        "cy",
        id="bilingual notice",
    ),
    pytest.param(
        "Bore da pawb, what time does the market open today? Faint o'r gloch mae'r farchnad "
        "yn agor?",
        "cy",
        id="bilingual question",
    ),
    pytest.param(
        "Thank you for the info, ale nie wiem kiedy to bedzie otwarte i czy ktos to naprawi",
        "pl",
        id="English and Polish without its accents",
    ),
    pytest.param(
        "Dziękuję za informację. Kiedy będzie następne spotkanie rady w tym miesiącu?",
        "pl",
        id="Polish",
    ),
    pytest.param(
        "Thanks for the update about the bins, maar waarom komt niemand het afval ophalen bij ons?",
        "nl",
        id="English and Dutch",
    ),
    pytest.param(
        "Ik woon al tien jaar in deze straat en het is nog nooit zo slecht geweest met het afval",
        "nl",
        id="Dutch",
    ),
    pytest.param(
        "Waxaan rabaa inaan ogaado goorma ayaa qashinka la qaadayaa wadadeena",
        "so",
        id="Somali",
    ),
    pytest.param(
        "Stick it up your ass a video for KommandoHimmler lässt grüßen und so weiter mein Freund",
        "de",
        id="English and German",
    ),
    pytest.param(
        "Is it true that the library will close? Czy to prawda ze biblioteka bedzie zamknieta?",
        "pl",
        id="English question, Polish question",
    ),
]


@pytest.mark.parametrize("text", ENGLISH_TEXTS)
def test_ordinary_english_takes_the_shortcut_and_lingua_agrees(text: str) -> None:
    assert plainly_english(text)
    assert lingua_other_language(strip_non_words(text), CANDIDATES, ENGLISH) == []


@pytest.mark.parametrize(("text", "code"), OTHER_LANGUAGE_TEXTS)
def test_other_and_mixed_languages_are_left_to_lingua(text: str, code: str) -> None:
    assert not plainly_english(text)
    assert lingua_other_language(strip_non_words(text), CANDIDATES, ENGLISH) == [code]


def test_short_texts_are_left_to_lingua() -> None:
    # Lingua calls this one German; too short for the shortcut to overrule it.
    text = "You're a Mathsci sockpuppet, aren't you?"
    assert len(text.split()) < MIN_WORDS
    assert not plainly_english(text)


def test_words_repeated_count_once() -> None:
    # "you" is a third of the words said, but one of the ten different words.
    text = "you fuck misterwiki. " * 40 + "talk page user edits blocked vandal admin"
    assert not plainly_english(text)


def test_curly_apostrophes_count_as_apostrophes() -> None:
    assert plainly_english("I don\u2019t know why they haven\u2019t been round to fix it yet")
    assert not plainly_english("Bore da pawb, mae\u2019r farchnad ar agor tan bump heddiw")


def _eval_public_texts() -> list[str]:
    folder = _eval_public()
    assert folder is not None
    texts = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    return texts


def _eval_public() -> Path | None:
    """The shared evaluation sample, beside the repository (or beside one of its parents)."""
    for parent in Path(__file__).resolve().parents:
        folder = parent / "shared" / "eval-public"
        if folder.is_dir():
            return folder
    return None


@pytest.mark.skipif(_eval_public() is None, reason="shared/eval-public is not beside the checkout")
@pytest.mark.parametrize(
    "candidates",
    [
        pytest.param(DEFAULT_CANDIDATES, id="default candidates"),
        pytest.param((*DEFAULT_CANDIDATES, "nl", "da", "sv", "nb"), id="Dutch and Scandinavian"),
    ],
)
def test_lingua_agrees_on_every_eval_public_text_the_shortcut_takes(
    candidates: tuple[str, ...],
) -> None:
    codes = language_codes(candidates, "candidates")
    texts = _eval_public_texts()
    taken = [words for words in map(strip_non_words, texts) if plainly_english(words)]
    assert len(taken) > len(texts) / 3  # the shortcut is worth having
    disagreements = [words for words in taken if lingua_other_language(words, codes, ENGLISH) != []]
    assert disagreements == []


@pytest.mark.skipif(_eval_public() is None, reason="shared/eval-public is not beside the checkout")
def test_texts_weighed_together_get_the_verdicts_they_get_one_at_a_time() -> None:
    codes = language_codes(DEFAULT_CANDIDATES, "candidates")
    texts = _eval_public_texts()[::3]  # a third of each file is plenty, and quick
    left = [words for words in map(strip_non_words, texts) if not plainly_english(words)]
    together = find_other_languages(left, codes, ENGLISH, min_chars=1)
    assert together == [lingua_other_language(words, codes, ENGLISH) for words in left]
    assert any(together)  # some of them are in another language


def test_no_word_is_on_both_lists() -> None:
    assert ENGLISH_WORDS.isdisjoint(FOREIGN_WORDS)
