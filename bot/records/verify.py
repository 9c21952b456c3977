"""Checking a pack or a preserved record outside the database, as a third party would.

``verify_pack`` re-does what README.txt tells a recipient to do: every line of
``MANIFEST.sha256`` must match its file, no file may be missing or unlisted, and with the key
``manifest.json.hmac`` and every ``*.json.hmac`` beside a preserved record must match.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from bot.records.package import MANIFEST_JSON, MANIFEST_SHA256, SIGNATURE_SUFFIX
from bot.records.signing import SigningKey, sha256_hex


class NotAPack(ValueError):
    """The file is not a pack SMAT Bot made (no manifest, not a zip, several folders)."""


@dataclass
class Verification:
    """What was checked, and every problem found (none means all is well)."""

    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.problems


def read_pack(data: bytes) -> dict[str, bytes]:
    """The files of a pack zip, by path inside its one top folder."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise NotAPack("not a zip file") from None
    with archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        folders = {n.split("/", 1)[0] for n in names}
        if len(folders) != 1 or any("/" not in n for n in names):
            raise NotAPack("a pack holds one folder")
        files = {n.split("/", 1)[1]: archive.read(n) for n in names}
    if MANIFEST_SHA256 not in files:
        raise NotAPack(f"no {MANIFEST_SHA256} in it")
    return files


def verify_pack(files: dict[str, bytes], key: SigningKey | None) -> Verification:
    """Check a pack's files against MANIFEST.sha256 and, with a key, its signatures."""
    result = Verification()
    listed: set[str] = set()
    for number, line in enumerate(
        files[MANIFEST_SHA256].decode("utf-8", "replace").splitlines(), 1
    ):
        digest, sep, path = line.partition("  ")
        if not sep:
            result.problems.append(f"{MANIFEST_SHA256} line {number} is not '<sha256>  <path>'")
            continue
        listed.add(path)
        if path not in files:
            result.problems.append(f"{path}: listed but missing")
        elif sha256_hex(files[path]) != digest.lower():
            result.problems.append(f"{path}: SHA-256 does not match (the file changed)")
        else:
            result.checked.append(f"{path}: SHA-256 OK")
    for path in sorted(set(files) - listed - {MANIFEST_SHA256}):
        result.problems.append(f"{path}: not listed in {MANIFEST_SHA256}")
    if key is None:
        return result
    for path in sorted(files):
        if not path.endswith(SIGNATURE_SUFFIX):
            continue
        signed = path.removesuffix(SIGNATURE_SUFFIX)
        if signed not in files:
            result.problems.append(f"{path}: signs {signed}, which is missing")
        elif key.verify(files[signed], files[path].decode("ascii", "replace")):
            result.checked.append(f"{signed}: signature OK")
        else:
            result.problems.append(f"{signed}: signature does not match this key")
    if MANIFEST_JSON + SIGNATURE_SUFFIX not in files:
        result.problems.append(f"{MANIFEST_JSON}{SIGNATURE_SUFFIX}: missing")
    return result


def verify_signed_file(path: Path, signature: str | None, key: SigningKey) -> Verification:
    """Check one signed file (e.g. preserved/record-7.json) against its ``.hmac`` or a value."""
    result = Verification()
    data = path.read_bytes()
    if signature is None:
        signature_path = path.with_name(path.name + SIGNATURE_SUFFIX)
        if not signature_path.exists():
            result.problems.append(f"no signature given and no {signature_path.name} beside it")
            return result
        signature = signature_path.read_text("ascii", "replace")
    if key.verify(data, signature):
        result.checked.append(f"{path.name}: signature OK")
    else:
        result.problems.append(f"{path.name}: signature does not match this key")
    return result
