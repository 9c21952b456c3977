"""alt-profanity-check behind the Classifier seam: the offline fallback, weights ship on PyPI."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from classifiers.base import ClassifierUnavailable, ModelInfo
from classifiers.provenance import installed_version

LABEL = "profanity"
BATCH_SIZE = 256
"""Texts per ``predict_prob`` call: bounds the TF-IDF matrix while keeping the ~23k/s speed."""
PACKAGE = "alt-profanity-check"

NOTES = (
    "offline fallback: used because Detoxify weights are unavailable or not chosen",
    "coarse: one offensive/profane probability, no threat or identity-attack labels",
    "trained on Twitter and Wikipedia data; flags swearing regardless of intent",
)

PredictProb = Callable[[list[str]], Any]
"""``profanity_check.predict_prob``: texts in, a numpy array of probabilities out."""


class ProfanityCheckClassifier:
    """Scores a single coarse ``profanity`` probability per comment with alt-profanity-check."""

    def __init__(self, predict_prob: PredictProb, info: ModelInfo, *, batch_size: int = BATCH_SIZE):
        self._predict_prob = predict_prob
        self._info = info
        self._batch_size = batch_size
        # scikit-learn's transform/predict are not documented as thread-safe; scoring is fast.
        self._lock = threading.Lock()

    @classmethod
    def load(cls) -> ProfanityCheckClassifier:
        """Import the package (loading its bundled model) or raise ClassifierUnavailable."""
        try:
            from profanity_check import predict_prob
        except Exception as exc:  # ImportError, or joblib/sklearn failing to unpickle its model
            raise ClassifierUnavailable(
                f"cannot load {PACKAGE}: {type(exc).__name__}: {exc}"
            ) from exc
        package_version = installed_version(PACKAGE)
        info = ModelInfo(
            name=PACKAGE,
            version=(
                f"{PACKAGE} {package_version}; scikit-learn {installed_version('scikit-learn')}"
            ),
            labels=(LABEL,),
            notes=NOTES,
        )
        return cls(predict_prob, info)

    @property
    def model(self) -> ModelInfo:
        """Describe the loaded model."""
        return self._info

    @property
    def package_version(self) -> str:
        """The installed alt-profanity-check version, for the fallback announcement."""
        return installed_version(PACKAGE)

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Return ``{"profanity": p}`` per text, in order; an empty input gives []."""
        scores: list[dict[str, float]] = []
        with self._lock:
            for first in range(0, len(texts), self._batch_size):
                batch = list(texts[first : first + self._batch_size])
                probabilities = self._predict_prob(batch)
                if len(probabilities) != len(batch):
                    raise RuntimeError(
                        f"{PACKAGE} returned {len(probabilities)} scores for {len(batch)} texts"
                    )
                scores.extend({LABEL: round(float(p), 6)} for p in probabilities)
        return scores
