"""Settings: shipped defaults, the council's YAML (SMAT_CONFIG), the environment, and errors.

Every failure must be a ``ConfigError`` whose message is one line naming the bad setting, so
``smat-bot`` can print it and exit 2 (DESIGN.md section 4).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from config.settings import (
    CONTRACT_ENV,
    ConfigError,
    Permission,
    Settings,
    deep_merge,
    load_settings,
    require,
)

BOT_TOKEN = "xoxb-1111-2222-TOPSECRETbot"
SIGNING_SECRET = "c0ffee-TOPSECRET-signing"
APP_TOKEN = "xapp-1-A1-TOPSECRETapp"

WriteConfig = Callable[[str], Path]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test from an environment with no SMAT_* or SLACK_* variables at all."""
    for name in list(os.environ):
        if name.startswith(("SMAT_", "SLACK_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WriteConfig:
    """Write a council YAML file and point SMAT_CONFIG at it."""

    def write(text: str) -> Path:
        path = tmp_path / "council.yaml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("SMAT_CONFIG", str(path))
        return path

    return write


def config_error(*, contains: str | None = None) -> str:
    """Load settings, expecting a ConfigError; return its message after the one-line check."""
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message, "a ConfigError must say what is wrong"
    assert "\n" not in message, f"not one line: {message!r}"
    assert "\r" not in message, f"not one line: {message!r}"
    if contains is not None:
        assert contains in message
    return message


# --- defaults ---------------------------------------------------------------------------------


def test_defaults_alone_give_a_working_configuration() -> None:
    settings = load_settings()

    assert settings.council.name == "Example Town Council"
    assert settings.council.timezone == "Europe/London"
    assert str(settings.council.tz) == "Europe/London"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.slack.api_url == "https://slack.com/api/"
    assert settings.slack.bot_token is None
    assert settings.slack.signing_secret is None
    assert settings.slack.app_token is None
    assert not settings.slack.configured
    assert not settings.slack.socket_mode
    assert settings.slack.channels.triage == "#smat-triage"
    assert settings.classifier.backend == "auto"
    assert settings.classifier.detoxify.model == "unbiased"


def test_default_policy_thresholds_and_reasons() -> None:
    policy = load_settings().policy

    assert policy.thresholds == {
        "toxicity": 0.80,
        "severe_toxicity": 0.30,
        "obscene": 0.80,
        "threat": 0.60,
        "insult": 0.60,
        "identity_attack": 0.60,
        "sexual_explicit": 0.60,
        "profanity": 0.80,
    }
    assert policy.review_margin == 0.75
    # Every label with a threshold points at a real reason code, and so does every detection.
    assert set(policy.label_reasons) == set(policy.thresholds)
    for code in [*policy.label_reasons.values(), *policy.detection_reasons.values()]:
        assert code in policy.reason_codes
    assert policy.detection_reasons["phone_number"] == "personal_data"
    assert policy.detection_reasons["email_address"] == "personal_data"


def test_criticism_is_not_a_reason_code() -> None:
    codes = load_settings().policy.reason_codes
    assert not any("critic" in code for code in codes)
    assert not any("critic" in reason.label.lower() for reason in codes.values())


def test_only_threats_and_contact_with_minors_escalate_by_default() -> None:
    codes = load_settings().policy.reason_codes
    escalating = {code for code, reason in codes.items() if reason.escalate}
    assert escalating == {"violent_or_threatening", "inappropriate_contact_with_minors"}
    assert "Biggleswade 6.5" in codes["violent_or_threatening"].clause


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.database_url = "sqlite:///other.db"  # type: ignore[misc]


# --- the council's YAML file ------------------------------------------------------------------


def test_yaml_overriding_one_threshold_keeps_the_others(write_config: WriteConfig) -> None:
    write_config("policy:\n  thresholds:\n    toxicity: 0.5\n")

    policy = load_settings().policy

    assert policy.thresholds["toxicity"] == 0.5
    assert policy.thresholds["insult"] == 0.60
    assert policy.thresholds["threat"] == 0.60
    assert len(policy.thresholds) == 8
    # Sibling keys of the section survive too.
    assert policy.review_margin == 0.75
    assert "personal_data" in policy.reason_codes


def test_yaml_can_set_council_details_and_keep_default_time_zone(write_config: WriteConfig) -> None:
    write_config(
        "council:\n"
        "  name: Leighton-Linslade Town Council\n"
        "  email: clerk@example.gov.uk\n"
        "slack:\n"
        "  channels:\n"
        "    triage: '#moderation'\n"
    )

    settings = load_settings()

    assert settings.council.name == "Leighton-Linslade Town Council"
    assert settings.council.email == "clerk@example.gov.uk"
    assert settings.council.timezone == "Europe/London"
    assert settings.slack.channels.triage == "#moderation"
    assert settings.slack.channels.escalation == "#smat-escalations"


def test_empty_yaml_file_means_defaults(write_config: WriteConfig) -> None:
    write_config("# nothing here yet\n")
    assert load_settings().policy.thresholds["toxicity"] == 0.80


# --- the environment --------------------------------------------------------------------------


def test_contract_env_names_fill_their_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMAT_DATABASE_URL", "postgresql+psycopg://smat@127.0.0.1:5432/smat")
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:8900/api")

    settings = load_settings()

    assert settings.database_url == "postgresql+psycopg://smat@127.0.0.1:5432/smat"
    assert settings.slack.bot_token is not None
    assert settings.slack.bot_token.get_secret_value() == BOT_TOKEN
    assert settings.slack.signing_secret is not None
    assert settings.slack.signing_secret.get_secret_value() == SIGNING_SECRET
    assert settings.slack.app_token is not None
    assert settings.slack.app_token.get_secret_value() == APP_TOKEN
    assert settings.slack.api_url == "http://127.0.0.1:8900/api/"  # trailing slash added
    assert settings.slack.configured
    assert settings.slack.socket_mode


@pytest.mark.parametrize(
    ("env_name", "yaml_text", "env_value", "read"),
    [
        (
            "SMAT_DATABASE_URL",
            "database_url: sqlite:///from-yaml.db\n",
            "sqlite:///from-env.db",
            lambda s: s.database_url,
        ),
        (
            "SLACK_API_URL",
            "slack:\n  api_url: http://yaml.example/api/\n",
            "http://env.example/api/",
            lambda s: s.slack.api_url,
        ),
        (
            "SLACK_BOT_TOKEN",
            "slack:\n  bot_token: xoxb-from-yaml\n",
            "xoxb-from-env",
            lambda s: s.slack.bot_token.get_secret_value(),
        ),
        (
            "SLACK_SIGNING_SECRET",
            "slack:\n  signing_secret: from-yaml\n",
            "from-env",
            lambda s: s.slack.signing_secret.get_secret_value(),
        ),
        (
            "SLACK_APP_TOKEN",
            "slack:\n  app_token: xapp-from-yaml\n",
            "xapp-from-env",
            lambda s: s.slack.app_token.get_secret_value(),
        ),
    ],
)
def test_contract_env_names_win_over_yaml(
    write_config: WriteConfig,
    monkeypatch: pytest.MonkeyPatch,
    env_name: str,
    yaml_text: str,
    env_value: str,
    read: Callable[[Settings], object],
) -> None:
    write_config(yaml_text)
    monkeypatch.setenv(env_name, env_value)

    assert read(load_settings()) == env_value


def test_every_contract_env_name_is_covered() -> None:
    assert set(CONTRACT_ENV) == {
        "SMAT_DATABASE_URL",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
    }


def test_contract_env_name_wins_over_nested_smat_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMAT_SLACK__API_URL", "http://nested.example/api/")
    monkeypatch.setenv("SLACK_API_URL", "http://contract.example/api/")
    assert load_settings().slack.api_url == "http://contract.example/api/"


def test_empty_contract_env_value_is_treated_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    assert load_settings().slack.bot_token is None


def test_nested_env_sets_review_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMAT_POLICY__REVIEW_MARGIN", "0.5")

    policy = load_settings().policy

    assert policy.review_margin == 0.5
    assert policy.thresholds["toxicity"] == 0.80  # the rest of the section is kept


def test_nested_env_sets_one_threshold_and_keeps_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMAT_POLICY__THRESHOLDS__TOXICITY", "0.65")

    thresholds = load_settings().policy.thresholds

    assert thresholds["toxicity"] == 0.65
    assert thresholds["insult"] == 0.60


def test_nested_env_wins_over_yaml(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config("policy:\n  review_margin: 0.9\n  thresholds:\n    insult: 0.7\n")
    monkeypatch.setenv("SMAT_POLICY__REVIEW_MARGIN", "0.5")

    policy = load_settings().policy

    assert policy.review_margin == 0.5
    assert policy.thresholds["insult"] == 0.7


def test_unrelated_smat_variable_does_not_break_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMAT_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/smat_test")
    assert load_settings().database_url.startswith("sqlite:///")


# --- failures: one line naming the setting ----------------------------------------------------


@pytest.mark.parametrize(
    ("yaml_text", "names"),
    [
        pytest.param("polcy:\n  review_margin: 0.5\n", "polcy", id="top-level typo"),
        pytest.param("council:\n  nmae: Somewhere\n", "council.nmae", id="section typo"),
        pytest.param(
            "policy:\n  thresholds:\n    toxicity: 0.5\n  reveiw_margin: 0.5\n",
            "policy.reveiw_margin",
            id="policy typo",
        ),
        pytest.param(
            "slack:\n  channels:\n    triage: '#a'\n    escalations: '#b'\n",
            "slack.channels.escalations",
            id="deep typo",
        ),
    ],
)
def test_unknown_yaml_key_is_refused_by_name(
    write_config: WriteConfig, yaml_text: str, names: str
) -> None:
    write_config(yaml_text)
    message = config_error(contains=names)
    assert "Extra inputs are not permitted" in message


@pytest.mark.parametrize("threshold", ["1.5", "0", "-0.2"])
def test_threshold_outside_zero_to_one_is_refused(
    write_config: WriteConfig, threshold: str
) -> None:
    write_config(f"policy:\n  thresholds:\n    toxicity: {threshold}\n")
    message = config_error(contains="policy.thresholds")
    assert "'toxicity'" in message
    assert "must be in (0, 1]" in message


def test_threshold_that_is_not_a_number_is_refused(write_config: WriteConfig) -> None:
    write_config("policy:\n  thresholds:\n    toxicity: high\n")
    config_error(contains="policy.thresholds.toxicity")


@pytest.mark.parametrize("margin", ["0", "1.2"])
def test_review_margin_outside_range_is_refused(
    monkeypatch: pytest.MonkeyPatch, margin: str
) -> None:
    monkeypatch.setenv("SMAT_POLICY__REVIEW_MARGIN", margin)
    config_error(contains="policy.review_margin")


def test_bad_nested_env_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMAT_POLICY__REVIEW_MARGIN", "lots")
    config_error(contains="policy.review_margin")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Europe/Londn", "../etc/passwd"])
def test_unknown_time_zone_is_refused(write_config: WriteConfig, zone: str) -> None:
    write_config(f"council:\n  timezone: '{zone}'\n")
    message = config_error(contains="council.timezone")
    assert zone in message


@pytest.mark.parametrize(
    "token", ["xoxp-1111-TOPSECRETuser", "TOPSECRET-no-prefix", "xapp-TOPSECRET"]
)
def test_bot_token_of_wrong_kind_names_env_and_hides_value(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", token)

    message = config_error(contains="SLACK_BOT_TOKEN")

    assert "xoxb-" in message  # says what a right one looks like
    assert token not in message
    assert "TOPSECRET" not in message


def test_bot_token_of_wrong_kind_in_yaml_also_hides_value(write_config: WriteConfig) -> None:
    write_config("slack:\n  bot_token: xoxp-TOPSECRET-user\n")
    message = config_error(contains="SLACK_BOT_TOKEN")
    assert "TOPSECRET" not in message


def test_app_token_of_wrong_kind_names_env_and_hides_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", "xoxb-TOPSECRET-not-an-app-token")
    message = config_error(contains="SLACK_APP_TOKEN")
    assert "TOPSECRET" not in message


def test_api_url_that_is_not_http_names_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_API_URL", "ftp://slack.example/api")
    config_error(contains="SLACK_API_URL")


@pytest.mark.parametrize(
    ("yaml_text", "key", "code"),
    [
        ("policy:\n  label_reasons:\n    threat: no_such_code\n", "threat", "no_such_code"),
        (
            "policy:\n  detection_reasons:\n    phone_number: personal_dta\n",
            "phone_number",
            "personal_dta",
        ),
    ],
)
def test_reason_pointing_to_unknown_code_is_refused(
    write_config: WriteConfig,
    yaml_text: str,
    key: str,
    code: str,
) -> None:
    write_config(yaml_text)
    message = config_error(contains="policy")
    assert key in message
    assert code in message


def test_unknown_role_is_refused(write_config: WriteConfig) -> None:
    write_config("roles:\n  admin: [view]\n")
    config_error(contains="roles")


def test_unknown_detoxify_model_is_refused(write_config: WriteConfig) -> None:
    write_config("classifier:\n  detoxify:\n    model: enormous\n")
    config_error(contains="classifier.detoxify.model")


def test_several_problems_are_counted_on_the_same_line(write_config: WriteConfig) -> None:
    write_config("council:\n  nmae: x\npolcy: {}\n")
    message = config_error()
    assert "(and 1 more problem)" in message


def test_missing_config_file_names_smat_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such-council.yaml"
    monkeypatch.setenv("SMAT_CONFIG", str(missing))

    message = config_error(contains="SMAT_CONFIG")

    assert "not found" in message
    assert str(missing) in message


def test_config_path_that_is_a_directory_names_smat_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMAT_CONFIG", str(tmp_path))
    config_error(contains="SMAT_CONFIG")


@pytest.mark.parametrize(
    ("yaml_text", "line"),
    [
        pytest.param("council:\n  name: Town\n   timezone: UTC\n", 3, id="bad indent"),
        pytest.param("policy:\n  review_margin: 0.5\n\tthresholds: {}\n", 3, id="tab"),
        pytest.param("a: b\n  c: d\n", 2, id="mapping in scalar"),
    ],
)
def test_invalid_yaml_names_smat_config_and_the_line(
    write_config: WriteConfig,
    yaml_text: str,
    line: int,
) -> None:
    write_config(yaml_text)
    message = config_error(contains="SMAT_CONFIG")
    assert "not valid YAML" in message
    assert f"line {line}" in message


@pytest.mark.parametrize(
    "yaml_text",
    [
        pytest.param("- policy\n- council\n", id="list"),
        pytest.param("just some words\n", id="string"),
        pytest.param("42\n", id="number"),
    ],
)
def test_yaml_top_level_must_be_a_mapping(write_config: WriteConfig, yaml_text: str) -> None:
    write_config(yaml_text)
    message = config_error(contains="SMAT_CONFIG")
    assert "mapping" in message


def test_config_file_that_is_not_utf8_names_smat_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "council.yaml"
    path.write_bytes("council:\n  name: Caf\xe9 Town\n".encode("cp1252"))
    monkeypatch.setenv("SMAT_CONFIG", str(path))
    config_error(contains="SMAT_CONFIG")


# --- require ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, ""])
def test_require_names_the_contract_env_name(value: object) -> None:
    with pytest.raises(ConfigError) as info:
        require(value, "slack.bot_token", "posting to Slack needs a bot token")
    message = str(info.value)
    assert message == "Missing setting SLACK_BOT_TOKEN: posting to Slack needs a bot token"


def test_require_names_a_plain_setting_when_it_has_no_env_name() -> None:
    with pytest.raises(ConfigError, match=r"^Missing setting council\.email: "):
        require(None, "council.email", "the canned reply quotes it")


@pytest.mark.parametrize("value", ["sqlite:///x.db", 0, False, "xoxb-1"])
def test_require_accepts_present_values(value: object) -> None:
    require(value, "database_url", "needed")  # does not raise


# --- secrets ----------------------------------------------------------------------------------


def test_secrets_never_appear_in_repr_or_str(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)

    settings = load_settings()

    for shown in (repr(settings), str(settings), repr(settings.slack), str(settings.slack)):
        assert "TOPSECRET" not in shown
        assert "**********" in shown  # the fields are there, masked
    assert "TOPSECRET" not in settings.model_dump_json()
    assert settings.slack.bot_token is not None
    assert settings.slack.bot_token.get_secret_value() == BOT_TOKEN


# --- permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "clerk",
            {
                Permission.DECIDE,
                Permission.APPROVE_REMOVAL,
                Permission.MANAGE_MEMBERS,
                Permission.EDIT_RESPONSES,
                Permission.VIEW,
            },
        ),
        (
            "deputy",
            {
                Permission.DECIDE,
                Permission.APPROVE_REMOVAL,
                Permission.MANAGE_MEMBERS,
                Permission.EDIT_RESPONSES,
                Permission.VIEW,
            },
        ),
        ("smat", {Permission.DECIDE, Permission.APPROVE_REMOVAL, Permission.VIEW}),
        ("viewer", {Permission.VIEW}),
        ("janitor", set()),
        ("", set()),
    ],
)
def test_permissions_per_role(role: str, expected: set[Permission]) -> None:
    assert load_settings().permissions(role) == frozenset(expected)


def test_only_clerk_and_deputy_manage_members() -> None:
    settings = load_settings()
    managers = {
        role
        for role in ("clerk", "deputy", "smat", "viewer")
        if Permission.MANAGE_MEMBERS in settings.permissions(role)
    }
    assert managers == {"clerk", "deputy"}


def test_roles_can_be_narrowed_in_yaml(write_config: WriteConfig) -> None:
    write_config("roles:\n  smat: [view]\n")
    settings = load_settings()
    assert settings.permissions("smat") == frozenset({Permission.VIEW})
    assert Permission.MANAGE_MEMBERS in settings.permissions("clerk")


def test_settings_class_is_what_load_settings_returns() -> None:
    assert isinstance(load_settings(), Settings)


# --- deep_merge -------------------------------------------------------------------------------


def test_deep_merge_merges_nested_mappings() -> None:
    base = {"policy": {"thresholds": {"toxicity": 0.8, "insult": 0.6}, "review_margin": 0.75}}
    override = {"policy": {"thresholds": {"toxicity": 0.5}}}

    assert deep_merge(base, override) == {
        "policy": {"thresholds": {"toxicity": 0.5, "insult": 0.6}, "review_margin": 0.75}
    }


@pytest.mark.parametrize(
    ("base", "override", "expected"),
    [
        pytest.param({"a": 1}, {}, {"a": 1}, id="empty override"),
        pytest.param({}, {"a": {"b": 1}}, {"a": {"b": 1}}, id="new section"),
        pytest.param({"a": 1}, {"b": 2}, {"a": 1, "b": 2}, id="new key"),
        pytest.param({"a": {"b": 1}}, {"a": 5}, {"a": 5}, id="scalar replaces mapping"),
        pytest.param({"a": 5}, {"a": {"b": 1}}, {"a": {"b": 1}}, id="mapping replaces scalar"),
        pytest.param({"a": [1, 2]}, {"a": [3]}, {"a": [3]}, id="lists replace, not append"),
        pytest.param({"a": {"b": 1}}, {"a": None}, {"a": None}, id="None replaces"),
        pytest.param(
            {"a": {"b": {"c": 1, "d": 2}}},
            {"a": {"b": {"d": 3}}},
            {"a": {"b": {"c": 1, "d": 3}}},
            id="three levels",
        ),
    ],
)
def test_deep_merge_table(base: dict, override: dict, expected: dict) -> None:
    assert deep_merge(base, override) == expected


def test_deep_merge_does_not_modify_its_inputs() -> None:
    base = {"policy": {"thresholds": {"toxicity": 0.8}}}
    override = {"policy": {"thresholds": {"toxicity": 0.5}}}

    deep_merge(base, override)

    assert base == {"policy": {"thresholds": {"toxicity": 0.8}}}
    assert override == {"policy": {"thresholds": {"toxicity": 0.5}}}


def test_shipped_legislation_entries_are_whole_citations() -> None:
    # A YAML flow list splits "Communications Act 2003, s127" at the comma unless quoted.
    for code, reason in load_settings().policy.reason_codes.items():
        for citation in reason.legislation:
            assert " Act " in f" {citation} ", (code, citation)
