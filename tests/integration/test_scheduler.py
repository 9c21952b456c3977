"""The schedule: one poll job per account, kept in the database across restarts."""

from __future__ import annotations

from typing import Any

from bot.container import build
from bot.scheduler import start_scheduler
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier


def _account(name: str, minutes: int = 10) -> dict[str, Any]:
    return {
        "name": name,
        "platform": "facebook",
        "id": f"id-{name}",
        "display_name": name,
        "token": "env:NOPE",
        "poll_minutes": minutes,
    }


def _poll_jobs(settings_kwargs: dict[str, Any], make_settings: MakeSettings) -> dict[str, Any]:
    container = build(make_settings(**settings_kwargs), classifier=KeywordClassifier())
    scheduler = start_scheduler(container)
    try:
        return {
            job.id: job.next_run_time
            for job in scheduler.get_jobs(jobstore="default")
            if job.id.startswith("poll:")
        }
    finally:
        scheduler.shutdown(wait=False)


def test_poll_jobs_keep_their_timing_across_a_restart(make_settings: MakeSettings) -> None:
    first = _poll_jobs({"accounts": [_account("fb-a"), _account("fb-b")]}, make_settings)
    assert set(first) == {"poll:fb-a", "poll:fb-b"}
    again = _poll_jobs({"accounts": [_account("fb-a"), _account("fb-b")]}, make_settings)
    assert again == first


def test_changed_and_removed_accounts_are_rescheduled(make_settings: MakeSettings) -> None:
    first = _poll_jobs({"accounts": [_account("fb-a"), _account("fb-b")]}, make_settings)
    after = _poll_jobs({"accounts": [_account("fb-a", minutes=60)]}, make_settings)
    assert set(after) == {"poll:fb-a"}
    assert after["poll:fb-a"] != first["poll:fb-a"]


def test_polling_can_be_switched_off(make_settings: MakeSettings) -> None:
    jobs = _poll_jobs(
        {"accounts": [_account("fb-a")], "polling": {"enabled": False}}, make_settings
    )
    assert jobs == {}


def _records_jobs(make_settings: MakeSettings, **settings: Any) -> dict[str, str]:
    container = build(make_settings(**settings), classifier=KeywordClassifier())
    scheduler = start_scheduler(container)
    try:
        return {
            job.id: str(job.trigger)
            for job in scheduler.get_jobs(jobstore="volatile")
            if job.id in ("retention-purge", "block-reviews")
        }
    finally:
        scheduler.shutdown(wait=False)


def test_the_purge_and_the_block_review_check_run_daily_at_local_times(
    make_settings: MakeSettings,
) -> None:
    jobs = _records_jobs(
        make_settings,
        retention={"purge_at": "02:15"},
        blocked_authors={"remind_at": "08:30"},
    )
    assert "hour='2', minute='15'" in jobs["retention-purge"]
    assert "hour='8', minute='30'" in jobs["block-reviews"]
    assert "retention-purge" not in _records_jobs(make_settings, retention={"purge_enabled": False})
