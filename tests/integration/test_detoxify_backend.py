"""DetoxifyClassifier against the real ``detoxify.Detoxify`` class, with tiny offline weights."""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest

from classifiers.detoxify_backend import (
    KNOWN_CHECKPOINTS,
    ORIGINAL_LABELS,
    UNBIASED_LABELS,
    DetoxifyClassifier,
    DetoxifySettingsError,
    DetoxifyUnavailable,
)
from tests.fakes.tiny_detoxify import (
    TOKENIZER_FILES,
    TinyDetoxify,
    build_cached_layout,
    build_tiny_detoxify,
)

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMMENTS = [
    "Thank you for fixing the potholes on our road so quickly.",
    "The bins were not collected again this week.",
    "You are useless idiots and the mayor is a corrupt liar.",
    "When is the next planning committee meeting?",
    "ok",
    "",
    "The streetlight on the lane has been broken for months and nobody at the council cares, "
    "I have reported it three times by phone and by email.",
]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyDetoxify:
    return build_tiny_detoxify(tmp_path_factory.mktemp("tiny-unbiased"), "unbiased")


@pytest.fixture(scope="session")
def classifier(tiny: TinyDetoxify) -> DetoxifyClassifier:
    return DetoxifyClassifier.load(
        "unbiased",
        checkpoint=tiny.checkpoint,
        huggingface_config_path=tiny.hf_dir,
        expected_sha256=tiny.sha256,
    )


