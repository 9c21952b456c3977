"""Builds the connector for a registered account: its HTTP client, base URL and token."""

from __future__ import annotations

from bot.clock import Clock
from bot.services.accounts import SecretResolver
from config.settings import AccountSettings, PlatformSettings
from platforms.base import Connector
from platforms.http import make_client
from platforms.types import Platform


def build_connector(
    account: AccountSettings, platforms: PlatformSettings, secrets: SecretResolver, clock: Clock
) -> Connector:
    """The connector for one account (raises ConfigError if its token cannot be found)."""
    token = secrets.resolve(account.token)
    platform = Platform(account.platform)
    endpoint = getattr(platforms, platform.value)
    client = make_client(token, base_url=endpoint.api_url)
    if platform is Platform.FACEBOOK:
        from platforms.facebook import FacebookConnector

        return FacebookConnector(
            client,
            page_id=account.id,
            account=account.id,
            clock=clock,
            lookback_days=account.lookback_days,
            api_version=endpoint.api_version or "v25.0",
        )
    if platform is Platform.INSTAGRAM:
        from platforms.instagram import InstagramConnector

        return InstagramConnector(
            client,
            ig_user_id=account.id,
            account=account.id,
            clock=clock,
            lookback_days=account.lookback_days,
            api_version=endpoint.api_version or "v25.0",
        )
    if platform is Platform.YOUTUBE:
        from platforms.youtube import YouTubeConnector

        return YouTubeConnector(
            client,
            channel_id=account.id,
            account=account.id,
            clock=clock,
            lookback_days=account.lookback_days,
        )
    from platforms.x import XConnector

    return XConnector(client, user_id=account.id, account=account.id, clock=clock)
