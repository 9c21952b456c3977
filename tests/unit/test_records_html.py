"""The evidence page: untrusted text is inert, isolated, and its hidden characters named."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from bot.records.html_page import esc, evidence_page, hidden_characters, untrusted

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
RTL = "harmless \u202etxt.exe"
SLACK = "<!channel> <@U0CLERK> *bold* <https://evil.example|click>"


def test_escaping_makes_markup_text() -> None:
    assert esc(SCRIPT) == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    )
    assert esc("it's") == "it&#x27;s"
    assert esc(None) == "—"


def test_hidden_characters_are_named_but_newlines_are_not() -> None:
    assert hidden_characters("a\nb\tc") == []
    named = hidden_characters(RTL + "\u200b\u200b")
    assert named[0].startswith("U+202E RIGHT-TO-LEFT OVERRIDE")
    assert named[1] == "U+200B ZERO WIDTH SPACE (x2)"
    block = untrusted(RTL)
    assert "<bdi>" in block
    assert "RIGHT-TO-LEFT OVERRIDE" in block


def _pack(text: str) -> dict[str, Any]:
    person = {"slack_id": "U0CLERK", "name": text}
    return {
        "council": text,
        "generated_by": text,
        "generated_at_local": "2026-11-16 09:00:00 GMT",
        "folder": "evidence-comment-1-20261116T090000Z",
        "comment": {
            "id": 1,
            "platform": "facebook",
            "account": {"display_name": text},
            "post_title": text,
            "post_id": "p",
            "author": {"display_name": text, "external_id": text},
            "created_at_local": "2026-11-16 10:00:00 GMT",
            "external_id": text,
            "permalink": "javascript:alert(1)",
            "deleted_at": None,
            "versions": [{"version": 1, "seen_at": "t", "text": text, "content_sha256": "ab"}],
        },
        "preserved": [
            {
                "id": 1,
                "preserved_at": "t",
                "verified": True,
                "status": "signature and content hash verified",
                "content_sha256": "ab",
                "signature": "cd",
                "file": "preserved/record-1.json",
                "text": text,
                "thread": {"parent": {"author": text, "text": text}},
            }
        ],
        "thread": {
            "comments": [{"relation": "reply", "author": text, "created_at": "t", "text": text}]
        },
        "escalations": [
            {
                "reason": text,
                "escalated_at_local": "t",
                "escalated_by": person,
                "offences": [{"label": text, "legislation": [text]}],
                "note": text,
                "status": "open",
                "outcome": None,
                "outcome_note": text,
            }
        ],
        "classifications": [
            {
                "comment_version": 1,
                "model_name": text,
                "model_version": text,
                "scores": {"insult": 0.9},
                "detections": {"link": [text]},
                "suggested_action": "hide",
                "reason_code": text,
                "clause": text,
                "explanation": text,
            }
        ],
        "timeline": [{"at_local": "t", "event": "posted", "by": text, "detail": text}],
        "author_history": {
            "strike_count": 1,
            "comments": [
                {
                    "created_at": "t",
                    "text": text,
                    "decisions": [{"action": "hide", "reason_code": text, "decided_at": "t"}],
                }
            ],
        },
    }


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


def test_the_page_has_no_script_link_or_resource_whatever_the_residents_wrote() -> None:
    page = evidence_page(_pack(SCRIPT + RTL + SLACK))
    parsed = _Tags()
    parsed.feed(page)
    allowed = {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "h3",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "b",
        "p",
        "div",
        "bdi",
        "span",
        "code",
        "ul",
        "li",
    }
    assert parsed.tags <= allowed, parsed.tags - allowed
    assert parsed.attributes <= {"lang", "charset", "http-equiv", "content", "name", "class"}
    assert "<script" not in page.lower()
    assert "Content-Security-Policy" in page
    assert "default-src &#x27;none&#x27;" in page  # decoded by the browser
    assert "&lt;!channel&gt;" in page
    assert "RIGHT-TO-LEFT OVERRIDE" in page
    # Every occurrence of the override sits inside an isolating <bdi>.
    for match in re.finditer("\u202e", page):
        before = page[: match.start()]
        assert before.rfind("<bdi>") > before.rfind("</bdi>")
