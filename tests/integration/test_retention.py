"""The retention purge and legal holds on SQLite and PostgreSQL: held records are never touched."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.hashing import content_sha256
from bot.services.legal_holds import AUTHOR, HoldActor, HoldRefused
from bot.services.purge import ACTION_PENDING, BLOCK_IN_FORCE, LEGAL_HOLD, PLACEHOLDER
from bot.services.review import Action, DecisionRequest, Requested
from storage.models import (
    Author,
    Base,
    Classification,
    Comment,
    CommentVersion,
    Decision,
    Escalation,
    LegalHold,
    PreservedRecord,
    PurgedComment,
    PurgeRun,
    Reply,
)
from tests.conftest import MakeSettings
from tests.integration.helpers import incoming
from tests.integration.records_world import CLERK, DEPUTY, SMAT1, World, build_world

LOG_TABLES = {"purge_runs", "outbox", "audit_events"}
"""Tables a purge writes to on every run (its own log, and the audit event for it; card updates)."""


@pytest.fixture
def world(make_settings: MakeSettings) -> World:
    world = build_world(make_settings)
    holds = world.container.holds
    holds.set(
        str(world.ids["approved_held"]), "Ombudsman complaint 2027/14", HoldActor.slack(CLERK)
    )
    holds.set(
        str(world.ids["removed_held"]),
        "Harassment case",
        HoldActor.cli("A. Volunteer"),
        scope=AUTHOR,
    )
    holds.set(str(world.ids["disciplinary_held"]), "Grievance hearing", HoldActor.slack(DEPUTY))
    return world


def snapshot(world: World, *, skip: set[str] = frozenset()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a comparable form."""
    with world.container.engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(table.select().order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
            if table.name not in skip
        }


def texts(world: World) -> dict[str, str]:
    """Each comment's stored text (its current version), by name."""
    with world.container.sessions() as session:
        return {
            name: session.scalars(
                select(CommentVersion.text).where(CommentVersion.comment_id == cid)
            ).one()
            for name, cid in world.ids.items()
        }


def test_dry_run_lists_what_would_go_per_class_and_changes_nothing(world: World) -> None:
    world.clock.advance(days=2200)  # past every period
    before = snapshot(world)
    report = world.container.purge().dry_run()
    assert snapshot(world) == before
    ids = world.ids
    assert report.purged == {
        "approved_comment": [ids["approved"]],
        "removed_comment": [ids["removed"]],
        "evidence_criminal": [ids["criminal"]],
    }
    assert report.kept == {
        LEGAL_HOLD: sorted([ids["approved_held"], ids["removed_held"], ids["disciplinary_held"]]),
        BLOCK_IN_FORCE: [ids["blocked"]],
        ACTION_PENDING: [ids["in_flight"]],
    }
    assert report.run_id is None


def test_purge_erases_the_expired_never_the_held_and_keeps_every_decision(world: World) -> None:
    container = world.container
    with container.sessions.begin() as session:
        approve = session.scalars(
            select(Decision).where(Decision.comment_id == world.ids["approved"])
        ).one()
        session.add(
            Reply(
                decision_id=approve.id,
                text="Thank you Ann Approved, we are glad you enjoyed them.",
                created_at=world.clock(),
            )
        )
    decisions_before = snapshot(world)["decisions"]
    before_texts = texts(world)
    world.clock.advance(days=2200)

    report = container.purge().purge(started_by="cli:test")

    assert report.total == 3
    after = texts(world)
    for name in ("approved", "removed", "criminal"):
        assert after[name] == PLACEHOLDER
    for name in (
        "approved_held",
        "removed_held",
        "disciplinary_held",
        "blocked",
        "pending",
        "in_flight",
    ):
        assert after[name] == before_texts[name], name
    assert snapshot(world)["decisions"] == decisions_before
    with container.sessions() as session:
        for record in session.scalars(select(PreservedRecord)):
            purged = record.comment_id in (world.ids["removed"], world.ids["criminal"])
            assert (record.text == PLACEHOLDER) is purged
            assert (record.author_display_name == "") is purged
            assert len(record.content_sha256) == 64  # the seal stays
            held = record.comment_id in (world.ids["removed_held"], world.ids["disciplinary_held"])
            assert record.legal_hold is held
        names = {a.id: a.display_name for a in session.scalars(select(Author))}
        authors = {
            name: names[session.get_one(Comment, cid).author_id] for name, cid in world.ids.items()
        }
        assert authors["approved"] == authors["removed"] == authors["criminal"] == "[removed]"
        assert authors["approved_held"] == "Bea Held"
        assert authors["removed_held"] == "Dee Authorheld"
        assert authors["blocked"] == "Gus Blocked"
        reply = session.scalars(select(Reply)).one()
        assert reply.text == "Thank you [name removed], we are glad you enjoyed them."
        version = session.scalars(
            select(CommentVersion).where(CommentVersion.comment_id == world.ids["removed"])
        ).one()
        assert version.raw_payload == {}
        assert version.content_sha256 == content_sha256(PLACEHOLDER)
        run = session.get_one(PurgeRun, report.run_id)
        assert (run.status, run.started_by) == ("done", "cli:test")
        assert run.purged == {"approved_comment": 1, "evidence_criminal": 1, "removed_comment": 1}
        assert run.kept == {ACTION_PENDING: 1, BLOCK_IN_FORCE: 1, LEGAL_HOLD: 3}
        assert run.authors_anonymised == 3
        logged = {p.comment_id: p.retention_class for p in session.scalars(select(PurgedComment))}
        assert logged == {
            world.ids["approved"]: "approved_comment",
            world.ids["removed"]: "removed_comment",
            world.ids["criminal"]: "evidence_criminal",
        }


