"""Settings: required variables, one-line errors, parsing of lists, secrets kept out of errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings

REQUIRED = {
    "SLACK_BOT_TOKEN": "xoxb-1-test",
    "SLACK_SIGNING_SECRET": "shh-secret",
    "SEAM_API_KEY": "seam_test_key",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [
        *REQUIRED,
        "ALERT_CHANNEL",
        "REMEDY_ALLOWED_USERS",
        "SCAN_INTERVAL_SECONDS",
        "PORT",
    ]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_when_required_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in REQUIRED.items():
        monkeypatch.setenv(k, v)
    s = load_settings()
    assert str(s.slack_api_url) == "https://slack.com/api/"
    assert str(s.seam_endpoint).rstrip("/") == "https://connect.getseam.com"
    assert s.database_path == Path("./seam-bot.sqlite3")
    assert s.remedy_allowed_users == frozenset()
    assert not s.may_run_remedies("U999")  # fails closed: nobody until listed
    assert s.port == 3000


def test_missing_required_names_each_variable() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings()
    line = str(info.value)
    assert "\n" not in line
    for name in REQUIRED:
        assert f"{name} is required" in line


def test_malformed_token_named_without_leaking_value(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in REQUIRED.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-user-token-secret")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "SLACK_BOT_TOKEN is malformed" in str(info.value)
    assert "xoxp-user-token-secret" not in str(info.value)


def test_allowed_users_parsed_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in REQUIRED.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("REMEDY_ALLOWED_USERS", " U111 ,W222,, ")
    s = load_settings()
    assert s.remedy_allowed_users == {"U111", "W222"}
    assert s.may_run_remedies("U111") and not s.may_run_remedies("U333")
    monkeypatch.setenv("REMEDY_ALLOWED_USERS", "U111,bob")
    with pytest.raises(SettingsError, match=r"REMEDY_ALLOWED_USERS is malformed.*bob"):
        load_settings()


def test_bad_numbers_and_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in REQUIRED.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("SCAN_INTERVAL_SECONDS", "-5")
    with pytest.raises(SettingsError, match="SCAN_INTERVAL_SECONDS is malformed"):
        load_settings()
    monkeypatch.setenv("SCAN_INTERVAL_SECONDS", "60")
    monkeypatch.setenv("SEAM_ENDPOINT", "not a url")
    with pytest.raises(SettingsError, match="SEAM_ENDPOINT is malformed"):
        load_settings()


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("\n".join(f"{k}={v}" for k, v in REQUIRED.items()))
    assert load_settings().seam_api_key.get_secret_value() == "seam_test_key"


def test_cli_exits_nonzero_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "SLACK_BOT_TOKEN is required" in lines[0]


def test_a_star_lets_everyone_run_remedies(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in REQUIRED.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("REMEDY_ALLOWED_USERS", "*")
    s = load_settings()
    assert s.may_run_remedies("U999") and s.may_run_remedies("W1")
    monkeypatch.setenv("REMEDY_ALLOWED_USERS", "")
    assert not load_settings().may_run_remedies("U111")


def test_alert_routes_needs_alert_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in REQUIRED.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("ALERT_ROUTES", "routes.toml")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value) == (
        "configuration error: ALERT_ROUTES needs ALERT_CHANNEL (the channel of alerts no rule "
        "matches)"
    )
    monkeypatch.setenv("ALERT_CHANNEL", "C0ALERTS")
    assert load_settings().alert_routes == Path("routes.toml")
    monkeypatch.setenv("ALERT_ROUTES", "  ")
    assert load_settings().alert_routes is None


def test_allowed_users_take_user_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in REQUIRED.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("REMEDY_ALLOWED_USERS", "U111,S0OPS")
    s = load_settings()
    assert s.remedy_allowed_users == {"U111", "S0OPS"}
    assert s.remedy_allowed_groups == {"S0OPS"}
    # The settings alone never let a group id (or its members) through: Slack must say.
    assert s.may_run_remedies("U111") and not s.may_run_remedies("S0OPS")
    monkeypatch.setenv("REMEDY_ALLOWED_USERS", "U111,s0ops")
    with pytest.raises(SettingsError, match=r"REMEDY_ALLOWED_USERS is malformed.*s0ops"):
        load_settings()


@pytest.mark.parametrize(
    "token",
    ["xoxb-1-2-not-an-app-token", "xapp-1-", "xapp 1 A0 1 abc", "A0123-app-token", "xapp-1-a-b-c"],
)
def test_a_wrong_shaped_app_token_is_one_line_without_its_value(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    for k, v in REQUIRED.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("SLACK_APP_TOKEN", token)
    with pytest.raises(SettingsError) as info:
        load_settings()
    line = str(info.value)
    assert line.startswith("configuration error: SLACK_APP_TOKEN is malformed: must be an")
    assert "'xapp-'" in line and "\n" not in line and token not in line


def test_app_token_blank_means_http_and_valid_means_socket_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for k, v in REQUIRED.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("SLACK_APP_TOKEN", " ")
    assert load_settings().slack_app_token is None
    token = "xapp-1-A0SOCKET1-1234567890123-0f1e2d3c4b5a6978"
    monkeypatch.setenv("SLACK_APP_TOKEN", f" {token} ")
    settings = load_settings()
    assert settings.slack_app_token is not None
    assert settings.slack_app_token.get_secret_value() == token
    assert token not in repr(settings) and token not in str(settings.model_dump())
