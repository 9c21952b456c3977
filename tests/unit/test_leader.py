"""Leader election: one holder at a time; a leader that loses its lock stops its jobs."""

from __future__ import annotations

from pathlib import Path

from bot.leader import AlwaysLeader, Election, FileLock, lock_for, lock_key
from storage.db import make_engine


class ToggleLock:
    """A lock the test can take away, as a dropped database connection would."""

    def __init__(self) -> None:
        self.free = True
        self.held = False

    def try_acquire(self) -> bool:
        if self.free and not self.held:
            self.held = True
            return True
        return False

    def still_held(self) -> bool:
        return self.held

    def release(self) -> None:
        self.held = False


def _election(lock: object, events: list[str], name: str) -> Election:
    return Election(
        lock,  # type: ignore[arg-type]
        on_elected=lambda: events.append(f"{name} elected"),
        on_deposed=lambda: events.append(f"{name} deposed"),
        retry_seconds=60,
    )


def test_only_one_holder_of_a_file_lock_leads_until_it_stops(tmp_path: Path) -> None:
    events: list[str] = []
    path = tmp_path / "smat.db.leader.lock"
    first = _election(FileLock(path), events, "first")
    second = _election(FileLock(path), events, "second")
    first.tick()
    second.tick()
    assert (first.is_leader, second.is_leader) == (True, False)
    second.tick()
    assert events == ["first elected"]
    first.stop()
    second.tick()
    assert second.is_leader
    assert events == ["first elected", "second elected"]
    second.stop()


def test_a_leader_that_lost_its_lock_stops_and_competes_again() -> None:
    events: list[str] = []
    lock = ToggleLock()
    election = _election(lock, events, "a")
    election.tick()
    assert election.is_leader
    lock.held = False  # the lock's connection died
    lock.free = False  # and another process took the lock meanwhile
    election.tick()
    assert not election.is_leader
    assert events == ["a elected", "a deposed"]
    lock.free = True  # the other process died in turn
    election.tick()
    assert election.is_leader
    assert events == ["a elected", "a deposed", "a elected"]


def test_a_failed_take_over_releases_the_lock_for_another_process() -> None:
    lock = ToggleLock()

    def fail() -> None:
        raise RuntimeError("database went away")

    election = Election(lock, on_elected=fail, on_deposed=lambda: None, retry_seconds=60)
    election.tick()
    assert not election.is_leader
    assert not lock.held


def test_stopping_releases_without_calling_on_deposed() -> None:
    events: list[str] = []
    lock = ToggleLock()
    election = _election(lock, events, "a")
    election.start()
    assert election.is_leader
    election.stop()
    assert not lock.held
    election.tick()  # a tick after stopping does nothing
    assert events == ["a elected"]


def test_the_lock_suits_the_database(tmp_path: Path) -> None:
    assert isinstance(lock_for(make_engine(f"sqlite:///{tmp_path / 'x.db'}")), FileLock)
    assert isinstance(lock_for(make_engine("sqlite://")), AlwaysLeader)


def test_lock_keys_differ_by_schema_and_fit_a_bigint() -> None:
    one, two = lock_key("smat-bot:scheduler", "test/a"), lock_key("smat-bot:scheduler", "test/b")
    assert one != two
    assert -(2**63) <= one < 2**63
    assert lock_key("smat-bot:scheduler", "test/a") == one
