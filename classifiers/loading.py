"""Pick and load the classifier backend from settings, announcing what was loaded and why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from classifiers.base import Classifier, ClassifierUnavailable
from classifiers.detoxify_backend import (
    DetoxifyClassifier,
    DetoxifySettingsError,
    DetoxifyUnavailable,
)
from classifiers.profanity_backend import ProfanityCheckClassifier

BACKENDS = ("auto", "detoxify", "profanity-check")


def load_classifier(
    backend: str,
    *,
    detoxify_model: str,
    checkpoint: Path | None,
    huggingface_config_path: Path | None,
    checkpoint_sha256: str | None,
    device: str | None,
    announce: Callable[[str], None],
    optimize: str = "none",
    onnx_cache: Path | None = None,
) -> Classifier:
    """Load the configured backend; in ``auto`` mode fall back to alt-profanity-check, announced.

    Settings mistakes (e.g. a checkpoint path that does not exist) raise even in ``auto`` mode:
    falling back would hide them behind a worse classifier. ``optimize`` is
    ``classifier.detoxify.optimize`` (``none``, ``int8`` or ``onnx-int8``, whose built model is
    kept in ``onnx_cache``); the announced version shows it.
    """

    def load_detoxify() -> Classifier:
        return DetoxifyClassifier.load(
            detoxify_model,
            checkpoint=checkpoint,
            huggingface_config_path=huggingface_config_path,
            expected_sha256=checkpoint_sha256,
            device=device,
            optimize=optimize,
            onnx_cache=onnx_cache,
        )

    classifier: Classifier
    if backend == "profanity-check":
        classifier = ProfanityCheckClassifier.load()
    elif backend == "detoxify":
        classifier = load_detoxify()
    elif backend == "auto":
        try:
            classifier = load_detoxify()
        except DetoxifySettingsError:
            raise
        except ClassifierUnavailable as unavailable:
            classifier = _fallback(unavailable, announce)
    else:
        raise ClassifierUnavailable(
            f"classifier.backend is {backend!r}; use one of {', '.join(BACKENDS)}"
        )
    info = classifier.model
    announce(f"Classifier: {info.name} ({info.version})")
    return classifier


def _fallback(
    unavailable: ClassifierUnavailable, announce: Callable[[str], None]
) -> ProfanityCheckClassifier:
    """Load the fallback and say, in one line, why and how to get Detoxify back."""
    if isinstance(unavailable, DetoxifyUnavailable):
        reason, fix = unavailable.reason, unavailable.fix
    else:
        reason = " ".join(str(unavailable).split()).rstrip(".")
        fix = "check the classifier.detoxify settings"
    try:
        fallback = ProfanityCheckClassifier.load()
    except ClassifierUnavailable as also:
        raise ClassifierUnavailable(
            f"Detoxify weights unavailable ({reason}) and the fallback failed too: {also}"
        ) from also
    announce(
        f"Detoxify weights unavailable: {reason}. Fix: {fix}. Using the offline fallback "
        f"classifier alt-profanity-check {fallback.package_version}."
    )
    return fallback
