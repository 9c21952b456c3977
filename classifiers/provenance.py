"""What a classification records about where its model came from: file digests, package versions."""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path


def file_sha256(path: Path) -> str:
    """The file's SHA-256, hex, read in blocks (model files are hundreds of megabytes)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def installed_version(distribution: str) -> str:
    """The installed version of a package, or ``unknown`` when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"
