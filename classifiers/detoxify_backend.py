"""Detoxify behind the Classifier seam: offline-only loading, hash checks, chunked batch scoring.

Nothing heavy is imported at module import: torch, transformers and detoxify load inside
:meth:`DetoxifyClassifier.load`, after the offline switches are set.
"""

from __future__ import annotations

import gc
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from classifiers.base import ClassifierUnavailable, ModelInfo
from classifiers.provenance import file_sha256, installed_version

MODEL_SETTING = "classifier.detoxify.model"
CHECKPOINT_SETTING = "classifier.detoxify.checkpoint"
HF_CONFIG_SETTING = "classifier.detoxify.huggingface_config_path"
SHA256_SETTING = "classifier.detoxify.checkpoint_sha256"
DEVICE_SETTING = "classifier.detoxify.device"
OPTIMIZE_SETTING = "classifier.detoxify.optimize"
ONNX_CACHE_SETTING = "classifier.detoxify.onnx_cache"
OPTIMIZATIONS = ("none", "int8", "onnx-int8")
"""``int8``: torch's dynamic int8 quantisation of every Linear layer after loading;
``onnx-int8``: the model exported to ONNX, fused and quantised to int8, run by ONNX Runtime.
Both CPU only."""
CPU_ONLY = ("int8", "onnx-int8")
DOWNLOAD_FIX = 'download the weights once (README, "Detoxify weights") or set ' + CHECKPOINT_SETTING

ORIGINAL_LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")
UNBIASED_LABELS = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "identity_attack",
    "insult",
    "threat",
    "sexual_explicit",
)

MAX_TOKENS = 512
"""Position limit of every Detoxify model; longer comments are scored in chunks."""
BATCH_SIZE = 16
"""Measured best on 2 CPU cores once comments are sorted by length (reference section 4)."""
ONNX_BATCH_SIZE = 8
"""Measured best for the ONNX Runtime int8 model on 2 AVX-512 VNNI cores (docs/PERFORMANCE.md):
its kernels gain little from wider batches, and a 16-wide batch pads and quantises more."""
CHUNK_OVERLAP = 64
"""Tokens shared by neighbouring chunks, so a phrase cut at a boundary is still seen whole."""
_CHUNK_SLACK = 8
"""Re-tokenizing a chunk's text can add a token or two; keep chunks this far under the limit."""
_MIN_TOKENIZER_SIZE = 100
_PROBE = "Please fix the potholes on our road, the council has ignored them for weeks."

_RELEASES = "https://github.com/unitaryai/detoxify/releases/download/"


@dataclass(frozen=True)
class KnownCheckpoint:
    """A published Detoxify checkpoint and what loading it must produce."""

    model_type: str
    url: str
    sha256: str
    """The full SHA-256 where a trusted pin exists, else the 8-hex prefix in the file name."""
    labels: tuple[str, ...]
    base_model: str
    """Hugging Face id named inside the checkpoint; its config and tokenizer must be cached."""
    tokenizer_size: int
    note: str

    @property
    def file_name(self) -> str:
        """The release file name, which torch hub also uses in its cache."""
        return self.url.rsplit("/", 1)[1]