def test_purging_twice_is_a_no_op(world: World) -> None:
    world.clock.advance(days=2200)
    world.container.purge().purge(started_by="scheduler")
    before = snapshot(world, skip=LOG_TABLES)
    again = world.container.purge().purge(started_by="scheduler")
    assert again.total == 0
    assert again.authors_anonymised == []
    assert snapshot(world, skip=LOG_TABLES) == before
    assert world.container.purge().dry_run().purged == {}


def test_each_class_goes_only_when_its_own_period_ends(world: World) -> None:
    purge = world.container.purge()
    world.clock.advance(days=364)
    assert purge.dry_run().purged == {}
    world.clock.advance(days=2)  # 366 days: approved comments (a year)
    assert purge.dry_run().purged == {"approved_comment": [world.ids["approved"]]}
    world.clock.advance(days=365)  # 731 days: removed comments (two years)
    assert set(purge.dry_run().purged) == {"approved_comment", "removed_comment"}
    world.clock.advance(days=2190 - 731 + 1)  # six years: evidence
    assert set(purge.dry_run().purged) == {
        "approved_comment",
        "removed_comment",
        "evidence_criminal",
    }


def test_a_released_hold_lets_the_next_purge_take_it_and_its_history_stays(world: World) -> None:
    container = world.container
    world.clock.advance(days=2200)
    container.purge().purge(started_by="scheduler")
    released = container.holds.release(
        str(world.ids["approved_held"]), HoldActor.slack(CLERK), reason="Complaint closed"
    )
    assert released.released_by == CLERK
    report = container.purge().purge(started_by="scheduler")
    assert report.purged == {"approved_comment": [world.ids["approved_held"]]}
    with container.sessions() as session:
        holds = session.scalars(select(LegalHold).order_by(LegalHold.id)).all()
    assert len(holds) == 3  # nothing deleted
    assert [h.released_at is not None for h in holds] == [True, False, False]
    assert holds[0].release_reason == "Complaint closed"
    assert holds[1].set_by == "cli:A. Volunteer"


def test_only_the_clerk_or_deputy_may_hold_and_a_hold_is_not_doubled(world: World) -> None:
    holds = world.container.holds
    target = str(world.ids["removed"])
    with pytest.raises(HoldRefused) as refused:
        holds.set(target, "I think we should keep it", HoldActor.slack(SMAT1))
    assert refused.value.code == "not_allowed"
    with pytest.raises(HoldRefused) as no_reason:
        holds.set(target, "  ", HoldActor.slack(CLERK))
    assert no_reason.value.code == "reason_required"
    holds.set(target, "Police request PC 123", HoldActor.slack(CLERK))
    with pytest.raises(HoldRefused) as twice:
        holds.set(target, "Again", HoldActor.slack(DEPUTY))
    assert twice.value.code == "already_held"
    with pytest.raises(HoldRefused) as unknown:
        holds.set("999999", "Something", HoldActor.slack(CLERK))
    assert unknown.value.code == "unknown_comment"
    with pytest.raises(HoldRefused) as not_held:
        holds.release(str(world.ids["approved"]), HoldActor.slack(CLERK))
    assert not_held.value.code == "not_held"
    # The platform's own comment id finds the same comment.
    assert holds.release("removed", HoldActor.cli("Jo")).comment_id == world.ids["removed"]


def test_a_purged_comment_cannot_be_held(world: World) -> None:
    world.clock.advance(days=2200)
    world.container.purge().purge(started_by="scheduler")
    with pytest.raises(HoldRefused) as refused:
        world.container.holds.set(str(world.ids["removed"]), "Too late", HoldActor.slack(CLERK))
    assert refused.value.code == "already_purged"


