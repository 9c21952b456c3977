"""Replies: answering a comment publicly with a standard response, and passing enquiries on.

A reply is a decision (``reply``, or ``route`` when it is only passed on) recorded with its
``Reply`` row — the words, the standard response and version it started from, and where it was
routed — in one transaction. The executor posts it through the outbox (never twice); a note to
the routing contact (contact centre, press office) goes through the outbox too. Nothing is
posted with a ``{placeholder}`` left in it, or longer than the platform allows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cards import TriageCard, load_card
from bot.clock import Clock
from bot.services.canned_responses import ResponseLibrary, ResponseVersion, placeholders
from bot.services.executor import PLACEHOLDER, UnfilledPlaceholder, fill_template
from bot.services.outbox import OutboxDispatcher, enqueue
from bot.services.review import Action, DecisionRequest, Recorded, Refused, ReviewService
from bot.services.triage import DecisionForms
from classifiers.enquiries import (
    EnquiryMatch,
    detect_enquiries,
    suggested_responses,
    suggested_route,
)
from config.settings import BUILT_IN_VARIABLES, RouteKind, Settings
from platforms.base import Action as PlatformAction
from platforms.capabilities import REPLIES_REFUSED_WHEN_HIDDEN, platform_action
from platforms.types import Platform
from storage.db import reading
from storage.models import Decision, Reply

log = logging.getLogger(__name__)

REPLY_LIMITS = {
    Platform.FACEBOOK: 8000,
    Platform.INSTAGRAM: 2200,
    Platform.YOUTUBE: 10000,
    Platform.X: 280,
}
"""The longest reply each platform accepts, in characters."""
MAX_DELIVERY_PASSES = 5


def template_values(settings: Settings, author_name: str) -> dict[str, str | None]:
    """Every placeholder's value for a reply to this author (None where none is configured)."""
    council = settings.council
    values: dict[str, str | None] = dict(settings.replies.variables)
    values.update(
        author_name=author_name,
        council_name=council.name,
        council_email=council.email,
        council_phone=council.phone,
        council_website=council.website,
    )
    return values


def known_variables(settings: Settings) -> frozenset[str]:
    """Placeholder names a standard response may use."""
    return frozenset(BUILT_IN_VARIABLES) | frozenset(settings.replies.variables)


def missing_values(body: str, values: Mapping[str, str | None]) -> list[str]:
    """The placeholders in ``body`` with no value, in order (empty when it can be posted)."""
    try:
        fill_template(body, values)
    except UnfilledPlaceholder:
        return [name for name in placeholders(body) if not values.get(name)]
    return []


def preview(body: str, values: Mapping[str, str | None]) -> str:
    """The body with every placeholder that has a value filled in; the rest left as they are."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1)) or m.group(0), body)


@dataclass(frozen=True)
class RouteOption:
    """A kind of enquiry that can be passed on, and to whom."""

    kind: RouteKind
    label: str
    contact: str


@dataclass(frozen=True)
class ReplyFormData:
    """Everything the Reply form shows for one card."""

    card: TriageCard
    enquiries: list[EnquiryMatch]
    suggested: list[ResponseVersion]
    others: list[ResponseVersion]
    selected: ResponseVersion | None
    routes: list[RouteOption]
    suggested_route: RouteKind | None
    values: dict[str, str | None]
    limit: int
    post_blocked: str | None = None
    """Why no public reply can be posted here (the form then only passes it on)."""


@dataclass(frozen=True)
class ReplyForm:
    """A submitted Reply form, parsed but not yet checked."""

    review_item_id: int
    expected_version: int
    actor_slack_id: str
    canned_key: str | None
    canned_version: int | None
    text: str | None
    route: str | None
    route_only: bool


@dataclass
class FormErrors:
    """What is wrong with a submitted form, by field: ``text`` or ``route``."""

    errors: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.errors)


ReplyHook = Callable[[Session, int, str, datetime], object]
"""Called inside a public reply's transaction with (session, review item, replier, time)."""