KNOWN_CHECKPOINTS: dict[str, KnownCheckpoint] = {
    known.model_type: known
    for known in (
        KnownCheckpoint(
            "original",
            _RELEASES + "v0.1-alpha/toxic_original-c1212f89.ckpt",
            "c1212f89ac23307ab33932ce29dc446a6e030fb3f384a500890bbe662b7b544a",
            ORIGINAL_LABELS,
            "bert-base-uncased",
            30522,
            "trained on Wikipedia talk pages (Jigsaw 2018); over-flags identity mentions",
        ),
        KnownCheckpoint(
            "unbiased",
            _RELEASES + "v0.3-alpha/toxic_debiased-c7548aa0.ckpt",
            "c7548aa0",
            UNBIASED_LABELS,
            "roberta-base",
            50265,
            "trained on Civil Comments (Jigsaw 2019) to reduce identity-term bias",
        ),
        KnownCheckpoint(
            "multilingual",
            _RELEASES + "v0.4-alpha/multilingual_debiased-0b549669.ckpt",
            "0b549669",
            UNBIASED_LABELS,
            "xlm-roberta-base",
            250002,
            "valid only for English, French, Spanish, Italian, Portuguese, Turkish, Russian",
        ),
        KnownCheckpoint(
            "original-small",
            _RELEASES + "v0.1.2/original-albert-0e1d6498.ckpt",
            "0e1d6498",
            ORIGINAL_LABELS,
            "albert-base-v2",
            30000,
            "ALBERT version of original: smaller in memory, not faster",
        ),
        KnownCheckpoint(
            "unbiased-small",
            _RELEASES + "v0.1.2/unbiased-albert-c8519128.ckpt",
            "c8519128",
            UNBIASED_LABELS,
            "albert-base-v2",
            30000,
            "ALBERT version of unbiased: smaller in memory, not faster",
        ),
    )
}
"""Detoxify 0.5.4's ``MODEL_URLS``, with what we check about each."""

_BY_FILE_NAME = {known.file_name: known for known in KNOWN_CHECKPOINTS.values()}


class DetoxifyUnavailable(ClassifierUnavailable):
    """Detoxify cannot be loaded; ``reason`` and ``fix`` are kept apart for announcements."""

    def __init__(self, reason: str, fix: str) -> None:
        self.reason = _one_line(reason).rstrip(".")
        self.fix = _one_line(fix).rstrip(".")
        super().__init__(f"{self.reason}. Fix: {self.fix}.")


class DetoxifySettingsError(DetoxifyUnavailable):
    """The Detoxify settings themselves are wrong; falling back would only hide the mistake."""


def torch_hub_dir() -> Path:
    """Return torch hub's cache folder as ``torch.hub.get_dir()`` computes it, without torch."""
    default = os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")
    return Path(os.path.expanduser(os.getenv("TORCH_HOME", default))) / "hub"


def cached_checkpoint_path(model_type: str) -> Path:
    """Return where torch hub caches the published checkpoint for ``model_type``."""
    known = KNOWN_CHECKPOINTS.get(model_type)
    if known is None:
        raise ValueError(f"unknown Detoxify model type {model_type!r}")
    return torch_hub_dir() / "checkpoints" / known.file_name


class DetoxifyLike(Protocol):
    """The part of ``detoxify.Detoxify`` the classifier uses (lets tests wrap the real one)."""

    tokenizer: Any

    def predict(self, text: list[str]) -> dict[str, Any]:
        """Score texts; one float per label for a 1-item list, else one list per label."""
        ...


@dataclass(frozen=True)
class _Chunk:
    text: str
    tokens: int


