"""Where the records signing key comes from: the settings, or a key file made on first use.

Precedence: ``records.signing_key`` (a secret reference), then ``records.key_file``, then (for
a SQLite database file only) a key file beside the database. A key file that does not exist is
created with a random key, readable only by the bot's user, and the bot says so once. With
PostgreSQL and neither setting the bot refuses: a key nobody chose to keep would be lost with
the machine, and every signature with it.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.records.signing import MIN_KEY_CHARS, SigningKey
from bot.services.accounts import SecretResolver
from config.settings import ConfigError, RecordsSettings

log = logging.getLogger(__name__)

KEY_FILE_SUFFIX = ".signing-key"


def default_key_file(database_url: str) -> Path | None:
    """The key file beside a SQLite database file; None for other databases or in-memory."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(url.database)
    return database.with_name(database.name + KEY_FILE_SUFFIX)


class SigningKeySource:
    """Resolves the signing key once, when it is first needed; thread-safe."""

    def __init__(
        self,
        settings: RecordsSettings,
        database_url: str,
        secrets_resolver: SecretResolver,
        announce: Callable[[str], None],
    ) -> None:
        self._settings = settings
        self._database_url = database_url
        self._secrets = secrets_resolver
        self._announce = announce
        self._key: SigningKey | None = None
        self._lock = threading.Lock()

    def get(self) -> SigningKey:
        """The signing key, or ConfigError naming the setting to fix."""
        with self._lock:
            if self._key is None:
                self._key = self._resolve()
            return self._key

    def _resolve(self) -> SigningKey:
        ref = self._settings.signing_key
        if ref is not None:
            return _checked(self._secrets.resolve(ref), f"records.signing_key ({ref})")
        path = self._settings.key_file or default_key_file(self._database_url)
        if path is None:
            raise ConfigError(
                "Missing setting records.signing_key: preserved records are signed, and with "
                "this database there is no place to keep a generated key; set it to env:NAME "
                "or file:KEY (a random string, e.g. `openssl rand -hex 32`), or set "
                "records.key_file"
            )
        return self._from_file(path)

    def _from_file(self, path: Path) -> SigningKey:
        try:
            created = _create_key_file(path)
        except OSError as exc:
            raise ConfigError(
                f"Invalid setting records.key_file: cannot create {path} ({exc.strerror})"
            ) from None
        if created:
            self._announce(
                f"Created a new signing key for preserved records in {path} (readable only "
                "by this user). Back it up with the database: without it, signatures cannot "
                "be checked. Set records.signing_key to use a key of your own."
            )
            log.info("created records signing key file %s", path)
        try:
            mode = path.stat().st_mode
            text = path.read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"Invalid setting records.key_file: cannot read {path} ({type(exc).__name__})"
            ) from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"Invalid setting records.key_file: {path} is readable by other users; "
                f"run `chmod 600 {path}`"
            )
        return _checked(text, f"records.key_file ({path})")


def _create_key_file(path: Path) -> bool:
    """Write a random key to ``path`` unless it exists; True when this call created it."""
    if path.exists():
        return False
    # Written to a private temporary file first and linked into place, so another process
    # never reads a half-written key, and of two racing processes only one key wins.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _checked(secret: str, setting: str) -> SigningKey:
    if len(secret) < MIN_KEY_CHARS:
        raise ConfigError(
            f"Invalid setting {setting}: the signing key must be at least {MIN_KEY_CHARS} "
            "characters (e.g. `openssl rand -hex 32`)"
        )
    return SigningKey(secret)
