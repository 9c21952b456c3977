"""Canonical signing and where the records key comes from."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from bot.records.keys import SigningKeySource, default_key_file
from bot.records.signing import SigningKey, canonical_json
from bot.services.accounts import SecretResolver
from config.settings import ConfigError, RecordsSettings

KEY = "k" * 40


def test_canonical_json_sorts_keys_is_compact_and_writes_utf8() -> None:
    value = {"b": [1, {"z": None, "a": "é"}], "a": "\u202egnp.exe", "c": 1.5}
    data = canonical_json(value)
    assert data == '{"a":"\u202egnp.exe","b":[1,{"a":"é","z":null}],"c":1.5}'.encode()
    assert not data.endswith(b"\n")


def test_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        canonical_json({"score": float("nan")})


def test_signature_is_plain_hmac_sha256_of_the_bytes() -> None:
    key = SigningKey(KEY)
    data = canonical_json({"text": "=cmd|' /C calc'!A0"})
    expected = hmac.new(KEY.encode(), data, hashlib.sha256).hexdigest()
    assert key.sign(data) == expected
    assert key.verify(data, expected.upper() + "\n")
    assert not key.verify(data + b" ", expected)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_reproduces_the_signature(tmp_path: Path) -> None:
    key = SigningKey(KEY)
    data = canonical_json({"text": "Ünïcödé and <script>alert(1)</script>"})
    path = tmp_path / "record.json"
    path.write_bytes(data)
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", KEY, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.strip().endswith(key.sign(data))


def test_key_id_names_the_key_without_revealing_it() -> None:
    key = SigningKey(KEY)
    assert len(key.key_id) == 16
    assert KEY not in repr(key)
    assert key.key_id in repr(key)
    assert SigningKey("x" * 40).key_id != key.key_id


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        SigningKey("short")


def _source(
    tmp_path: Path,
    settings: RecordsSettings,
    url: str | None = None,
    env: dict[str, str] | None = None,
) -> tuple[SigningKeySource, list[str]]:
    said: list[str] = []
    source = SigningKeySource(
        settings,
        url or f"sqlite:///{tmp_path / 'smat.db'}",
        SecretResolver(None, environ=env or {}),
        said.append,
    )
    return source, said


def test_sqlite_gets_a_private_key_file_beside_the_database_announced_once(tmp_path: Path) -> None:
    source, said = _source(tmp_path, RecordsSettings())
    key = source.get()
    path = tmp_path / "smat.db.signing-key"
    assert path.read_text().strip() == key.secret
    assert len(key.secret) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert source.get() is key
    assert len(said) == 1
    assert str(path) in said[0]
    assert key.secret not in said[0]
    again, said_again = _source(tmp_path, RecordsSettings())
    assert again.get().secret == key.secret
    assert said_again == []
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_postgresql_without_a_key_is_refused_naming_the_setting(tmp_path: Path) -> None:
    source, _ = _source(tmp_path, RecordsSettings(), url="postgresql+psycopg://db/smat")
    with pytest.raises(ConfigError, match=r"records\.signing_key"):
        source.get()
    assert default_key_file("sqlite://") is None


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "records.key"
    path.write_text("z" * 64)
    path.chmod(0o644)
    source, _ = _source(tmp_path, RecordsSettings(key_file=path))
    with pytest.raises(ConfigError, match="chmod 600"):
        source.get()


def test_signing_key_reference_wins_and_must_be_long_enough(tmp_path: Path) -> None:
    source, said = _source(
        tmp_path,
        RecordsSettings(signing_key="env:RECORDS_KEY"),
        env={"RECORDS_KEY": "q" * 48},
    )
    assert source.get().secret == "q" * 48
    assert said == []
    assert not (tmp_path / "smat.db.signing-key").exists()
    short, _ = _source(
        tmp_path, RecordsSettings(signing_key="env:RECORDS_KEY"), env={"RECORDS_KEY": "short"}
    )
    with pytest.raises(ConfigError, match="at least 32"):
        short.get()
    missing, _ = _source(tmp_path, RecordsSettings(signing_key="env:RECORDS_KEY"))
    with pytest.raises(ConfigError, match="RECORDS_KEY"):
        missing.get()
