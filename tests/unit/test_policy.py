"""The pure policy: scores and detections in, a suggested action and its policy reason out.

Run against the shipped default policy (``load_settings().policy``), because those are the
thresholds and reason codes a council starts with.
"""

from __future__ import annotations

import copy
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classifiers.policy import SuggestedAction, Suggestion, suggest
from config.settings import PolicySettings, load_settings


def _default_policy() -> PolicySettings:
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("SMAT_", "SLACK_")):
                mp.delenv(name, raising=False)
        return load_settings().policy


POLICY = _default_policy()
"""The shipped defaults, loaded once with no SMAT_*/SLACK_* variables in the way."""


@pytest.fixture(scope="module")
def policy() -> PolicySettings:
    return POLICY


def with_changes(policy: PolicySettings, **changes: object) -> PolicySettings:
    """A validated copy of the policy with some fields replaced."""
    return PolicySettings.model_validate({**policy.model_dump(), **changes})


NON_ESCALATING_LABELS = [
    label for label, code in POLICY.label_reasons.items() if not POLICY.reason_codes[code].escalate
]


# --- approve ----------------------------------------------------------------------------------


def test_sharp_criticism_below_thresholds_is_approved(policy: PolicySettings) -> None:
    # The sort of scores "frankly incompetent ... shocking lack of transparency" gets.
    scores = {"toxicity": 0.45, "insult": 0.25, "threat": 0.01, "obscene": 0.02}

    suggestion = suggest(scores, {}, policy)

    assert suggestion.action is SuggestedAction.APPROVE
    assert not suggestion.flagged
    assert suggestion.reason_code is None
    assert suggestion.clause is None
    assert suggestion.flagged_labels == ()
    assert "criticism" in suggestion.explanation.lower()
    # Names the score closest to its threshold: toxicity 0.45/0.80 beats insult 0.25/0.60.
    assert "toxicity 0.45" in suggestion.explanation
    assert "0.80" in suggestion.explanation


def test_no_scores_and_no_detections_is_approved(policy: PolicySettings) -> None:
    suggestion = suggest({}, {}, policy)
    assert suggestion.action is SuggestedAction.APPROVE
    assert "criticism" in suggestion.explanation.lower()


# --- hide -------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", NON_ESCALATING_LABELS)
@pytest.mark.parametrize("over", [0.0, 0.01], ids=["at threshold", "over threshold"])
def test_label_at_or_over_threshold_suggests_hide_with_configured_reason(
    policy: PolicySettings, label: str, over: float
) -> None:
    score = policy.thresholds[label] + over

    suggestion = suggest({label: score, "threat": 0.0}, {}, policy)

    code = policy.label_reasons[label]
    assert suggestion.action is SuggestedAction.HIDE
    assert suggestion.flagged
    assert suggestion.reason_code == code
    assert suggestion.clause == policy.reason_codes[code].clause
    assert suggestion.flagged_labels == (label,)
    assert f"{label} {score:.2f}" in suggestion.explanation


@pytest.mark.parametrize(
    ("label", "code", "clause"),
    [
        ("insult", "bullying_or_harassment", "Biggleswade 6.5"),
        ("toxicity", "offensive_or_discriminatory", "Biggleswade 6.5; St Helens 9.7"),
        ("identity_attack", "offensive_or_discriminatory", "Biggleswade 6.5; St Helens 9.7"),
        ("obscene", "obscene_or_sexual", "Biggleswade 6.5; St Helens 9.7"),
        ("sexual_explicit", "obscene_or_sexual", "Biggleswade 6.5; St Helens 9.7"),
    ],
)
def test_shipped_reasons_and_clauses(
    policy: PolicySettings, label: str, code: str, clause: str
) -> None:
    suggestion = suggest({label: 0.99}, {}, policy)
    assert (suggestion.action, suggestion.reason_code, suggestion.clause) == (
        SuggestedAction.HIDE,
        code,
        clause,
    )


def test_clause_comes_from_the_configuration(policy: PolicySettings) -> None:
    reason_codes = policy.model_dump()["reason_codes"]
    reason_codes["bullying_or_harassment"]["clause"] = "Our Town policy 4.2"
    custom = with_changes(policy, reason_codes=reason_codes)

    suggestion = suggest({"insult": 0.9}, {}, custom)

    assert suggestion.reason_code == "bullying_or_harassment"
    assert suggestion.clause == "Our Town policy 4.2"


