"""Watch lists: named officers and councillors, safeguarding words, threats, political terms."""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[^\W_]+")
"""A run of letters and digits: what a watch-list term is made of."""


def _key(phrase: str) -> str:
    """A phrase reduced to its words, case-folded: "Watch your back!" -> "watch your back"."""
    return " ".join(_WORD.findall(phrase.casefold()))


class PhraseMatcher:
    """Finds whole words and phrases from a list, however they are cased and punctuated.

    "i know where you live" matches "I know... where  you LIVE" but not "i know where you
    lived"; "clerk" does not match "clerks". What is found is reported as the list spells it.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        self._terms: dict[str, str] = {}
        for term in terms:
            if _key(term):
                self._terms.setdefault(_key(term), term)
        # Longest first, so "the clerk" is reported rather than the "clerk" inside it.
        alternatives = [
            r"[\W_]+".join(re.escape(word) for word in key.split())
            for key in sorted(self._terms, key=len, reverse=True)
        ]
        # Words are joined by any run of spaces and punctuation; a term must not start or end
        # inside a word. The alternatives are literal words, so nothing can backtrack badly.
        self._pattern = (
            re.compile(rf"(?<![^\W_])(?:{'|'.join(alternatives)})(?![^\W_])", re.IGNORECASE)
            if alternatives
            else None
        )
        # Each term's words, when every term is plain ASCII: a term can only occur in an ASCII
        # text that has all of its words, and looking for them in a set is cheaper than the
        # regex. (Outside ASCII, case-insensitive matching has special cases, e.g. "K" for k.)
        keys = list(self._terms)
        self._term_words = (
            [frozenset(key.split()) for key in keys] if all(map(str.isascii, keys)) else None
        )

    def find(self, text: str, words: frozenset[str] | None = None) -> list[str]:
        """The listed terms the text contains, in order of appearance, as the list spells them.

        ``words`` may give ``ascii_words(text)``, worked out once for several matchers.
        """
        if self._pattern is None:
            return []
        if self._term_words is not None and text.isascii():
            present = ascii_words(text) if words is None else words
            if not any(term <= present for term in self._term_words):
                return []
        return [self._terms.get(_key(hit), hit) for hit in self._pattern.findall(text)]


def ascii_words(text: str) -> frozenset[str]:
    """The lower-cased words (runs of letters and digits) of an ASCII text."""
    return frozenset(_WORD.findall(text.lower()))
