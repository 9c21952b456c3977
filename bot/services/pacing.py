"""Paces new Slack messages per channel, so a surge is posted at Slack's pace, not met with 429s.

Slack takes about one new message a second in a channel, with short bursts allowed. Each
channel has a token bucket: ``burst`` messages may go at once, then one per ``1 / rate``
seconds. A caller that would wait a little (a second or two) sleeps for its slot; one that
would wait longer is told how long, so an outbox message can be rescheduled instead of tying
up a thread. If Slack still says "slow down" (another process posting to the channel), the
channel is held for the Retry-After it gave.

Time is the bot's Clock and a sleep function, both injected: tests drive them with a fake
clock so a 500-comment surge takes no real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from slack_sdk.errors import SlackApiError

from bot.clock import Clock, system_clock
from bot.services.outbox import RetryLater

T = TypeVar("T")
Sleep = Callable[[float], None]


@dataclass
class _Bucket:
    tokens: float
    updated: float
    held_until: float = 0.0


class PostingTooSoon(Exception):
    """The channel's next free slot is further away than the caller is willing to wait."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"next slot in {wait_seconds:.1f}s")
        self.wait_seconds = wait_seconds


class ChannelPacer:
    """A token bucket per channel; thread-safe, so every sender in a process shares it."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Clock = system_clock,
        sleep: Sleep = time.sleep,
        max_wait: float = 5.0,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._interval = 1.0 / rate
        self._burst = float(burst)
        self._clock = clock
        self._epoch = clock()
        self._sleep = sleep
        self._max_wait = max_wait
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def acquire(self, channel: str) -> float:
        """Take the channel's next slot, sleeping until it comes; return the seconds waited.

        Raises PostingTooSoon (taking nothing) when the slot is more than ``max_wait`` away.
        """
        with self._lock:
            now = self._seconds()
            bucket = self._refilled(channel, now)
            ready_at = max(now, bucket.held_until)
            if bucket.tokens < 1:
                ready_at = max(ready_at, now + (1 - bucket.tokens) * self._interval)
            wait = ready_at - now
            if wait > self._max_wait:
                raise PostingTooSoon(wait)
            # Book the slot now (tokens may go negative): concurrent senders queue behind it.
            bucket.tokens -= 1
        if wait > 0:
            self._sleep(wait)
        return wait

    def hold(self, channel: str, seconds: float) -> None:
        """Slack refused a post (429): post nothing more to the channel for ``seconds``."""
        with self._lock:
            now = self._seconds()
            bucket = self._refilled(channel, now)
            bucket.held_until = max(bucket.held_until, now + seconds)
            bucket.tokens = min(bucket.tokens, 0.0)

    def _seconds(self) -> float:
        # Datetime arithmetic is exact to the microsecond; small floats keep it so.
        return (self._clock() - self._epoch).total_seconds()

    def _refilled(self, channel: str, now: float) -> _Bucket:
        bucket = self._buckets.get(channel)
        if bucket is None:
            bucket = self._buckets[channel] = _Bucket(tokens=self._burst, updated=now)
            return bucket
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(self._burst, bucket.tokens + elapsed / self._interval)
        bucket.updated = now
        return bucket


def paced_post(pacer: ChannelPacer | None, channel: str, post: Callable[[], T]) -> T:
    """Post a new Slack message in the channel's next slot; RetryLater when it must wait long.

    A 429 from Slack (someone else posting to the channel too) holds the channel for the
    Retry-After Slack gave and reschedules the message; it is never dropped.
    """
    if pacer is not None:
        try:
            pacer.acquire(channel)
        except PostingTooSoon as exc:
            raise RetryLater(f"pacing posts to {channel}", exc.wait_seconds) from None
    try:
        return post()
    except SlackApiError as exc:
        retry_after = rate_limit_delay(exc)
        if retry_after is None:
            raise
        if pacer is not None:
            pacer.hold(channel, retry_after)
        raise RetryLater("Slack rate limit", retry_after) from None


def rate_limit_delay(exc: SlackApiError) -> float | None:
    """Slack's Retry-After in seconds when the error is a 429, else None."""
    if exc.response.status_code != 429:
        return None
    headers = {k.lower(): v for k, v in exc.response.headers.items()}
    try:
        return max(float(headers.get("retry-after", 1)), 0.0)
    except (TypeError, ValueError):
        return 1.0