# --- escalate ---------------------------------------------------------------------------------


def test_threat_over_threshold_escalates(policy: PolicySettings) -> None:
    suggestion = suggest({"threat": 0.91, "toxicity": 0.5}, {}, policy)

    assert suggestion.action is SuggestedAction.ESCALATE
    assert suggestion.reason_code == "violent_or_threatening"
    assert policy.reason_codes["violent_or_threatening"].escalate is True
    assert suggestion.clause == "Biggleswade 6.5 and Appendix C"
    assert suggestion.flagged_labels == ("threat",)
    assert "threat 0.91" in suggestion.explanation


def test_threat_exactly_at_threshold_escalates(policy: PolicySettings) -> None:
    assert suggest({"threat": 0.60}, {}, policy).action is SuggestedAction.ESCALATE


def test_threat_with_personal_data_still_escalates(policy: PolicySettings) -> None:
    suggestion = suggest({"threat": 0.95}, {"phone_number": ["+447700900123"]}, policy)
    assert suggestion.action is SuggestedAction.ESCALATE
    assert suggestion.reason_code == "violent_or_threatening"


# --- several labels over ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "code", "labels"),
    [
        pytest.param(
            {"insult": 0.95, "toxicity": 0.85},  # 1.58x vs 1.06x
            "bullying_or_harassment",
            ("insult", "toxicity"),
            id="insult furthest over",
        ),
        pytest.param(
            {"insult": 0.65, "toxicity": 0.99},  # 1.08x vs 1.24x
            "offensive_or_discriminatory",
            ("toxicity", "insult"),
            id="toxicity furthest over",
        ),
        pytest.param(
            {"obscene": 0.85, "severe_toxicity": 0.60, "insult": 0.70},  # 1.06x, 2x, 1.17x
            "offensive_or_discriminatory",
            ("severe_toxicity", "insult", "obscene"),
            id="relative not absolute",
        ),
    ],
)
def test_label_furthest_over_its_threshold_decides(
    policy: PolicySettings, scores: dict[str, float], code: str, labels: tuple[str, ...]
) -> None:
    suggestion = suggest(scores, {}, policy)

    assert suggestion.action is SuggestedAction.HIDE
    assert suggestion.reason_code == code
    assert suggestion.flagged_labels == labels


def test_escalating_reason_wins_even_when_not_furthest_over(policy: PolicySettings) -> None:
    scores = {"insult": 0.99, "toxicity": 0.99, "threat": 0.61}  # threat only 1.02x

    suggestion = suggest(scores, {}, policy)

    assert suggestion.action is SuggestedAction.ESCALATE
    assert suggestion.reason_code == "violent_or_threatening"
    assert suggestion.clause == policy.reason_codes["violent_or_threatening"].clause
    assert set(suggestion.flagged_labels) == {"insult", "toxicity", "threat"}
    assert suggestion.flagged_labels[-1] == "threat"  # still listed furthest-over first


def test_label_over_threshold_with_no_reason_suggests_review(policy: PolicySettings) -> None:
    custom = with_changes(policy, thresholds={**policy.thresholds, "sarcasm": 0.5})

    suggestion = suggest({"sarcasm": 0.9}, {}, custom)

    assert suggestion.action is SuggestedAction.REVIEW
    assert suggestion.reason_code is None
    assert suggestion.clause is None
    assert suggestion.flagged_labels == ("sarcasm",)


def test_label_without_reason_does_not_hide_a_label_with_one(policy: PolicySettings) -> None:
    custom = with_changes(policy, thresholds={**policy.thresholds, "sarcasm": 0.5})

    suggestion = suggest({"sarcasm": 0.99, "insult": 0.7}, {}, custom)

    assert suggestion.action is SuggestedAction.HIDE
    assert suggestion.reason_code == "bullying_or_harassment"


def test_label_without_reason_does_not_mask_personal_data(policy: PolicySettings) -> None:
    custom = with_changes(policy, thresholds={**policy.thresholds, "sarcasm": 0.5})

    suggestion = suggest({"sarcasm": 0.9}, {"phone_number": ["+447700900123"]}, custom)

    assert suggestion.action is SuggestedAction.HIDE
    assert suggestion.reason_code == "personal_data"


