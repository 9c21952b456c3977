"""A deterministic stand-in classifier for tests that are not about the model itself."""

from __future__ import annotations

from collections.abc import Sequence

from classifiers.base import ModelInfo

# Words that push a label over the default thresholds, so tests can say what they mean.
TRIGGERS = {
    "toxicity": ("idiot", "stupid", "useless"),
    "insult": ("idiot", "stupid", "useless", "cow"),
    "threat": ("smash", "kill", "hurt you"),
    "obscene": ("f***",),
}


class KeywordClassifier:
    """Scores 0.95 for a label when one of its trigger words appears, 0.02 otherwise."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    @property
    def model(self) -> ModelInfo:
        return ModelInfo("keyword-test", "test 1", tuple(TRIGGERS))

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        self.calls.append(list(texts))
        return [
            {
                label: 0.95 if any(word in text.lower() for word in words) else 0.02
                for label, words in TRIGGERS.items()
            }
            for text in texts
        ]
