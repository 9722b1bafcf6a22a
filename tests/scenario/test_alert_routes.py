"""ALERT_ROUTES end to end: the served bot's own alert service, the real Seam fake (seeded
property), the Slack fake and a real SQLite file. Two locks' alerts land in two channels, the
rest in ALERT_CHANNEL; edits and resolutions follow the alert's channel; a routed channel the bot
is not in keeps its alerts pending without holding up the others; a bad routes file stops
`python -m bot` with one line naming the rule.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_alert_service, build_slack_client
from bot.services.alerting import AlertService
from bot.services.observing import scan_workspace
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from tests.conftest import Bot, serve_bot

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = "C0DEFAULT"
UNIT_2B = "C0UNIT2B"
LOBBY = "C0LOBBY"

ROUTES = f"""
[[route]]
name = "Unit 2B"
channel = "{UNIT_2B}"
lock_name = "unit 2b*"

[[route]]
name = "Lobby keypad"
channel = "{LOBBY}"
section = "Common areas"
manufacturer = "Schlage"
lock_name = "Lobby*"
"""


@pytest.fixture
async def routed(tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack) -> AsyncIterator[Bot]:
    routes = tmp_path / "alert-routes.toml"
    routes.write_text(ROUTES)
    async for served in serve_bot(
        tmp_path, seam_fake, slack, alert_channel=DEFAULT, alert_routes=str(routes)
    ):
        yield served


def alerts_of(bot: Bot) -> AlertService:
    """The served bot's alert service as the app builds it (routes from ALERT_ROUTES), unpaced."""
    return build_alert_service(bot.services, build_slack_client(bot.settings), pace_seconds=0)


async def scan(bot: Bot, service: AlertService) -> None:
    await service.reconcile(
        await scan_workspace(bot.services.seam, catalogue=bot.services.catalogue)
    )


def roots(slack: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return slack.messages(channel, include_replies=False)


def alert_keys(slack: FakeSlack, channel: str) -> set[str]:
    return {m["metadata"]["event_payload"]["alert_key"] for m in roots(slack, channel)}


async def devices_of(bot: Bot, keys: set[str]) -> set[str]:
    found = set()
    for key in keys:
        rec = await bot.services.store.alert(key)
        assert rec is not None, key
        found.add(rec.device_id)
    return found


async def test_two_locks_alerts_land_in_two_channels_and_the_rest_in_alert_channel(
    routed: Bot, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    devices = seam_fake.ids["devices"]
    service = alerts_of(routed)
    await scan(routed, service)

    unit_2b, lobby, default = (alert_keys(slack, ch) for ch in (UNIT_2B, LOBBY, DEFAULT))
    assert unit_2b and lobby and default, slack.describe()
    assert not (unit_2b & lobby) and not (unit_2b & default) and not (lobby & default)
    assert await devices_of(routed, unit_2b) <= {devices["front_door"], devices["back_door"]}
    assert await devices_of(routed, lobby) == {devices["lobby"]}
    rest = await devices_of(routed, default)
    assert rest and not rest & {devices["front_door"], devices["back_door"], devices["lobby"]}
    for key in unit_2b:  # the store remembers each alert's channel
        rec = await routed.services.store.alert(key)
        assert rec is not None and rec.channel == UNIT_2B and rec.ts is not None

    # A fixed code on the Unit 2B front door resolves in the Unit 2B channel, in place.
    code_id = seam_fake.ids["codes"]["failed_to_set"]
    assert f"code:{code_id}" in unit_2b
    await seam_fake.update_access_code(code_id, errors=[], warnings=[], status="set")
    posts_before = len(slack.calls_to("chat.postMessage"))
    await scan(routed, service)
    [message] = [
        m
        for m in roots(slack, UNIT_2B)
        if m["metadata"]["event_payload"]["alert_key"] == f"code:{code_id}"
    ]
    assert "Resolved" in str(message["blocks"]) and message.get("edited")
    replies = [
        c
        for c in slack.calls_to("chat.postMessage")[posts_before:]
        if c.body.get("thread_ts") == message["ts"]
    ]
    assert [c.body["channel"] for c in replies] == [UNIT_2B]
    assert all(c.body["channel"] == UNIT_2B for c in slack.calls_to("chat.update")[-1:])
    assert alert_keys(slack, DEFAULT) == default  # nothing moved or was posted twice


async def test_a_routed_channel_the_bot_is_not_in_keeps_its_alerts_pending(
    routed: Bot, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    slack.closed_channels.add(LOBBY)
    service = alerts_of(routed)
    await scan(routed, service)
    assert roots(slack, LOBBY) == []
    assert alert_keys(slack, UNIT_2B) and alert_keys(slack, DEFAULT)  # the others still posted
    refused = [c for c in slack.calls_to("chat.postMessage") if c.body["channel"] == LOBBY]
    assert len(refused) == 1  # blocked for the rest of that reconcile
    assert refused[0].response["error"] == "not_in_channel"

    slack.closed_channels.clear()  # someone invited the bot
    await scan(routed, service)
    lobby = alert_keys(slack, LOBBY)
    assert await devices_of(routed, lobby) == {seam_fake.ids["devices"]["lobby"]}
    for key in lobby:
        rec = await routed.services.store.alert(key)
        assert rec is not None and rec.channel == LOBBY and rec.ts is not None


async def test_a_bad_routes_file_stops_start_up_with_one_line_naming_the_rule(
    tmp_path: Path,
) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text(
        ROUTES + '\n[[route]]\nname = "Typo"\nchannel = "C0TYPO"\nseverty = "error"\n'
    )
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "SLACK_BOT_TOKEN": "xoxb-routes-test",
        "SLACK_SIGNING_SECRET": "routes-secret",
        "SEAM_API_KEY": "seam_routes_key",
        "ALERT_CHANNEL": DEFAULT,
        "ALERT_ROUTES": str(routes),
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "PYTHONPATH": str(ROOT),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "ALERT_ROUTES" in lines[0] and "rule 'Typo' (#3)" in lines[0]
    assert "unknown key(s) severty" in lines[0]
    assert not (tmp_path / "bot.sqlite3").exists()  # nothing was opened
