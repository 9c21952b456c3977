"""The tamper-evident decision log, on SQLite and PostgreSQL: what is logged, and what is caught."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from bot.container import Container, build
from bot.services.review import Action, DecisionRequest, Recorded, Requested
from storage import migrate
from storage.audit.canonical import GENESIS_HASH, event_hash
from storage.audit.capture import AuditBypass, insert_logged
from storage.audit.chain import EVENTS
from storage.audit.verify import Anchor, Report, verify
from storage.db import make_engine, session_factory
from storage.models import CannedResponseVersion, Classification, Member, ReviewItem
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.integration.helpers import incoming

CLERK, DEPUTY, JO, SAM = "U0CLERK", "U0DEPUTY", "U0SMAT1", "U0SMAT2"
MEMBERS = [
    {"slack_user_id": CLERK, "role": "clerk", "name": "Town Clerk"},
    {"slack_user_id": DEPUTY, "role": "deputy", "name": "Dee Deputy"},
    {"slack_user_id": JO, "role": "smat", "name": "Jo"},
    {"slack_user_id": SAM, "role": "smat", "name": "Sam"},
]
ACCOUNT = {
    "name": "fb-main",
    "platform": "facebook",
    "id": "ExampleTownCouncil",
    "display_name": "Example Town Council",
    "token": "env:FB_TOKEN",
}
ABUSE, CRITICISM = 1, 2  # review item ids


def _settings(make_settings: MakeSettings, **overrides: Any) -> Any:
    return make_settings(members=MEMBERS, accounts=[ACCOUNT], **overrides)


@pytest.fixture
def container(make_settings: MakeSettings) -> Container:
    """A council's day: a hide, a declined removal, membership changes and a reply edited."""
    container = build(_settings(make_settings), classifier=KeywordClassifier(), clock=FakeClock())
    container.ingest().ingest(
        [
            incoming("c1", "You stupid useless idiot"),
            incoming("c2", "The council wasted our money on the lights again."),
        ]
    )
    hidden = container.review.decide(
        DecisionRequest(ABUSE, 1, Action.HIDE, JO, reason_code="obscene_or_sexual", note="abuse")
    )
    assert isinstance(hidden, Recorded)
    asked = container.review.decide(
        DecisionRequest(CRITICISM, 1, Action.HIDE, JO, reason_code="defamatory")
    )
    assert isinstance(asked, Requested)
    assert container.review.resolve(asked.request_id, SAM, approve=False) is None
    change = container.members.add(DEPUTY, "U0NEW", "smat", "Newcomer")
    container.members.mark_reviewed(CLERK, change.event_id)  # a bulk UPDATE
    container.members.remove(CLERK, "U0NEW")
    with container.sessions.begin() as session:
        session.add(
            CannedResponseVersion(
                key="thanks",
                version=2,
                title="Thank you",
                body="Thank you for your comment; we have passed it on.",
                created_by=CLERK,
                created_at=container.clock(),
            )
        )
    return container


def _events(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(EVENTS).order_by(EVENTS.c.seq)).mappings())


def _event_for(engine: Engine, table: str, row_id: int, kind: str = "created") -> Any:
    return next(
        e
        for e in _events(engine)
        if e["subject_table"] == table and e["subject_id"] == row_id and e["kind"] == kind
    )


def _ok(report: Report) -> None:
    assert report.ok, report.as_dict()


# ---------------------------------------------------------------- what is logged


def test_decisions_and_admin_changes_form_one_unbroken_chain(container: Container) -> None:
    events = _events(container.engine)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["prev_hash"] == GENESIS_HASH
    for before, after in itertools.pairwise(events):
        assert after["prev_hash"] == before["hash"]
    for event in events:
        assert event_hash(event) == event["hash"]
    subjects = {(e["subject_table"], e["kind"]) for e in events}
    assert {
        ("settings", "settings"),
        ("accounts", "created"),
        ("classifications", "created"),
        ("preserved_records", "created"),
        ("decisions", "created"),
        ("decision_outcomes", "created"),
        ("removal_requests", "created"),
        ("removal_requests", "updated"),
        ("smat_members", "created"),
        ("smat_members", "updated"),
        ("member_events", "created"),
        ("member_events", "updated"),
        ("canned_responses", "created"),
    } <= subjects
    _ok(verify(container.engine))