class DetoxifyClassifier:
    """Scores comments with a loaded Detoxify model; safe to share between threads."""

    def __init__(
        self,
        detox: DetoxifyLike,
        info: ModelInfo,
        *,
        max_tokens: int = MAX_TOKENS,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self._detox = detox
        self._info = info
        self._chunk_budget = max_tokens - detox.tokenizer.num_special_tokens_to_add() - _CHUNK_SLACK
        if self._chunk_budget <= CHUNK_OVERLAP:
            raise ValueError(f"max_tokens={max_tokens} leaves no room for overlapping chunks")
        self._batch_size = batch_size
        # The tokenizer keeps padding/truncation settings as shared state that every call
        # rewrites, so concurrent calls break each other's batches (measured); torch would only
        # oversubscribe the cores anyway. One scoring call at a time.
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model_type: str,
        *,
        checkpoint: Path | None = None,
        huggingface_config_path: Path | None = None,
        expected_sha256: str | None = None,
        device: str | None = None,
        optimize: str = "none",
        onnx_cache: Path | None = None,
    ) -> DetoxifyClassifier:
        """Load a verified checkpoint offline, or raise ``DetoxifyUnavailable`` saying why.

        ``optimize="int8"`` quantises the model's Linear layers to int8 after loading;
        ``optimize="onnx-int8"`` runs an int8 ONNX Runtime model built from the checkpoint (once,
        then kept in ``onnx_cache``). Both are several times faster on CPU, with slightly
        different scores, so the version string says which produced them.
        """
        known = KNOWN_CHECKPOINTS.get(model_type)
        if known is None:
            raise DetoxifySettingsError(
                f"{MODEL_SETTING} is {model_type!r}, not a Detoxify model",
                f"use one of {', '.join(KNOWN_CHECKPOINTS)}",
            )
        _check_optimize(optimize, device)
        expected = _normalise_sha256(expected_sha256)
        path = _checkpoint_path(model_type, checkpoint)
        if huggingface_config_path is not None and not huggingface_config_path.is_dir():
            raise DetoxifySettingsError(
                f"{HF_CONFIG_SETTING} is {huggingface_config_path}, which is not a folder",
                "point it at the folder with config.json and the tokenizer files, or unset it",
            )
        digest, release = _verify_sha256(path, expected)

        # int8 kernels exist for the CPU only; "auto" then means the CPU.
        resolved_device = "cpu" if optimize in CPU_ONLY else _pick_device(device)
        detox = _construct(path, huggingface_config_path, resolved_device, known)
        labels = tuple(detox.class_names)
        if set(labels) != set(known.labels):
            raise DetoxifySettingsError(
                f"{path.name} scores {', '.join(labels)}, but {MODEL_SETTING} {model_type!r} "
                f"means {', '.join(known.labels)}",
                f"set {MODEL_SETTING} to match the checkpoint",
            )
        hf_source = (
            huggingface_config_path or f"the Hugging Face cache entry for {known.base_model}"
        )
        _check_tokenizer(detox.tokenizer, release, hf_source)
        max_tokens = min(MAX_TOKENS, int(detox.tokenizer.model_max_length))
        # Without model_max_length in the tokenizer files Detoxify's truncation is a no-op and a
        # long input crashes the model; pin it so the chunks below are always safe.
        detox.tokenizer.model_max_length = max_tokens

        notes = [known.note]
        if release is None:
            notes.append(f"custom checkpoint {path.name}, not a published Detoxify release")
        version = f"detoxify {installed_version('detoxify')}; {path.name}; sha256 {digest[:12]}"
        if optimize == "int8":
            _quantize_int8(detox.model)
            # Every classification records this string: int8 scores are not fp32 scores.
            version += f"; int8 dynamic (torch {installed_version('torch')})"
            notes.append("int8-quantised Linear layers: scores differ slightly from the fp32 model")
        elif optimize == "onnx-int8":
            detox = _onnx_int8(detox, model_type, digest, onnx_cache)
            gc.collect()  # the torch model is no longer referenced: return its memory now
            version += f"; onnx int8 (onnxruntime {installed_version('onnxruntime')})"
            notes.append("int8 ONNX Runtime model: scores differ slightly from the fp32 model")
        info = ModelInfo(
            name=f"detoxify-{model_type}",
            version=version,
            labels=labels,
            notes=tuple(notes),
        )
        batch_size = ONNX_BATCH_SIZE if optimize == "onnx-int8" else BATCH_SIZE
        return cls(detox, info, max_tokens=max_tokens, batch_size=batch_size)

    @property
    def model(self) -> ModelInfo:
        """Describe the loaded model."""
        return self._info

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Return one score mapping per text, in order; long texts get the max over chunks."""
        if not texts:
            return []
        with self._lock:
            unique = list(dict.fromkeys(texts))  # identical comments are scored once
            chunks = {text: self._chunks(text) for text in unique}
            lengths = {chunk.text: chunk.tokens for parts in chunks.values() for chunk in parts}
            chunk_scores = self._predict_sorted(lengths)
        labels = self._info.labels
        merged = {
            text: {
                label: round(max(chunk_scores[chunk.text][label] for chunk in parts), 6)
                for label in labels
            }
            for text, parts in chunks.items()
        }
        return [dict(merged[text]) for text in texts]

    def _chunks(self, text: str) -> list[_Chunk]:
        """Split a text into overlapping pieces that each fit the model (usually just one)."""
        tokenizer = self._detox.tokenizer
        fast = bool(getattr(tokenizer, "is_fast", False))
        # verbose=False: the "sequence longer than 512" warning is expected here, we chunk.
        encoded = tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=fast, verbose=False
        )
        ids: list[int] = encoded["input_ids"]
        if len(ids) <= self._chunk_budget:
            return [_Chunk(text, len(ids))]
        pieces = []
        for start, end in _windows(len(ids), self._chunk_budget, CHUNK_OVERLAP):
            if fast:
                # Slice the original text so the model sees exactly what was written.
                offsets = encoded["offset_mapping"]
                piece = text[offsets[start][0] : offsets[end - 1][1]]
            else:
                # transformers 4.x slow tokenizers have no offsets; decoding is close enough.
                piece = tokenizer.decode(ids[start:end])
            pieces.append(_Chunk(piece, end - start))
        return pieces

    def _predict_sorted(self, lengths: dict[str, int]) -> dict[str, dict[str, float]]:
        """Score texts shortest first in fixed-size batches, so little time goes on padding."""
        ordered = sorted(lengths, key=lengths.__getitem__)
        results: dict[str, dict[str, float]] = {text: {} for text in ordered}
        for first in range(0, len(ordered), self._batch_size):
            batch = ordered[first : first + self._batch_size]
            for label, values in self._detox.predict(batch).items():
                # Detoxify squeezes a 1-item batch down to bare floats.
                column = [values] if len(batch) == 1 and not isinstance(values, list) else values
                if len(column) != len(batch):
                    raise RuntimeError(
                        f"Detoxify returned {len(column)} {label} scores for {len(batch)} texts"
                    )
                for text, value in zip(batch, column, strict=True):
                    results[text][label] = float(value)
        return results


def _windows(total: int, size: int, overlap: int) -> Iterator[tuple[int, int]]:
    """Yield ``[start, end)`` token windows of ``size`` covering ``total``, sharing ``overlap``."""
    start = 0
    while True:
        end = min(start + size, total)
        yield start, end
        if end == total:
            return
        start = end - overlap


def _checkpoint_path(model_type: str, checkpoint: Path | None) -> Path:
    if checkpoint is not None:
        if not checkpoint.is_file():
            raise DetoxifySettingsError(
                f"{CHECKPOINT_SETTING} is {checkpoint}, which does not exist",
                f"correct the path, or unset {CHECKPOINT_SETTING} to use the downloaded weights",
            )
        return checkpoint
    path = cached_checkpoint_path(model_type)
    if not path.is_file():
        # Detoxify would download it here; this project never downloads at run time.
        raise DetoxifyUnavailable(f"no checkpoint at {path}", DOWNLOAD_FIX)
    return path


def _normalise_sha256(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise DetoxifySettingsError(
            f"{SHA256_SETTING} is not a SHA-256 (64 hex digits)", "copy it from `sha256sum`"
        )
    return value


def _verify_sha256(path: Path, expected: str | None) -> tuple[str, KnownCheckpoint | None]:
    """Check the file's hash before anything unpickles it (Detoxify loads with pickle).

    Returns the digest and the published release it is, if it is one. The file is read again by
    torch.load; anyone able to swap it in between can already write the cache, so that is fine.
    """
    release = _BY_FILE_NAME.get(path.name)
    if expected is None and release is None:
        raise DetoxifySettingsError(
            f"{path.name} is not a published Detoxify checkpoint, so there is no hash to check "
            "it against and it will not be unpickled",
            f"set {SHA256_SETTING} to its SHA-256 (`sha256sum {path}`)",
        )
    digest = file_sha256(path)
    if expected is not None:
        if digest != expected:
            raise DetoxifyUnavailable(
                f"{path} has SHA-256 {digest[:12]}..., not the expected {expected[:12]}...; "
                "refusing to unpickle it",
                f"replace the file or correct {SHA256_SETTING}",
            )
    elif release is not None and not digest.startswith(release.sha256):
        raise DetoxifyUnavailable(
            f"{path} is not the published {release.file_name} (SHA-256 {digest[:12]}..., "
            f"expected {release.sha256[:12]}...; corrupt or partial download?); "
            "refusing to unpickle it",
            f"delete it and {DOWNLOAD_FIX}",
        )
    is_release = release is not None and digest.startswith(release.sha256)
    return digest, release if is_release else None


def _force_offline() -> None:
    """Make every Hugging Face lookup local-only; must run before transformers is imported."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    # huggingface_hub reads the variable once, at import; if something imported it before us,
    # flip the module's switch as well (it is read at call time).
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        vars(constants)["HF_HUB_OFFLINE"] = True


