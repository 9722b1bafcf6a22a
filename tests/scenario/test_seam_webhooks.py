"""Seam webhooks end to end: signed like Svix signs them, through the real HTTP endpoint.

The served bot (`SCAN_INTERVAL_SECONDS=3600` in spirit: no scan runs during a test), the official
Seam fake behind the shim (the code's error placed there first: the bot re-reads Seam, it never
trusts the payload), the Slack fake, a real SQLite file that outlives a restart.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from svix.webhooks import Webhook

from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from devtools.slack_requests import event_body
from tests.conftest import Bot, serve_bot
from tests.support.databases import database_url

SECRET = "whsec_" + base64.b64encode(b"seam-code-doctor-test-secret!!").decode()
CHANNEL = "CALERTS"


@pytest.fixture(autouse=True)
def _no_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.slack.alert_channel.ALERT_PACE_SECONDS", 0.0)


async def served(tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack, **kw: Any) -> Any:
    kw.setdefault("seam_webhook_secret", SECRET)
    kw.setdefault("alert_channel", CHANNEL)
    return serve_bot(tmp_path, seam_fake, slack, **kw)


@pytest.fixture
async def hooked(tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack) -> AsyncIterator[Bot]:
    async for bot in await served(tmp_path, seam_fake, slack):
        yield bot


def signed(
    payload: dict[str, Any],
    *,
    secret: str = SECRET,
    msg_id: str | None = None,
    at: datetime | None = None,
) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(payload).encode()
    msg_id = msg_id or f"msg_{payload.get('event_id', 'x')}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, at, raw.decode())
    headers = {
        "svix-id": msg_id,
        "svix-timestamp": str(int(at.timestamp())),
        "svix-signature": signature,
        "content-type": "application/json",
    }
    return raw, headers


async def deliver(bot: Bot, payload: dict[str, Any], **kw: Any) -> httpx.Response:
    raw, headers = signed(payload, **kw)
    return await bot.http.post(f"{bot.url}/seam/webhook", content=raw, headers=headers)


def event(kind: str, code_id: str, device_id: str, n: int = 1) -> dict[str, Any]:
    return {
        "event_id": f"ev-{kind}-{code_id}-{n}",
        "event_type": kind,
        "workspace_id": "ws",
        "access_code_id": code_id,
        "device_id": device_id,
        "created_at": datetime.now(UTC).isoformat(),
        "occurred_at": datetime.now(UTC).isoformat(),
    }


def alert_posts(slack: FakeSlack, key: str) -> list[dict[str, Any]]:
    return [
        m
        for m in slack.messages(CHANNEL, include_replies=False)
        if m.get("metadata", {}).get("event_payload", {}).get("alert_key") == key
    ]


async def fail_code(seam_fake: SeamFake, name: str) -> tuple[str, str]:
    code_id = seam_fake.ids["codes"][name]
    raw = await seam_fake.get_access_code(code_id)
    assert raw is not None
    await seam_fake.update_access_code(
        code_id,
        errors=[
            {
                "error_code": "failed_to_set_on_device",
                "message": "failed",
                "is_access_code_error": True,
            }
        ],
    )
    return code_id, raw["device_id"]


async def test_a_failure_event_becomes_an_alert_within_seconds_and_only_once(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    code_id, device_id = await fail_code(seam_fake, "healthy_guest")
    payload = event("access_code.failed_to_set_on_device", code_id, device_id)
    async for bot in await served(tmp_path, seam_fake, slack):
        started = time.monotonic()
        response = await deliver(bot, payload)
        assert response.status_code == 200 and response.json() == {"ok": True, "duplicate": False}
        assert time.monotonic() - started < 1
        await slack.wait_for(lambda: bool(alert_posts(slack, f"code:{code_id}")), timeout=5)
        assert time.monotonic() - started < 5
        again = await deliver(bot, payload)
        assert again.json() == {"ok": True, "duplicate": True}
    # After a restart on the same database: still nothing twice.
    async for bot in await served(tmp_path, seam_fake, slack):
        third = await deliver(bot, payload)
        assert third.status_code == 200 and third.json()["duplicate"] is True
        await asyncio.sleep(0.5)
    assert len(alert_posts(slack, f"code:{code_id}")) == 1


@pytest.mark.parametrize("attack", ["bad signature", "stale", "wrong secret", "tampered", "none"])
async def test_unverified_deliveries_get_401_and_nothing_happens(
    hooked: Bot, seam_fake: SeamFake, attack: str
) -> None:
    bot = hooked
    code_id, device_id = await fail_code(seam_fake, "healthy_guest")
    payload = event("access_code.failed_to_set_on_device", code_id, device_id)
    await seam_fake.reset()
    raw, headers = signed(
        payload,
        secret="whsec_" + base64.b64encode(b"another-secret-entirely-here").decode()
        if attack == "wrong secret"
        else SECRET,
        at=datetime.now(UTC) - timedelta(minutes=10) if attack == "stale" else None,
    )
    if attack == "bad signature":
        headers["svix-signature"] = "v1," + base64.b64encode(b"0" * 32).decode()
    if attack == "tampered":
        raw = raw.replace(b"failed_to_set", b"set_on_devic")
    if attack == "none":
        headers = {"content-type": "application/json"}
    response = await bot.http.post(f"{bot.url}/seam/webhook", content=raw, headers=headers)
    assert response.status_code == 401
    await asyncio.sleep(0.3)
    assert await seam_fake.calls() == []
    assert await bot.services.store.last_event_at() is None


async def test_set_on_device_after_the_fix_resolves_the_alert(
    hooked: Bot, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    bot = hooked
    code_id, device_id = await fail_code(seam_fake, "healthy_guest")
    await deliver(bot, event("access_code.failed_to_set_on_device", code_id, device_id))
    await slack.wait_for(lambda: bool(alert_posts(slack, f"code:{code_id}")), timeout=5)
    await seam_fake.update_access_code(code_id, errors=[])
    started = time.monotonic()
    await deliver(bot, event("access_code.set_on_device", code_id, device_id))

    async def resolved() -> bool:
        record = await bot.services.store.alert(f"code:{code_id}")
        return record is not None and record.state == "resolved"

    for _ in range(100):
        if await resolved():
            break
        await asyncio.sleep(0.05)
    assert await resolved() and time.monotonic() - started < 5
    assert "Resolved" in json.dumps(alert_posts(slack, f"code:{code_id}")[0])


async def test_out_of_order_events_show_seams_current_state(
    hooked: Bot, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    bot = hooked
    code_id = seam_fake.ids["codes"]["healthy_guest"]  # healthy now
    raw = await seam_fake.get_access_code(code_id)
    assert raw is not None
    device_id = raw["device_id"]
    # The "resolved" event arrives first, then a stale failure event for the same code.
    await deliver(bot, event("access_code.set_on_device", code_id, device_id, 2))
    await deliver(bot, event("access_code.failed_to_set_on_device", code_id, device_id, 1))
    await asyncio.sleep(1.0)
    await bot.services.events.drain()  # type: ignore[union-attr]
    assert alert_posts(slack, f"code:{code_id}") == []  # Seam says it is fine: no alert


async def test_a_burst_of_200_events_is_answered_fast_and_alerts_each_code_once(
    hooked: Bot, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    bot = hooked
    codes = [await fail_code(seam_fake, n) for n in ("healthy_guest", "healthy_cleaner")]
    failing = [
        (seam_fake.ids["codes"][n], None) for n in ("failed_to_set", "no_space", "duplicate")
    ]
    targets: list[tuple[str, str]] = list(codes)
    for code_id, _ in failing:
        raw = await seam_fake.get_access_code(code_id)
        assert raw is not None
        targets.append((code_id, raw["device_id"]))
    payloads = [
        event("access_code.failed_to_set_on_device", *targets[i % len(targets)], i)
        for i in range(200)
    ]

    sender = asyncio.Semaphore(20)  # a sender keeps a bounded number of deliveries open

    async def one(payload: dict[str, Any]) -> float:
        async with sender:
            started = time.monotonic()
            response = await deliver(bot, payload)
            assert response.status_code == 200
            return time.monotonic() - started

    took = await asyncio.gather(*(one(p) for p in payloads))
    assert max(took) < 1.0
    await bot.services.events.drain(30)  # type: ignore[union-attr]
    for code_id, _ in targets:
        assert len(alert_posts(slack, f"code:{code_id}")) == 1, code_id


async def test_unknown_event_types_are_accepted_and_logged_once(
    hooked: Bot, seam_fake: SeamFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for n in range(3):
        response = await deliver(
            hooked, {"event_id": f"odd-{n}", "event_type": "thermostat.climate_preset_activated"}
        )
        assert response.status_code == 200
    await hooked.services.events.drain()  # type: ignore[union-attr]
    lines = [r for r in caplog.records if "thermostat.climate_preset_activated" in r.getMessage()]
    assert len(lines) == 1


async def test_a_signed_but_unreadable_event_is_a_400(hooked: Bot) -> None:
    response = await deliver(hooked, {"no": "event id"})
    assert response.status_code == 400


async def test_without_a_secret_the_route_is_404(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async for bot in await served(tmp_path, seam_fake, slack, seam_webhook_secret=""):
        response = await deliver(bot, {"event_id": "e", "event_type": "device.connected"})
        assert response.status_code == 404
    assert "real-time alerts are off" in caplog.text


async def test_access_denied_posts_the_most_urgent_alert_with_a_backup_code_first(
    hooked: Bot, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    code_id = seam_fake.ids["codes"]["offline_guest"]  # Seam can pull a backup code for it
    raw = await seam_fake.get_access_code(code_id)
    assert raw is not None
    await deliver(hooked, event("lock.access_denied", code_id, raw["device_id"]))

    def urgent() -> list[dict[str, Any]]:
        return [
            m
            for m in slack.messages(CHANNEL, include_replies=False)
            if "Door refused a code" in m.get("text", "")
        ]

    await slack.wait_for(lambda: bool(urgent()), timeout=5)
    buttons = [
        e["action_id"]
        for b in urgent()[0]["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert buttons[0] == "remedy:pull_backup" and "remedy:check_device" in buttons


async def test_slack_event_redeliveries_do_nothing_twice_and_unknown_events_get_200(
    hooked: Bot, slack: FakeSlack
) -> None:
    body = event_body(
        {"type": "app_home_opened", "user": "U111", "channel": "D1", "tab": "home"},
        event_id="EvRETRY1",
    )
    first = await hooked.post(body)
    again = await hooked.post(body, headers={"X-Slack-Retry-Num": "1"})
    assert first.status_code == 200 and again.status_code == 200
    await asyncio.sleep(0.5)
    assert len(slack.calls_to("views.publish")) == 1
    other = await hooked.post(event_body({"type": "reaction_added", "user": "U1"}))
    assert other.status_code == 200


async def test_webhook_register_list_and_status_commands(
    tmp_path: Path, seam_fake: SeamFake
) -> None:
    import io

    from bot.cli import list_webhooks, register_webhook, status
    from bot.settings import load_settings

    settings = load_settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret="s",
        seam_api_key=seam_fake.api_key,
        seam_endpoint=seam_fake.url,
        database_path=tmp_path / "s.sqlite3",
        database_url=await database_url(tmp_path / "s.sqlite3"),
        seam_webhook_secret=SECRET,
    )
    out = io.StringIO()
    assert await register_webhook(settings, "http://example.test/seam/webhook", out) == 2
    assert await register_webhook(settings, "https://bot.example.test/seam/webhook", out) == 0
    text = out.getvalue()
    assert "SEAM_WEBHOOK_SECRET=" in text and "access_code.failed_to_set_on_device" in text
    created = [c for c in await seam_fake.calls("/webhooks/create") if c["status"] == 200]
    assert created and "access_code.failed_to_set_on_device" in created[-1]["body"]["event_types"]
    listed = io.StringIO()
    assert await list_webhooks(settings, listed) == 0
    assert "https://bot.example.test/seam/webhook" in listed.getvalue()
    assert "secret" not in listed.getvalue().lower()
    shown = io.StringIO()
    assert await status(settings, shown) == 0
    assert "Real-time alerts (Seam webhooks): on" in shown.getvalue()
    assert "Last Seam event: none yet" in shown.getvalue()


async def test_a_change_still_being_made_is_settled_by_the_matching_event(
    hooked: Bot, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    from bot.services.observing import scan_workspace
    from tests.scenario.test_remedies import open_modal, pin_values, wait_audit

    bot = hooked
    assert bot.services.alerts is not None
    await bot.services.alerts.reconcile(
        await scan_workspace(bot.services.seam, catalogue=bot.services.catalogue)
    )
    code_id = seam_fake.ids["codes"]["failed_to_set"]
    record = await bot.services.store.alert(f"code:{code_id}")
    assert record is not None and record.ts
    view, _ = await open_modal(
        bot, "update_pin", code_id, is_ephemeral=False, channel_id=CHANNEL, message_ts=record.ts
    )
    # Seam accepts the PIN but the lock has not confirmed it within the bot's read-back.
    await seam_fake.fail(200, paths=["/access_codes/update"], body=json.dumps({"ok": True}))
    await bot.submit(view, pin_values("5821"))
    entries = await wait_audit(bot)
    assert entries[0].outcome == "pending"
    for _ in range(100):  # the watch is written once the outcome has been reported
        if await bot.services.store.remedy_watch(code_id) is not None:
            break
        await asyncio.sleep(0.05)
    assert await bot.services.store.remedy_watch(code_id) is not None
    # Later the lock has it, and Seam says so.
    await seam_fake.fail(0)
    await seam_fake.update_access_code(code_id, code="5821", status="set", errors=[])
    raw = await seam_fake.get_access_code(code_id)
    assert raw is not None
    await deliver(bot, event("access_code.set_on_device", code_id, raw["device_id"]))

    def confirmed() -> bool:
        return any(
            c.body.get("thread_ts") == record.ts and "Seam confirms" in c.body.get("text", "")
            for c in slack.calls_to("chat.postMessage")
        )

    await slack.wait_for(confirmed, timeout=10)
    entries = await wait_audit(bot, 2)
    assert entries[0].outcome == "success" and "settled by Seam event" in entries[0].detail
    assert await bot.services.store.remedy_watch(code_id) is None
    # The same event again settles nothing twice.
    await deliver(bot, event("access_code.set_on_device", code_id, raw["device_id"]))
    await asyncio.sleep(0.5)
    assert (
        len([e for e in await bot.services.store.audit_entries() if e.action == "update_pin"]) == 2
    )
