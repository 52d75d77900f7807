"""Config files: every error names file, line, field path, bad value and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from worker.config import load_settings, parse_duration_s
from worker.errors import ConfigError

GOOD = """\
watchlists:
  - name: semis
    tickers: [NVDA, ON, 005930.KS]
    notify: [desk]
feeds:
  - name: wire
    url: https://example.com/feed.xml
    every: 90s
channels:
  desk:
    type: slack
    url: "${SLACK_URL}"
"""


def problems_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "policywatch.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env or {})
    return [str(p) for p in caught.value.problems]


def test_a_good_config_loads_with_secrets_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "policywatch.yaml"
    path.write_text(GOOD, encoding="utf-8")
    settings = load_settings(path, {"SLACK_URL": "https://hooks.example/T/B/X"})
    assert settings.feeds[0].every == 90
    assert settings.watchlists[0].tickers == ["NVDA", "ON", "005930.KS"]
    desk = settings.channels["desk"]
    assert desk.type == "slack" and desk.url == "https://hooks.example/T/B/X"


def test_a_missing_environment_variable_is_named_with_its_line(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, GOOD)
    assert "policywatch.yaml:12" in problem
    assert "channels.desk.url" in problem
    assert "SLACK_URL" in problem


def test_every_bad_field_is_reported_with_path_line_value_and_expectation(tmp_path: Path) -> None:
    text = GOOD.replace("every: 90s", "every: 5 parsecs").replace(
        "notify: [desk]", "notify: [desk, pager]\n    min_score: 140"
    )
    problems = problems_of(tmp_path, text, {"SLACK_URL": "x"})
    joined = "\n".join(problems)
    assert "feeds[0].every" in joined and "'5 parsecs'" in joined and "duration" in joined
    assert "watchlists[0].min_score" in joined and "140" in joined
    assert any(":9:" in p and "every" in p for p in problems)  # the line moved down by one


def test_an_unknown_notify_channel_lists_the_known_ones(tmp_path: Path) -> None:
    text = GOOD.replace("notify: [desk]", "notify: [desk, pager]")
    (problem,) = problems_of(tmp_path, text, {"SLACK_URL": "x"})
    assert "watchlists[0].notify[1]" in problem and "'pager'" in problem and "desk" in problem
    assert ":4:" in problem


def test_an_unknown_channel_type_lists_the_valid_types(tmp_path: Path) -> None:
    text = GOOD + "  pigeon:\n    type: carrier\n"
    (problem,) = problems_of(tmp_path, text, {"SLACK_URL": "x"})
    assert "channels.pigeon" in problem
    assert "slack" in problem and "webhook" in problem and "email" in problem


def test_a_misspelt_field_is_an_error_not_silently_ignored(tmp_path: Path) -> None:
    text = GOOD.replace("    every: 90s", "    evry: 90s")
    (problem,) = problems_of(tmp_path, text, {"SLACK_URL": "x"})
    assert "feeds[0].evry" in problem and "no such field" in problem


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "watchlists:\n  - name: [unclosed\n")
    assert "policywatch.yaml:" in problem and "valid YAML" in problem


def test_yaml_on_and_no_stay_strings() -> None:
    from worker.config import parse_settings

    settings = parse_settings("watchlists: [{name: w, tickers: [ON, NO, Y]}]", "x.yaml", {})
    assert settings.watchlists[0].tickers == ["ON", "NO", "Y"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("2d", 172800), (45, 45)]
)
def test_durations_are_read_with_their_units(text: object, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


def test_check_config_says_ok_with_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "policywatch.yaml"
    path.write_text(GOOD, encoding="utf-8")
    result = run_cli("check-config", "--config", str(path), env={"SLACK_URL": "https://h/x"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok:") and "1 watchlists (3 tickers)" in result.stdout


def test_check_config_exits_non_zero_and_prints_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "policywatch.yaml"
    path.write_text(
        GOOD.replace("[NVDA, ON, 005930.KS]", "[NVDA, NOSUCHTICKERX]"), encoding="utf-8"
    )
    result = run_cli("check-config", "--config", str(path), env={"SLACK_URL": "https://h/x"})
    assert result.returncode == 2
    assert "watchlists[0].tickers[1]" in result.stderr and "NOSUCHTICKERX" in result.stderr


def test_init_writes_a_starter_config_that_checks_ok(tmp_path: Path) -> None:
    assert run_cli("init", cwd=tmp_path).returncode == 0
    text = (tmp_path / "policywatch.yaml").read_text()
    assert text.count("#") > 10  # commented
    result = run_cli("check-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert run_cli("init", cwd=tmp_path).returncode != 0  # never overwrites silently


def test_a_settings_repr_never_shows_channel_secrets() -> None:
    from worker.config import parse_settings

    settings = parse_settings(
        "watchlists: [{name: w, tickers: [NVDA], notify: [s, m, h]}]\n"
        "channels:\n"
        '  s: {type: slack, url: "https://hooks.slack.com/services/T/B/SECRETPATH"}\n'
        '  h: {type: webhook, url: "https://x/h?token=TOKENVALUE",'
        ' secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}\n'
        "  m: {type: email, host: h, from: a@b.c, to: [x@y.z], password: PASSWORDVALUE}\n",
        "x.yaml",
        {},
    )
    shown = repr(settings) + str(settings)
    for secret in ("SECRETPATH", "TOKENVALUE", "whsec_", "PASSWORDVALUE"):
        assert secret not in shown


@pytest.mark.parametrize("pure", [False, True], ids=["libyaml", "pure-python-reader"])
def test_a_control_character_or_bad_tag_is_a_config_error_not_a_crash(
    pure: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from worker import config

    if pure:  # as on a PyYAML without libyaml
        monkeypatch.setattr(config, "_Loader", type("_Pure", (yaml.SafeLoader,), {}))
    for text in ("watchlists: []\nname: a\x07b\n", "watchlists: !!python/name:os.system []\n"):
        with pytest.raises(ConfigError) as raised:
            config.parse_settings(text, "policywatch.yaml", {})
        assert "valid YAML" in str(raised.value)
