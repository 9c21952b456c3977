"""Contact details: e-mail addresses and phone numbers."""

from __future__ import annotations

import re

import phonenumbers

from classifiers.detectors.masking import MASK, keep_tail

# An e-mail address: a local part, "@", and a domain with at least one dot (so "user@localhost"
# and "5@3" are not addresses). Every part is bounded (RFC 5321: 64-character local part,
# 63-character labels) so that a long run of word characters with no "@" in it is given up on
# after a few dozen steps instead of being rescanned from every position.
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+\b")


def find_emails(text: str) -> list[str]:
    """E-mail addresses in the text, as written."""
    return [match.group().rstrip(".") for match in EMAIL.finditer(text)]


def mask_email(address: str) -> str:
    """Keep the first character of the local part and the domain: ``s••••@example.com``."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}{MASK}@{domain}"


MIN_PHONE_DIGITS = 10
"""UK numbers have 10 or 11 digits; shorter digit runs are dates, amounts and house numbers."""

# Four dot-separated groups of one to three digits: an IP address ("72.136.39.180" has ten
# digits and the library would take it for a number), not a phone number.
IP_ADDRESS = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def find_phone_numbers(text: str) -> list[str]:
    """UK (and international) phone numbers, normalised to E.164."""
    # POSSIBLE rather than VALID leniency: people post numbers from ranges the library does not
    # know to be allocated (and Ofcom's drama ranges), which are still personal data.
    matches = phonenumbers.PhoneNumberMatcher(text, "GB", leniency=phonenumbers.Leniency.POSSIBLE)
    return [
        phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        for match in matches
        if sum(ch.isdigit() for ch in match.raw_string) >= MIN_PHONE_DIGITS
        and not IP_ADDRESS.fullmatch(match.raw_string)
    ]


MAX_PREFIX_CHARS = 5
"""A masked number keeps at most this much of its start: "07700", "020", "+33"."""


def mask_phone_number(e164: str) -> str:
    """Keep the dialling code and the last two digits: ``07700 ••••23``, ``+33 ••••78``."""
    number = phonenumbers.parse(e164, None)
    if number.country_code != 44:
        prefix = f"+{number.country_code}"
    else:
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        # The first group is the area or mobile prefix (07700, 020): not personal on its own.
        # A number the library cannot lay out comes back as one run of digits: keep less.
        first = national.split()[0]
        prefix = first if first != national and len(first) <= MAX_PREFIX_CHARS else national[:3]
    return f"{prefix} {keep_tail(e164)}"
