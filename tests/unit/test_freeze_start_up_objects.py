"""``smat-bot run`` freezes what it loaded at start-up out of the garbage collector's reach."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.operations import freeze_start_up_objects


@pytest.fixture
def unfreeze_afterwards() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfreeze_afterwards")
def test_objects_alive_at_start_up_are_frozen_and_later_ones_are_not() -> None:
    loaded_at_start_up = [[n] for n in range(10_000)]
    frozen = freeze_start_up_objects()
    assert frozen == gc.get_freeze_count() > len(loaded_at_start_up)
    tracked = {id(obj) for obj in gc.get_objects()}
    assert not any(id(obj) in tracked for obj in loaded_at_start_up)

    created_later = [[n] for n in range(10)]
    tracked = {id(obj) for obj in gc.get_objects()}
    assert all(id(obj) in tracked for obj in created_later)
