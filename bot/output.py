"""Terminal output for the CLI: the triage queue as a table.

Resident-written text is wrapped in ``rich.text.Text`` (never parsed as Rich markup) and
stripped of terminal control characters, so a comment cannot restyle or hijack the terminal.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.cards import TriageCard, load_cards
from bot.container import Container
from storage.db import reading

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
ACTION_STYLE = {"escalate": "bold red", "hide": "red", "review": "yellow", "approve": "green"}


def safe_text(text: str, limit: int = 160) -> Text:
    """Untrusted text made safe for a terminal: no control characters, one line, cut short."""
    cleaned = CONTROL.sub("", text).replace("\n", " ⏎ ")
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return Text(cleaned)


def print_queue(console: Console, container: Container, *, limit: int) -> None:
    """Print pending triage items, most urgent first."""
    with reading(container.sessions) as session:
        cards = load_cards(session)
    if not cards:
        console.print("The triage queue is empty.", markup=False)
        return
    table = Table(title=f"Triage queue: {len(cards)} pending", show_lines=True, expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Where / who", ratio=2)
    table.add_column("Comment", ratio=4)
    table.add_column("Scores · detected", ratio=2)
    table.add_column("Suggested", ratio=3)
    for card in cards[:limit]:
        table.add_row(
            str(card.review_item_id),
            Text.assemble(
                safe_text(f"{card.platform.display_name} · {card.account_name}"),
                "\n",
                safe_text(card.author_name),
            ),
            safe_text(card.text),
            _scores(card),
            _suggestion(card),
        )
    console.print(table)
    models = sorted({card.model_name for card in cards if card.model_name})
    more = f" (showing {limit})" if len(cards) > limit else ""
    console.print(f"Classified by: {', '.join(models) or 'nothing yet'}{more}", markup=False)
    console.print(
        "Suggestions only: a SMAT member decides. Criticism of the council is never a reason "
        "to remove a comment.",
        markup=False,
    )


def _scores(card: TriageCard) -> Text:
    text = Text(", ".join(f"{label} {score:.2f}" for label, score in card.top_scores()))
    if card.detections:
        kinds = ", ".join(kind.replace("_", " ") for kind in card.detections)
        text.append(f"\n{kinds}", style="magenta")
    return text


def _suggestion(card: TriageCard) -> Text:
    text = Text(card.suggested_action.upper(), style=ACTION_STYLE.get(card.suggested_action, ""))
    if card.reason_code:
        text.append(f" — {card.reason_code.replace('_', ' ')}")
        if card.clause:
            text.append(f" ({card.clause})")
    if card.flagged:
        text.append(f"\n{card.explanation}", style="dim")
    return text