class ReplyService:
    """Builds the Reply form's contents, checks submissions and records replies."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        review: ReviewService,
        outbox: OutboxDispatcher,
        forms: DecisionForms,
        library: ResponseLibrary,
        settings: Settings,
        clock: Clock,
        *,
        on_reply: ReplyHook | None = None,
    ) -> None:
        self._sessions = sessions
        self._on_reply = on_reply
        self._review = review
        self._outbox = outbox
        self._forms = forms
        self._library = library
        self._settings = settings
        self._clock = clock

    @property
    def library(self) -> ResponseLibrary:
        """The standard responses."""
        return self._library

    def form_data(
        self,
        review_item_id: int,
        expected_version: int,
        actor_slack_id: str,
        selected: str | None = None,
    ) -> ReplyFormData:
        """What the Reply form shows; raise Refused if this person may not reply to this card."""
        card = self._forms.card_for(review_item_id, expected_version, Action.REPLY, actor_slack_id)
        blocked = self._post_blocked(card)
        routes = self.routes()
        if blocked is not None and not routes:
            raise Refused(
                f"{blocked} No routing contact is configured either, so there is nothing to do "
                "from here.",
                code="not_applicable",
            )
        responses = self._library.latest()
        by_key = {response.key: response for response in responses}
        enquiries = detect_enquiries(card.text, self._settings.replies.topics)
        route = suggested_route(enquiries)
        keys = suggested_responses(enquiries, list(by_key))
        route_response = self._settings.routing[route].response if route else None
        if route_response in by_key and route_response not in keys:
            keys.append(route_response)
        suggested = [by_key[key] for key in keys]
        others = [response for response in responses if response.key not in keys]
        if selected is not None and selected in by_key:
            chosen: ResponseVersion | None = by_key[selected]
        elif selected is None and suggested:
            chosen = suggested[0]
        else:
            chosen = None  # "write my own"
        return ReplyFormData(
            card=card,
            enquiries=enquiries,
            suggested=suggested,
            others=others,
            selected=chosen,
            routes=routes,
            suggested_route=route if any(r.kind == route for r in routes) else None,
            values=template_values(self._settings, card.author_name),
            limit=REPLY_LIMITS[card.platform],
            post_blocked=blocked,
        )

    def routes(self) -> list[RouteOption]:
        """The kinds of enquiry that can be passed on: those with a contact configured."""
        return [
            RouteOption(kind, route.label, route.contact)
            for kind, route in self._settings.routing.items()
            if route.contact
        ]

    def check(self, form: ReplyForm) -> FormErrors:
        """Field errors in a submission; raise Refused if this person may not reply at all."""
        self._forms.require_decider(form.actor_slack_id, "reply", form.review_item_id)
        errors = FormErrors()
        routes = {route.kind: route for route in self.routes()}
        if form.route is not None and form.route not in routes:
            errors.errors["route"] = "That contact is not configured; pick another"
        if form.route_only:
            if form.route is None:
                errors.errors["route"] = "Pick who to pass it on to, or untick “only pass it on”"
            return errors
        if not form.text:
            errors.errors["text"] = "Write the reply, or choose a standard response"
            return errors
        card = self._card(form)
        if card is None:
            return errors  # the decision itself says the comment is gone
        try:
            self._filled(card, form.text)
        except Refused as problem:
            errors.errors["text"] = problem.message
        return errors

    def reply(self, form: ReplyForm) -> Recorded:
        """Record the reply (or the routing) and carry it out; raise Refused if it may not be."""
        card = self._card(form)
        if card is None:
            raise Refused("That comment is no longer in the queue.", code="unknown_item")
        route = self._route(form.route)
        text = ""
        if not form.route_only:
            blocked = self._post_blocked(card)
            if blocked is not None:
                raise Refused(blocked, code="cannot_reply")
            text = self._filled(card, form.text or "")
        elif route is None:
            raise Refused("Pick who to pass it on to.", code="route_required")
        canned = self._canned(form.canned_key, form.canned_version)
        now = self._clock()

        def attach(session: Session, decision: Decision) -> None:
            reply = Reply(
                decision_id=decision.id,
                canned_key=canned.key if canned else None,
                canned_version=canned.version if canned else None,
                text=text,
                route=route.kind if route else None,
                routed_to=route.contact if route else None,
                route_status="pending" if route else None,
                created_at=now,
            )
            session.add(reply)
            session.flush()
            if text and self._on_reply is not None:
                # e.g. the Clerk answering an escalation publicly closes it, in this transaction
                self._on_reply(session, form.review_item_id, form.actor_slack_id, now)
            if route is not None:
                enqueue(
                    session,
                    kind="slack.route_note",
                    key=f"slack.route_note:{decision.id}",
                    payload={"reply_id": reply.id},
                    priority=90,
                    now=now,
                )

        request = DecisionRequest(
            review_item_id=form.review_item_id,
            expected_version=form.expected_version,
            action=Action.ROUTE if form.route_only else Action.REPLY,
            actor_slack_id=form.actor_slack_id,
        )
        outcome: Recorded | None = None
        try:
            recorded = self._review.decide(request, attach=attach)
            assert isinstance(recorded, Recorded)  # replies never wait for approval
            outcome = recorded
            log.info(
                "%s on review item %d by %s (response %s, route %s)",
                request.action,
                form.review_item_id,
                form.actor_slack_id,
                canned.key if canned else "own words",
                route.kind if route else "none",
            )
            return recorded
        finally:
            self._deliver(form.review_item_id, outcome)

    # ------------------------------------------------------------------ helpers

    def _card(self, form: ReplyForm) -> TriageCard | None:
        with reading(self._sessions) as session:
            try:
                return load_card(session, form.review_item_id)
            except LookupError:
                return None

    def _filled(self, card: TriageCard, text: str) -> str:
        values = template_values(self._settings, card.author_name)
        try:
            filled = fill_template(text.strip(), values).strip()
        except UnfilledPlaceholder:
            missing = missing_values(text, values)
            names = ", ".join("{" + name + "}" for name in missing)
            configurable = [name for name in missing if name in self._settings.replies.variables]
            where = (
                f" (or ask whoever configures SMAT Bot to set replies.variables.{configurable[0]})"
                if configurable
                else ""
            )
            raise Refused(
                f"No value for {names}: replace it with the details yourself{where}.",
                code="unfilled_placeholder",
            ) from None
        if not filled:
            raise Refused("Write the reply, or choose a standard response.", code="empty")
        limit = REPLY_LIMITS[card.platform]
        if len(filled) > limit:
            raise Refused(
                f"{card.platform.display_name} allows {limit:,} characters in a reply; this one "
                f"is {len(filled):,}.",
                code="too_long",
            )
        return filled

    def _post_blocked(self, card: TriageCard) -> str | None:
        name = card.platform.display_name
        if platform_action(card.platform, PlatformAction.REPLY) is None:
            return f"{name} offers no way to reply through its API."
        if card.deleted:
            return "The comment was deleted by its author, so it cannot be replied to."
        if card.platform is Platform.INSTAGRAM and card.parent_id is not None:
            return "Instagram only allows replies to top-level comments."
        if card.platform in REPLIES_REFUSED_WHEN_HIDDEN and self._hidden(card.review_item_id):
            return (
                f"{name} does not allow replies to hidden comments: undo the hide first, reply, "
                "then hide it again."
            )
        if self._deleted(card.review_item_id):
            return "The council deleted this comment, so it cannot be replied to."
        return None

    def _hidden(self, review_item_id: int) -> bool:
        actions = self._actions(review_item_id)
        return "hide" in actions and actions.count("hide") > actions.count("unhide")

    def _deleted(self, review_item_id: int) -> bool:
        return "delete" in self._actions(review_item_id)

    def _actions(self, review_item_id: int) -> list[str]:
        with reading(self._sessions) as session:
            return list(
                session.scalars(
                    select(Decision.action).where(Decision.review_item_id == review_item_id)
                )
            )

    def _route(self, kind: str | None) -> RouteOption | None:
        if kind is None:
            return None
        route = next((r for r in self.routes() if r.kind == kind), None)
        if route is None:
            raise Refused("That routing contact is not configured.", code="unknown_route")
        return route

    def _canned(self, key: str | None, version: int | None) -> ResponseVersion | None:
        # From an untrusted form: record it only if that version really exists.
        if key is None or version is None:
            return None
        return self._library.get(key, version)

    def _deliver(self, item_id: int, outcome: Recorded | None) -> None:
        prefixes = [f"slack.sync_card:{item_id}:"]
        if outcome is not None:
            prefixes += [
                f"platform.execute:{outcome.decision_id}",
                f"slack.route_note:{outcome.decision_id}",
            ]
        for _ in range(MAX_DELIVERY_PASSES):
            report = self._outbox.deliver_due(limit=10, key_prefixes=prefixes)
            if report.delivered == 0 and report.retrying == 0:
                return
