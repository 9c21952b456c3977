"""Policy settings come from the configuration file: log them whenever what is in force changes.

Thresholds, reason codes, roles, detectors and the classifier decide what SMAT is shown and
who may act, so a change to them is an administrative change like any other. At start-up the
effective settings are compared with the last ones logged, and a differing set is logged as an
event by the system.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from storage.audit.canonical import canonical_json, normal
from storage.audit.capture import add_event
from storage.audit.chain import EventDraft
from storage.audit.registry import CONFIGURATION
from storage.models import AuditEvent

log = logging.getLogger(__name__)

SETTINGS_SUBJECT = "settings"
SETTINGS_EVENT = "settings"
AUDITED_SETTINGS = ["policy", "roles", "detectors", "classifier", "retention", "blocked_authors"]
"""Sections of the settings whose changes are logged (add a section's name to log it too)."""

EVENTS = cast(Table, AuditEvent.__table__)


def audited_settings(settings: Settings) -> dict[str, Any]:
    """The logged sections of the settings, as JSON values."""
    values: dict[str, Any] = {}
    for name in AUDITED_SETTINGS:
        section = getattr(settings, name)
        dumped = section.model_dump(mode="json") if hasattr(section, "model_dump") else section
        values[name] = normal(dumped)
    return values


def record_settings(sessions: sessionmaker[Session], settings: Settings) -> bool:
    """Log the settings in force if they differ from the last logged; return whether logged."""
    current = audited_settings(settings)
    text = canonical_json(current)
    with sessions.begin() as session:
        last = session.scalar(
            select(EVENTS.c.payload)
            .where(EVENTS.c.subject_table == SETTINGS_SUBJECT)
            .order_by(EVENTS.c.seq.desc())
            .limit(1)
        )
        if last == text:
            return False
        add_event(
            session,
            EventDraft(
                CONFIGURATION,
                SETTINGS_EVENT,
                SETTINGS_SUBJECT,
                None,
                current,
                thresholds=settings.policy.thresholds,
            ),
        )
    log.info("the policy settings in force changed; logged in the decision log")
    return True