def test_a_decision_event_names_the_person_reason_model_and_thresholds(
    container: Container,
) -> None:
    event = _event_for(container.engine, "decisions", 1)
    assert (event["actor_kind"], event["actor_id"], event["actor_name"]) == ("person", JO, "Jo")
    assert event["reason_code"] == "obscene_or_sexual"
    assert event["model"] == "keyword-test test 1"
    thresholds = json.loads(event["thresholds"])
    assert thresholds == container.settings.policy.thresholds
    payload = json.loads(event["payload"])
    assert payload["action"] == "hide"
    assert payload["note"] == "abuse"
    # The original was preserved in the same transaction and is credited to the same person.
    preserved = _event_for(container.engine, "preserved_records", 1)
    assert preserved["actor_id"] == JO
    assert json.loads(preserved["payload"])["text"] == "You stupid useless idiot"
    assert preserved["seq"] < event["seq"]


def test_suggestions_are_logged_by_the_system_with_model_and_thresholds(
    container: Container,
) -> None:
    event = _event_for(container.engine, "classifications", 1)
    assert (event["actor_kind"], event["actor_id"]) == ("system", None)
    assert event["model"] == "keyword-test test 1"
    assert json.loads(event["thresholds"]) == container.settings.policy.thresholds


def test_admin_changes_name_who_made_them(container: Container) -> None:
    with container.sessions() as session:
        newcomer = session.scalar(select(Member.id).where(Member.slack_user_id == "U0NEW"))
    added = _event_for(container.engine, "smat_members", newcomer)
    removed = _event_for(container.engine, "smat_members", newcomer, "updated")
    reviewed = next(
        e
        for e in _events(container.engine)
        if e["subject_table"] == "member_events" and e["kind"] == "updated"
    )
    declined = _event_for(container.engine, "removal_requests", 1, "updated")
    edited = next(
        e
        for e in _events(container.engine)
        if e["subject_table"] == "canned_responses" and json.loads(e["payload"])["version"] == 2
    )
    assert (added["actor_id"], added["actor_name"]) == (DEPUTY, "Dee Deputy")
    assert (removed["actor_id"], json.loads(removed["payload"])["active"]) == (CLERK, False)
    assert reviewed["actor_id"] == CLERK
    assert declined["actor_id"] == SAM
    assert json.loads(declined["payload"])["status"] == "declined"
    assert edited["actor_id"] == CLERK


def test_settings_are_logged_when_they_change_and_only_then(
    container: Container, make_settings: MakeSettings
) -> None:
    def settings_events() -> list[Any]:
        return [e for e in _events(container.engine) if e["subject_table"] == "settings"]

    assert len(settings_events()) == 1
    build(_settings(make_settings), classifier=KeywordClassifier(), clock=FakeClock())
    assert len(settings_events()) == 1  # a restart with the same settings logs nothing
    stricter = dict(container.settings.policy.thresholds, insult=0.5)
    build(
        _settings(make_settings, policy={"thresholds": stricter}),
        classifier=KeywordClassifier(),
        clock=FakeClock(),
    )
    latest = settings_events()[-1]
    assert len(settings_events()) == 2
    assert latest["actor_kind"] == "system"
    assert json.loads(latest["thresholds"])["insult"] == 0.5
    assert json.loads(latest["payload"])["policy"]["thresholds"]["insult"] == 0.5
    _ok(verify(container.engine))


def test_a_change_rolled_back_in_a_savepoint_leaves_no_event(container: Container) -> None:
    before = len(_events(container.engine))
    with container.sessions.begin() as session:
        savepoint = session.begin_nested()
        session.add(
            CannedResponseVersion(
                key="oops",
                version=1,
                title="t",
                body="b",
                created_by=CLERK,
                created_at=container.clock(),
            )
        )
        session.flush()
        savepoint.rollback()
    with container.sessions.begin() as session:
        session.add(
            Member(
                slack_user_id="U0OTHER", role="viewer", added_by=CLERK, added_at=container.clock()
            )
        )
        session.rollback()
    assert len(_events(container.engine)) == before
    _ok(verify(container.engine))


