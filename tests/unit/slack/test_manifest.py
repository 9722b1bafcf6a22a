"""manifest.yml (HTTP) and manifest.socket-mode.yml (Socket Mode) validate against Slack's
manifest JSON Schema, fit the code, and describe the same app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

from bot.slack import ids

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "tests" / "data" / "slack-manifest-schema" / "manifest.schema.1.0.0.json"


MANIFESTS = ("manifest.yml", "manifest.socket-mode.yml")


def load_manifest(name: str = "manifest.yml") -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_validates_against_slack_schema(name: str) -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(load_manifest(name)), key=str)
    assert errors == [], [e.message for e in errors]


def test_the_shared_schema_is_the_vendored_one() -> None:
    shared = Path("/work/shared/slack-manifest-schema/manifest.schema.1.0.0.json")
    if not shared.exists():
        pytest.skip("the shared schema is not on this machine")
    assert json.loads(shared.read_text()) == json.loads(SCHEMA.read_text())


def test_socket_mode_manifest_is_the_same_app_without_request_urls() -> None:
    http, socket = load_manifest(), load_manifest("manifest.socket-mode.yml")
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "url" not in socket["features"]["slash_commands"][0]
    assert "request_url" not in socket["settings"]["interactivity"]
    assert "request_url" not in socket["settings"]["event_subscriptions"]
    # Everything else is manifest.yml with its URLs removed.
    for command in http["features"]["slash_commands"]:
        del command["url"]
    del http["settings"]["interactivity"]["request_url"]
    del http["settings"]["event_subscriptions"]["request_url"]
    http["settings"]["socket_mode_enabled"] = True
    assert socket == http


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
