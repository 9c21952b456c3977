"""Comments from all four platforms flow through the real connectors into triage exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.container import build
from bot.services.polling import Poller
from config.settings import AccountSettings
from platforms.base import Connector
from platforms.facebook import FacebookConnector
from platforms.instagram import InstagramConnector
from platforms.x import XConnector
from platforms.youtube import YouTubeConnector
from storage.models import Account, Comment, ReviewItem
from tests.conftest import MakeSettings
from tests.fakes import fake_graph, fake_x, fake_youtube
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def _account(name: str, platform: str, external_id: str) -> dict[str, Any]:
    return {
        "name": name,
        "platform": platform,
        "id": external_id,
        "display_name": name,
        "token": f"env:{name.upper().replace('-', '_')}",
    }


def test_four_platforms_poll_into_triage_without_loss_or_duplicates(
    make_settings: MakeSettings,
) -> None:
    clock = FakeClock(NOW)
    graph = fake_graph.FakeGraph()
    youtube = fake_youtube.FakeYouTube(now=NOW)
    x = fake_x.FakeX(now=NOW)
    accounts = [
        _account("fb", "facebook", fake_graph.PAGE_ID),
        _account("ig", "instagram", fake_graph.IG_USER_ID),
        _account("yt", "youtube", fake_youtube.CHANNEL_ID),
        _account("x", "x", fake_x.COUNCIL_ID),
    ]
    container = build(make_settings(accounts=accounts), classifier=KeywordClassifier(), clock=clock)
    connectors: dict[str, Connector] = {
        "fb": FacebookConnector(
            graph.client(), page_id=fake_graph.PAGE_ID, account="fb", clock=clock
        ),
        "ig": InstagramConnector(
            graph.client(), ig_user_id=fake_graph.IG_USER_ID, account="ig", clock=clock
        ),
        "yt": YouTubeConnector(
            youtube.client(), channel_id=fake_youtube.CHANNEL_ID, account="yt", clock=clock
        ),
        "x": XConnector(x.client(), user_id=fake_x.COUNCIL_ID, account="x", clock=clock),
    }

    def connector_for(account: AccountSettings) -> Connector:
        return connectors[account.name]

    poller = Poller(container.sessions, container.accounts, connector_for, container.ingest, clock)

    def poll_all() -> list[int]:
        return [poller.poll(account).new for account in container.settings.accounts]

    # Something already on each account before the bot starts.
    earlier = NOW - timedelta(hours=2)
    graph.add_post(f"{fake_graph.PAGE_ID}_1", earlier, "Christmas lights switch-on")
    graph.add_comment(f"{fake_graph.PAGE_ID}_1", "1_100", earlier, "Old comment")
    graph.add_media("m1", earlier, "Autumn in the square")
    graph.add_ig_comment("m1", "ig_100", earlier, "Old photo comment")
    youtube.add_comment("Old video comment", earlier)
    resident = x.add_user("resident_jo")
    council_post = x.post(fake_x.COUNCIL_ID, "Bin collections over the holidays", earlier)
    x.post(resident, "@ExampleCouncil old reply", earlier, reply_to=council_post)
    assert poll_all() == [0, 0, 0, 0]  # the first poll starts from now

    later = NOW + timedelta(minutes=5)
    clock.now = later + timedelta(minutes=1)
    youtube.now = x.now = clock.now
    graph.add_comment(f"{fake_graph.PAGE_ID}_1", "1_101", later, "When does it start?")
    graph.add_comment(f"{fake_graph.PAGE_ID}_1", "1_102", later, "Same second, different one")
    graph.add_ig_comment("m1", "ig_101", later, "Lovely photo")
    youtube.add_comment("Audio dropped at 45:10", later)
    x.post(
        resident,
        "@ExampleCouncil will the brown bin go on Boxing Day?",
        later,
        reply_to=council_post,
    )
    assert poll_all() == [2, 1, 1, 1]
    assert poll_all() == [0, 0, 0, 0]  # nothing twice

    with container.sessions() as session:
        rows = session.execute(
            select(Account.name, Comment.external_id)
            .join(Comment, Comment.account_id == Account.id)
            .order_by(Account.name, Comment.external_id)
        ).all()
        items = session.scalars(select(ReviewItem)).all()
    assert [name for name, _ in rows] == ["fb", "fb", "ig", "x", "yt"]
    assert len(items) == 5
    assert all(item.status == "pending" for item in items)


def test_the_capability_table_matches_what_each_connector_says() -> None:
    from platforms.base import Action
    from platforms.capabilities import ACTIONS_BY_PLATFORM, platform_action
    from platforms.types import Platform

    clock = FakeClock(NOW)
    graph = fake_graph.FakeGraph()
    assert (
        FacebookConnector(graph.client(), page_id="1", account="fb", clock=clock).actions
        == (ACTIONS_BY_PLATFORM[Platform.FACEBOOK])
    )
    assert (
        InstagramConnector(graph.client(), ig_user_id="1", account="ig", clock=clock).actions
        == (ACTIONS_BY_PLATFORM[Platform.INSTAGRAM])
    )
    assert (
        YouTubeConnector(
            fake_youtube.FakeYouTube().client(), channel_id="UC1", account="yt", clock=clock
        ).actions
        == ACTIONS_BY_PLATFORM[Platform.YOUTUBE]
    )
    assert (
        XConnector(fake_x.FakeX().client(), user_id="1", account="x", clock=clock).actions
        == (ACTIONS_BY_PLATFORM[Platform.X])
    )
    assert platform_action(Platform.X, Action.BLOCK) is Action.MUTE
    assert platform_action(Platform.INSTAGRAM, Action.BLOCK) is None
    assert platform_action(Platform.FACEBOOK, Action.BLOCK) is Action.BLOCK