def test_an_imports_classifications_are_each_logged_with_their_stored_row(
    container: Container,
) -> None:
    container.ingest().ingest(
        [incoming(f"bulk{n}", f"Comment number {n} about the bins") for n in range(70)]
    )
    table = Classification.__table__
    with container.engine.connect() as connection:
        rows = {row["id"]: row for row in connection.execute(select(table)).mappings()}
    logged = [
        e
        for e in _events(container.engine)
        if e["subject_table"] == "classifications" and e["kind"] == "created"
    ]
    assert sorted(e["subject_id"] for e in logged) == sorted(rows)  # each one, once
    for event in logged:
        payload = json.loads(event["payload"])
        row = rows[event["subject_id"]]
        assert payload["comment_version_id"] == row["comment_version_id"]
        assert payload["scores"] == row["scores"]
        assert payload["detections"] == row["detections"]
    _ok(verify(container.engine))


def test_a_bulk_insert_the_log_is_told_of_leaves_no_event_when_rolled_back(
    container: Container,
) -> None:
    before = len(_events(container.engine))
    row = {
        "comment_version_id": 1,
        "model_name": "m",
        "model_version": "1",
        "scores": {},
        "thresholds": {},
        "detections": {},
        "suggested_action": "approve",
        "explanation": "x",
        "classified_at": container.clock(),
    }
    with container.sessions.begin() as session:
        savepoint = session.begin_nested()
        ids = insert_logged(session, Classification, [row], key="comment_version_id")
        assert list(ids) == [1]
        savepoint.rollback()
    assert len(_events(container.engine)) == before
    _ok(verify(container.engine))


def test_a_bulk_insert_the_log_cannot_use_is_refused(container: Container) -> None:
    with container.sessions.begin() as session:
        with pytest.raises(ValueError, match="ReviewItem is not audited"):
            insert_logged(session, ReviewItem, [{"comment_id": 1}], key="comment_id")
        with pytest.raises(ValueError, match="comment_version_id values must differ"):
            insert_logged(
                session,
                Classification,
                [{"comment_version_id": 1}, {"comment_version_id": 1}],
                key="comment_version_id",
            )


def test_a_bulk_insert_into_an_audited_table_is_refused(container: Container) -> None:
    with pytest.raises(AuditBypass, match="canned_responses"), container.sessions.begin() as s:
        s.execute(
            insert(CannedResponseVersion).values(
                key="x",
                version=1,
                title="t",
                body="b",
                created_by=CLERK,
                created_at=container.clock(),
            )
        )


def test_a_bulk_write_through_the_bare_table_is_refused_too(container: Container) -> None:
    table = CannedResponseVersion.__table__
    row = {
        "key": "x",
        "version": 1,
        "title": "t",
        "body": "b",
        "created_by": CLERK,
        "created_at": container.clock(),
    }
    with pytest.raises(AuditBypass, match="canned_responses"), container.sessions.begin() as s:
        s.execute(insert(table).values(**row))


def test_an_update_with_bound_values_is_logged_for_the_rows_it_changed(
    container: Container,
) -> None:
    """A statement built once with bindparam()s picks its rows by the values passed to it."""
    rename = (
        update(Member)
        .where(Member.slack_user_id == bindparam("who"))
        .values(display_name=bindparam("new_name"))
    )
    before = len(_events(container.engine))
    with container.sessions.begin() as s:
        jo = s.scalars(select(Member).where(Member.slack_user_id == JO)).one()
        s.execute(rename, {"who": JO, "new_name": "Jo Bloggs"})
    renamed = _events(container.engine)[before:]
    assert [(e["subject_table"], e["kind"], e["subject_id"]) for e in renamed] == [
        ("smat_members", "updated", jo.id)
    ]
    assert json.loads(renamed[0]["payload"])["display_name"] == "Jo Bloggs"
    _ok(verify(container.engine))


def test_log_events_are_append_only(container: Container) -> None:
    for statement in ("UPDATE audit_events SET actor_name = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), container.engine.begin() as c:
            c.execute(text(statement))
    if container.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), container.engine.begin() as c:
            c.execute(text("TRUNCATE audit_events"))
    _ok(verify(container.engine))


# ---------------------------------------------------------------- tampering is caught


