"""The library of standard replies, versioned: an edit adds a version, never overwrites one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import CannedResponse
from storage.models import CannedResponseVersion


def seed_canned_responses(
    sessions: sessionmaker[Session], responses: Mapping[str, CannedResponse], now: datetime
) -> int:
    """Store the configured responses whose key is not in the library yet; return how many."""
    added = 0
    with sessions.begin() as session:
        known = set(session.scalars(select(CannedResponseVersion.key).distinct()))
        for key, response in responses.items():
            if key in known:
                continue  # once stored, the Clerk edits it in Slack; the file only seeds
            session.add(
                CannedResponseVersion(
                    key=key,
                    version=1,
                    title=response.title,
                    body=response.body,
                    created_by="config",
                    created_at=now,
                )
            )
            added += 1
    return added