class RecordingDetoxify:
    """Wraps a real Detoxify and records every batch handed to ``predict``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.tokenizer = inner.tokenizer
        self.batches: list[list[str]] = []

    def predict(self, text: list[str]) -> dict[str, Any]:
        self.batches.append(list(text))
        return dict(self.inner.predict(text))


def raw_detoxify(tiny: TinyDetoxify) -> Any:
    from detoxify import Detoxify

    return Detoxify(checkpoint=str(tiny.checkpoint), huggingface_config_path=str(tiny.hf_dir))


@pytest.fixture
def recorded(
    tiny: TinyDetoxify, classifier: DetoxifyClassifier
) -> tuple[DetoxifyClassifier, RecordingDetoxify]:
    recorder = RecordingDetoxify(raw_detoxify(tiny))
    return DetoxifyClassifier(recorder, classifier.model), recorder


def token_count(classifier: DetoxifyClassifier, text: str) -> int:
    tokenizer = classifier._detox.tokenizer
    return len(tokenizer(text, verbose=False)["input_ids"])  # with [CLS] and [SEP]


# --- loading ---------------------------------------------------------------------------------


def test_load_reports_model_and_checkpoint(tiny: TinyDetoxify, classifier: DetoxifyClassifier):
    info = classifier.model
    assert info.name == "detoxify-unbiased"
    assert info.version == f"detoxify 0.5.4; {tiny.checkpoint.name}; sha256 {tiny.sha256[:12]}"
    assert set(info.labels) == set(UNBIASED_LABELS)
    assert any("custom checkpoint" in note for note in info.notes)


def test_original_flavour_gets_detoxify_label_names(tmp_path: Path) -> None:
    original = build_tiny_detoxify(tmp_path, "original")
    loaded = DetoxifyClassifier.load(
        "original",
        checkpoint=original.checkpoint,
        huggingface_config_path=original.hf_dir,
        expected_sha256=original.sha256,
    )
    # The checkpoint stores toxic/severe_toxic/identity_hate; Detoxify renames them.
    assert loaded.model.labels == ORIGINAL_LABELS
    assert set(loaded.score(["hello"])[0]) == set(ORIGINAL_LABELS)


def test_checkpoint_labels_must_match_the_model_type(tiny: TinyDetoxify) -> None:
    with pytest.raises(DetoxifySettingsError, match=r"classifier\.detoxify\.model"):
        DetoxifyClassifier.load(
            "original",
            checkpoint=tiny.checkpoint,
            huggingface_config_path=tiny.hf_dir,
            expected_sha256=tiny.sha256,
        )


def test_device_defaults_to_cpu_and_refuses_a_missing_gpu(tiny: TinyDetoxify) -> None:
    import torch

    paths = {"checkpoint": tiny.checkpoint, "huggingface_config_path": tiny.hf_dir}
    auto = DetoxifyClassifier.load("unbiased", expected_sha256=tiny.sha256, device="auto", **paths)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert auto._detox.model.device.type == expected
    default = DetoxifyClassifier.load("unbiased", expected_sha256=tiny.sha256, **paths)
    assert default._detox.model.device.type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(DetoxifySettingsError, match=r"classifier\.detoxify\.device"):
            DetoxifyClassifier.load("unbiased", expected_sha256=tiny.sha256, device="cuda", **paths)


def test_int8_scores_close_to_fp32_and_the_version_says_int8(
    tmp_path: Path, tiny: TinyDetoxify
) -> None:
    import torch

    # The tiny fake's wide initialisation (std 0.3) makes its logits so steep that int8 rounding
    # moves scores by up to 0.15; scaled towards a real model's weights (std 0.02-0.06) the drift
    # is what int8 costs: about 0.004 here.
    saved = torch.load(tiny.checkpoint, weights_only=False)
    saved["state_dict"] = {
        key: value * 0.2 if value.ndim == 2 and "embeddings" not in key else value
        for key, value in saved["state_dict"].items()
    }
    scaled = tmp_path / "tiny-unbiased-scaled.ckpt"
    torch.save(saved, scaled)
    from tests.fakes.tiny_detoxify import sha256_of

    paths = {"checkpoint": scaled, "huggingface_config_path": tiny.hf_dir}
    fp32 = DetoxifyClassifier.load("unbiased", expected_sha256=sha256_of(scaled), **paths)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        int8 = DetoxifyClassifier.load(
            "unbiased", expected_sha256=sha256_of(scaled), optimize="int8", **paths
        )
    assert not [w for w in caught if "quantiz" in str(w.message)]  # silenced on purpose

    rng = random.Random(11)
    words = ("the", "council", "road", "bins", "useless", "idiot", "thanks", "park", "broken")
    texts = COMMENTS + [" ".join(rng.choices(words, k=rng.randint(2, 60))) for _ in range(40)]
    expected, got = fp32.score(texts), int8.score(texts)
    drift = [abs(g[label] - e[label]) for g, e in zip(got, expected, strict=True) for label in e]
    assert 0 < max(drift) < 0.02

    assert "int8" not in fp32.model.version
    assert int8.model.version == f"{fp32.model.version}; int8 dynamic (torch {torch.__version__})"
    assert any("int8" in note for note in int8.model.notes)
    assert int8.model.labels == fp32.model.labels
    classifier_head = int8._detox.model.classifier
    assert type(classifier_head).__module__.startswith("torch.ao.nn.quantized")
    # Detoxify's one-text quirk and the chunking path work on the quantised model too.
    assert set(int8.score(["hello"])[0]) == set(UNBIASED_LABELS)
    assert set(int8.score(["the council road " * 300])[0]) == set(UNBIASED_LABELS)


# --- scoring ---------------------------------------------------------------------------------


def test_scores_have_every_label_as_rounded_probabilities(classifier: DetoxifyClassifier):
    scores = classifier.score(COMMENTS)
    assert len(scores) == len(COMMENTS)
    for mapping in scores:
        assert list(mapping) == list(classifier.model.labels)
        for value in mapping.values():
            assert isinstance(value, float)
            assert 0.0 <= value <= 1.0
            assert round(value, 6) == value
    # Random weights, but different comments still get different scores.
    assert len({mapping["toxicity"] for mapping in scores}) == len(COMMENTS)


def test_single_item_and_empty_input(classifier: DetoxifyClassifier) -> None:
    assert classifier.score([]) == []
    (single,) = classifier.score([COMMENTS[0]])  # Detoxify returns bare floats here
    assert set(single) == set(UNBIASED_LABELS)
    assert all(isinstance(value, float) for value in single.values())
    together = classifier.score(COMMENTS[:2])[0]
    assert single == pytest.approx(together, abs=2e-6)


def test_order_is_restored_after_length_bucketing(
    classifier: DetoxifyClassifier,
    recorded: tuple[DetoxifyClassifier, RecordingDetoxify],
) -> None:
    bucketed, recorder = recorded
    rng = random.Random(7)
    words = ("the", "council", "road", "bins", "park", "fix", "please", "broken", "lane", "idiot")
    texts = [" ".join(rng.choices(words, k=rng.randint(1, 60))) for _ in range(40)]

    scores = bucketed.score(texts)

    one_by_one = [classifier.score([text])[0] for text in texts]
    for got, alone in zip(scores, one_by_one, strict=True):
        assert got == pytest.approx(alone, abs=2e-6)  # padding in a batch changes nothing
    lengths = [[token_count(classifier, text) for text in batch] for batch in recorder.batches]
    assert [len(batch) for batch in lengths] == [16, 16, 8]
    flat = [length for batch in lengths for length in batch]
    assert flat == sorted(flat)
    assert flat != [token_count(classifier, text) for text in texts]  # the order really changed


def test_identical_texts_are_scored_once(
    recorded: tuple[DetoxifyClassifier, RecordingDetoxify],
) -> None:
    bucketed, recorder = recorded
    a, b = COMMENTS[0], COMMENTS[2]

    scores = bucketed.score([a, b, a, a, b])

    assert sorted(text for batch in recorder.batches for text in batch) == sorted([a, b])
    assert scores[0] == scores[2] == scores[3]
    assert scores[1] == scores[4]
    assert scores[0] != scores[1]


def test_long_comment_is_scored_in_chunks_taking_the_max(
    classifier: DetoxifyClassifier,
    recorded: tuple[DetoxifyClassifier, RecordingDetoxify],
) -> None:
    bucketed, recorder = recorded
    opening = " ".join(["Thank you to the council for the new bins in the park."] * 60)
    ending = " ".join(["You are useless corrupt idiots and liars, shut up."] * 60)
    long_comment = f"{opening} {ending}"
    assert token_count(classifier, long_comment) > 2 * 512

    (score,) = bucketed.score([long_comment])

    chunks = [text for batch in recorder.batches for text in batch]
    assert len(chunks) >= 3
    assert all(token_count(classifier, chunk) <= 512 for chunk in chunks)
    assert chunks[0] != long_comment
    assert any("useless corrupt" in chunk for chunk in chunks)  # the ending was read, not cut
    chunk_scores = classifier.score(chunks)
    first_chunk = next(
        s for c, s in zip(chunks, chunk_scores, strict=True) if long_comment.startswith(c)
    )
    for label, value in score.items():
        assert value >= first_chunk[label]
        assert value == max(s[label] for s in chunk_scores)


def test_slow_tokenizers_chunk_by_decoding(
    tiny: TinyDetoxify, classifier: DetoxifyClassifier
) -> None:
    class SlowTokenizer:
        """The real tokenizer posing as a transformers 4.x slow one: no offsets."""

        is_fast = False

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __call__(self, text: Any, **kwargs: Any) -> Any:
            assert not kwargs.get("return_offsets_mapping")
            return self.inner(text, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    recorder = RecordingDetoxify(raw_detoxify(tiny))
    recorder.tokenizer = SlowTokenizer(recorder.tokenizer)
    slow = DetoxifyClassifier(recorder, classifier.model)

    (score,) = slow.score(["the council road pothole " * 300])

    chunks = [text for batch in recorder.batches for text in batch]
    assert len(chunks) >= 2
    assert all(token_count(classifier, chunk) <= 512 for chunk in chunks)
    assert set(score) == set(UNBIASED_LABELS)


def test_concurrent_scoring_is_safe(classifier: DetoxifyClassifier) -> None:
    # Mixed lengths matter: without the lock, one thread's unpadded tokenizer call resets the
    # shared padding state under another thread's batch ("Unable to create tensor").
    texts = [("the council road " * k).strip() for k in range(1, 40)]
    expected = classifier.score(texts)
    mismatches: list[int] = []
    errors: list[BaseException] = []

    def work(shift: int) -> None:
        try:
            for _ in range(6):
                got = classifier.score(texts[shift:] + texts[:shift])
                if got != expected[shift:] + expected[:shift]:
                    mismatches.append(shift)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(shift,)) for shift in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert mismatches == []


# --- refusals --------------------------------------------------------------------------------


class _Bomb:
    """Unpickling this touches a marker file: proof that a file was (or was not) unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_hash_mismatch_is_refused_before_unpickling(tmp_path: Path, tiny: TinyDetoxify) -> None:
    marker = tmp_path / "unpickled"
    bomb = tmp_path / "custom.ckpt"
    bomb.write_bytes(pickle.dumps(_Bomb(marker)))
    published_name = tmp_path / KNOWN_CHECKPOINTS["unbiased"].file_name
    shutil.copy(bomb, published_name)

    with pytest.raises(DetoxifyUnavailable, match="refusing to unpickle") as given:
        DetoxifyClassifier.load("unbiased", checkpoint=bomb, expected_sha256=tiny.sha256)
    assert "SHA-256" in str(given.value)
    with pytest.raises(DetoxifyUnavailable, match=r"not the published .*c7548aa0"):
        DetoxifyClassifier.load("unbiased", checkpoint=published_name)
    assert not marker.exists()

    # The file really is dangerous: Detoxify's own torch.load would have run it.
    import torch

    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever fails after the payload ran
        torch.load(bomb, weights_only=False)
    assert marker.exists()


