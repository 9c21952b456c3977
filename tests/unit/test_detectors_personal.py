"""Personal-data detectors: postcodes, home addresses, NI numbers, bank details, and masking.

Personal data in a comment is a reason to hide it, so every negative case here is something a
resident may well write about their town (road numbers, dates, prices, street names) that must
not be taken for someone's details.
"""

from __future__ import annotations

import re

import pytest

from classifiers.detectors import (
    RuleDetectors,
    detect,
    find_bank_details,
    find_home_addresses,
    find_ni_numbers,
    find_postcodes,
)
from classifiers.detectors.identifiers import iban_checksum_ok
from config.settings import DetectorSettings

# --- postcodes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Send it to LU7 1AA please", "LU7 1AA", id="A9A shape: area LU"),
        pytest.param("SW1A 1AA", "SW1A 1AA", id="AA9A"),
        pytest.param("EC1V 9HQ.", "EC1V 9HQ", id="EC1V"),
        pytest.param("M1 1AE", "M1 1AE", id="A9"),
        pytest.param("B33 8TH", "B33 8TH", id="A99"),
        pytest.param("CR2 6XH", "CR2 6XH", id="AA9"),
        pytest.param("DN55 1PT", "DN55 1PT", id="AA99"),
        pytest.param("W1A 0AX", "W1A 0AX", id="A9A"),
        pytest.param("GIR 0AA", "GIR 0AA", id="Girobank"),
        pytest.param("lives at lu7 1aa", "LU7 1AA", id="lower case"),
        pytest.param("(SW1A1AA)", "SW1A 1AA", id="no space"),
        pytest.param("Postcode:LU7 1AA,", "LU7 1AA", id="punctuation around"),
    ],
)
def test_finds_uk_postcodes(text: str, expected: str) -> None:
    assert find_postcodes(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("The A1 and the A14 are closed", id="A roads"),
        pytest.param("Roadworks on the M1 at J13", id="motorway and junction"),
        pytest.param("M6 3pm onwards", id="motorway and a time"),
        pytest.param("the LU7 area", id="outward code alone"),
        pytest.param("Q1 2AB", id="not a postcode area"),
        pytest.param("A1 2BC", id="single-letter A is not an area"),
        pytest.param("SW1A 1CI", id="inward letters C and I are never used"),
        pytest.param("Meeting on 12/11/2026 at 10:30", id="date and time"),
        pytest.param("£12,500 for 2026/27", id="money and years"),
        pytest.param("St Helens Town Council", id="St Helens"),
        pytest.param("version 3.11.2 and model X1", id="version numbers"),
        pytest.param("LU71AAB", id="run on into more letters"),
    ],
)
def test_does_not_find_postcodes_where_there_are_none(text: str) -> None:
    assert find_postcodes(text) == []


