"""Outbox handlers that post the digest and the reminders to Slack."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.rendering import escape_mrkdwn, mrkdwn
from bot.services.outbox import RetryLater

NOTICE_KIND = "slack.notice"
DIGEST_KIND = "slack.digest"


class SlackDigestPoster:
    """Posts the paper's summary, then shares the PDF, the CSV and the charts beside it."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def post_digest(self, payload: Mapping[str, Any]) -> None:
        """The ``slack.digest`` handler: summary message first, then the files."""
        paths = [Path(p) for p in payload["files"]]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            # The folder was moved or cleaned: retrying will not bring the files back.
            raise FileNotFoundError(f"digest files missing: {', '.join(missing)}")
        title = f"{payload['council']}: {payload['period']}"
        text = f"{title}\n{payload['summary']}"
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {
                "type": "context",
                "elements": [mrkdwn(escape_mrkdwn(f"For the {payload['committee']}"))],
            },
            {"type": "section", "text": mrkdwn(escape_mrkdwn(str(payload["summary"])))},
        ]
        uploads = [{"file": str(p), "filename": p.name, "title": p.name} for p in paths]
        posted: Any = _call(
            lambda: self._client.chat_postMessage(
                channel=str(payload["channel"]),
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        )
        _call(
            lambda: self._client.files_upload_v2(
                channel=str(posted["channel"]),
                thread_ts=str(posted["ts"]),
                initial_comment=(
                    f"The committee paper for {payload['week']} (PDF and HTML), the figures "
                    "(CSV) and the charts."
                ),
                file_uploads=uploads,
            )
        )


class SlackNoticePoster:
    """The ``slack.notice`` handler: a prepared message to a channel or a person."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def post_notice(self, payload: Mapping[str, Any]) -> None:
        """Post ``payload["text"]`` (and blocks) to ``payload["channel"]``."""
        _call(
            lambda: self._client.chat_postMessage(
                channel=str(payload["channel"]),
                text=str(payload["text"]),
                blocks=list(payload.get("blocks") or []),
                unfurl_links=False,
                unfurl_media=False,
            )
        )


def _call(call: Callable[[], object]) -> object:
    try:
        return call()
    except SlackApiError as exc:
        if exc.response.status_code == 429:
            headers = {k.lower(): v for k, v in exc.response.headers.items()}
            raise RetryLater("Slack rate limit", float(headers.get("retry-after", 1))) from None
        raise
