"""A zip of files with a manifest anyone can check: ``sha256sum -c`` and an HMAC signature.

Every pack holds, beside its own files:

- ``MANIFEST.sha256``: one line per file, ``<sha256 hex>  <path>``, exactly as ``sha256sum``
  writes them, so ``sha256sum -c MANIFEST.sha256`` in the unzipped folder checks every file;
- ``manifest.json``: the same hashes with sizes and what the pack is about;
- ``manifest.json.hmac``: the HMAC-SHA256 (hex) of ``manifest.json`` with the records key, so
  whoever holds the key can tell the manifest itself was made by SMAT Bot.

Paths are ASCII and built only from ids (never from resident-written text), in one top folder.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.records.signing import SigningKey, sha256_hex

MANIFEST_SHA256 = "MANIFEST.sha256"
MANIFEST_JSON = "manifest.json"
SIGNATURE_SUFFIX = ".hmac"
SAFE_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


def pretty_json(value: Any) -> bytes:
    """JSON for people to read: indented, keys sorted, UTF-8, with a final newline."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


@dataclass(frozen=True)
class Pack:
    """A finished pack: the zip's bytes and the hashes to note down when handing it over."""

    filename: str
    data: bytes
    sha256: str
    manifest_sha256: str
    """SHA-256 of MANIFEST.sha256: note it on the handover form."""
    files: tuple[str, ...]


@dataclass
class PackWriter:
    """Collects a pack's files, then signs the manifest and zips them in one folder."""

    folder: str
    created_at: datetime
    _files: dict[str, bytes] = field(default_factory=dict)

    def add(self, path: str, data: bytes) -> None:
        """Add one file (a safe relative path, each path once)."""
        if not SAFE_PATH.match(path) or path in self._files:
            raise ValueError(f"bad or repeated pack path {path!r}")
        self._files[path] = data

    def add_signed(self, path: str, data: bytes, signature: str) -> None:
        """Add a file and, beside it, its HMAC signature as ``<path>.hmac``."""
        self.add(path, data)
        self.add(path + SIGNATURE_SUFFIX, (signature + "\n").encode("ascii"))

    def finish(self, key: SigningKey, about: dict[str, Any]) -> Pack:
        """Write manifest.json (signed) and MANIFEST.sha256, and zip everything."""
        files = dict(sorted(self._files.items()))
        manifest = {
            **about,
            "generated_at": self.created_at.astimezone(UTC).isoformat(),
            "hash_algorithm": "sha256",
            "signature_algorithm": "hmac-sha256",
            "key_id": key.key_id,
            "files": [
                {"path": path, "sha256": sha256_hex(data), "bytes": len(data)}
                for path, data in files.items()
            ],
        }
        manifest_bytes = pretty_json(manifest)
        files[MANIFEST_JSON] = manifest_bytes
        files[MANIFEST_JSON + SIGNATURE_SUFFIX] = (key.sign(manifest_bytes) + "\n").encode()
        lines = "".join(f"{sha256_hex(data)}  {path}\n" for path, data in sorted(files.items()))
        files[MANIFEST_SHA256] = lines.encode("ascii")
        data = self._zip(files)
        return Pack(
            filename=f"{self.folder}.zip",
            data=data,
            sha256=sha256_hex(data),
            manifest_sha256=sha256_hex(files[MANIFEST_SHA256]),
            files=tuple(sorted(files)),
        )

    def _zip(self, files: dict[str, bytes]) -> bytes:
        stamp = self.created_at.astimezone(UTC)
        date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, data in files.items():
                info = zipfile.ZipInfo(f"{self.folder}/{path}", date_time=date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
        return buffer.getvalue()