# --- home addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("My neighbour at 7 Station Road keeps", "7 Station Road", id="road"),
        pytest.param("She lives at 14 Mill Lane.", "14 Mill Lane", id="lane"),
        pytest.param("14a Mill Lane", "14a Mill Lane", id="number with letter"),
        pytest.param("12-14 High St", "12-14 High St", id="range and St"),
        pytest.param("3 Church Rd", "3 Church Rd", id="Rd"),
        pytest.param("22 Queens Avenue", "22 Queens Avenue", id="avenue"),
        pytest.param("5 Orchard Close", "5 Orchard Close", id="close"),
        pytest.param("9 St John's Way", "9 St John's Way", id="saint in the name"),
        pytest.param("101 Upper Market Square", "101 Upper Market Square", id="two-word name"),
        pytest.param("at 3 The Street", "3 The Street", id="The Street"),
        pytest.param("7 STATION ROAD", "7 STATION ROAD", id="capitals"),
        pytest.param("7  Station   Road", "7  Station   Road", id="repeated spaces"),
        pytest.param(
            "12 Station Road, LU7 1AA please", "12 Station Road, LU7 1AA", id="with postcode"
        ),
        pytest.param(
            "12 Station Road, Leighton Buzzard, LU7 1AA",
            "12 Station Road, Leighton Buzzard, LU7 1AA",
            id="with town and postcode",
        ),
    ],
)
def test_finds_home_addresses(text: str, expected: str) -> None:
    assert find_home_addresses(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("The lights on Station Road are out", id="street alone"),
        pytest.param("pothole on Mill Lane outside number 14", id="number after the street"),
        pytest.param("St Helens Town Council", id="St Helens"),
        pytest.param("Queue back to 7 St Helens", id="number then St Helens"),
        pytest.param("The A14 Road is shut", id="road number"),
        pytest.param("Traffic on the M1 Road", id="motorway"),
        pytest.param("In 2019 Station Road was resurfaced", id="year before a street"),
        pytest.param("£5 Station Road parking", id="money"),
        pytest.param("It took 20 minutes down the road", id="lower-case prose"),
        pytest.param("20 MPH ON MILL LANE PLEASE", id="preposition in the name"),
        pytest.param("We need 2 Give Way signs", id="give way"),
        pytest.param("3.5 Mill Lane", id="decimal"),
        pytest.param("Meeting 12/11/2026 Church Road hall", id="date"),
        pytest.param("Item 14 on the agenda", id="agenda item"),
    ],
)
def test_does_not_find_home_addresses_where_there_are_none(text: str) -> None:
    assert find_home_addresses(text) == []


# --- National Insurance numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("NI AB 12 34 56 C thanks", "AB123456C", id="spaced"),
        pytest.param("AB123456C", "AB123456C", id="together"),
        pytest.param("my ni is ab123456d", "AB123456D", id="lower case"),
        pytest.param("JG 103759 A", "JG103759A", id="grouped differently"),
        pytest.param("(CE 12 34 56 B)", "CE123456B", id="in brackets"),
    ],
)
def test_finds_ni_numbers(text: str, expected: str) -> None:
    assert find_ni_numbers(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("QQ 12 34 56 C", id="Q is never a first letter"),
        pytest.param("AO 12 34 56 C", id="O is never a second letter"),
        pytest.param("GB 12 34 56 A", id="unallocated prefix GB"),
        pytest.param("ZZ123456A", id="unallocated prefix ZZ"),
        pytest.param("AB 12 34 56 E", id="suffix beyond D"),
        pytest.param("AB123456", id="no suffix: could be any reference"),
        pytest.param("ref AB1234567C", id="too many digits"),
        pytest.param("12 34 56 on 12/11/2026", id="numbers and dates"),
    ],
)
def test_does_not_find_ni_numbers_where_there_are_none(text: str) -> None:
    assert find_ni_numbers(text) == []


# --- bank details -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "sort code 20-00-00 account 12345678", "20-00-00 12345678", id="sort code first"
        ),
        pytest.param(
            "acc no 1234 5678, sort code 40 11 22", "40-11-22 12345678", id="account first"
        ),
        pytest.param("GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432", id="IBAN grouped"),
        pytest.param("GB82WEST12345698765432", "GB82WEST12345698765432", id="IBAN together"),
        pytest.param(
            "IBAN: GB82 WEST 1234 5698 7654 32 OK?", "GB82WEST12345698765432", id="IBAN then word"
        ),
        pytest.param("DE89 3704 0044 0532 0130 00", "DE89370400440532013000", id="German IBAN"),
    ],
)
def test_finds_bank_details(text: str, expected: str) -> None:
    assert find_bank_details(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("sort code 20-00-00", id="sort code without an account"),
        pytest.param("account 12345678", id="account without a sort code"),
        pytest.param("Meeting 12-11-26, budget 12345678", id="date and a big number"),
        pytest.param("GB00 WEST 1234 5698 7654 32", id="IBAN with a wrong checksum"),
        pytest.param("GB82 WEST 1234 5698 7654 33", id="IBAN with a typo"),
        pytest.param("£12,500,000 on 12/11/2026", id="money and dates"),
        pytest.param("12-11-26 " + "x" * 60 + " 12345678", id="too far apart"),
    ],
)
def test_does_not_find_bank_details_where_there_are_none(text: str) -> None:
    assert find_bank_details(text) == []


