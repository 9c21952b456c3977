"""CSV cells a spreadsheet shows as text, never runs: formula neutralisation for every export.

A resident's comment starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return,
which some spreadsheets skip before looking for those) would be read by Excel, LibreOffice or
Google Sheets as a formula: ``=HYPERLINK(...)`` or a DDE call. Such a cell gets a leading
single quote, which the spreadsheet treats as "this is text" (OWASP's advice for CSV injection).
The quote is visible in a text editor; docs/records.md says so.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """The cell as text; one a spreadsheet would run as a formula gets a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A whole CSV document (CRLF line ends, every cell neutralised, fields quoted as needed)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(name) for name in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The CSV as UTF-8 with a byte-order mark, so Excel reads accents and emoji correctly."""
    return csv_text(header, rows).encode("utf-8-sig")
