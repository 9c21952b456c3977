"""Content hashes used to spot edits and to fingerprint preserved originals."""

from __future__ import annotations

import hashlib


def content_sha256(text: str) -> str:
    """SHA-256 of the text's UTF-8 bytes, as hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
