"""Links, link shorteners and spam."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_PATH = r"[^\s<>\"'|]*"
# One scan finds links and steps over e-mail addresses, so that the domain of
# "gary.n@example.com" is never read as a link. Alternatives, tried in order at each position:
LINK_OR_EMAIL = re.compile(
    rf"""
    (?P<url>(?:https?://|www\.)[^\s<>"'|]+)  # a link with a scheme or "www.", up to a space,
                                             # quote, angle bracket or "|"
    (?:\|[^<>\n]{{0,200}}>)?                 # Slack's "<url|label>": the label is what people
                                             # saw, not where it goes; consume it, unreported
  | (?<![\w.+-])[\w.+-]{{1,64}}@[\w-]{{1,63}}(?:\.[\w-]{{1,63}})+  # an e-mail address:
                                             # consumed, unreported
  | (?<![\w@.-])                             # a bare domain, starting a token:
    (?P<host>(?:[a-z0-9-]{{1,63}}\.){{1,5}}  # one to five labels and dots...
        (?P<tld>[a-z]{{2,24}}))              # ...and a top-level domain of letters (so "2.5",
                                             # "v1.2.3" and "12.11.2026" are not domains)
    (?![\w@-])
    (?P<path>/{_PATH})?                      # perhaps a path: example-quick-cash.test/offer
    """,
    re.IGNORECASE | re.VERBOSE,
)

# fmt: off
BARE_DOMAIN_TLDS = frozenset((
    "com", "net", "org", "info", "biz", "uk", "eu", "ie", "us", "io", "co", "ly", "gd", "gl", "tv",
    "app", "dev", "xyz", "online", "site", "shop", "store", "top", "club", "live", "news", "blog",
    "link", "click", "win", "vip", "loan", "icu", "cc", "ru", "cn", "gov", "edu", "wales", "cymru",
    "london", "scot", "test",
))
"""Top-level domains that make a bare "name.tld" a link. Without a scheme, "www." or a path,
"great.Thanks" (a missed space) must not be a link, so only common and spam-favoured endings
count, plus "test", the reserved domain used in documentation and examples. Short country codes
that are also English words (is, it, to, me, in, at) are left out."""
# fmt: on

TRAILING_PUNCTUATION = ".,;:!?)]}'\""

LINK_OR_EMAIL_MARK = re.compile(r"://|www\.|@|[a-z0-9-]\.[a-z]", re.IGNORECASE)
"""What every match of ``LINK_OR_EMAIL`` contains (a scheme, "www.", "@", or a dot between a
label and a letter): most comments have none, and one look for it is cheaper than the scan."""
"""Characters that end a sentence or a bracket rather than the link they follow."""


def find_links(text: str, shorteners: Iterable[str] = ()) -> list[str]:
    """Web links in the text, as written, in order (repeats included).

    A link has a scheme ("https://"), starts with "www.", or is a bare domain whose ending is a
    common top-level domain, is followed by a path, or is one of the given link shorteners.
    E-mail addresses and decimal numbers are not links.
    """
    if not LINK_OR_EMAIL_MARK.search(text):
        return []
    shortener_hosts = frozenset(host.lower() for host in shorteners)
    links = []
    for match in LINK_OR_EMAIL.finditer(text):
        if match.group("url"):
            links.append(match.group("url").rstrip(TRAILING_PUNCTUATION))
        elif match.group("host") and (
            match.group("path")
            or match.group("tld").lower() in BARE_DOMAIN_TLDS
            or match.group("host").lower() in shortener_hosts
        ):
            links.append(match.group().rstrip(TRAILING_PUNCTUATION))
    return links


def link_host(link: str) -> str:
    """The host a link points to, lower-cased, without "www." ("https://Bit.ly/x" -> bit.ly)."""
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", link, flags=re.IGNORECASE)
    host = re.split(r"[/?#:]", host, maxsplit=1)[0].lower()
    return host.removeprefix("www.")


def find_shortened_links(links: Iterable[str], shorteners: Iterable[str]) -> list[str]:
    """The links whose host is a link shortener (or a subdomain of one): bit.ly, t.co, ..."""
    hosts = tuple(host.lower() for host in shorteners)
    return [
        link
        for link in links
        if any(link_host(link) == host or link_host(link).endswith("." + host) for host in hosts)
    ]


_MONEY = r"[£$€]\s?\d[\d,.]*k?"
SPAM_SIGNALS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        # The classic call to action of link spam.
        ("click here", r"\bclick\s+(?:here|the\s+link|link\s+in\s+(?:my\s+)?bio)\b"),
        # "make £500 a day", "earn $3,000 per week": income claims.
        (
            "income claim",
            rf"\b(?:make|making|earn|earning|earned)\s+(?:up\s+to\s+|over\s+)?{_MONEY}"
            r"\s*(?:a|an|per|every|each|/)\s*(?:hour|day|week|month)\b",
        ),
        # Working from home is ordinary; working from home as an offer is spam.
        (
            "work from home offer",
            r"\bwork(?:ing)?[\s-]+from[\s-]+home\b[^.!?\n]{0,60}?"
            r"\b(?:earn|income|opportunit(?:y|ies)|dm\s+me|inbox\s+me|whatsapp|telegram)",
        ),
        # Investment and crypto lures: promised returns and the "account manager" who got them.
        ("guaranteed returns", r"\bguaranteed\s+(?:returns?|profits?|income)\b"),
        ("double your money", r"\bdouble\s+your\s+(?:money|investment|bitcoin|crypto)\b"),
        (
            "investment lure",
            r"\b(?:bitcoin|crypto(?:currency)?|forex|binary\s+options?)\s+"
            r"(?:expert|mentor|trader|account\s+manager|investment\s+platform|signals)\b"
            r"|\b(?:invest(?:ed|ing)?|trad(?:ed|ing))\s+with\s+(?:mr|mrs|ms|miss|dr|expert)\b",
        ),
        ("financial freedom", r"\bfinancial\s+freedom\b"),
    )
)
"""Phrases that mark a comment as spam on their own, kept few and specific: each one is a
removal reason, and residents' ordinary talk ("I work from home", "the council should invest")
must not trip them."""


SPAM_WORDS = re.compile(
    r"\b(?:click|mak|earn|work|guaranteed|double|bitcoin|crypto|forex|binary|invest|trad"
    r"|financial)",
    re.IGNORECASE,
)
"""The words the spam phrases start with: a text with none of them has no spam phrase, and one
look for them is cheaper than looking for every phrase."""


def find_spam_signals(text: str, links: Sequence[str], max_links: int) -> list[str]:
    """Why the text looks like spam: too many links, or spam phrases (none for one plain link)."""
    signals = [f"{len(links)} links (more than {max_links})"] if len(links) > max_links else []
    if not SPAM_WORDS.search(text):
        return signals
    return signals + [name for name, pattern in SPAM_SIGNALS if pattern.search(text)]