def _check_optimize(optimize: str, device: str | None) -> None:
    if optimize not in OPTIMIZATIONS:
        raise DetoxifySettingsError(
            f"{OPTIMIZE_SETTING} is {optimize!r}", f"use one of {', '.join(OPTIMIZATIONS)}"
        )
    if optimize in CPU_ONLY and device is not None and device.strip() not in ("", "cpu", "auto"):
        raise DetoxifySettingsError(
            f"{OPTIMIZE_SETTING} {optimize} runs on the CPU only, but {DEVICE_SETTING} is "
            f"{device!r}",
            f"set {DEVICE_SETTING} to cpu, or {OPTIMIZE_SETTING} to none",
        )


def _quantize_int8(model: Any) -> None:
    """Replace the model's ``nn.Linear`` layers, in place, by dynamically quantised int8 ones.

    Weights become int8 with one scale per output channel; activations are quantised per batch
    at run time. In place, so the fp32 and int8 copies are not both kept. Packed for oneDNN
    where torch has it: 1.3-1.5x faster than the default FBGEMM packing on the measured Xeon
    (AVX-512 VNNI, AMX), same drift (docs/PERFORMANCE.md). Each packed weight keeps its kernel,
    so the process-wide engine setting is put back afterwards.
    """
    import torch

    with warnings.catch_warnings():
        # Deliberately silenced: torch.ao.quantization warns, on import and on every call, that
        # it will move to the torchao package, and creating its qint8 weight tensors warns
        # likewise. It still works (tests compare the scores with fp32) and needs no extra
        # package; if a future torch drops it, the ImportError below says what to do.
        warnings.filterwarnings(
            "ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning
        )
        warnings.filterwarnings(
            "ignore",
            message=r"torch\.quantize_per_(tensor|channel).* deprecated",
            category=UserWarning,
        )
        try:
            from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
        except ImportError as exc:
            raise DetoxifySettingsError(
                f"{OPTIMIZE_SETTING} is int8, but torch {torch.__version__} has no "
                f"torch.ao.quantization ({exc})",
                f"set {OPTIMIZE_SETTING} to none",
            ) from exc
        engines = torch.backends.quantized
        previous = engines.engine
        if "onednn" in engines.supported_engines:
            engines.engine = "onednn"
        try:
            quantize: Any = quantize_dynamic  # untyped in torch
            quantize(
                model,
                {torch.nn.Linear: per_channel_dynamic_qconfig},
                dtype=torch.qint8,
                inplace=True,
            )
        finally:
            engines.engine = previous
    # The replaced fp32 layers sit in reference cycles; without this their ~330 MB (base
    # models) stay resident until some later collection (measured: 1029 -> 695 MB RSS).
    gc.collect()