def test_unknown_checkpoint_without_hash_is_refused(tmp_path: Path, tiny: TinyDetoxify) -> None:
    renamed = tmp_path / "my-model.ckpt"
    shutil.copy(tiny.checkpoint, renamed)
    with pytest.raises(DetoxifySettingsError, match=r"classifier\.detoxify\.checkpoint_sha256"):
        DetoxifyClassifier.load("unbiased", checkpoint=renamed, huggingface_config_path=tiny.hf_dir)


def _without_tokenizer_files(tiny: TinyDetoxify, tmp_path: Path) -> Path:
    stripped = tmp_path / "hf-no-tokenizer"
    shutil.copytree(tiny.hf_dir, stripped)
    for name in TOKENIZER_FILES:
        (stripped / name).unlink(missing_ok=True)
    assert [p.name for p in stripped.iterdir()] == ["config.json"]
    return stripped


def test_missing_tokenizer_files_are_refused(tmp_path: Path, tiny: TinyDetoxify) -> None:
    stripped = _without_tokenizer_files(tiny, tmp_path)
    with pytest.raises(DetoxifyUnavailable, match="tokenizer") as given:
        DetoxifyClassifier.load(
            "unbiased",
            checkpoint=tiny.checkpoint,
            huggingface_config_path=stripped,
            expected_sha256=tiny.sha256,
        )
    assert "\n" not in str(given.value)
    assert str(stripped) in given.value.fix


