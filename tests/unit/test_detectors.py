"""Rule detectors: personal data (e-mail addresses, UK phone numbers) and links.

False positives matter as much as misses: a detected phone number suggests hiding the comment,
so dates, prices, house numbers and agenda items must never look like phone numbers.

The finders (``find_*``) return what they found in full; ``detect`` and ``RuleDetectors``
report personal data masked, because detections are shown in Slack and stored. The other kinds
are tested in tests/unit/test_detectors_*.py.
"""

from __future__ import annotations

import pytest

from classifiers.detectors import detect, find_emails, find_links, find_phone_numbers

# --- e-mail addresses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Email me at gary.n@example.com and I'll tell you", ["gary.n@example.com"]),
        ("write to clerk@leighton-linslade.gov.uk.", ["clerk@leighton-linslade.gov.uk"]),
        ("(jo+council@mail.example.org)", ["jo+council@mail.example.org"]),
        ("a@b.co and c_d@e.net", ["a@b.co", "c_d@e.net"]),
        ("FIRST.LAST@EXAMPLE.COM", ["FIRST.LAST@EXAMPLE.COM"]),
    ],
)
def test_finds_email_addresses(text: str, expected: list[str]) -> None:
    assert find_emails(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "@localwatcher you are right",
        "meet me @ the town hall",
        "user@localhost is not an address on the internet",
        "price is 5@3 for a tenner",
        "no addresses here at all",
    ],
)
def test_does_not_find_email_addresses_where_there_are_none(text: str) -> None:
    assert find_emails(text) == []


# --- phone numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("her number is 07700 900123 if anyone", "+447700900123", id="mobile spaced"),
        pytest.param("call 07700900123.", "+447700900123", id="mobile run-on"),
        pytest.param("07700-900-123", "+447700900123", id="mobile dashes"),
        pytest.param("ring +44 20 7946 0958 now", "+442079460958", id="international London"),
        pytest.param("+447700900123", "+447700900123", id="E.164"),
        pytest.param("0044 7700 900123", "+447700900123", id="00 prefix"),
        pytest.param("020 7946 0958", "+442079460958", id="London national"),
        pytest.param("Tel: 01234 567890", "+441234567890", id="area code"),
        pytest.param("(01234) 567890", "+441234567890", id="area code in brackets"),
        pytest.param("01234 567 890", "+441234567890", id="area code split"),
    ],
)
def test_finds_uk_phone_numbers_in_e164(text: str, expected: str) -> None:
    assert find_phone_numbers(text) == [expected]


def test_finds_several_phone_numbers_in_order() -> None:
    text = "Tel: 01234 567 890 or mobile 07700 900 456"
    assert find_phone_numbers(text) == ["+441234567890", "+447700900456"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Full Council meeting 12 November 2026", id="long date"),
        pytest.param("The lights cost £2026 this year", id="price like a year"),
        pytest.param("pothole on Mill Lane outside number 14", id="house number"),
        pytest.param("See item 14 on the agenda", id="agenda item"),
        pytest.param("Meeting on 2026-11-16 at 10:30", id="ISO date and time"),
        pytest.param("16/11/2026 10:30", id="UK date and time"),
        pytest.param("2026-11-16T09:12:00Z", id="timestamp"),
        pytest.param("from 9:30 to 17:00 on 12/11/2026 and 13/11/2026", id="times and dates"),
        pytest.param("11-13 November 2026 and 14-15 December 2026", id="date ranges"),
        pytest.param("£12,500,000 for 2026/27", id="budget"),
        pytest.param("£1,000,000,000", id="ten digit amount"),
        pytest.param("1,234,567,890 people", id="ten digit count"),
        pytest.param("planning ref 26/01234/FUL", id="planning reference"),
        pytest.param("12 Station Road, LU7 1AA", id="address"),
        pytest.param("Call 999 or 111", id="emergency numbers"),
        pytest.param("year 2025 2026 2027", id="years"),
        pytest.param("12.11.2026", id="dotted date"),
    ],
)
def test_does_not_mistake_other_numbers_for_phone_numbers(text: str) -> None:
    assert find_phone_numbers(text) == []


# --- links ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Click www.example-quick-cash.test now", ["www.example-quick-cash.test"]),
        ("see https://example.com/path.", ["https://example.com/path"]),
        ("(details at https://x.test/a?b=1)", ["https://x.test/a?b=1"]),
        ("HTTP://SHOUTY.TEST/", ["HTTP://SHOUTY.TEST/"]),
        ("two: http://a.test, https://b.test!", ["http://a.test", "https://b.test"]),
        ('<a href="https://c.test/x">', ["https://c.test/x"]),
    ],
)
def test_finds_links(text: str, expected: list[str]) -> None:
    assert find_links(text) == expected


@pytest.mark.parametrize(
    "text",
    ["Email me at gary.n@example.com", "the http protocol", "www is the web", "no links"],
)
def test_does_not_find_links_where_there_are_none(text: str) -> None:
    assert find_links(text) == []


# --- detect -----------------------------------------------------------------------------------


def test_detect_reports_only_what_it_found() -> None:
    assert detect("Thank you to the parks team, the playground looks fantastic.") == {}


def test_detect_combines_every_kind() -> None:
    text = (
        "My neighbour's number is 07700 900123, email her at sue@example.com "
        "or see https://example.test/sue"
    )
    assert detect(text) == {
        "email_address": ["s••••@example.com"],
        "phone_number": ["07700 ••••23"],
        "link": ["https://example.test/sue"],
    }


def test_detect_on_the_example_personal_data_comment() -> None:
    text = (
        "My neighbour at 7 Station Road keeps dumping rubbish, her number is 07700 900123 if "
        "anyone wants to tell her what they think."
    )
    assert detect(text) == {"phone_number": ["07700 ••••23"], "home_address": ["•• Station Road"]}


def test_detect_on_sharp_criticism_finds_nothing() -> None:
    text = (
        "Watched the full council meeting. Cllr Jones did not answer a single question about the "
        "car park sale. Shocking lack of transparency, frankly incompetent."
    )
    assert detect(text) == {}
