"""The committee paper as an A4 PDF (ReportLab), with DejaVu fonts embedded for any text."""

from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Paragraph as PdfParagraph
from reportlab.platypus import Table as PdfTable

from bot.digest.paper import Block, ChartRef, Paper, Paragraph, Table

MARGIN = 2 * cm
WIDTH = A4[0] - 2 * MARGIN
HEADER_FILL = colors.HexColor("#eef1f4")
RULE = colors.HexColor("#bbbbbb")
FONT_FILES = {
    "Serif": "DejaVuSerif.ttf",
    "Serif-Bold": "DejaVuSerif-Bold.ttf",
    "Sans": "DejaVuSans.ttf",
    "Sans-Bold": "DejaVuSans-Bold.ttf",
}


def _register_fonts() -> None:
    # matplotlib ships the DejaVu fonts: full Unicode (dashes, minus signs, Welsh letters)
    # without relying on the fonts of the machine the bot runs on.
    if "Serif" in pdfmetrics.getRegisteredFontNames():
        return
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, filename in FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(folder / filename)))


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName="Serif", fontSize=10, leading=14, spaceAfter=6)
    return {
        "council": ParagraphStyle("council", fontName="Serif-Bold", fontSize=17, leading=21),
        "committee": ParagraphStyle("committee", fontName="Serif", fontSize=12, leading=16),
        "title": ParagraphStyle(
            "title", fontName="Serif-Bold", fontSize=13, leading=17, spaceBefore=8
        ),
        "date": ParagraphStyle(
            "date", fontName="Serif", fontSize=10, leading=14, textColor=colors.HexColor("#555555")
        ),
        "h2": ParagraphStyle(
            "h2", fontName="Sans-Bold", fontSize=11.5, leading=15, spaceBefore=14, spaceAfter=6
        ),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8.5, leading=11.5),
        "caption": ParagraphStyle(
            "caption",
            fontName="Sans",
            fontSize=7.5,
            leading=10,
            textColor=colors.HexColor("#555555"),
            spaceAfter=8,
        ),
        "cell": ParagraphStyle("cell", fontName="Sans", fontSize=8, leading=10),
        "cell_n": ParagraphStyle(
            "cell_n", fontName="Sans", fontSize=8, leading=10, alignment=TA_RIGHT
        ),
        "head": ParagraphStyle("head", fontName="Sans-Bold", fontSize=8, leading=10),
        "head_n": ParagraphStyle(
            "head_n", fontName="Sans-Bold", fontSize=8, leading=10, alignment=TA_RIGHT
        ),
    }


def render_pdf(paper: Paper, charts: Mapping[str, bytes]) -> bytes:
    """The paper as PDF bytes."""
    _register_fonts()
    styles = _styles()
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{paper.council}: {paper.period}",
        author=paper.council,
        subject=paper.committee,
    )
    story: list[Flowable] = [
        PdfParagraph(escape(paper.council), styles["council"]),
        PdfParagraph(escape(paper.committee), styles["committee"]),
        PdfParagraph(escape(paper.period), styles["title"]),
        PdfParagraph(escape(paper.date_line), styles["date"]),
        Spacer(1, 4),
        _rule(),
        PdfParagraph("1. Summary", styles["h2"]),
        PdfParagraph(escape(" ".join(paper.summary)), styles["body"]),
    ]
    number = 2
    in_appendix = False
    for section in paper.sections:
        if section.appendix and not in_appendix:
            story.append(PageBreak())
            in_appendix = True
        heading = section.heading if section.appendix else f"{number}. {section.heading}"
        number += 0 if section.appendix else 1
        groups = [_block(block, charts, styles) for block in section.blocks]
        # Keep a heading with what follows it (a lead-in paragraph and the table after it
        # too), never alone at the foot of a page. Groups are flat: nested KeepTogethers
        # make ReportLab break pages early.
        lead = 2 if len(groups) > 1 and isinstance(section.blocks[0], Paragraph) else 1
        first: list[Flowable] = [PdfParagraph(escape(heading), styles["h2"])]
        for group, _ in groups[:lead]:
            first.extend(group)
        story.append(KeepTogether(first))
        for group, whole in groups[lead:]:
            if whole:
                story.append(KeepTogether(group))
            else:
                story.extend(group)

    footer = _fit(f"{paper.council} · {paper.committee} · {paper.short_period}", WIDTH - 60)

    def decorate(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Sans", 7.5)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(MARGIN, MARGIN / 2, footer)
        canvas.drawRightString(A4[0] - MARGIN, MARGIN / 2, f"Page {doc.page}")
        canvas.restoreState()

    document.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()


def _rule() -> Flowable:
    line = PdfTable([[""]], colWidths=[WIDTH], rowHeights=[2])
    line.setStyle(TableStyle([("LINEABOVE", (0, 0), (-1, 0), 1.5, colors.black)]))
    return line


def _block(
    block: Block, charts: Mapping[str, bytes], styles: dict[str, ParagraphStyle]
) -> tuple[list[Flowable], bool]:
    """A block's flowables, and whether they must stay on one page together."""
    if isinstance(block, Paragraph):
        return [PdfParagraph(escape(block.text), styles[block.style])], True
    if isinstance(block, ChartRef):
        png = charts.get(block.name)
        if png is None:
            return [], False
        image = Image(BytesIO(png))
        scale = WIDTH / image.imageWidth
        image.drawWidth, image.drawHeight = WIDTH, image.imageHeight * scale
        return [image, PdfParagraph(escape(block.caption), styles["caption"])], True
    return _table(block, styles)


def _table(table: Table, styles: dict[str, ParagraphStyle]) -> tuple[list[Flowable], bool]:
    def cells(values: tuple[str, ...], head: bool = False) -> list[PdfParagraph | str]:
        # Figures are short: plain strings (styled by the table) are much cheaper to lay out
        # than a Paragraph per cell; text columns wrap, so they get Paragraphs.
        out: list[PdfParagraph | str] = []
        for i, value in enumerate(values):
            if i >= table.text_columns and not head:
                out.append(value)
            else:
                style = ("head" if head else "cell") + ("_n" if i >= table.text_columns else "")
                out.append(PdfParagraph(escape(value), styles[style]))
        return out

    data = [cells(table.columns, head=True)] + [cells(row) for row in table.rows]
    if table.total is not None:
        data.append(cells(table.total, head=True))
    weights = table.widths or (3.0,) + (1.0,) * (len(table.columns) - 1)
    col_widths = [WIDTH * w / sum(weights) for w in weights]
    pdf_table = PdfTable(data, colWidths=col_widths, repeatRows=1, hAlign="LEFT")
    commands: list[Any] = [
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONT", (table.text_columns, 1), (-1, -1), "Sans", 8, 10),
        ("ALIGN", (table.text_columns, 1), (-1, -1), "RIGHT"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if table.total is not None:
        commands.append(("LINEABOVE", (0, -1), (-1, -1), 1, colors.black))
        commands.append(("FONT", (table.text_columns, -1), (-1, -1), "Sans-Bold", 8, 10))
    pdf_table.setStyle(TableStyle(commands))
    parts: list[Flowable] = [pdf_table]
    if table.caption:
        parts.append(PdfParagraph(escape(table.caption), styles["caption"]))
    else:
        parts.append(Spacer(1, 8))
    # Short tables stay whole on one page; long ones split, repeating their header row.
    return parts, len(table.rows) < 25


def _fit(text: str, width: float, font: str = "Sans", size: float = 7.5) -> str:
    """Shorten ``text`` with an ellipsis until it fits ``width`` points."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"
