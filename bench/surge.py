"""A surge of comments against a Slack that takes one new message a second per channel.

Simulates ``--comments`` comments (default 10,000) arriving at random over ``--hours`` (default
one hour), ``--flagged`` of them abusive, through the real ingest pipeline, outbox, pacer,
batching and card rendering, into the fake Slack Web API from the test suite, which answers 429
to any post sooner than one second after the last one in the channel. Time is a fake clock:
the simulated hour runs in minutes. Classification uses the test suite's keyword classifier
(classifier speed is ``bench/classifier_throughput.py``'s business); the rule detectors are real.

It reports how many messages reached Slack, whether Slack ever refused one (429), the most
posts in any one second, whether every comment is in Slack exactly once, and how long
flagged and clean comments waited between arriving and appearing in Slack.

Usage (from the repository root)::

    .venv/bin/python bench/surge.py                       # 10,000 comments in an hour
    .venv/bin/python bench/surge.py --comments 2000 --hours 0.2 --json results.json
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bot.container import build  # noqa: E402
from bot.services.pacing import ChannelPacer  # noqa: E402
from config.settings import Settings, deep_merge  # noqa: E402
from platforms.types import IncomingComment, Platform, Source  # noqa: E402
from storage.models import (  # noqa: E402
    Classification,
    Comment,
    ReviewItem,
    SlackBatch,
    SlackBatchItem,
)
from tests.fakes.classifier import KeywordClassifier  # noqa: E402
from tests.fakes.clock import FakeClock  # noqa: E402
from tests.fakes.fake_slack import FakeSlack  # noqa: E402

TOKEN = "xoxb-bench-token"
START = datetime(2026, 11, 16, 18, 0, tzinfo=UTC)
CLEAN_TEXTS = (
    "Lovely lights this year, well done everyone",
    "When does the Christmas market start?",
    "Will the car park be free on Saturday?",
    "The council should have done this years ago, frankly a shambles",
    "Thanks to the volunteers who put the tree up",
)
FLAGGED_TEXTS = ("You useless idiots", "stupid council, stupid clerk", "I will smash your windows")


class TimedClient(WebClient):
    """A WebClient that notes the simulated time at which each new message was posted."""

    def __init__(self, clock: FakeClock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sim_clock = clock
        self.posted_at: dict[str, datetime] = {}

    def chat_postMessage(self, **kwargs: Any) -> Any:
        response = super().chat_postMessage(**kwargs)
        self.posted_at[str(response["ts"])] = self.sim_clock()
        return response


@dataclass
class Result:
    comments: int
    flagged: int
    hours: float
    messages: int = 0
    own_cards: int = 0
    batch_cards: int = 0
    refused_429: int = 0
    most_posts_in_one_second: int = 0
    shown_exactly_once: bool = False
    last_arrival_s: float = 0.0
    last_post_s: float = 0.0
    flagged_wait_s: dict[str, float] = field(default_factory=dict)
    clean_wait_s: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0


def arrivals(count: int, hours: float, flagged_share: float, seed: int) -> list[IncomingComment]:
    """Comments at uniformly random moments over the period, a share of them abusive."""
    rng = random.Random(seed)
    moments = sorted(rng.uniform(0, hours * 3600) for _ in range(count))
    flagged = set(rng.sample(range(count), round(count * flagged_share)))
    comments = []
    for n, offset in enumerate(moments):
        texts = FLAGGED_TEXTS if n in flagged else CLEAN_TEXTS
        text = f"{rng.choice(texts)} ({n})"
        author = rng.randrange(2000)
        comments.append(
            IncomingComment(
                platform=Platform.FACEBOOK,
                account="ExampleTownCouncil",
                external_id=f"c{n}",
                author_id=f"a{author}",
                author_name=f"Resident {author}",
                text=text,
                created_at=START + timedelta(seconds=offset),
                source=Source.WEBHOOK,
                permalink=f"https://www.facebook.com/ExampleTownCouncil/posts/1?comment_id=c{n}",
                post_title="Christmas lights switch-on",
                raw={"id": f"c{n}", "message": text},
            )
        )
    return comments


def quantiles(values: list[float]) -> dict[str, float]:
    """Median, 95th percentile and maximum, rounded to a tenth of a second."""
    if not values:
        return {}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {
        "median": round(statistics.median(ordered), 1),
        "p95": round(p95, 1),
        "max": round(ordered[-1], 1),
    }


def run(args: argparse.Namespace) -> Result:
    comments = arrivals(args.comments, args.hours, args.flagged, args.seed)
    result = Result(comments=len(comments), flagged=0, hours=args.hours)
    clock = FakeClock(START)

    def sleep(seconds: float) -> None:
        clock.advance(microseconds=math.ceil(seconds * 1_000_000))

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, FakeSlack(tokens=(TOKEN,)) as slack:
        slack.enforce_channel_rate(1.0, clock=clock)
        settings = Settings(
            **deep_merge(
                {
                    "database_url": args.database or f"sqlite:///{tmp}/surge.db",
                    "council": {"name": "Example Town Council"},
                    "slack": {"bot_token": TOKEN, "api_url": slack.base_url},
                },
                {"surge": {"burst": 1}},  # the fake Slack allows no burst at all
            )
        )
        client = TimedClient(clock, token=TOKEN, base_url=slack.base_url)
        pacer = ChannelPacer(1.0, 1, clock=clock, sleep=sleep)
        container = build(
            settings,
            classifier=KeywordClassifier(),
            clock=clock,
            slack_client=client,
            pacer=pacer,
            announce=lambda _: None,
        )
        ingest = container.ingest()
        arrived_at = {c.external_id: c.created_at for c in comments}
        pending = list(comments)
        while pending or container.outbox.pending_count():
            due = [c for c in pending if c.created_at <= clock.now]
            if due:
                pending = pending[len(due) :]
                ingest.ingest(due)  # as webhooks would deliver them
            # One message at a time, so arrivals are taken in between as webhooks would be.
            report = container.outbox.deliver_due(limit=1)
            if report.delivered == 0 and not due:
                clock.advance(seconds=1)
        result.wall_s = round(time.perf_counter() - started, 1)
        _measure(result, container, slack, client, arrived_at)
        container.engine.dispose()
    return result


def _measure(
    result: Result,
    container: Any,
    slack: FakeSlack,
    client: TimedClient,
    arrived_at: dict[str, datetime],
) -> None:
    triage = slack.channel_id(container.settings.slack.channels.triage)
    posts = slack.calls("chat.postMessage")
    result.refused_429 = sum(1 for call in posts if call.status == 429)
    result.messages = sum(1 for call in posts if call.ok)
    per_second = Counter(int((t - START).total_seconds()) for t in client.posted_at.values())
    result.most_posts_in_one_second = max(per_second.values(), default=0)
    with container.sessions() as session:
        rows = session.execute(
            select(
                ReviewItem.id,
                ReviewItem.slack_ts,
                Comment.external_id,
                Classification.suggested_action,
            )
            .join(Comment, Comment.id == ReviewItem.comment_id)
            .join(Classification, Classification.id == ReviewItem.classification_id)
        ).all()
        batch_of = dict(
            session.execute(
                select(SlackBatchItem.review_item_id, SlackBatch.slack_ts)
                .join(SlackBatch, SlackBatch.id == SlackBatchItem.batch_id)
                .where(SlackBatchItem.pulled_out_at.is_(None))
            ).all()
        )
    shown: list[int] = []
    for message in slack.messages(triage):
        lines = [
            int(b["block_id"].split(":")[1])
            for b in message["blocks"]
            if str(b.get("block_id", "")).startswith("batch_line:")
        ]
        shown += lines or [-1]
    own = {ts: item for item, ts, _, _ in rows if ts}
    shown = [item for item in shown if item != -1] + list(own.values())
    result.shown_exactly_once = sorted(shown) == sorted(item for item, *_ in rows)
    result.batch_cards = len(set(batch_of.values()))
    result.own_cards = len(own)
    flagged_waits, clean_waits = [], []
    for item, ts, external_id, suggested in rows:
        card_ts = ts or batch_of.get(item)
        if card_ts is None:
            continue
        wait = (client.posted_at[card_ts] - arrived_at[external_id]).total_seconds()
        (clean_waits if suggested == "approve" else flagged_waits).append(wait)
    result.flagged = len(flagged_waits)
    result.flagged_wait_s = quantiles(flagged_waits)
    result.clean_wait_s = quantiles(clean_waits)
    result.last_arrival_s = round((max(arrived_at.values()) - START).total_seconds(), 1)
    result.last_post_s = round((max(client.posted_at.values()) - START).total_seconds(), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=10_000)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--flagged", type=float, default=0.1, help="share of abusive comments")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database", help="a database URL (default: a temporary SQLite file)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    result = run(args)
    data = {
        **result.__dict__,
        "python": platform.python_version(),
        "database": "postgresql" if args.database else "sqlite",
    }
    print(json.dumps(data, indent=2))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2))


if __name__ == "__main__":
    main()