def _onnx_int8(
    detox: Any, model_type: str, checkpoint_sha256: str, cache_dir: Path | None
) -> DetoxifyLike:
    """The int8 ONNX Runtime model for this checkpoint: from the cache, or built into it.

    The torch model is only needed to build the ONNX one; it is dropped afterwards, which
    returns most of its memory.
    """
    try:
        from classifiers import onnx_int8
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise DetoxifySettingsError(
            f"{OPTIMIZE_SETTING} is onnx-int8, but ONNX Runtime cannot be imported ({exc})",
            "install the project with its dependencies, or set it to int8 or none",
        ) from exc
    folder = cache_dir if cache_dir is not None else onnx_int8.default_cache_dir()
    path = onnx_int8.cached_model_path(folder, model_type, checkpoint_sha256)
    if not onnx_int8.cached_model_is_intact(path):
        try:
            onnx_int8.build_int8_model(detox.model, detox.tokenizer, path)
        except OSError as exc:
            raise DetoxifySettingsError(
                f"cannot write the ONNX model to {folder} ({exc.strerror or exc})",
                f"set {ONNX_CACHE_SETTING} to a folder the bot can write to",
            ) from exc
    try:
        runner = onnx_int8.OnnxDetoxify.open(path, detox.tokenizer, detox.class_names)
    except Exception as exc:  # onnxruntime raises its own exception types
        raise DetoxifyUnavailable(
            f"ONNX Runtime cannot open {path.name}: {type(exc).__name__}: {exc}",
            f"delete {path} so it is rebuilt, or set {OPTIMIZE_SETTING} to int8 or none",
        ) from exc
    return runner


