"""The offline fallback classifier: real alt-profanity-check model, shipped inside its wheel."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import pytest

from classifiers.profanity_backend import LABEL, ProfanityCheckClassifier

ABUSIVE = "You are a fucking idiot and a piece of shit, shut up."
POLITE = "Thank you for fixing the streetlight on Mill Lane so quickly."


@pytest.fixture(scope="module")
def classifier() -> ProfanityCheckClassifier:
    return ProfanityCheckClassifier.load()


class RecordingPredict:
    """Wraps the real ``predict_prob`` and remembers each batch it was given."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.batches: list[list[str]] = []

    def __call__(self, texts: list[str]) -> Any:
        self.batches.append(list(texts))
        return self.inner(texts)


def test_abusive_sentence_scores_higher_than_polite_one(
    classifier: ProfanityCheckClassifier,
) -> None:
    abusive, polite = classifier.score([ABUSIVE, POLITE])
    assert abusive[LABEL] > 0.9
    assert polite[LABEL] < 0.2
    assert abusive[LABEL] > polite[LABEL]


def test_model_info_names_versions_and_caveats(classifier: ProfanityCheckClassifier) -> None:
    info = classifier.model
    assert info.name == "alt-profanity-check"
    assert info.labels == ("profanity",)
    assert f"alt-profanity-check {metadata.version('alt-profanity-check')}" in info.version
    assert f"scikit-learn {metadata.version('scikit-learn')}" in info.version
    notes = " ".join(info.notes).lower()
    for caveat in ("fallback", "coarse", "twitter", "wikipedia"):
        assert caveat in notes
    assert classifier.package_version == metadata.version("alt-profanity-check")


def test_empty_input_gives_empty_list(classifier: ProfanityCheckClassifier) -> None:
    assert classifier.score([]) == []


def test_scores_are_rounded_probabilities(classifier: ProfanityCheckClassifier) -> None:
    (single,) = classifier.score([ABUSIVE])
    assert set(single) == {LABEL}
    assert isinstance(single[LABEL], float)
    assert 0.0 <= single[LABEL] <= 1.0
    assert round(single[LABEL], 6) == single[LABEL]


def test_batches_keep_input_order(classifier: ProfanityCheckClassifier) -> None:
    texts = [POLITE, ABUSIVE, "What a damn mess", POLITE, "Bins were not collected", ABUSIVE]
    recorder = RecordingPredict(classifier._predict_prob)
    batched = ProfanityCheckClassifier(recorder, classifier.model, batch_size=4)

    scores = batched.score(texts)

    assert [len(batch) for batch in recorder.batches] == [4, 2]
    assert scores == [classifier.score([text])[0] for text in texts]
    assert scores[1][LABEL] > scores[0][LABEL]  # the order is visible in the values


def test_load_failure_is_classifier_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from classifiers.base import ClassifierUnavailable

    # None in sys.modules makes the import raise ImportError, as if the package were missing.
    monkeypatch.setitem(sys.modules, "profanity_check", None)
    with pytest.raises(ClassifierUnavailable, match="cannot load alt-profanity-check"):
        ProfanityCheckClassifier.load()
