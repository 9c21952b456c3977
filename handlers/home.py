"""The App Home tab: on ``app_home_opened`` the bot publishes the person's Home view.

A SMAT member (any role that may view) sees the queue counts, the comments waiting longest,
the removal requests awaiting approval and their own recent decisions; anyone else sees a short
note saying to ask the Town Clerk. The view is rebuilt every time the tab is opened, so it is
as fresh as the database. Events are acknowledged by Bolt itself; the work happens after.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError

from bot.container import Container
from bot.home import home_view, stranger_home_view, unavailable_home_view
from bot.services.members import MemberDirectory
from bot.services.overview import Overview, member_who_may_view
from config.settings import Settings
from handlers.payloads import PayloadError

log = logging.getLogger(__name__)

HOME_TAB = "home"


@dataclass(frozen=True)
class HomeOpened:
    """Someone opened one of the app's tabs (``home`` or ``messages``)."""

    user_id: str
    tab: str


def parse_home_opened(event: Mapping[str, Any]) -> HomeOpened:
    """Read who opened which tab; raise PayloadError if the event is not shaped like Slack's."""
    user = event.get("user")
    tab = event.get("tab", HOME_TAB)
    if not isinstance(user, str) or not user or len(user) > 50:
        raise PayloadError("app_home_opened without a user id")
    if not isinstance(tab, str):
        raise PayloadError("app_home_opened with an odd tab")
    return HomeOpened(user_id=user, tab=tab)


def build_home(
    overview: Overview,
    members: MemberDirectory,
    settings: Settings,
    user_id: str,
    now: datetime,
) -> dict[str, Any]:
    """The Home view for this person: the full one for SMAT members, a short one otherwise."""
    council = settings.council.name
    member = member_who_may_view(members, user_id)
    if member is None:
        return stranger_home_view(council)
    return home_view(
        council_name=council,
        viewer_id=user_id,
        viewer_role=member.role,
        summary=overview.queue(),
        waiting=overview.waiting_longest(5),
        requests=overview.open_requests(10),
        decisions=overview.decisions_by(user_id, 10),
        escalations=overview.open_escalations(10),
        reason_labels={code: r.label for code, r in settings.policy.reason_codes.items()},
        tz=settings.council.tz,
        now=now,
    )


def register(app: App, container: Container) -> None:
    """Attach the ``app_home_opened`` listener to the Bolt app."""
    overview = Overview(container.sessions)
    members = container.members
    settings = container.settings
    clock = container.clock

    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        try:
            opened = parse_home_opened(event)
        except PayloadError as exc:
            log.warning("ignored an app_home_opened event: %s", exc)
            return
        if opened.tab != HOME_TAB:
            return  # the Messages tab: nothing to publish
        try:
            view = build_home(overview, members, settings, opened.user_id, clock())
        except SQLAlchemyError:
            log.exception("could not read the records for %s's Home tab", opened.user_id)
            view = unavailable_home_view()
        try:
            client.views_publish(user_id=opened.user_id, view=view)
        except (SlackClientError, OSError) as exc:
            reason = (
                exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
            )
            log.warning("could not publish the Home tab for %s: %s", opened.user_id, reason)
