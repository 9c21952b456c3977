"""The escalation card's Evidence pack button, end to end over HTTP against the fake Slack.

The Clerk (or Deputy) who clicks gets the pack as a file in a direct message, uploaded with
files_upload_v2 (files.getUploadURLExternal, the upload, files.completeUploadExternal); anyone
else is told no and nothing is uploaded.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import ui_ids
from bot.records.verify import read_pack, verify_pack
from bot.services.review import Action, DecisionRequest
from tests.e2e.test_decisions import CLERK, OUTSIDER, SMAT1, VIEWER, Bot, running_bot, wait_until
from tests.fakes.fake_slack import FakeSlack

HOSTILE = "You useless idiot <!channel> <script>alert(1)</script> =1+1 \u202eexe.txt"


@pytest.fixture
def bot(tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bot]:
    with running_bot(f"sqlite:///{tmp_path / 'smat.db'}", fake_slack, monkeypatch) as running:
        yield running


def _hidden_item(bot: Bot) -> int:
    item_id = bot.comment(HOSTILE)
    item = bot.item(item_id)
    bot.container.desk.decide(
        DecisionRequest(item_id, item.version, Action.HIDE, SMAT1, reason_code="spam")
    )
    return item_id


def _click(bot: Bot, user: str, item_id: int, value: object | None = None) -> None:
    payload = json.dumps(value if value is not None else {"item": item_id})
    bot.click(user, item_id, ui_ids.EVIDENCE_PACK, value=payload)


def test_the_clerk_gets_the_pack_by_direct_message(bot: Bot) -> None:
    item_id = _hidden_item(bot)
    _click(bot, CLERK, item_id)
    dm = bot.slack.dm_channel_id(CLERK)
    [upload] = wait_until(lambda: bot.slack.files(dm), what="the pack in the Clerk's DM")
    assert upload.channels == (dm,)
    assert upload.filename.startswith("evidence-comment-")
    assert upload.filename.endswith(".zip")
    assert bot.slack.calls("files.getUploadURLExternal", ok=True)
    assert bot.slack.calls("files.completeUploadExternal", ok=True)
    files = read_pack(upload.content)
    result = verify_pack(files, bot.container.signing_key.get())
    assert result.ok, result.problems
    assert any(name.startswith("preserved/record-") for name in files)
    comment = upload.initial_comment or ""
    assert "signature and content hash verified" in comment
    for piece in ("idiot", "<!channel>", "<script>", "\u202e"):
        assert piece not in comment  # only our own wording beside the file
    with zipfile.ZipFile(io.BytesIO(upload.content)) as archive:
        assert all(info.filename.isascii() for info in archive.infolist())
    assert "Preparing the evidence pack" in bot.wait_ephemeral(CLERK, "Preparing")
    assert bot.slack.files(bot.triage) == []  # never into a channel


@pytest.mark.parametrize("user", [SMAT1, VIEWER, OUTSIDER])
def test_anyone_but_the_clerk_or_deputy_is_refused(bot: Bot, user: str) -> None:
    item_id = _hidden_item(bot)
    _click(bot, user, item_id)
    refusal = bot.wait_ephemeral(user, "Only the Town Clerk or the Deputy Clerk")
    assert "Nothing was sent" in refusal
    assert bot.slack.files() == []
    assert bot.slack.calls("files.getUploadURLExternal") == []


def test_forged_or_malformed_values_send_nothing(bot: Bot) -> None:
    item_id = _hidden_item(bot)
    _click(bot, CLERK, item_id, value={"item": 9999})
    assert "no longer held" in bot.wait_ephemeral(CLERK, "no longer held")
    for forged in ({"item": "1"}, {"item": True}, {"item": -1}, {"nope": 1}):
        _click(bot, CLERK, item_id, value=forged)
    bot.settle()
    assert bot.slack.files() == []
