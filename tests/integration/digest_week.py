"""A known week of moderation (2026-W47, 16-22 November) with the edge cases to get right.

Every figure the tests check is worked out by hand in the comments below.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from storage.models import (
    Account,
    Author,
    Classification,
    Comment,
    CommentVersion,
    Decision,
    Escalation,
    Member,
    PreservedRecord,
    Reply,
    ReviewItem,
)

CLERK, SMAT1, SMAT2 = "U0CLERK", "U0SMATONE", "U0SMATTWO"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@dataclass
class Builder:
    """Writes rows the way the services do, at chosen times."""

    session: Session
    accounts: dict[str, Account] = field(default_factory=dict)
    comments: dict[str, Comment] = field(default_factory=dict)
    items: dict[str, ReviewItem] = field(default_factory=dict)
    decisions: dict[str, Decision] = field(default_factory=dict)

    def account(self, name: str, platform: str, display: str) -> Account:
        account = Account(
            name=name,
            platform=platform,
            external_id=f"ext-{name}",
            display_name=display,
            status="active",
            created_at=utc(2026, 1, 1),
        )
        self.session.add(account)
        self.session.flush()
        self.accounts[name] = account
        return account

    def member(self, user: str, role: str, name: str) -> None:
        self.session.add(
            Member(
                slack_user_id=user,
                display_name=name,
                role=role,
                active=True,
                added_by="seed",
                added_at=utc(2026, 1, 1),
            )
        )

    def comment(
        self,
        key: str,
        account: str,
        created_at: datetime,
        suggested: str = "approve",
        reason: str | None = None,
        deleted_at: datetime | None = None,
        post_title: str | None = "Christmas lights switch-on",
    ) -> Comment:
        author = Author(
            platform=self.accounts[account].platform,
            external_id=f"author-{key}",
            display_name=f"Resident {key}",
            first_seen_at=created_at,
        )
        self.session.add(author)
        self.session.flush()
        comment = Comment(
            account_id=self.accounts[account].id,
            author_id=author.id,
            external_id=f"ext-{key}",
            post_title=post_title,
            permalink=f"https://example.org/{key}",
            created_at=created_at,
            first_seen_at=created_at,
            deleted_at=deleted_at,
        )
        self.session.add(comment)
        self.session.flush()
        text = f"secret resident words {key}"
        version = CommentVersion(
            comment_id=comment.id,
            version=1,
            text=text,
            content_sha256=hashlib.sha256(text.encode()).hexdigest(),
            source="import",
            raw_payload={},
            seen_at=created_at,
        )
        self.session.add(version)
        self.session.flush()
        classification = Classification(
            comment_version_id=version.id,
            model_name="keyword",
            model_version="1",
            scores={},
            thresholds={},
            detections={},
            suggested_action=suggested,
            reason_code=reason,
            clause=None,
            explanation="test",
            classified_at=created_at,
        )
        self.session.add(classification)
        self.session.flush()
        item = ReviewItem(
            comment_id=comment.id,
            comment_version_id=version.id,
            classification_id=classification.id,
            status="pending",
            version=1,
            priority=0,
            created_at=created_at,
            updated_at=created_at,
        )
        self.session.add(item)
        self.session.flush()
        self.comments[key] = comment
        self.items[key] = item
        return comment

    def decide(
        self,
        key: str,
        comment: str,
        action: str,
        at: datetime,
        actor: str | None = SMAT1,
        reason: str | None = None,
        undoes: str | None = None,
        canned: str | None = None,
        legal_hold: bool = False,
    ) -> Decision:
        item = self.items[comment]
        target = self.comments[comment]
        preserved_id = None
        if action in ("hide", "delete", "block"):
            record = PreservedRecord(
                comment_id=target.id,
                comment_version_id=item.comment_version_id,
                text="kept",
                author_external_id="x",
                author_display_name="x",
                permalink=None,
                comment_created_at=target.created_at,
                thread_context={},
                raw_payload={},
                content_sha256="0" * 64,
                retention_class="removed",
                legal_hold=legal_hold,
                preserved_at=at,
            )
            self.session.add(record)
            self.session.flush()
            preserved_id = record.id
        decision = Decision(
            review_item_id=item.id,
            comment_id=target.id,
            comment_version_id=item.comment_version_id,
            review_version=item.version,
            action=action,
            actor_kind="member" if actor else "system",
            actor_slack_id=actor,
            actor_name=(actor or "system").lower(),
            reason_code=reason,
            classification_id=item.classification_id,
            preserved_record_id=preserved_id,
            undoes_decision_id=self.decisions[undoes].id if undoes else None,
            decided_at=at,
        )
        self.session.add(decision)
        self.session.flush()
        item.version += 1
        item.status = "decided"
        if action == "reply":
            self.session.add(
                Reply(decision_id=decision.id, canned_key=canned, text="reply", created_at=at)
            )
        self.decisions[key] = decision
        return decision

    def escalate(
        self,
        comment: str,
        reason: str,
        at: datetime,
        outcome: str | None = None,
        outcome_at: datetime | None = None,
        decision: str | None = None,
    ) -> None:
        self.session.add(
            Escalation(
                review_item_id=self.items[comment].id,
                comment_id=self.comments[comment].id,
                decision_id=self.decisions[decision].id if decision else None,
                reason=reason,
                offences=[],
                escalated_by=SMAT1,
                escalated_at=at,
                immediate=reason == "threat",
                status="closed" if outcome else "open",
                outcome=outcome,
                outcome_by=CLERK if outcome else None,
                outcome_at=outcome_at,
                reminders_sent=0,
                updated_at=at,
            )
        )


def build_known_week(sessions: sessionmaker[Session]) -> None:
    """The known week; see the expected figures in test_digest_figures.py."""
    with sessions.begin() as session:
        b = Builder(session)
        b.account("fb-main", "facebook", "Example Town Council")
        b.account("yt-main", "youtube", "Example Town Council TV")
        b.member(CLERK, "clerk", "Jane Clerk")
        b.member(SMAT1, "smat", "Sam One")
        b.member(SMAT2, "smat", "Kim Two")

        # --- the reported week, W47 (GMT all week: UTC = local) ---------------------------
        b.comment("c1", "fb-main", utc(2026, 11, 16, 9))
        b.decide("c1-approve", "c1", "approve", utc(2026, 11, 16, 10))  # waited 1 h
        b.comment("c2", "fb-main", utc(2026, 11, 16, 12), "hide", "offensive_or_discriminatory")
        b.decide(
            "c2-hide", "c2", "hide", utc(2026, 11, 16, 13, 30), reason="offensive_or_discriminatory"
        )
        b.decide(
            "c2-delete",
            "c2",
            "delete",
            utc(2026, 11, 19, 9),
            actor=CLERK,
            reason="offensive_or_discriminatory",
        )
        # Criticism the policy judged acceptable, removed (with a second member).
        b.comment("c3", "fb-main", utc(2026, 11, 17, 8))
        b.decide("c3-hide", "c3", "hide", utc(2026, 11, 17, 10), reason="false_or_misleading")
        # A decision undone within the week: the hide does not count, the unhide does.
        b.comment("c4", "fb-main", utc(2026, 11, 17, 9), "hide", "bullying_or_harassment")
        b.decide("c4-hide", "c4", "hide", utc(2026, 11, 17, 9, 30), reason="bullying_or_harassment")
        b.decide("c4-unhide", "c4", "unhide", utc(2026, 11, 18, 9), actor=SMAT2, undoes="c4-hide")
        b.comment("c5", "yt-main", utc(2026, 11, 18, 14))
        b.decide(
            "c5-reply",
            "c5",
            "reply",
            utc(2026, 11, 18, 15),
            actor=SMAT2,
            canned="contact_privately",
        )
        # A threat: escalated, hidden and referred to the police by the Clerk.
        b.comment("c6", "yt-main", utc(2026, 11, 19, 10), "escalate", "violent_or_threatening")
        b.decide(
            "c6-escalate",
            "c6",
            "escalate",
            utc(2026, 11, 19, 10, 30),
            reason="violent_or_threatening",
        )
        b.escalate(
            "c6",
            "threat",
            utc(2026, 11, 19, 10, 30),
            "hidden_referred_police",
            utc(2026, 11, 20, 9),
            decision="c6-escalate",
        )
        b.decide(
            "c6-hide",
            "c6",
            "hide",
            utc(2026, 11, 20, 9),
            actor=CLERK,
            reason="violent_or_threatening",
            legal_hold=True,
        )
        b.comment("c7", "fb-main", utc(2026, 11, 20, 16))  # no decision by the week's end
        # Sunday 23:59: in this week; decided next week.
        b.comment("c8", "fb-main", utc(2026, 11, 22, 23, 59))
        b.decide("c8-approve", "c8", "approve", utc(2026, 11, 23, 8, 30))
        b.comment("c9", "fb-main", utc(2026, 11, 23, 0, 0, 30))  # next week
        # Sunday 23:59:59 the week before, first acted on Monday 08:00 of this week.
        b.comment("c10", "fb-main", utc(2026, 11, 15, 23, 59, 59))
        b.decide("c10-approve", "c10", "approve", utc(2026, 11, 16, 8))
        # An escalation still open at the end of the week.
        b.comment("c11", "yt-main", utc(2026, 11, 18, 11), "review", None)
        b.decide("c11-escalate", "c11", "escalate", utc(2026, 11, 18, 11, 30), actor=SMAT2)
        b.escalate("c11", "abuse_of_staff", utc(2026, 11, 18, 11, 30), decision="c11-escalate")
        b.comment("c12", "fb-main", utc(2026, 11, 19, 12), "hide", "spam")
        b.decide("c12-warn", "c12", "warn", utc(2026, 11, 19, 12, 15), reason="spam")
        b.decide("c12-block", "c12", "block", utc(2026, 11, 19, 12, 30), reason="spam")

        # --- blocks from May: review due in the coming week (one already overdue) ----------
        b.comment("c13", "fb-main", utc(2026, 5, 20, 10), "hide", "spam")
        b.decide("c13-block", "c13", "block", utc(2026, 5, 20, 11), reason="spam")
        b.comment("c14", "fb-main", utc(2026, 5, 27, 10), "hide", "spam")
        b.decide("c14-block", "c14", "block", utc(2026, 5, 27, 11), reason="spam")
        b.comment("c15", "fb-main", utc(2026, 5, 25, 10), "hide", "spam")
        b.decide("c15-block", "c15", "block", utc(2026, 5, 25, 11), reason="spam")
        b.decide("c15-unblock", "c15", "unblock", utc(2026, 6, 1, 11), undoes="c15-block")

        # --- W46: targets that fall due in W47 (2 working days) -----------------------------
        b.comment("c20", "fb-main", utc(2026, 11, 12, 10))  # due Mon 16 10:00; never answered
        b.comment("c21", "fb-main", utc(2026, 11, 13, 15))  # due Tue 17 15:00; answered Wed
        b.decide("c21-approve", "c21", "approve", utc(2026, 11, 18, 9))
        b.comment("c22", "fb-main", utc(2026, 11, 14, 10))  # Saturday: due end of Tue 17
        b.decide("c22-approve", "c22", "approve", utc(2026, 11, 17, 10), actor=SMAT2)
        b.comment("c23", "fb-main", utc(2026, 11, 14, 11), deleted_at=utc(2026, 11, 15, 9))
        # Hidden in W46, undone in W47: W46 keeps its hide, W47 counts the unhide.
        b.comment("c30", "fb-main", utc(2026, 11, 10, 10), "hide", "offensive_or_discriminatory")
        b.decide(
            "c30-hide", "c30", "hide", utc(2026, 11, 10, 11), reason="offensive_or_discriminatory"
        )
        b.decide(
            "c30-unhide", "c30", "unhide", utc(2026, 11, 17, 10), actor=SMAT2, undoes="c30-hide"
        )
        b.escalate("c30", "complaint", utc(2026, 11, 10, 12), "upheld", utc(2026, 11, 24, 9))

        # --- W43-W44, across the October clock change (Sunday 25 October) ------------------
        b.comment("c41", "fb-main", utc(2026, 10, 25, 23, 30))  # Sun 23:30 GMT: W43
        b.comment("c42", "fb-main", utc(2026, 10, 24, 23, 30))  # Sun 00:30 BST: W43 Sunday
        b.comment("c43", "fb-main", utc(2026, 10, 18, 23, 30))  # Mon 19 00:30 BST: W43 Monday
        b.comment("c44", "fb-main", utc(2026, 10, 18, 22, 30))  # Sun 18 23:30 BST: W42
        b.comment("c40", "yt-main", utc(2026, 10, 26, 0, 30))  # Mon 26 00:30 GMT: W44
