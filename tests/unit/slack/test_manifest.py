"""manifest.yml validates against Slack's manifest JSON Schema and fits the code."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from jsonschema import Draft7Validator

from bot.slack import ids

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "tests" / "data" / "slack-manifest-schema" / "manifest.schema.1.0.0.json"


def load_manifest() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_slack_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(load_manifest()), key=str)
    assert errors == [], [e.message for e in errors]


def test_schema_catches_a_broken_manifest() -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = load_manifest()
    del broken["features"]["slash_commands"][0]["description"]
    broken["settings"]["typo_field"] = True
    assert len(list(Draft7Validator(schema).iter_errors(broken))) >= 2


def test_manifest_matches_the_code() -> None:
    manifest = load_manifest()
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == [ids.COMMAND]
    urls = {c["url"] for c in manifest["features"]["slash_commands"]}
    urls.add(manifest["settings"]["interactivity"]["request_url"])
    urls.add(manifest["settings"]["event_subscriptions"]["request_url"])
    assert len(urls) == 1 and next(iter(urls)).endswith("/slack/events")
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "usergroups:read",
    }


def test_procfile_serves_on_port() -> None:
    line = (ROOT / "Procfile").read_text().strip()
    assert line.startswith("web: ") and "python -m bot" in line


def test_env_example_lists_every_setting() -> None:
    from bot.settings import Settings

    text = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"{name.upper()}=" in text, name
