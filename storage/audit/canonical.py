"""Canonical JSON and the event hash: the exact bytes a log event's SHA-256 is taken over.

This format is part of what a council may rely on years later (docs/records.md describes it so
anyone can check the log with their own tools), so it must never change for existing events.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event."""

HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "actor_name",
    "kind",
    "subject_table",
    "subject_id",
    "reason_code",
    "model",
    "thresholds",
    "payload",
    "prev_hash",
)
"""Every stored column of an event except its own hash."""


_PLAIN = frozenset({str, int, bool, type(None)})
"""Types whose values are their own JSON value."""


class NotCanonical(ValueError):
    """A value that has no canonical JSON form (e.g. NaN, bytes, a non-string key)."""


class Normalised(dict[str, Any]):
    """An object already in its logged form (a row's snapshot): ``normal`` takes it as it is."""


def normal(value: Any) -> Any:
    """The JSON value a stored value is logged as: times as UTC ISO 8601, lists for tuples."""
    # Exact types first: every event's snapshot goes through here, mostly plain dicts, lists,
    # strings and numbers, and looking at the type once is much cheaper than isinstance
    # against a union or an abstract class. Anything else takes the general path below.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None or kind is Normalised:
        return value
    if kind is dict:
        result: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                return _normal(value)  # a key to check (or refuse) in the general path
            result[key] = item if _is_plain(item) else normal(item)
        return result
    if kind is list:
        return [item if _is_plain(item) else normal(item) for item in value]
    if kind is float and math.isfinite(value):
        return value
    return _normal(value)


def _is_plain(value: Any) -> bool:
    """Whether a value is its own JSON value (most of a snapshot's leaves)."""
    kind = type(value)
    return kind in _PLAIN or (kind is float and math.isfinite(value))


def _normal(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotCanonical(f"{value!r} has no JSON form")
        return value
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonical(f"object key {key!r} is not a string")
            result[key] = normal(item)
        return result
    if isinstance(value, list | tuple):
        return [normal(item) for item in value]
    raise NotCanonical(f"{type(value).__name__} values cannot be logged")


def utc_iso(moment: datetime) -> str:
    """A time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC; a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elif moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return _utc_text(moment)


@lru_cache(maxsize=256)
def _utc_text(moment: datetime) -> str:
    # Cached: a batch's rows and events mostly share one time, and formatting it is the slowest
    # part of a snapshot. Only UTC times come here, and equal UTC times have equal fields.
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text as is, no NaN: one text for one value."""
    return json.dumps(
        normal(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def event_hash(fields: Mapping[Any, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of an event's hashed fields, ``prev_hash`` included.

    ``payload`` and ``thresholds`` are hashed as the stored JSON *text*, so checking an event
    never needs to parse them, and any change to a stored byte changes the hash.
    """
    missing = [name for name in HASHED_FIELDS if name not in fields]
    if missing:
        raise KeyError(f"event is missing hashed field(s): {', '.join(missing)}")
    hashed = {name: fields[name] for name in HASHED_FIELDS}
    return hashlib.sha256(canonical_json(hashed).encode("utf-8")).hexdigest()