def test_iban_checksum() -> None:
    assert iban_checksum_ok("GB82WEST12345698765432")
    assert not iban_checksum_ok("GB83WEST12345698765432")


# --- masking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "masked"),
    [
        pytest.param("call 07700 900123", "phone_number", "07700 ••••23", id="mobile"),
        pytest.param("ring 020 7946 0958", "phone_number", "020 ••••58", id="London"),
        pytest.param("+33 1 23 45 67 89", "phone_number", "+33 ••••89", id="France"),
        pytest.param("sue.smith@example.com", "email_address", "s••••@example.com", id="email"),
        pytest.param("SW1A 1AA", "postcode", "SW1A ••••", id="postcode"),
        pytest.param("7 Station Road", "home_address", "•• Station Road", id="address"),
        pytest.param(
            "12 Station Road, LU7 1AA",
            "home_address",
            "•• Station Road, LU7 ••••",
            id="address and postcode",
        ),
        pytest.param("AB 12 34 56 C", "ni_number", "AB ••••", id="NI number"),
        pytest.param(
            "sort code 20-00-00 account 12345678",
            "bank_details",
            "20-••-•• ••••78",
            id="sort code and account",
        ),
        pytest.param("GB82 WEST 1234 5698 7654 32", "bank_details", "GB•• ••••32", id="IBAN"),
    ],
)
def test_personal_data_is_reported_masked(text: str, kind: str, masked: str) -> None:
    assert detect(text)[kind] == [masked]


PERSONAL_COMMENT = (
    "Her details: 07700 900123, sue.smith@example.com, 12 Station Road, LU7 1AA, "
    "NI AB 12 34 56 C, sort code 20-00-00 account 12345678, IBAN GB82 WEST 1234 5698 7654 32"
)
SECRETS = [
    "07700900123",
    "7700900123",
    "900123",
    "sue.smith",
    "12 Station",
    "1AA",
    "123456",
    "12345678",
    "WEST1234",
    "98765432",
]


def test_full_personal_data_never_appears_in_detections() -> None:
    found = detect(PERSONAL_COMMENT)
    assert set(found) >= {
        "phone_number",
        "email_address",
        "home_address",
        "postcode",
        "ni_number",
        "bank_details",
    }
    # Spaces are dropped so a value cannot hide behind different grouping.
    shown = re.sub(r"\s", "", repr(found))
    for secret in SECRETS:
        assert re.sub(r"\s", "", secret) not in shown, secret


def test_personal_data_from_configured_detectors_is_masked_too() -> None:
    found = RuleDetectors(DetectorSettings()).detect("call 07700 900123")
    assert found == {"phone_number": ["07700 ••••23"]}


# --- found in the public evaluation comments ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        pytest.param("Vandalism 72.136.39.180 has vandalized pages", "phone_number", id="IP"),
        pytest.param("RT @M94Rx: sometimes I hate it", "postcode", id="handle like a postcode"),
        pytest.param("next week @KYR_SP33DY", "postcode", id="handle with an underscore"),
        pytest.param("#LU71AA trending", "postcode", id="hashtag"),
    ],
)
def test_handles_and_ip_addresses_are_not_personal_data(text: str, kind: str) -> None:
    assert kind not in detect(text)


def test_a_number_the_library_cannot_lay_out_is_still_masked() -> None:
    found = detect("Text me 630.362.5206")["phone_number"]
    assert found == ["630 ••••06"]
    assert "3625206" not in found[0]
