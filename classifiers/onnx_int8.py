"""Detoxify run by ONNX Runtime as an int8 model, built once from the verified checkpoint.

Why: ONNX Runtime's transformer optimiser fuses each layer's attention, GELU and layer norms
into single kernels, and its dynamic int8 quantisation then covers every matrix product,
attention included, where torch's covers only the Linear layers. On the measured 2-core Xeon
that is about a third faster than torch int8, with half its score drift (docs/PERFORMANCE.md).

The model is exported from the loaded Detoxify model (torch's ONNX exporter), optimised and
quantised, which takes about a minute, then cached under a name made of the checkpoint's
SHA-256 and the versions of the tools that made it. The cached file's own SHA-256 sits beside
it and is checked on every load: a file that does not match is rebuilt, never used. ONNX files
are data (protobuf), not pickles, so a cache file cannot run code; the check keeps a corrupt or
altered file from silently changing scores.

onnxruntime and onnx are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers.provenance import file_sha256, installed_version

log = logging.getLogger(__name__)

OPSET = 17
"""The ONNX opset exported: the newest the legacy exporter and the optimiser both handle."""
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
"""Positional order of the inputs of BERT, RoBERTa and ALBERT's ``forward``."""
_SAMPLE = ["A short comment.", "A somewhat longer comment about the potholes on Mill Lane."]


def default_cache_dir() -> Path:
    """Where built models are kept unless ``classifier.detoxify.onnx_cache`` says otherwise."""
    base = os.getenv("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(os.path.expanduser(base)) / "smat-bot" / "onnx"


def cached_model_path(cache_dir: Path, model_type: str, checkpoint_sha256: str) -> Path:
    """The cache file for this checkpoint as built by the installed tools.

    A new torch, transformers, onnx or onnxruntime may export or quantise differently, so each
    version is part of the name and an upgrade builds a fresh file.
    """
    tools = "-".join(
        f"{name}{installed_version(name)}"
        for name in ("torch", "transformers", "onnx", "onnxruntime")
    )
    return cache_dir / f"{model_type}-{checkpoint_sha256[:16]}-{tools}.int8.onnx"


def cached_model_is_intact(path: Path) -> bool:
    """Whether ``path`` exists and matches the SHA-256 recorded beside it when it was built."""
    recorded = _digest_file(path)
    if not path.is_file() or not recorded.is_file():
        return False
    expected = recorded.read_text(encoding="ascii").strip()
    if file_sha256(path) == expected:
        return True
    log.warning("cached ONNX model %s does not match its recorded SHA-256; rebuilding", path)
    return False


def build_int8_model(model: Any, tokenizer: Any, destination: Path) -> None:
    """Export ``model`` to ONNX, fuse its transformer layers, quantise to int8, save atomically.

    ``model`` is a Hugging Face sequence classifier (BERT, RoBERTa or ALBERT shapes), left as it
    was found. The SHA-256 file is written last, so an interrupted build is never trusted.
    """
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".build-") as tmp:
        exported, fused, quantised = (Path(tmp) / name for name in ("fp32", "fused", "int8"))
        sample = tokenizer(_SAMPLE, padding=True, return_tensors="pt")
        names = [name for name in _INPUTS if name in sample]
        config = model.config
        previous = config._attn_implementation
        # Eager attention exports as the plain matrix products the optimiser recognises and
        # fuses into one Attention kernel; torch's SDPA exports as an opaque pattern it skips.
        model.set_attn_implementation("eager")
        try:
            with torch.no_grad(), _quiet_export():
                torch.onnx.export(
                    model,
                    tuple(sample[name] for name in names),
                    str(exported),
                    input_names=names,
                    output_names=["logits"],
                    dynamic_axes={name: {0: "batch", 1: "tokens"} for name in names}
                    | {"logits": {0: "batch"}},
                    opset_version=OPSET,
                    dynamo=False,
                )
        finally:
            model.set_attn_implementation(previous)
        optimised = optimize_model(
            str(exported),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
        )
        optimised.save_model_to_file(str(fused))
        with _quiet_quantiser():
            quantize_dynamic(
                fused,
                quantised,
                weight_type=QuantType.QInt8,
                per_channel=True,
                # The fused Attention kernel's output type cannot be inferred by the quantiser.
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        os.replace(quantised, destination)
    _digest_file(destination).write_text(file_sha256(destination) + "\n", encoding="ascii")


@dataclass
class OnnxDetoxify:
    """Detoxify's ``predict`` over an ONNX Runtime session: same tokenizer, labels and sigmoid."""

    tokenizer: Any
    class_names: Sequence[str]
    session: Any

    @classmethod
    def open(cls, path: Path, tokenizer: Any, class_names: Sequence[str]) -> OnnxDetoxify:
        """Open a built model file with ONNX Runtime on the CPU."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One request at a time (the backend holds a lock): parallelism inside each operator.
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        return cls(tokenizer, tuple(class_names), session)

    def predict(self, text: list[str]) -> dict[str, list[float]]:
        """Score a batch: one list of probabilities per label, in the batch's order."""
        import numpy as np

        encoded = self.tokenizer(text, truncation=True, padding=True, return_tensors="np")
        inputs = {
            entry.name: encoded[entry.name].astype(np.int64) for entry in self.session.get_inputs()
        }
        logits = self.session.run(None, inputs)[0]
        # A numerically stable sigmoid: 1 / (1 + e^-x) overflows for very negative logits.
        scores = np.exp(-np.logaddexp(0.0, -logits))
        # Like Detoxify: the unbiased head is wider than its labels; the first columns count.
        return {name: scores[:, index].tolist() for index, name in enumerate(self.class_names)}


def _digest_file(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


@contextmanager
def _quiet_export() -> Iterator[None]:
    """Silence the warnings of tracing the model: they describe the export, not a fault."""
    with warnings.catch_warnings():
        # The legacy (TorchScript) exporter is deprecated in favour of the dynamo one, which
        # needs the onnxscript package and more memory; the legacy one still works. Tracing
        # also notes that Python-level shape checks in torch and transformers become constants:
        # true, and harmless, because they only guard inputs the tokenizer never produces.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", module=r"(torch|transformers)\.")
        yield


class _PreProcessAdvice(logging.Filter):
    """Drop the quantiser's advice to pre-process: that step is for convolutional models."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


@contextmanager
def _quiet_quantiser() -> Iterator[None]:
    advice = _PreProcessAdvice()
    root = logging.getLogger()
    root.addFilter(advice)
    try:
        yield
    finally:
        root.removeFilter(advice)