def _pick_device(requested: str | None) -> str:
    if requested is None or requested.strip() in ("", "cpu"):
        return "cpu"
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise DetoxifySettingsError(
            f"{DEVICE_SETTING} is {requested!r} but torch sees no CUDA device",
            f"set {DEVICE_SETTING} to auto or cpu",
        )
    return requested


def _construct(path: Path, hf_dir: Path | None, device: str, known: KnownCheckpoint) -> Any:
    """Build ``detoxify.Detoxify`` from a verified file; any failure becomes one line."""
    _force_offline()
    try:
        from detoxify import Detoxify
    except ImportError as exc:
        raise DetoxifyUnavailable(
            f"cannot import detoxify ({exc})", "install the project with its dependencies"
        ) from exc
    try:
        # Always an explicit file: with checkpoint=None Detoxify would go through torch hub,
        # which downloads whenever the cache is missing.
        return Detoxify(
            model_type=known.model_type,
            checkpoint=str(path),
            device=device,
            huggingface_config_path=str(hf_dir) if hf_dir is not None else None,
        )
    except Exception as exc:  # torch, pickle and transformers raise many types; all mean "no"
        source = f"{hf_dir} or " if hf_dir is not None else ""
        raise DetoxifyUnavailable(
            f"loading {path.name} failed: {type(exc).__name__}: {exc}",
            f"make the config and tokenizer files of the base model named in the checkpoint "
            f"(normally {known.base_model}) available in {source}the Hugging Face cache (HF_HOME)",
        ) from exc


def _check_tokenizer(tokenizer: Any, release: KnownCheckpoint | None, source: object) -> None:
    """Refuse the silently empty tokenizer transformers 5 builds when its files are missing."""
    fix = f"put the tokenizer files (tokenizer.json, vocab files) in {source}"
    size = len(tokenizer)
    if release is not None and size != release.tokenizer_size:
        raise DetoxifyUnavailable(
            f"the tokenizer has {size} entries, {release.base_model} has {release.tokenizer_size}",
            fix,
        )
    if size < _MIN_TOKENIZER_SIZE:
        raise DetoxifyUnavailable(
            f"the tokenizer is empty ({size} entries): its files were not found", fix
        )
    ids = tokenizer(_PROBE, add_special_tokens=False)["input_ids"]
    if all(token == tokenizer.unk_token_id for token in ids):
        raise DetoxifyUnavailable("the tokenizer turns a plain English sentence into [UNK]", fix)


def _one_line(text: str) -> str:
    """Collapse an exception's text to one line, short enough to announce."""
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:297] + "..."
