"""Where someone lives: UK postcodes and home addresses (a house number and a street)."""

from __future__ import annotations

import re

from classifiers.detectors.masking import MASK

# fmt: off
POSTCODE_AREAS = (
    "AB", "AL", "B", "BA", "BB", "BD", "BF", "BH", "BL", "BN", "BR", "BS", "BT", "BX", "CA", "CB",
    "CF", "CH", "CM", "CO", "CR", "CT", "CV", "CW", "DA", "DD", "DE", "DG", "DH", "DL", "DN", "DT",
    "DY", "E", "EC", "EH", "EN", "EX", "FK", "FY", "G", "GL", "GU", "GY", "HA", "HD", "HG", "HP",
    "HR", "HS", "HU", "HX", "IG", "IM", "IP", "IV", "JE", "KA", "KT", "KW", "KY", "L", "LA", "LD",
    "LE", "LL", "LN", "LS", "LU", "M", "ME", "MK", "ML", "N", "NE", "NG", "NN", "NP", "NR", "NW",
    "OL", "OX", "PA", "PE", "PH", "PL", "PO", "PR", "RG", "RH", "RM", "S", "SA", "SE", "SG", "SK",
    "SL", "SM", "SN", "SO", "SP", "SR", "SS", "ST", "SW", "SY", "TA", "TD", "TF", "TN", "TQ", "TR",
    "TS", "TW", "UB", "W", "WA", "WC", "WD", "WF", "WN", "WR", "WS", "WV", "YO", "ZE",
)
"""The UK's postcode areas (plus Guernsey, Jersey, the Isle of Man, BFPO and the non-geographic
BX): the letters a postcode starts with. Checking them keeps "A1 2BC"-like strings out."""
# fmt: on

_POSTCODE = rf"""
    (?<![\w@#])                            # a postcode starts a token (not a handle)...
    (?:
        (?P<gir>GIR)[^\S\n]?0AA            # Girobank's historic GIR 0AA, still in use
      | (?=[A-Z]{{1,2}}\d)                  # (a quick check before trying 126 areas)
        (?P<outward>
            (?:{"|".join(POSTCODE_AREAS)})  # the area: one or two letters from the real list
            \d[A-Z\d]?                     # the district: 9, 99 or 9A (SW1A, EC1V, M1, B33)
        )
        [^\S\n]?                           # usually one space between the halves, maybe none
        \d[ABD-HJLNP-UW-Z]{{2}}            # the inward code: a digit and two letters, never
                                           # C, I, K, M, O or V (so "M6 3pm" is not a postcode)
    )
    (?!\w)                                 # ...and ends one
"""
# A full postcode only (outward and inward halves): an outward code alone ("A1", "M25", "LU7")
# is a road, a motorway or a district, not an address. Case-insensitive: people type "lu7 1aa".
POSTCODE = re.compile(_POSTCODE, re.IGNORECASE | re.VERBOSE)


def find_postcodes(text: str) -> list[str]:
    """Full UK postcodes in the text, upper-cased with a single space ("LU7 1AA")."""
    return [_normalise_postcode(match) for match in POSTCODE.finditer(text)]


def _normalise_postcode(match: re.Match[str]) -> str:
    compact = re.sub(r"\s", "", match.group()).upper()
    return f"{compact[:-3]} {compact[-3:]}"


def mask_postcode(postcode: str) -> str:
    """Keep the outward code (a district of thousands of homes): ``SW1A ••••``."""
    return f"{postcode.split()[0]} {MASK}"


# fmt: off
STREET_TYPES = (
    "Road", "Street", "Lane", "Avenue", "Close", "Drive", "Way", "Crescent", "Court", "Gardens",
    "Place", "Terrace", "Grove", "Hill", "Row", "Walk", "Mews", "Square", "Rise", "Parade",
)
"""Words that end a UK street name. Words that are also ordinary nouns in a council's comments
(Park, Green, View) are left out: "2 Car Park spaces" is not an address."""
# fmt: on

# fmt: off
STREET_TYPE_ABBREVIATIONS = (
    "Rd", "St", "Ln", "Ave", "Cl", "Dr", "Cres", "Ct", "Gdns", "Pl", "Terr", "Sq",
)
"""Their usual abbreviations, which may end with a full stop ("High St.")."""
# fmt: on

# fmt: off
NOT_NAME_WORDS = (
    "on", "in", "at", "to", "of", "and", "or", "for", "from", "by", "with", "near", "outside",
    "down", "up", "along", "off", "past",
)
"""Words that cannot be part of a street's name: "20 MPH ON MILL LANE" is not an address."""
# fmt: on

NOT_STREETS = ("Give Way", "One Way", "Crown Court", "County Court", "High Court")
"""Capitalised phrases that end in a street type but name a sign or a court, not a street."""

_NOT_STREETS = "|".join(phrase.replace(" ", r"[^\S\n]+") for phrase in NOT_STREETS)

_HOME_ADDRESS = rf"""
    (?<![\w£$€.,/:@#&+-])                  # not part of a road number (A14), amount, date,
                                           # decimal or handle
    (?P<number>
        \d{{1,3}}[A-Za-z]?                 # house number: 7, 12A (up to 3 digits, so years such
                                           # as "2019 Station Road was closed" are not numbers)
        (?:[^\S\n]?[-\u2013][^\S\n]?\d{{1,3}}[A-Za-z]?)?   # or a range: 12-14
    )
    ,?[^\S\n]{{1,3}}
    (?!(?:{_NOT_STREETS})\b)
    (?P<street>
        (?:                                # one to three capitalised words of the street name
            (?!(?i:{"|".join(NOT_NAME_WORDS)})\b)
            [A-Z][\w'\u2019.-]{{0,30}}[^\S\n]{{1,3}}
        ){{1,3}}
        (?i:(?:{"|".join(STREET_TYPES)})\b  # and the street type, in any case: Road, ROAD,
          |(?:{"|".join(STREET_TYPE_ABBREVIATIONS)})\b\.?)  # or abbreviated: Rd, RD., rd
    )
    (?P<tail>                              # optionally a town and a postcode
        ,?[^\S\n]{{1,3}}
        (?:[A-Z][a-z]+(?:[^\S\n][A-Z][a-z]+)?,?[^\S\n]{{1,3}})?
        {_POSTCODE}
    )?
"""
# A house number followed by a street name ending in a street type: "7 Station Road",
# "14a Mill Lane", "12-14 High St, Leighton Buzzard, LU7 1AA". A street alone ("Station Road",
# "St Helens") is a place everyone may name; with a house number it is where someone lives.
# Street names must be capitalised: lower-case "20 minutes down the road" is too often prose.
HOME_ADDRESS = re.compile(_HOME_ADDRESS, re.VERBOSE)


def find_home_addresses(text: str) -> list[str]:
    """House-number-and-street addresses in the text, as written (with a postcode if given)."""
    return [match.group().strip() for match in HOME_ADDRESS.finditer(text)]


def mask_home_address(address: str) -> str:
    """Hide the house number and the postcode's inward code: ``•• Station Road, LU7 ••••``."""
    match = HOME_ADDRESS.match(address)
    if match is None:  # not one of ours; hide all of it rather than guess
        return MASK
    masked = "••" + address[match.end("number") : match.end("street")]
    tail = match.group("tail")
    if tail:
        postcode = POSTCODE.search(tail)
        assert postcode is not None  # the tail ends in a postcode by construction
        masked += tail[: postcode.start()] + mask_postcode(_normalise_postcode(postcode))
    return masked
