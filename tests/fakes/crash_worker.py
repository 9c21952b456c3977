"""A bot process for crash tests: it takes one decision and is killed by the test mid-way.

Run as ``python -m tests.fakes.crash_worker SETTINGS.json ACTION ITEM_ID``. It builds the same
container as ``smat-bot run`` from the settings (with the test classifier), then decides as a
SMAT member would by clicking: the decision is recorded and delivered at once. ``record-only``
records the decision and then kills itself before anything is delivered.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from bot.container import build
from bot.services.review import Action, DecisionRequest
from config.settings import Settings, deep_merge
from storage.models import ReviewItem
from tests.fakes.classifier import KeywordClassifier

DECIDER = "U0SMAT1"
REASON = "offensive_or_discriminatory"


def main(argv: list[str]) -> int:
    """Take the decision named on the command line."""
    settings_path, action_name, item_id = argv[1], argv[2], int(argv[3])
    overrides = json.loads(Path(settings_path).read_text())
    container = build(Settings(**deep_merge({}, overrides)), classifier=KeywordClassifier())
    with container.sessions() as session:
        version = session.get_one(ReviewItem, item_id).version
    record_only = action_name == "record-only"
    request = DecisionRequest(
        review_item_id=item_id,
        expected_version=version,
        action=Action.HIDE if record_only else Action(action_name),
        actor_slack_id=DECIDER,
        reason_code=REASON,
    )
    if record_only:
        container.review.decide(request)
        print("recorded", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    container.desk.decide(request)
    print("delivered", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