def _without_guards(engine: Engine) -> None:
    """What an administrator with database access can do: switch the append-only guards off."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            for name in (
                "decisions_no_update",
                "decisions_no_delete",
                "audit_events_no_update",
                "audit_events_no_delete",
            ):
                connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        else:
            for table in ("decisions", "audit_events"):
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def _sql(engine: Engine, statement: str, **params: Any) -> None:
    _without_guards(engine)
    with engine.begin() as connection:
        connection.execute(text(statement), params)


def _rehash(engine: Engine, seq: int, **changes: Any) -> None:
    """Alter an event as someone who knows the hash recipe would: recomputing its hash."""
    event = dict(_event_at(engine, seq))
    event.update(changes)
    sets = ", ".join(f"{name} = :{name}" for name in changes)
    _sql(
        engine,
        f"UPDATE audit_events SET {sets}, hash = :hash WHERE seq = :seq",
        **changes,
        hash=event_hash(event),
        seq=seq,
    )


def _event_at(engine: Engine, seq: int) -> Any:
    with engine.connect() as connection:
        return connection.execute(select(EVENTS).where(EVENTS.c.seq == seq)).mappings().one()


def _decision_seq(engine: Engine) -> int:
    return int(_event_for(engine, "decisions", 1)["seq"])


def test_editing_a_decision_in_the_database_is_caught(container: Container) -> None:
    _sql(container.engine, "UPDATE decisions SET reason_code = 'defamatory' WHERE id = 1")
    report = verify(container.engine)
    assert report.chain_problem is None
    [problem] = report.row_problems
    assert (problem.what, problem.table, problem.row_id) == ("row_altered", "decisions", 1)
    assert "reason_code" in problem.message
    assert problem.seq == _decision_seq(container.engine)


def test_editing_a_preserved_record_is_caught(container: Container) -> None:
    _sql(container.engine, "UPDATE preserved_records SET text = 'Have a nice day' WHERE id = 1")
    [problem] = verify(container.engine).row_problems
    assert (problem.what, problem.table, problem.row_id) == ("row_altered", "preserved_records", 1)
    assert "text" in problem.message


def test_editing_a_member_row_is_caught(container: Container) -> None:
    _sql(container.engine, "UPDATE smat_members SET role = 'clerk' WHERE slack_user_id = :u", u=JO)
    [problem] = verify(container.engine).row_problems
    assert (problem.what, problem.table) == ("row_altered", "smat_members")
    assert "role" in problem.message


def test_a_record_added_behind_the_logs_back_is_caught(container: Container) -> None:
    _sql(
        container.engine,
        "INSERT INTO decisions (review_item_id, comment_id, comment_version_id, review_version,"
        " action, actor_kind, actor_slack_id, actor_name, decided_at)"
        " SELECT review_item_id, comment_id, comment_version_id, review_version, 'approve',"
        " actor_kind, actor_slack_id, actor_name, decided_at FROM decisions WHERE id = 1",
    )
    [problem] = verify(container.engine).row_problems
    assert (problem.what, problem.table, problem.row_id) == ("row_unlogged", "decisions", 2)


def test_a_record_deleted_behind_the_logs_back_is_caught(container: Container) -> None:
    _sql(container.engine, "DELETE FROM member_events WHERE id = 2")
    [problem] = verify(container.engine).row_problems
    assert (problem.what, problem.table, problem.row_id) == ("row_removed", "member_events", 2)


def test_deleting_an_event_is_caught(container: Container) -> None:
    seq = _decision_seq(container.engine)
    _sql(container.engine, "DELETE FROM audit_events WHERE seq = :seq", seq=seq)
    report = verify(container.engine)
    assert report.chain_problem is not None
    assert (report.chain_problem.what, report.chain_problem.seq) == ("removed", seq)
    assert f"event {seq} missing" in report.chain_problem.message
    # and the decision it logged is now a record the log does not know
    assert ("decisions", 1) in {(p.table, p.row_id) for p in report.row_problems}


def test_altering_an_events_payload_is_caught(container: Container) -> None:
    seq = _decision_seq(container.engine)
    payload = json.loads(_event_at(container.engine, seq)["payload"])
    payload["note"] = "it was criticism"
    _sql(
        container.engine,
        "UPDATE audit_events SET payload = :p WHERE seq = :seq",
        p=json.dumps(payload),
        seq=seq,
    )
    problem = verify(container.engine).chain_problem
    assert problem is not None
    assert (problem.what, problem.seq, problem.table, problem.row_id) == (
        "altered",
        seq,
        "decisions",
        1,
    )


def test_an_event_altered_and_rehashed_breaks_the_next_link(container: Container) -> None:
    seq = _decision_seq(container.engine)
    _rehash(container.engine, seq, actor_name="Sam")
    problem = verify(container.engine).chain_problem
    assert problem is not None
    assert (problem.what, problem.seq) == ("relinked", seq + 1)
    assert f"event {seq} was altered" in problem.message


def test_a_forged_event_inserted_into_the_chain_is_caught(container: Container) -> None:
    engine = container.engine
    seq = _decision_seq(engine)
    # Make room after the decision's event and slip a forged one in, hashed properly.
    _without_guards(engine)
    with engine.begin() as connection:
        last = connection.execute(select(EVENTS.c.seq).order_by(EVENTS.c.seq.desc())).first()
        assert last is not None
        for moving in range(last.seq, seq, -1):
            connection.execute(
                text("UPDATE audit_events SET seq = :new WHERE seq = :old"),
                {"new": moving + 1, "old": moving},
            )
        before = connection.execute(select(EVENTS).where(EVENTS.c.seq == seq)).mappings().one()
        # Each prev_hash may appear once, so the forgery cannot claim the real link.
        forged = dict(before, seq=seq + 1, kind="updated", prev_hash="f" * 64)
        forged["hash"] = event_hash(forged)
        connection.execute(insert(EVENTS).values(**forged))
    problem = verify(engine).chain_problem
    assert problem is not None
    assert (problem.what, problem.seq) == ("relinked", seq + 1)
    assert f"event {seq + 1} (updated decisions #1)" in problem.message


def test_reordering_events_is_caught(container: Container) -> None:
    engine = container.engine
    seq = _decision_seq(engine)
    _without_guards(engine)
    with engine.begin() as connection:
        for old, new in ((seq, -1), (seq + 1, seq), (-1, seq + 1)):
            connection.execute(
                text("UPDATE audit_events SET seq = :new WHERE seq = :old"),
                {"new": new, "old": old},
            )
    problem = verify(engine).chain_problem
    assert problem is not None
    assert (problem.what, problem.seq) == ("altered", seq)


def test_a_published_head_catches_a_rewritten_or_shortened_log(container: Container) -> None:
    engine = container.engine
    head = _events(engine)[-1]
    anchor = Anchor(head["seq"], head["hash"])
    _ok(verify(engine, anchor))
    # Rewrite the log from the decision on, recomputing every hash: the chain alone looks fine.
    seq = _decision_seq(engine)
    _without_guards(engine)
    prev = _event_at(engine, seq - 1)["hash"]
    for event in _events(engine)[seq - 1 :]:
        changed = dict(event, prev_hash=prev)
        if event["seq"] == seq:
            changed["reason_code"] = "defamatory"
        changed["hash"] = event_hash(changed)
        _sql(
            engine,
            "UPDATE audit_events SET reason_code = :r, prev_hash = :p, hash = :h WHERE seq = :s",
            r=changed["reason_code"],
            p=changed["prev_hash"],
            h=changed["hash"],
            s=event["seq"],
        )
        prev = changed["hash"]
    assert verify(engine).chain_problem is None
    problem = verify(engine, anchor).anchor_problem
    assert problem is not None
    assert (problem.what, problem.seq) == ("anchor", head["seq"])
    # Dropping the tail (the events and their rows) is caught by the published head too.
    _sql(engine, "DELETE FROM audit_events WHERE seq >= :s", s=head["seq"] - 1)
    problem = verify(engine, anchor).anchor_problem
    assert problem is not None
    assert "removed from its end" in problem.message


# ---------------------------------------------------------------- upgrades and concurrency


def test_records_kept_before_the_log_existed_are_its_starting_point(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine, "0004")
    now = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(CannedResponseVersion.__table__).values(  # type: ignore[arg-type]
                key="thanks",
                version=1,
                title="Thanks",
                body="Thank you.",
                created_by="config",
                created_at=now,
            )
        )
    migrate.upgrade(engine)
    [event] = _events(engine)
    assert (event["kind"], event["subject_table"], event["subject_id"]) == (
        "baseline",
        "canned_responses",
        1,
    )
    _ok(verify(engine))


@pytest.mark.postgres
def test_concurrent_writers_never_fork_the_chain(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    writers, each = 8, 10
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            barrier.wait()
            for n in range(each):
                with sessions.begin() as session:
                    session.add(
                        CannedResponseVersion(
                            key=f"k{worker}",
                            version=n + 1,
                            title="t",
                            body=f"body {worker}.{n}",
                            created_by=CLERK,
                            created_at=datetime.now(UTC),
                        )
                    )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify(engine)
    _ok(report)
    assert report.events == writers * each
    assert report.rows_checked["canned_responses"] == writers * each
    engine.dispose()