def test_a_hold_set_before_preservation_flags_the_preserved_original(world: World) -> None:
    holds = world.container.holds
    holds.set(str(world.ids["pending"]), "Pre-action letter", HoldActor.slack(CLERK))
    item = world.item("pending")
    requested = world.container.review.decide(
        DecisionRequest(item.id, item.version, Action.HIDE, CLERK, reason_code="spam")
    )
    assert isinstance(requested, Requested)  # an unflagged comment: a second member approves
    world.container.review.resolve(requested.request_id, SMAT1, approve=True)
    with world.container.sessions() as session:
        record = session.scalars(
            select(PreservedRecord).where(PreservedRecord.comment_id == world.ids["pending"])
        ).one()
    assert record.legal_hold is True


def test_delete_removes_versions_no_decision_points_at(make_settings: MakeSettings) -> None:
    world = build_world(make_settings)
    container = world.container
    edited = incoming("approved", "Lovely lights this year, thank you all")
    container.ingest().ingest([incoming("edit-me", "First words"), edited])
    with container.sessions() as session:
        world.ids["edit-me"] = session.scalars(
            select(Comment.id).where(Comment.external_id == "edit-me")
        ).one()
    container.ingest().ingest([incoming("edit-me", "Second words")])  # edited before decided
    world.decide("edit-me", Action.APPROVE)
    world.decide("approved", Action.APPROVE)  # the edit re-entered triage
    world.clock.advance(days=400)
    container.purge().purge(started_by="scheduler")
    with container.sessions() as session:
        versions = session.scalars(
            select(CommentVersion).where(CommentVersion.comment_id == world.ids["edit-me"])
        ).all()
        assert [(v.version, v.text) for v in versions] == [(2, PLACEHOLDER)]
        kept = session.scalars(
            select(Classification).where(Classification.comment_version_id == versions[0].id)
        ).all()
        assert kept
        assert all(all(not hits for hits in c.detections.values()) for c in kept)
        # Both versions of "approved" were decided on, so both stay, emptied.
        approved = session.scalars(
            select(CommentVersion.text).where(CommentVersion.comment_id == world.ids["approved"])
        ).all()
        assert approved == [PLACEHOLDER, PLACEHOLDER]


def test_an_open_escalation_keeps_its_comment(make_settings: MakeSettings) -> None:
    world = build_world(make_settings)
    with world.container.sessions.begin() as session:
        escalation = session.scalars(
            select(Escalation).where(Escalation.comment_id == world.ids["disciplinary_held"])
        ).one()
        escalation.status = "open"
    world.clock.advance(days=4000)
    report = world.container.purge().dry_run()
    going = {cid for ids in report.purged.values() for cid in ids}
    assert world.ids["disciplinary_held"] not in going  # no hold: the open escalation keeps it
    assert world.ids["removed"] in going


def test_a_hold_being_set_while_the_purge_runs_is_honoured(
    database_url: str, make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The purge waits for a hold that is being set on a comment of its batch, then keeps it."""
    import threading

    from sqlalchemy import create_engine, text

    from bot.services import legal_holds

    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time: the purge cannot start beside the hold")
    postgres_url = database_url
    world = build_world(make_settings)
    world.clock.advance(days=2200)
    in_transaction, may_commit = threading.Event(), threading.Event()
    original = legal_holds.refresh_hold_flags

    def paused(session: Any, comment_ids: Any) -> None:
        original(session, comment_ids)
        in_transaction.set()  # the hold row is written, its transaction still open
        may_commit.wait(10)

    monkeypatch.setattr(legal_holds, "refresh_hold_flags", paused)
    target = str(world.ids["removed"])
    holder = threading.Thread(
        target=world.container.holds.set, args=(target, "Police", HoldActor.cli("Jo"))
    )
    holder.start()
    assert in_transaction.wait(10)
    reports = []
    purger = threading.Thread(
        target=lambda: reports.append(world.container.purge().purge(started_by="test"))
    )
    purger.start()
    observer = create_engine(postgres_url)
    try:
        deadline = 200
        while deadline:  # until the purge is waiting for the hold's lock
            with observer.connect() as connection:
                waiting = connection.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                ).scalar_one()
            if waiting:
                break
            deadline -= 1
            threading.Event().wait(0.05)
        assert waiting, "the purge never waited for the hold"
    finally:
        observer.dispose()
        may_commit.set()
        holder.join(10)
        purger.join(20)
    [report] = reports
    assert world.ids["removed"] in report.kept[LEGAL_HOLD]
    assert texts(world)["removed"] == "You stupid useless idiot"
