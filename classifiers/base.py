"""The classifier seam: a classifier only scores text; the policy decides what the scores mean."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

Scores = Mapping[str, float]
"""Label name (e.g. ``toxicity``) to a probability in [0, 1]."""


@dataclass(frozen=True)
class ModelInfo:
    """Which model produced a set of scores; stored with every classification."""

    name: str
    """Stable identifier, e.g. ``detoxify-unbiased`` or ``alt-profanity-check``."""
    version: str
    """Package and weights version, e.g. ``detoxify 0.5.4; toxic_debiased-c7548aa0.ckpt``."""
    labels: tuple[str, ...]
    """The labels every score mapping from this model carries."""
    notes: tuple[str, ...] = field(default=())
    """Caveats worth showing next to the scores (e.g. "fallback: no Detoxify weights")."""


class Classifier(Protocol):
    """Scores comments. Implementations load their model once and are safe to share."""

    @property
    def model(self) -> ModelInfo:
        """Describe the loaded model."""
        ...

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Return one score mapping per text, in the same order; an empty input gives []."""
        ...


class ClassifierUnavailable(Exception):
    """A classifier backend cannot be loaded; the message says why and how to fix it."""
