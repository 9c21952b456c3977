"""Bot processes for the multi-process tests: run with ``python -m tests.integration.workers``.

``scheduler URL BEATS_FILE``: starts the real scheduler (with its leader election) and adds a
heartbeat job that appends this process's pid to BEATS_FILE every 0.1 s while it leads; prints
``started leader=<bool>`` and runs until killed.

``outbox GO_FILE``: builds the bot from the environment (SMAT_DATABASE_URL, SLACK_*), waits for
GO_FILE to appear, delivers the outbox until nothing is left, and prints ``delivered <n>``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bot.container import build
from config.settings import Settings, load_settings
from tests.fakes.classifier import KeywordClassifier


def _beat(path: str) -> None:
    with open(path, "a") as beats:
        beats.write(f"{os.getpid()}\n")


def run_scheduler(url: str, beats: str) -> None:
    from apscheduler.schedulers.base import STATE_RUNNING

    from bot.scheduler import start_scheduler

    settings = Settings(database_url=url, operations={"leader_retry_seconds": 0.3})
    container = build(settings, classifier=KeywordClassifier(), announce=lambda _line: None)
    scheduler = start_scheduler(container)
    scheduler.add_job(_beat, "interval", seconds=0.1, args=[beats], id="beat", jobstore="volatile")
    leading = scheduler.state == STATE_RUNNING  # not paused: this process leads
    print(f"started leader={leading}", flush=True)
    while True:
        time.sleep(1)


def run_outbox(go_file: str) -> None:
    container = build(load_settings(), classifier=KeywordClassifier(), announce=lambda _l: None)
    while not Path(go_file).exists():
        time.sleep(0.01)
    delivered = 0
    deadline = time.monotonic() + 60
    while container.outbox.pending_count() and time.monotonic() < deadline:
        report = container.outbox.deliver_due(limit=5)
        delivered += report.delivered
        if not report.delivered:
            time.sleep(0.01)  # the rest is claimed by the other process
    print(f"delivered {delivered}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "scheduler":
        run_scheduler(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "outbox":
        run_outbox(sys.argv[2])
    else:
        raise SystemExit(f"unknown worker {sys.argv[1]!r}")
