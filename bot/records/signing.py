r"""Signing with HMAC-SHA256 over canonical JSON, so a copy can be checked outside SMAT Bot.

The canonical form is JSON with keys sorted, no whitespace between tokens (``,`` and ``:``
separators), non-ASCII characters written as UTF-8 (not ``\u`` escapes), UTF-8 encoded, and
no trailing newline. The signature is the lowercase hex HMAC-SHA256 of those bytes, keyed with
the key's UTF-8 bytes, so ``openssl dgst -sha256 -hmac "$KEY" FILE`` reproduces it for a file
holding exactly the canonical bytes (docs/records.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

MIN_KEY_CHARS = 32
"""Shorter keys are guessable by brute force; ``openssl rand -hex 32`` gives 64 characters."""


def canonical_json(value: Any) -> bytes:
    """The canonical bytes of a JSON-compatible value (sorted keys, compact, UTF-8)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """SHA-256 of the bytes, as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, repr=False)
class SigningKey:
    """An HMAC key and its public fingerprint; ``repr`` never shows the key."""

    secret: str

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_KEY_CHARS:
            raise ValueError(f"a signing key must be at least {MIN_KEY_CHARS} characters")

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id!r})"

    @property
    def key_id(self) -> str:
        """A short fingerprint naming the key (safe to print and store; it reveals nothing)."""
        return sha256_hex(b"smat-bot signing key id:" + self.secret.encode("utf-8"))[:16]

    def sign(self, data: bytes) -> str:
        """The lowercase hex HMAC-SHA256 of the bytes."""
        return hmac.new(self.secret.encode("utf-8"), data, hashlib.sha256).hexdigest()

    def verify(self, data: bytes, signature: str) -> bool:
        """Whether the signature is this key's HMAC of the bytes (constant-time compare)."""
        return hmac.compare_digest(self.sign(data).encode(), signature.strip().lower().encode())