def test_detoxify_alone_loads_an_empty_tokenizer_silently(
    tmp_path: Path, tiny: TinyDetoxify
) -> None:
    """Why the guard above exists (transformers 5); if this starts failing, upstream changed."""
    from detoxify import Detoxify

    stripped = _without_tokenizer_files(tiny, tmp_path)
    detox = Detoxify(checkpoint=str(tiny.checkpoint), huggingface_config_path=str(stripped))
    assert len(detox.tokenizer) < 10


def test_broken_checkpoint_becomes_one_line_reason(tmp_path: Path) -> None:
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint at all\n" * 10)
    from tests.fakes.tiny_detoxify import sha256_of

    with pytest.raises(DetoxifyUnavailable, match=r"loading junk\.ckpt failed") as given:
        DetoxifyClassifier.load("unbiased", checkpoint=junk, expected_sha256=sha256_of(junk))
    assert "\n" not in str(given.value)


# --- route A: the unchanged torch hub + Hugging Face caches ----------------------------------

_ROUTE_A_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from classifiers.detoxify_backend import DetoxifyClassifier, cached_checkpoint_path
    from tests.fakes.tiny_detoxify import sha256_of

    out = {}
    try:
        DetoxifyClassifier.load("unbiased")
    except Exception as exc:
        out["refusal"] = f"{type(exc).__name__}: {exc}"
    path = cached_checkpoint_path("unbiased")
    loaded = DetoxifyClassifier.load("unbiased", expected_sha256=sha256_of(path))
    out["path"] = str(path)
    out["name"] = loaded.model.name
    out["version"] = loaded.model.version
    out["scores"] = loaded.score(["Please fix the road", "Please fix the road"])
    import huggingface_hub.constants as hub
    out["offline"] = hub.HF_HUB_OFFLINE
    print(json.dumps(out))
    """
)


def test_route_a_caches_load_offline_in_a_fresh_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(build_cached_layout(tmp_path, "unbiased"))
    env["PYTHONPATH"] = str(PROJECT_ROOT)

    done = subprocess.run(
        [sys.executable, "-c", _ROUTE_A_SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # The stand-in carries the published name but not the published bytes: refused by hash.
    assert out["refusal"].startswith("DetoxifyUnavailable: ")
    assert "toxic_debiased-c7548aa0.ckpt" in out["refusal"]
    assert "refusing to unpickle" in out["refusal"]
    assert out["path"].startswith(env["TORCH_HOME"])
    assert out["name"] == "detoxify-unbiased"
    assert "toxic_debiased-c7548aa0.ckpt" in out["version"]
    assert out["scores"][0] == out["scores"][1]
    assert set(out["scores"][0]) == set(UNBIASED_LABELS)
    assert out["offline"] is True
