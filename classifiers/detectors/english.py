"""A cheap test for text that is plainly English, so language detection can skip lingua for it.

Lingua weighs every candidate language for every comment (about 0.6 ms each), yet most comments
a council gets are ordinary English. A text counts as plainly English only when all of these
hold, each of them a guard against a case where lingua might say otherwise:

- it has at least ``MIN_WORDS`` different words: lingua's odd verdicts on English come from
  short texts (and from long ones that repeat a few words over and over);
- every word is written in plain ASCII letters: accents and other scripts belong to the
  candidate languages far more often than to English;
- at least ``MIN_ENGLISH_SHARE`` of its different words are common English words that are not also
  common words of the candidate languages ("the", "would", "don't"; not "a", "in", "to", "was",
  which Welsh, Polish, German or Dutch use as well);
- none of its words is a common word of a candidate language (Welsh "yn", "mae", Polish "nie",
  Dutch "het", Somali "waa", ...): a bilingual comment nearly always has some.

On the 6,000 comments of ``shared/eval-public`` this takes 40% of the texts, and lingua returns
no other language for every one of them (``tests/unit/test_detectors_english.py`` checks it).
"""

from __future__ import annotations

import re

MIN_WORDS = 8
"""Texts with fewer different words always go to lingua."""

MIN_ENGLISH_SHARE = 0.3
"""The share of a text's different words that must be distinctly English. Counting each word
once keeps "you fuck misterwiki" said forty times (which lingua calls Dutch) from passing."""


def _word_set(*lines: str) -> frozenset[str]:
    return frozenset(word for line in lines for word in line.split())


ENGLISH_WORDS = _word_set(
    "the and that this with have has had been were they them their there you your would could",
    "should it its for not but from what when who why which where she his her him our about just",
    "can if than then these those because very into only any some more other out up how being",
    "here get got be as or one us did does like many much every each own such same even though",
    "while must might may shall after before know think want going make need said people good",
    "great thanks thank please never always again today right well really look new old year",
    "years day days way work back first now something nothing anything everyone someone nobody",
    "yes yeah take give say tell put keep let little big few next too ever already time",
    "don't doesn't didn't can't won't isn't aren't wasn't weren't haven't hasn't couldn't",
    "wouldn't shouldn't i'm it's that's what's you're they're we're there's i've i'll i'd let's",
)
"""Common English words that are not common words in the candidate languages (nor in Dutch,
German or the Scandinavian languages)."""

FOREIGN_WORDS = _word_set(
    # Welsh; "r" is "the" after a vowel, as in "i'r" and "mae'r"
    "y yr yn mae ac ar ei eu ni chi fi ddim bod oes gyda hefyd diolch fawr iawn hwn hon hyn ond",
    "wedi fydd sydd gan pan yw sy oedd roedd heddiw bore pawb r",
    "het de een van niet ik je op dat zijn maar voor met nog hoe wat er ook naar bij uit dit",  # nl
    "der die das und ist nicht ich ein eine zu mit auf den dem des sie wir auch sich",  # German
    "og ikke er jeg det som att och inte til af med har vi",  # Danish, Norwegian, Swedish
    "waa iyo ka ku oo ee la u aan iska ayaa uu ay",  # Somali
    "nie sie jest na ze w z co jak tak dla po ale czy juz mnie go",  # Polish without accents
    "il che di non per una sono della",  # Italian
    "le et les des est pour pas qui dans du au ce sur",  # French
    "el que los las es por con para del lo se al su",  # Spanish
    "nao os um com e",  # Portuguese
    "si nu este pe cu care un o",  # Romanian
    "ir yra kad ne su",  # Lithuanian
    "bir ve bu da icin cok",  # Turkish
    "agus ta",  # Irish
)
"""Common words of the candidate languages (and a few neighbours) written in ASCII letters."""

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
"""A word: letters, with apostrophes inside ("don't", "mae'r")."""


def plainly_english(text: str) -> bool:
    """True when the text is clearly ordinary English (see the module's rules), else False."""
    words = set(_WORD.findall(text.lower().replace("\u2019", "'")))
    if len(words) < MIN_WORDS:
        return False
    english = 0
    for word in words:
        if not word.isascii() or _foreign(word):
            return False
        if word in ENGLISH_WORDS:
            english += 1
    return english >= MIN_ENGLISH_SHARE * len(words)


def _foreign(word: str) -> bool:
    """A common word of a candidate language, or one joined to one by an apostrophe (mae'r)."""
    if word in FOREIGN_WORDS:
        return True
    return "'" in word and any(part in FOREIGN_WORDS for part in word.split("'"))
