"""Official and financial identifiers: National Insurance numbers and bank details."""

from __future__ import annotations

import re

from classifiers.detectors.masking import MASK, keep_tail

# A National Insurance number (HMRC's NIM39110): two prefix letters, three pairs of digits and
# a suffix letter A-D, spaced ("AB 12 34 56 C") or not ("AB123456C"). HMRC never uses D, F, I,
# Q, U or V as the first letter, nor those and O as the second, nor the prefixes BG, GB, KN,
# NK, NT, TN and ZZ; checking the rules keeps product codes and references out. The suffix is
# required: without it two letters and six digits are as likely an order or ticket number.
NI_NUMBER = re.compile(
    r"""
    (?<![A-Za-z0-9])
    (?!BG|GB|KN|NK|NT|TN|ZZ)               # prefixes HMRC does not allocate
    [A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]    # the prefix letters
    [^\S\n]?\d{2}[^\S\n]?\d{2}[^\S\n]?\d{2}  # six digits, in pairs or together
    [^\S\n]?[A-D]                          # the suffix
    (?![A-Za-z0-9])
    """,
    re.IGNORECASE | re.VERBOSE,
)


def find_ni_numbers(text: str) -> list[str]:
    """National Insurance numbers, upper-cased without spaces ("AB123456C")."""
    return [re.sub(r"\s", "", match.group()).upper() for match in NI_NUMBER.finditer(text)]


def mask_ni_number(number: str) -> str:
    """Keep the prefix letters only: ``AB ••••``."""
    return f"{number[:2]} {MASK}"


# A sort code: three pairs of digits joined by hyphens or single spaces, the same separator
# throughout (20-00-00, 20 00 00). Alone it is too much like a date ("12-11-26"), so it only
# counts next to an account number.
SORT_CODE = re.compile(r"(?<![\d-])\d{2}(?P<sep>[- ])\d{2}(?P=sep)\d{2}(?![\d-])")
# A UK account number: eight digits, together or as two fours (12345678, 1234 5678).
ACCOUNT_NUMBER = re.compile(r"(?<![\d-])\d{4} ?\d{4}(?![\d-])")
SORT_CODE_ACCOUNT_GAP = 40
"""How many characters may separate a sort code and its account number ("account no. is")."""
# Words that say the numbers are bank details. A sort-code-like date and an eight-digit figure
# ("Meeting 12-11-26, budget 12345678") are common in council comments; bank details posted in
# a comment come labelled ("sort code", "acc", "bank details", "pay into").
BANK_WORDS = re.compile(
    r"\b(?:sort|s/c|acc|a/c|account|bank|banking|pay|paid|payment|transfer|bacs)",
    re.IGNORECASE,
)
BANK_WORDS_BEFORE = 40
"""How far before the pair a banking word may be."""

# An IBAN: a country code, two check digits and 11 to 30 letters or digits, written in groups
# of four or together. Each repetition takes exactly one character (an optional space first),
# so there is nothing to backtrack over; the mod-97 check then weeds out chance matches.
IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])", re.I)
IBAN_LENGTHS = range(15, 35)
"""IBANs are 15 (Norway) to 34 characters long; the UK's are 22."""


def iban_checksum_ok(iban: str) -> bool:
    """ISO 13616 mod-97 check: move the first four characters to the end, letters to 10-35."""
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def find_ibans(text: str) -> list[str]:
    """IBANs with a valid checksum, upper-cased without spaces."""
    found = []
    for match in IBAN.finditer(text):
        # The match may run on into a following word or number ("... 7654 32 OK"): try it whole,
        # then without its last space-separated groups, until the checksum holds.
        groups = match.group().upper().split()
        while groups:
            candidate = "".join(groups)
            if len(candidate) in IBAN_LENGTHS and iban_checksum_ok(candidate):
                found.append(candidate)
                break
            groups.pop()
    return found


def find_bank_details(text: str) -> list[str]:
    """Sort codes with an account number and a banking word nearby, and valid IBANs.

    A sort code and account are reported as "20-00-00 12345678", an IBAN without spaces.
    """
    accounts = list(ACCOUNT_NUMBER.finditer(text))
    found = []
    for sort_code in SORT_CODE.finditer(text):
        near = [
            account
            for account in accounts
            if 0 <= account.start() - sort_code.end() <= SORT_CODE_ACCOUNT_GAP
            or 0 <= sort_code.start() - account.end() <= SORT_CODE_ACCOUNT_GAP
        ]
        if near:
            account = min(near, key=lambda a: abs(a.start() - sort_code.start()))
            start = min(sort_code.start(), account.start())
            end = max(sort_code.end(), account.end())
            if not BANK_WORDS.search(text, max(0, start - BANK_WORDS_BEFORE), end):
                continue
            digits = account.group().replace(" ", "")
            found.append(f"{sort_code.group().replace(' ', '-')} {digits}")
    return found + find_ibans(text)


def mask_bank_details(details: str) -> str:
    """Keep the bank (first two sort-code digits, or the IBAN's country) and two last digits.

    ``20-••-•• ••••78`` for a sort code and account, ``GB•• ••••32`` for an IBAN.
    """
    if " " in details:
        sort_code, account = details.split()
        return f"{sort_code[:2]}-••-•• {keep_tail(account)}"
    return f"{details[:2]}•• {keep_tail(details)}"
