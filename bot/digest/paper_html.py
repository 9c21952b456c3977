"""The committee paper as one self-contained HTML file (charts embedded, print-friendly)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from html import escape

from bot.digest.paper import Block, ChartRef, Paper, Paragraph, Table

STYLE = """
body { font-family: Georgia, 'Times New Roman', serif; color: #222; max-width: 46em;
       margin: 2em auto; padding: 0 1em; line-height: 1.45; }
header { border-bottom: 2px solid #222; margin-bottom: 1.5em; padding-bottom: .5em; }
header .council { font-size: 1.5em; font-weight: bold; }
header .committee { font-size: 1.1em; }
header .title { font-size: 1.25em; margin-top: .6em; font-weight: bold; }
header .date { color: #555; }
h2 { font-size: 1.1em; margin-top: 1.8em; border-bottom: 1px solid #bbb; }
p.small { font-size: .85em; color: #444; }
table { border-collapse: collapse; margin: .8em 0 1.2em; width: 100%; font-size: .9em;
        font-family: Helvetica, Arial, sans-serif; }
caption { caption-side: bottom; text-align: left; font-size: .85em; color: #555;
          padding-top: .3em; }
th, td { padding: .25em .5em; border-bottom: 1px solid #ddd; vertical-align: top; }
th { text-align: left; background: #eef1f4; }
td.n, th.n { text-align: right; white-space: nowrap; }
tr.total td { font-weight: bold; border-top: 1px solid #222; }
figure { margin: 1em 0; }
figure img { max-width: 100%; }
figcaption { font-size: .85em; color: #555; }
section.appendix { page-break-before: always; }
@media print { body { margin: 0; max-width: none; } }
"""


def render_html(paper: Paper, charts: Mapping[str, bytes]) -> str:
    """The paper as HTML; every piece of text is escaped."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        f"<title>{escape(paper.council)}: {escape(paper.period)}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<header>",
        f'<div class="council">{escape(paper.council)}</div>',
        f'<div class="committee">{escape(paper.committee)}</div>',
        f'<div class="title">{escape(paper.period)}</div>',
        f'<div class="date">{escape(paper.date_line)}</div>',
        "</header>",
        "<h2>1. Summary</h2>",
        f"<p>{escape(' '.join(paper.summary))}</p>",
    ]
    number = 2
    for section in paper.sections:
        heading = section.heading if section.appendix else f"{number}. {section.heading}"
        number += 0 if section.appendix else 1
        css = ' class="appendix"' if section.appendix else ""
        parts.append(f"<section{css}><h2>{escape(heading)}</h2>")
        parts.extend(_block(block, charts) for block in section.blocks)
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _block(block: Block, charts: Mapping[str, bytes]) -> str:
    if isinstance(block, Paragraph):
        css = f' class="{block.style}"' if block.style != "body" else ""
        return f"<p{css}>{escape(block.text)}</p>"
    if isinstance(block, ChartRef):
        png = charts.get(block.name)
        if png is None:
            return ""
        data = base64.b64encode(png).decode("ascii")
        return (
            f'<figure><img alt="{escape(block.caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(block.caption)}</figcaption></figure>"
        )
    return _table(block)


def _table(table: Table) -> str:
    head = "".join(
        f'<th{" class=n" if i >= table.text_columns else ""} scope="col">{escape(c)}</th>'
        for i, c in enumerate(table.columns)
    )
    body = [_row(row, table.text_columns) for row in table.rows]
    if table.total is not None:
        body.append(_row(table.total, table.text_columns, css="total"))
    caption = f"<caption>{escape(table.caption)}</caption>" if table.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _row(cells: tuple[str, ...], text_columns: int, css: str | None = None) -> str:
    tds = "".join(
        f"<td{' class=n' if i >= text_columns else ''}>{escape(cell)}</td>"
        for i, cell in enumerate(cells)
    )
    return f"<tr{f' class={css}' if css else ''}>{tds}</tr>"
