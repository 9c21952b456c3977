"""Rule detectors for what a toxicity model cannot see.

One module per family: contact details (:mod:`.contact`), addresses (:mod:`.addresses`),
official and financial identifiers (:mod:`.identifiers`), links and spam (:mod:`.links`), watch
lists (:mod:`.watch_list`) and language (:mod:`.language`). :class:`RuleDetectors` runs them all.
"""

from classifiers.detectors.addresses import find_home_addresses, find_postcodes
from classifiers.detectors.contact import find_emails, find_phone_numbers
from classifiers.detectors.identifiers import find_bank_details, find_ni_numbers
from classifiers.detectors.links import find_links
from classifiers.detectors.rules import KINDS, Detections, RuleDetectors, detect

__all__ = [
    "KINDS",
    "Detections",
    "RuleDetectors",
    "detect",
    "find_bank_details",
    "find_emails",
    "find_home_addresses",
    "find_links",
    "find_ni_numbers",
    "find_phone_numbers",
    "find_postcodes",
]
