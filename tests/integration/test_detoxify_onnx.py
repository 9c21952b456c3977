"""``optimize: onnx-int8``: the int8 ONNX Runtime model of a tiny checkpoint, and its cache."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest

from classifiers import onnx_int8
from classifiers.detoxify_backend import (
    UNBIASED_LABELS,
    DetoxifyClassifier,
    DetoxifySettingsError,
)
from classifiers.provenance import installed_version
from tests.fakes.tiny_detoxify import TinyDetoxify, build_tiny_detoxify, sha256_of

pytestmark = pytest.mark.slow

COMMENTS = [
    "The bins were not collected again this week.",
    "You are useless idiots and the mayor is a corrupt liar.",
    "When is the next planning committee meeting?",
    "ok",
    "",
]


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> TinyDetoxify:
    """The tiny model with weights scaled towards a real model's, so int8 drift is realistic.

    The tiny fake's wide initialisation (std 0.3) makes its logits so steep that any int8
    rounding moves scores by up to 0.15.
    """
    import torch

    tiny = build_tiny_detoxify(tmp_path_factory.mktemp("tiny-onnx"), "unbiased")
    saved = torch.load(tiny.checkpoint, weights_only=False)
    saved["state_dict"] = {
        key: value * 0.2 if value.ndim == 2 and "embeddings" not in key else value
        for key, value in saved["state_dict"].items()
    }
    torch.save(saved, tiny.checkpoint)
    return TinyDetoxify(tiny.checkpoint, tiny.hf_dir, sha256_of(tiny.checkpoint))


def load(tiny: TinyDetoxify, optimize: str, cache: Path | None = None) -> DetoxifyClassifier:
    return DetoxifyClassifier.load(
        "unbiased",
        checkpoint=tiny.checkpoint,
        huggingface_config_path=tiny.hf_dir,
        expected_sha256=tiny.sha256,
        optimize=optimize,
        onnx_cache=cache,
    )


def cached_files(cache: Path) -> list[Path]:
    return sorted(path for path in cache.iterdir() if not path.name.startswith("."))


def test_onnx_int8_scores_close_to_fp32_and_the_version_says_so(
    scaled: TinyDetoxify, tmp_path: Path
) -> None:
    import onnxruntime

    fp32 = load(scaled, "none")
    onnx = load(scaled, "onnx-int8", tmp_path)

    rng = random.Random(5)
    words = ("the", "council", "road", "bins", "useless", "idiot", "thanks", "park", "broken")
    texts = COMMENTS + [" ".join(rng.choices(words, k=rng.randint(2, 60))) for _ in range(40)]
    expected, got = fp32.score(texts), onnx.score(texts)
    drift = [abs(g[label] - e[label]) for g, e in zip(got, expected, strict=True) for label in e]
    assert 0 < max(drift) < 0.02

    assert onnx.model.version == (
        f"{fp32.model.version}; onnx int8 (onnxruntime {onnxruntime.__version__})"
    )
    assert any("ONNX Runtime" in note for note in onnx.model.notes)
    assert onnx.model.labels == fp32.model.labels
    assert isinstance(onnx._detox, onnx_int8.OnnxDetoxify)
    # One text, and a text long enough to be scored in chunks, work as with torch.
    assert set(onnx.score(["hello"])[0]) == set(UNBIASED_LABELS)
    assert set(onnx.score(["the council road " * 300])[0]) == set(UNBIASED_LABELS)
    # The attention was fused and every matrix product quantised.
    import onnx as onnx_format

    model_file, digest_file = cached_files(tmp_path)
    operators = {node.op_type for node in onnx_format.load(str(model_file)).graph.node}
    assert {"QAttention", "MatMulInteger", "BiasGelu", "SkipLayerNormalization"} <= operators
    assert "MatMul" not in operators  # no matrix product left in fp32
    assert digest_file.read_text().strip() == sha256_of(model_file)


def test_the_built_model_is_reused_from_the_cache(
    scaled: TinyDetoxify, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load(scaled, "onnx-int8", tmp_path)
    model_file, _ = cached_files(tmp_path)
    built_at = model_file.stat().st_mtime_ns

    def refuse(*_: object) -> None:
        raise AssertionError("rebuilt although the cache is intact")

    monkeypatch.setattr(onnx_int8, "build_int8_model", refuse)
    again = load(scaled, "onnx-int8", tmp_path)
    assert model_file.stat().st_mtime_ns == built_at
    assert again.score(COMMENTS) == first.score(COMMENTS)


def test_an_altered_cache_file_is_rebuilt_not_used(
    scaled: TinyDetoxify, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = load(scaled, "onnx-int8", tmp_path)
    model_file, digest_file = cached_files(tmp_path)
    recorded = digest_file.read_text()
    model_file.write_bytes(model_file.read_bytes()[:-64] + b"\0" * 64)

    with caplog.at_level(logging.WARNING, logger="classifiers.onnx_int8"):
        again = load(scaled, "onnx-int8", tmp_path)
    assert "does not match its recorded SHA-256" in caplog.text
    assert sha256_of(model_file) == digest_file.read_text().strip()
    assert digest_file.read_text() == recorded  # the same tools build the same file
    assert again.score(COMMENTS) == first.score(COMMENTS)


def test_a_build_without_its_digest_is_not_trusted(scaled: TinyDetoxify, tmp_path: Path) -> None:
    load(scaled, "onnx-int8", tmp_path)
    model_file, digest_file = cached_files(tmp_path)
    digest_file.unlink()  # as if the process died between writing the model and its digest
    assert not onnx_int8.cached_model_is_intact(model_file)
    load(scaled, "onnx-int8", tmp_path)
    assert onnx_int8.cached_model_is_intact(model_file)


def test_a_cache_folder_that_cannot_be_written_names_the_setting(
    scaled: TinyDetoxify, tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(DetoxifySettingsError, match="cannot write the ONNX model") as given:
        load(scaled, "onnx-int8", not_a_folder / "onnx")
    assert "classifier.detoxify.onnx_cache" in given.value.fix


def test_the_cache_name_changes_with_the_checkpoint_and_the_tools(tmp_path: Path) -> None:
    one = onnx_int8.cached_model_path(tmp_path, "unbiased", "a" * 64)
    other = onnx_int8.cached_model_path(tmp_path, "unbiased", "b" * 64)
    assert one != other
    assert f"onnxruntime{installed_version('onnxruntime')}" in one.name
    assert one.parent == tmp_path
