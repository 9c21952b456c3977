"""Ingestion: exactly once, edits re-enter triage, crashes between steps lose nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.container import Container, build
from bot.services.ingest import CLASSIFY_BATCH
from bot.services.review import Action, DecisionRequest
from platforms.types import Source
from storage.models import (
    Classification,
    Comment,
    CommentVersion,
    OutboxMessage,
    ReviewItem,
)
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.integration.helpers import incoming


def _container(make_settings: MakeSettings, classifier: KeywordClassifier) -> Container:
    settings = make_settings(members=[{"slack_user_id": "U0SMAT1", "role": "smat"}])
    return build(settings, classifier=classifier, clock=FakeClock())


def _count(container: Container, model: type) -> int:
    with container.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_same_comment_from_every_source_is_stored_once(make_settings: MakeSettings) -> None:
    container = _container(make_settings, KeywordClassifier())
    ingest = container.ingest()
    first = ingest.ingest([incoming("c1", "Is there parking near the square?")])
    again = ingest.ingest(
        [
            incoming("c1", "Is there parking near the square?", source=Source.POLL),
            incoming("c1", "Is there parking near the square?", source=Source.WEBHOOK),
        ]
    )
    assert (first.new, again.new, again.unchanged) == (1, 0, 2)
    assert _count(container, Comment) == 1
    assert _count(container, CommentVersion) == 1
    assert _count(container, Classification) == 1
    assert _count(container, OutboxMessage) == 1


def test_classification_records_scores_model_thresholds_and_suggestion(
    make_settings: MakeSettings,
) -> None:
    container = _container(make_settings, KeywordClassifier())
    container.ingest().ingest(
        [
            incoming("c1", "The clerk is a useless stupid idiot"),
            incoming("c2", "Ring me on 07700 900123 about the lights"),
            incoming("c3", "The council wasted our money again and should be ashamed."),
        ]
    )
    with container.sessions() as session:
        rows = {
            c.comment_version_id: c
            for c in session.scalars(select(Classification).order_by(Classification.id))
        }
    abuse, phone, criticism = rows[1], rows[2], rows[3]
    assert abuse.model_name == "keyword-test"
    assert abuse.model_version == "test 1"
    assert abuse.scores["insult"] == 0.95
    assert abuse.thresholds["insult"] == 0.60
    assert (abuse.suggested_action, abuse.reason_code) == ("hide", "bullying_or_harassment")
    assert abuse.clause
    assert "6.5" in abuse.clause
    assert phone.detections == {"phone_number": ["07700 ••••23"]}  # masked: shown in Slack
    assert (phone.suggested_action, phone.reason_code) == ("hide", "personal_data")
    assert criticism.suggested_action == "approve"
    assert "Criticism" in criticism.explanation


def test_flagged_cards_are_queued_before_clean_ones(make_settings: MakeSettings) -> None:
    container = _container(make_settings, KeywordClassifier())
    container.ingest().ingest(
        [incoming("clean", "Lovely photo"), incoming("threat", "I will smash your windows")]
    )
    with container.sessions() as session:
        priorities = dict(session.execute(select(ReviewItem.comment_id, ReviewItem.priority)).all())
    assert priorities[2] > priorities[1]


def test_an_edit_creates_a_version_and_reenters_triage(make_settings: MakeSettings) -> None:
    container = _container(make_settings, KeywordClassifier())
    ingest = container.ingest()
    ingest.ingest([incoming("c1", "Nice lights")])
    container.review.decide(DecisionRequest(1, 1, Action.APPROVE, "U0SMAT1"))
    report = ingest.ingest([incoming("c1", "Nice lights, you stupid idiots", source=Source.POLL)])
    assert report.edited == 1
    with container.sessions() as session:
        item = session.scalars(select(ReviewItem)).one()
        comment = session.scalars(select(Comment)).one()
        versions = session.scalars(select(CommentVersion.version)).all()
        classification = session.get_one(Classification, item.classification_id)
    assert comment.current_version == 2
    assert sorted(versions) == [1, 2]
    assert item.status == "pending"
    assert item.version == 3  # 1 posted, 2 approved, 3 edited
    assert classification.suggested_action == "hide"
    assert _count(container, OutboxMessage) == 3


def test_versions_stored_but_not_classified_are_picked_up_later(
    make_settings: MakeSettings,
) -> None:
    classifier = KeywordClassifier()
    container = _container(make_settings, classifier)
    ingest = container.ingest()
    total = CLASSIFY_BATCH + 6
    ingest.store([incoming(f"c{i}", f"comment {i}") for i in range(total)])  # then "crash"
    assert _count(container, Classification) == 0
    assert ingest.classify_pending() == total
    assert ingest.classify_pending() == 0
    assert _count(container, ReviewItem) == total
    assert [len(batch) for batch in classifier.calls] == [CLASSIFY_BATCH, 6]


def test_a_service_resumes_where_it_left_off_and_a_new_one_starts_afresh(
    make_settings: MakeSettings,
) -> None:
    classifier = KeywordClassifier()
    container = _container(make_settings, classifier)
    ingest = container.ingest()
    ingest.ingest([incoming(f"c{i}", f"comment {i}") for i in range(3)])
    # The first version loses its classification, as if another process had stored it late.
    with container.sessions.begin() as session:
        first = session.scalars(select(Classification).order_by(Classification.id)).first()
        assert first is not None
        item = session.scalars(
            select(ReviewItem).where(ReviewItem.classification_id == first.id)
        ).one()
        item.classification_id = None
        session.flush()
        session.delete(first)
    calls = len(classifier.calls)
    assert ingest.classify_pending() == 0  # an import's next chunk does not rescan the table
    assert len(classifier.calls) == calls
    assert container.ingest().classify_pending() == 1  # the scheduler's pass finds it
    assert _count(container, Classification) == 3


def test_a_version_is_never_classified_twice(make_settings: MakeSettings) -> None:
    classifier = KeywordClassifier()
    container = _container(make_settings, classifier)
    ingest = container.ingest()
    ingest.store([incoming("c1", "Lovely lights")])
    from bot.services.ingest import _pending_versions

    with container.sessions() as session:
        pending = _pending_versions(session, 10)
    # Two callers classified the same pending version; the second must change nothing.
    results = ingest._classify(pending)
    for _ in range(2):
        with container.sessions.begin() as session:
            ingest._record(session, results[:1])
    assert _count(container, Classification) == 1
    with container.sessions() as session:
        assert session.scalars(select(ReviewItem.version)).one() == 1


def test_a_copy_paste_campaign_is_flagged_as_repeated_text(make_settings: MakeSettings) -> None:
    container = _container(make_settings, KeywordClassifier())
    campaign = "Save our library! Sign the petition at the town hall."
    container.ingest().ingest(
        [incoming(f"c{i}", campaign, author=f"Resident {i}") for i in range(3)]
        + [incoming("own", "When is the library open on Sundays?")]
    )
    with container.sessions() as session:
        rows = session.execute(
            select(
                CommentVersion.text, Classification.detections, Classification.suggested_action
            ).join(Classification, Classification.comment_version_id == CommentVersion.id)
        ).all()
    flagged = [row for row in rows if row.text == campaign]
    assert len(flagged) == 3
    assert all("repeated_text" in row.detections for row in flagged)
    assert all(row.suggested_action == "review" for row in flagged)
    own = next(row for row in rows if row.text != campaign)
    assert "repeated_text" not in own.detections