# --- review -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "score"),
    [
        ("insult", 0.45),  # exactly 0.75 x 0.60
        ("insult", 0.50),
        ("insult", 0.599),
        ("threat", 0.59),
        ("toxicity", 0.61),
        ("toxicity", 0.79),
        ("severe_toxicity", 0.25),
    ],
)
def test_near_threshold_suggests_review(policy: PolicySettings, label: str, score: float) -> None:
    suggestion = suggest({label: score}, {}, policy)

    assert suggestion.action is SuggestedAction.REVIEW
    assert suggestion.flagged
    assert suggestion.reason_code is None
    assert suggestion.clause is None
    assert label in suggestion.explanation
    assert "close to its threshold" in suggestion.explanation


@pytest.mark.parametrize("label", sorted(POLICY.thresholds))
def test_score_exactly_at_review_line_suggests_review(policy: PolicySettings, label: str) -> None:
    # The line in decimal terms: 0.75 x 0.80 is 0.60, though in binary floating point
    # 0.75 * 0.80 == 0.6000000000000001; a score of exactly 0.60 must still count.
    review_line = round(policy.review_margin * policy.thresholds[label], 6)

    assert suggest({label: review_line}, {}, policy).action is SuggestedAction.REVIEW


def test_just_under_review_line_is_approved(policy: PolicySettings) -> None:
    assert suggest({"insult": 0.44}, {}, policy).action is SuggestedAction.APPROVE


def test_review_margin_comes_from_the_configuration(policy: PolicySettings) -> None:
    scores = {"insult": 0.35}  # 0.58 of the threshold
    assert suggest(scores, {}, policy).action is SuggestedAction.APPROVE
    wider = with_changes(policy, review_margin=0.5)
    assert suggest(scores, {}, wider).action is SuggestedAction.REVIEW


def test_link_suggests_review(policy: PolicySettings) -> None:
    suggestion = suggest({"toxicity": 0.05}, {"link": ["www.example-quick-cash.test"]}, policy)

    assert suggestion.action is SuggestedAction.REVIEW
    assert suggestion.reason_code is None
    assert "link" in suggestion.explanation


def test_link_and_near_threshold_are_both_explained(policy: PolicySettings) -> None:
    suggestion = suggest({"insult": 0.5}, {"link": ["https://x.test"]}, policy)

    assert suggestion.action is SuggestedAction.REVIEW
    assert "insult 0.50" in suggestion.explanation
    assert "link" in suggestion.explanation


# --- personal data ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detections", "words"),
    [
        ({"phone_number": ["+447700900123"]}, "phone number"),
        ({"email_address": ["gary.n@example.com"]}, "email address"),
        (
            {"email_address": ["a@b.test"], "phone_number": ["+447700900123"]},
            "email address",
        ),
    ],
)
def test_personal_data_suggests_hide(
    policy: PolicySettings, detections: dict[str, list[str]], words: str
) -> None:
    suggestion = suggest({"toxicity": 0.02}, detections, policy)

    assert suggestion.action is SuggestedAction.HIDE
    assert suggestion.reason_code == "personal_data"
    assert suggestion.clause == policy.reason_codes["personal_data"].clause
    assert "Data Protection Act 2018" in (suggestion.clause or "")
    assert words in suggestion.explanation


def test_personal_data_beats_a_near_threshold_review(policy: PolicySettings) -> None:
    suggestion = suggest(
        {"insult": 0.5}, {"phone_number": ["+447700900123"], "link": ["https://x.test"]}, policy
    )
    assert suggestion.action is SuggestedAction.HIDE
    assert suggestion.reason_code == "personal_data"


def test_detection_with_no_reason_is_not_a_hide(policy: PolicySettings) -> None:
    suggestion = suggest({}, {"named_officer": ["the clerk"]}, policy)
    assert suggestion.action is SuggestedAction.APPROVE


# --- scores the policy does not know ----------------------------------------------------------


