"""Backend choice, the announced fallback, and where Detoxify's cached weights are looked for."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from classifiers.base import ClassifierUnavailable
from classifiers.detoxify_backend import (
    KNOWN_CHECKPOINTS,
    DetoxifyClassifier,
    DetoxifySettingsError,
    DetoxifyUnavailable,
    cached_checkpoint_path,
)
from classifiers.loading import load_classifier
from classifiers.profanity_backend import ProfanityCheckClassifier


@pytest.fixture
def empty_torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A torch hub cache with no checkpoints in it."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


def load(backend: str, lines: list[str], **overrides: Any) -> Any:
    settings: dict[str, Any] = {
        "detoxify_model": "unbiased",
        "checkpoint": None,
        "huggingface_config_path": None,
        "checkpoint_sha256": None,
        "device": None,
    }
    settings.update(overrides)
    return load_classifier(backend, announce=lines.append, **settings)


# --- cached_checkpoint_path ------------------------------------------------------------------


def test_cache_path_follows_torch_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", "/models/torch")
    monkeypatch.setenv("XDG_CACHE_HOME", "/ignored")
    assert cached_checkpoint_path("original") == Path(
        "/models/torch/hub/checkpoints/toxic_original-c1212f89.ckpt"
    )


def test_cache_path_falls_back_to_xdg_then_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    assert cached_checkpoint_path("multilingual") == Path(
        "/xdg/torch/hub/checkpoints/multilingual_debiased-0b549669.ckpt"
    )
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", "/home/clerk")
    assert cached_checkpoint_path("unbiased-small") == Path(
        "/home/clerk/.cache/torch/hub/checkpoints/unbiased-albert-c8519128.ckpt"
    )


def test_cache_path_rejects_unknown_model_type() -> None:
    with pytest.raises(ValueError, match="toxic-bert"):
        cached_checkpoint_path("toxic-bert")


def test_known_checkpoint_table_matches_detoxify_urls() -> None:
    for model_type, known in KNOWN_CHECKPOINTS.items():
        assert known.model_type == model_type
        assert known.url.endswith("/" + known.file_name)
        # The 8 hex digits in every published file name start its SHA-256.
        assert known.file_name.rsplit("-", 1)[1].removesuffix(".ckpt") == known.sha256[:8]
        assert len(known.sha256) in (8, 64)


# --- DetoxifyClassifier.load refusals that need no torch ------------------------------------


def test_missing_cached_checkpoint_names_path_and_fix(empty_torch_home: Path) -> None:
    with pytest.raises(DetoxifyUnavailable) as given:
        DetoxifyClassifier.load("unbiased")
    message = str(given.value)
    assert "\n" not in message
    assert str(empty_torch_home / "hub/checkpoints/toxic_debiased-c7548aa0.ckpt") in message
    assert 'README, "Detoxify weights"' in message
    assert "classifier.detoxify.checkpoint" in message
    assert not isinstance(given.value, DetoxifySettingsError)  # auto mode may fall back


def test_unknown_model_type_is_a_settings_error() -> None:
    with pytest.raises(DetoxifySettingsError, match=r"classifier\.detoxify\.model"):
        DetoxifyClassifier.load("toxic-bert")


def test_malformed_sha256_is_a_settings_error(tmp_path: Path) -> None:
    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_bytes(b"x")
    with pytest.raises(DetoxifySettingsError, match=r"checkpoint_sha256"):
        DetoxifyClassifier.load("unbiased", checkpoint=checkpoint, expected_sha256="c7548aa0")


@pytest.mark.parametrize("backend", ["auto", "detoxify"])
def test_unknown_optimisation_is_a_settings_error(backend: str) -> None:
    lines: list[str] = []
    with pytest.raises(DetoxifySettingsError, match=r"classifier\.detoxify\.optimize") as given:
        load(backend, lines, optimize="fp16")
    assert "int8" in given.value.fix
    assert lines == []


@pytest.mark.parametrize("optimize", ["int8", "onnx-int8"])
def test_int8_on_a_gpu_is_a_settings_error(optimize: str) -> None:
    with pytest.raises(DetoxifySettingsError, match="CPU only") as given:
        DetoxifyClassifier.load("unbiased", device="cuda:0", optimize=optimize)
    assert "classifier.detoxify.device" in given.value.fix


@pytest.mark.parametrize("optimize", ["int8", "onnx-int8"])
def test_int8_with_auto_device_goes_on_to_load(empty_torch_home: Path, optimize: str) -> None:
    # "auto" and "cpu" are fine with int8: the next problem is the missing checkpoint.
    for device in ("auto", "cpu", None):
        with pytest.raises(DetoxifyUnavailable, match="no checkpoint at"):
            DetoxifyClassifier.load("unbiased", device=device, optimize=optimize)


# --- load_classifier -------------------------------------------------------------------------


def test_auto_falls_back_with_one_clear_line(empty_torch_home: Path) -> None:
    lines: list[str] = []

    classifier = load("auto", lines)

    assert isinstance(classifier, ProfanityCheckClassifier)
    assert len(lines) == 2
    fallback, chosen = lines
    version = classifier.package_version
    assert fallback.startswith("Detoxify weights unavailable: no checkpoint at ")
    assert "toxic_debiased-c7548aa0.ckpt" in fallback
    assert (
        '. Fix: download the weights once (README, "Detoxify weights") or set '
        "classifier.detoxify.checkpoint. " in fallback
    )
    assert fallback.endswith(
        f"Using the offline fallback classifier alt-profanity-check {version}."
    )
    assert chosen == f"Classifier: alt-profanity-check ({classifier.model.version})"
    assert all("\n" not in line for line in lines)


def test_detoxify_backend_does_not_fall_back(empty_torch_home: Path) -> None:
    lines: list[str] = []
    with pytest.raises(ClassifierUnavailable, match="no checkpoint at"):
        load("detoxify", lines)
    assert lines == []


@pytest.mark.parametrize("backend", ["auto", "detoxify"])
def test_explicit_missing_checkpoint_is_a_configuration_error(backend: str, tmp_path: Path) -> None:
    lines: list[str] = []
    missing = tmp_path / "nowhere" / "model.ckpt"
    with pytest.raises(ClassifierUnavailable) as given:
        load(backend, lines, checkpoint=missing)
    assert "classifier.detoxify.checkpoint" in str(given.value)
    assert str(missing) in str(given.value)
    assert lines == []


def test_explicit_missing_hf_folder_is_a_configuration_error(tmp_path: Path) -> None:
    checkpoint = tmp_path / "toxic_debiased-c7548aa0.ckpt"
    checkpoint.write_bytes(b"x")
    with pytest.raises(ClassifierUnavailable, match=r"classifier\.detoxify\.huggingface_config"):
        load("auto", [], checkpoint=checkpoint, huggingface_config_path=tmp_path / "no-such-dir")


def test_profanity_backend_is_announced(empty_torch_home: Path) -> None:
    lines: list[str] = []
    classifier = load("profanity-check", lines)
    assert isinstance(classifier, ProfanityCheckClassifier)
    assert lines == [f"Classifier: alt-profanity-check ({classifier.model.version})"]


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ClassifierUnavailable, match="profanity-check"):
        load("perspective", [])


def test_fallback_failure_reports_both_problems(
    empty_torch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "profanity_check", None)  # import now fails
    lines: list[str] = []
    with pytest.raises(ClassifierUnavailable) as given:
        load("auto", lines)
    message = str(given.value)
    assert "no checkpoint at" in message
    assert "alt-profanity-check" in message
    assert lines == []


@pytest.mark.slow
def test_auto_uses_detoxify_when_it_loads(tmp_path: Path) -> None:
    from tests.fakes.tiny_detoxify import build_tiny_detoxify

    tiny = build_tiny_detoxify(tmp_path, "unbiased")
    lines: list[str] = []

    classifier = load(
        "auto",
        lines,
        checkpoint=tiny.checkpoint,
        huggingface_config_path=tiny.hf_dir,
        checkpoint_sha256=tiny.sha256,
    )

    assert isinstance(classifier, DetoxifyClassifier)
    assert lines == [f"Classifier: detoxify-unbiased ({classifier.model.version})"]
    assert set(classifier.score(["hello"])[0]) == set(KNOWN_CHECKPOINTS["unbiased"].labels)
