"""Canonical JSON and the event hash: the format a council may check with its own tools."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from storage.audit.canonical import (
    GENESIS_HASH,
    HASHED_FIELDS,
    Normalised,
    NotCanonical,
    canonical_json,
    event_hash,
    normal,
    utc_iso,
)


def _event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "seq": 1,
        "occurred_at": datetime(2026, 11, 16, 10, 30, tzinfo=UTC),
        "actor_kind": "person",
        "actor_id": "U0SMAT1",
        "actor_name": "Jo",
        "kind": "created",
        "subject_table": "decisions",
        "subject_id": 7,
        "reason_code": "defamatory",
        "model": "detoxify-unbiased 0.5.2",
        "thresholds": '{"insult":0.6}',
        "payload": '{"action":"hide","id":7}',
        "prev_hash": GENESIS_HASH,
    }
    event.update(changes)
    return event


def test_canonical_json_sorts_keys_has_no_spaces_and_keeps_text_as_is() -> None:
    value = {"b": [1, 2.5, None], "a": {"z": True, "é": "Ysgol Gymraeg \u2013 \u201cquoted\u201d"}}
    assert canonical_json(value) == (
        '{"a":{"z":true,"é":"Ysgol Gymraeg \u2013 \u201cquoted\u201d"},"b":[1,2.5,null]}'
    )


def test_times_are_utc_with_microseconds_whatever_their_zone() -> None:
    bst = timezone(timedelta(hours=1))
    assert utc_iso(datetime(2026, 7, 1, 11, 0, tzinfo=bst)) == "2026-07-01T10:00:00.000000Z"
    assert utc_iso(datetime(2026, 7, 1, 10, 0)) == "2026-07-01T10:00:00.000000Z"  # naive: UTC
    assert canonical_json({"d": date(2026, 7, 1)}) == '{"d":"2026-07-01"}'
    assert canonical_json((1, (2,))) == "[1,[2]]"


def test_the_same_wall_clock_time_either_side_of_a_clock_change_is_two_times() -> None:
    london = ZoneInfo("Europe/London")
    first = datetime(2026, 10, 25, 1, 30, tzinfo=london)  # BST, then again in GMT
    again = first.replace(fold=1)
    assert utc_iso(first) == "2026-10-25T00:30:00.000000Z"
    assert utc_iso(again) == "2026-10-25T01:30:00.000000Z"
    assert utc_iso(first) == "2026-10-25T00:30:00.000000Z"  # asked again, answered the same


def test_a_snapshot_marked_normalised_is_written_as_the_same_text() -> None:
    row = {"b": [1, 2.5, None], "a": {"z": True, "at": "2026-07-01T00:00:00.000000Z"}, "c": "é"}
    marked = Normalised(normal(row))
    assert normal(marked) is marked  # not walked again
    assert canonical_json(marked) == canonical_json(row)


def test_mappings_sequences_and_subclasses_take_their_plain_forms() -> None:
    class Code(StrEnum):
        HIDE = "hide"

    value = OrderedDict(
        [("k", (1, [2.5, Code.HIDE])), (Code.HIDE, {"at": datetime(2026, 7, 1, tzinfo=UTC)})]
    )
    assert canonical_json(value) == (
        '{"hide":{"at":"2026-07-01T00:00:00.000000Z"},"k":[1,[2.5,"hide"]]}'
    )


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        b"bytes",
        {1: "x"},
        {"k": object()},
        {"a": 1, 2: "x"},
        {"scores": {"insult": float("nan")}},
        [1, [float("-inf")]],
        {"k": {b"x"}},
    ],
)
def test_values_without_one_json_form_are_refused(value: Any) -> None:
    with pytest.raises(NotCanonical):
        canonical_json(value)


def test_the_event_hash_is_sha256_of_the_documented_text() -> None:
    expected_text = (
        '{"actor_id":"U0SMAT1","actor_kind":"person","actor_name":"Jo","kind":"created",'
        '"model":"detoxify-unbiased 0.5.2","occurred_at":"2026-11-16T10:30:00.000000Z",'
        '"payload":"{\\"action\\":\\"hide\\",\\"id\\":7}",'
        f'"prev_hash":"{GENESIS_HASH}","reason_code":"defamatory","seq":1,'
        '"subject_id":7,"subject_table":"decisions","thresholds":"{\\"insult\\":0.6}"}'
    )
    assert event_hash(_event()) == hashlib.sha256(expected_text.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("field", HASHED_FIELDS)
def test_every_field_is_covered_by_the_hash(field: str) -> None:
    original = _event()
    changed = dict(original)
    value = original[field]
    if isinstance(value, datetime):
        changed[field] = value + timedelta(microseconds=1)
    elif isinstance(value, int):
        changed[field] = value + 1
    else:
        changed[field] = (value or "") + "x"
    assert event_hash(changed) != event_hash(original)


def test_the_stored_hash_and_extra_columns_do_not_enter_the_hash() -> None:
    assert event_hash(_event(hash="a" * 64, extra=1)) == event_hash(_event())


def test_an_event_missing_a_field_cannot_be_hashed() -> None:
    event = _event()
    del event["prev_hash"]
    with pytest.raises(KeyError, match="prev_hash"):
        event_hash(event)