@pytest.mark.parametrize(
    "scores",
    [
        {"spam_likelihood": 0.99},
        {"spam_likelihood": 0.99, "toxicity": 0.1},
        {"TOXICITY": 0.99},
    ],
)
def test_scores_for_labels_without_threshold_are_ignored(
    policy: PolicySettings, scores: dict[str, float]
) -> None:
    suggestion = suggest(scores, {}, policy)
    assert suggestion.action is SuggestedAction.APPROVE
    assert suggestion.flagged_labels == ()


# --- purity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "detections"),
    [
        ({"toxicity": 0.3}, {}),
        ({"insult": 0.95, "threat": 0.7}, {}),
        ({"insult": 0.5}, {"link": ["https://x.test"]}),
        ({}, {"phone_number": ["+447700900123"]}),
    ],
)
def test_policy_is_pure(
    policy: PolicySettings, scores: dict[str, float], detections: dict[str, list[str]]
) -> None:
    scores_before, detections_before = copy.deepcopy(scores), copy.deepcopy(detections)
    policy_before = policy.model_dump()

    first = suggest(scores, detections, policy)
    second = suggest(scores, detections, policy)

    assert first == second
    assert isinstance(first, Suggestion)
    assert scores == scores_before
    assert detections == detections_before
    assert policy.model_dump() == policy_before


# --- property ---------------------------------------------------------------------------------


@st.composite
def scores_below_review_line(draw: st.DrawFn) -> dict[str, float]:
    labels = draw(st.lists(st.sampled_from(sorted(POLICY.thresholds)), unique=True))
    return {
        label: draw(
            st.floats(
                min_value=0.0,
                # Clearly below the review line: a score within float rounding of the line
                # (0.44999999999999996 for 0.75 x 0.60) counts as on it.
                max_value=round(POLICY.review_margin * POLICY.thresholds[label], 6) - 1e-6,
                allow_nan=False,
            )
        )
        for label in labels
    }


@given(scores_below_review_line())
def test_scores_all_below_review_line_without_detections_are_approved(
    scores: dict[str, float],
) -> None:
    suggestion = suggest(scores, {}, POLICY)
    assert suggestion.action is SuggestedAction.APPROVE
    assert suggestion.reason_code is None
    assert not suggestion.flagged


def test_abuse_of_a_named_officer_is_bullying_of_staff(policy: PolicySettings) -> None:
    suggestion = suggest(
        {"toxicity": 0.95, "insult": 0.2}, {"named_officer": ["the clerk"]}, policy
    )
    assert suggestion.action is SuggestedAction.HIDE
    assert suggestion.reason_code == "bullying_or_harassment"
    assert "named officer" in suggestion.explanation


def test_an_escalation_names_the_legislation(policy: PolicySettings) -> None:
    suggestion = suggest({"threat": 0.9}, {}, policy)
    assert suggestion.action is SuggestedAction.ESCALATE
    assert "Malicious Communications Act 1988, s1" in suggestion.legislation
    assert "Possible offence: Malicious Communications Act 1988, s1" in suggestion.explanation


def test_a_threat_phrase_alone_escalates(policy: PolicySettings) -> None:
    suggestion = suggest({}, {"threat_phrase": ["i know where you live"]}, policy)
    assert suggestion.action is SuggestedAction.ESCALATE
    assert suggestion.reason_code == "violent_or_threatening"


def test_another_language_goes_to_a_person(policy: PolicySettings) -> None:
    suggestion = suggest({"profanity": 0.01}, {"other_language": ["cy"]}, policy)
    assert suggestion.action is SuggestedAction.REVIEW
    assert "another language (cy)" in suggestion.explanation


def test_political_content_is_reviewed_only_in_the_pre_election_period() -> None:
    from datetime import date

    from config.settings import PolicySettings as Policy

    base = load_settings().policy
    policy = Policy(
        **{
            **base.model_dump(),
            "pre_election": {"start": date(2027, 4, 1), "end": date(2027, 5, 6)},
        }
    )
    political = {"political": ["vote"]}
    inside = suggest({"profanity": 0.01}, political, policy, on=date(2027, 4, 20))
    outside = suggest({"profanity": 0.01}, political, policy, on=date(2027, 6, 1))
    assert inside.action is SuggestedAction.REVIEW
    assert "pre-election" in inside.explanation
    assert outside.action is SuggestedAction.APPROVE
    # Pre-election mode never hides anything by itself.
    assert inside.reason_code is None
