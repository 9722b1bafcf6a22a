"""Proactive alerts end to end: the real Seam fake, the loopback Slack fake, a real SQLite file.

Each test starts from the seeded scenario (devtools/fake_seam.mjs; restored between tests) and
scans it with the real `scan_workspace`; Slack calls go to `FakeSlack`, which enforces Block Kit
limits and answers 429 / `not_in_channel` when told to.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import build_slack_client, build_web_app
from bot.domain.catalogue import default_catalogue
from bot.seam.client import SeamClient
from bot.services.alerting import ReconcileReport
from bot.services.observing import scan_workspace
from bot.services.scanning import LEASE_NAME
from bot.settings import load_settings
from bot.slack.alert_channel import ChannelPacer
from bot.slack.alert_channel import slack_alert_service as AlertManager
from bot.store import Store
from devtools.fake_slack import FakeSlack, validate_blocks
from devtools.seam_fake import SeamFake
from tests.support.databases import database, database_url
from tests.support.fixtures import seam_fake, seam_fake_process  # noqa: F401

pytestmark = pytest.mark.asyncio(loop_scope="module")

CAT = default_catalogue()
CHANNEL = "CALERTS"


@pytest_asyncio.fixture(loop_scope="module")
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest_asyncio.fixture(loop_scope="module")
async def seam(seam_fake: SeamFake) -> AsyncIterator[SeamClient]:  # noqa: F811
    async with SeamClient(seam_fake.api_key, seam_fake.url, max_read_attempts=1) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(await database(tmp_path / "bot.sqlite3"))
    yield s
    await s.close()


def slack_client(slack: FakeSlack) -> AsyncWebClient:
    """The production client (Retry-After handler included), pointed at the fake."""
    settings = load_settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        seam_api_key="seam_x",
        slack_api_url=slack.api_url,
    )
    return build_slack_client(settings)


def make_manager(store: Store, slack: FakeSlack, **kw: Any) -> AlertManager:
    """The alert service these tests count messages of (escalations have their own tests in
    test_arrivals_first.py)."""
    kw.setdefault("pace_seconds", 0)
    kw.setdefault("escalate", False)
    return AlertManager(store, slack_client(slack), CHANNEL, catalogue=CAT, **kw)


async def scan_and_reconcile(seam: SeamClient, manager: AlertManager, **kw: Any) -> ReconcileReport:
    return await manager.reconcile(await scan_workspace(seam, catalogue=CAT, **kw))


def roots(slack: FakeSlack, channel: str = CHANNEL) -> list[dict[str, Any]]:
    return slack.messages(channel, include_replies=False)


def keys(slack: FakeSlack, channel: str = CHANNEL) -> list[str]:
    return [m["metadata"]["event_payload"]["alert_key"] for m in roots(slack, channel)]


def replies(slack: FakeSlack, ts: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages(CHANNEL) if m.get("thread_ts") == ts and m["ts"] != ts]


def expected_keys(fake: SeamFake) -> set[str]:
    ids = fake.ids
    codes = {
        f"code:{code_id}"
        for key, code_id in ids["codes"].items()
        if ids["issues"][key] not in ("healthy", "device_offline")
    }
    devices = ids["devices"]
    return codes | {
        f"device:{devices['unit_3a_front_door']}",
        f"device:{devices['garage']}",
        f"device:{devices['lobby']}",
    }


async def fix(fake: SeamFake, key: str) -> str:
    code_id: str = fake.ids["codes"][key]
    await fake.update_access_code(code_id, errors=[], warnings=[], status="set")
    return code_id


async def test_each_failing_code_gets_exactly_one_message_and_a_rescan_posts_nothing(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
    store: Store,
    slack: FakeSlack,
) -> None:
    manager = make_manager(store, slack)
    report = await scan_and_reconcile(seam, manager)
    expected = expected_keys(seam_fake)
    assert sorted(keys(slack)) == sorted(expected)  # one each, no duplicates
    assert report.posted == len(expected) == 13 and report.slack_calls == 13
    for message in roots(slack):
        assert validate_blocks(message["blocks"]) == []
    healthy = [
        seam_fake.ids["codes"][k] for k, v in seam_fake.ids["issues"].items() if v == "healthy"
    ]
    for code_id in healthy + list(seam_fake.ids["unmanaged"].values()):
        assert f"code:{code_id}" not in keys(slack)
    # The most urgent first: Jane Doe's guest code starts in ~5 hours.
    first = roots(slack)[0]
    assert first["metadata"]["event_payload"]["alert_key"] == (
        f"code:{seam_fake.ids['codes']['failed_to_set']}"
    )
    assert "starts within 8 h" in first["text"]
    assert "4827" not in str(first)

    alerts_before = await store._fetchall("SELECT * FROM alerts ORDER BY alert_key")
    calls_before = len(slack.calls)
    report = await scan_and_reconcile(seam, manager)
    assert report.slack_calls == 0 and len(slack.calls) == calls_before
    alerts_after = await store._fetchall("SELECT * FROM alerts ORDER BY alert_key")
    assert [tuple(r) for r in alerts_after] == [tuple(r) for r in alerts_before]


async def test_fixing_a_code_in_seam_edits_its_message_to_resolved(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
    store: Store,
    slack: FakeSlack,
) -> None:
    manager = make_manager(store, slack)
    await scan_and_reconcile(seam, manager)
    code_id = await fix(seam_fake, "duplicate")
    report = await scan_and_reconcile(seam, manager)
    assert report.resolved == 1 and report.posted == 0 and report.slack_calls == 2
    message = next(
        m for m in roots(slack) if m["metadata"]["event_payload"]["alert_key"] == f"code:{code_id}"
    )
    assert message["text"].startswith("Resolved") and "edited" in message
    assert "The same PIN is already on the lock" in str(message["blocks"])  # what cleared
    [reply] = replies(slack, message["ts"])
    assert "Seam no longer reports a problem" in reply["text"]
    others = [m for m in roots(slack) if m["ts"] != message["ts"]]
    assert all("edited" not in m for m in others)


async def test_a_streamed_scan_resolves_a_fixed_code_as_no_problem_and_a_deleted_one_as_gone(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
    store: Store,
    slack: FakeSlack,
) -> None:
    """The scan keeps only ids for healthy codes far from arrival; alerting still tells "no
    problem" (still listed) from "gone" (no longer listed) with those ids alone."""
    manager = make_manager(store, slack)
    await scan_and_reconcile(seam, manager)
    fixed, deleted = seam_fake.ids["codes"]["duplicate"], seam_fake.ids["codes"]["no_space"]
    later = datetime.now(UTC) + timedelta(days=20)
    await seam_fake.update_access_code(
        fixed,
        errors=[],
        warnings=[],
        status="set",
        starts_at=later.isoformat(),
        ends_at=(later + timedelta(days=2)).isoformat(),
    )
    gone = await seam_fake.api("/access_codes/delete", {"access_code_id": deleted})
    assert gone.status_code == 200
    scan = await scan_workspace(seam, catalogue=CAT)
    assert scan.complete and scan.saw_code(fixed) and scan.code(fixed) is None
    assert not scan.saw_code(deleted)
    report = await manager.reconcile(scan)
    assert report.resolved == 2
    by_key = {m["metadata"]["event_payload"]["alert_key"]: m for m in roots(slack)}
    fixed_msg, gone_msg = by_key[f"code:{fixed}"], by_key[f"code:{deleted}"]
    assert "Seam no longer reports a problem" in str(fixed_msg["blocks"])
    assert "no longer in Seam" in str(gone_msg["blocks"])
    assert "no longer in Seam" not in str(fixed_msg["blocks"])


async def test_device_outage_is_one_device_alert(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
    store: Store,
    slack: FakeSlack,
) -> None:
    ids = seam_fake.ids
    back_door = ids["devices"]["back_door"]
    offline = {
        "error_code": "device_offline",
        "message": "Device is offline",
        "is_device_error": True,
        "created_at": "2025-11-30T00:00:00.000Z",
    }
    await seam_fake.update_device(back_door, errors=[offline], properties={"online": False})
    back_codes = {
        "duplicate": "duplicate_code_on_device",
        "constraints_violated": "code_constraints_violated",
        "healthy_guest": "failed_to_set_on_device",
    }
    for key, own in back_codes.items():
        errors = [offline] + (
            [{"error_code": own, "message": own, "is_access_code_error": True}] if own else []
        )
        await seam_fake.update_access_code(ids["codes"][key], errors=errors)
    manager = make_manager(store, slack)
    report = await scan_and_reconcile(seam, manager)
    device_key = f"device:{back_door}"
    assert device_key in keys(slack)
    # The offline lock explains the failure to set: that code is shown in the lock's alert only.
    assert f"code:{ids['codes']['healthy_guest']}" not in keys(slack)
    assert report.folded == 1
    # A duplicate PIN and a constraints violation have causes of their own: they keep their
    # own alerts, with the buttons their advice names.
    for key in ("duplicate", "constraints_violated"):
        assert f"code:{ids['codes'][key]}" in keys(slack)
    duplicate_alert = next(
        m
        for m in roots(slack)
        if m["metadata"]["event_payload"]["alert_key"] == f"code:{ids['codes']['duplicate']}"
    )
    assert "remedy:convert_unmanaged" in str(duplicate_alert["blocks"])
    alert = next(
        m for m in roots(slack) if m["metadata"]["event_payload"]["alert_key"] == device_key
    )
    text = str(alert["blocks"])
    # 3 codes carry the copied offline error; the arrivals within 72 h (Tom, and Noah, whose
    # code is set) are named by the predictive "lock offline with arrivals" check.
    assert "Unit 2B Back Door" in alert["text"] and "4 access codes affected" in text
    assert "Tom Becker" in text and "Emma Wilson" in text and "Dog walker" in text
    assert "Noah Kim" in text and "Lock offline with arrivals coming" in text
    assert "held back" in text  # the folded failure to set

    # The lock is back: the device alert resolves; the codes that kept their own alerts are
    # still alerted (edited, not posted twice); the failure to set now gets its own message.
    await seam_fake.update_device(back_door, errors=[], properties={"online": True})
    for key, own in back_codes.items():
        errors = [{"error_code": own, "message": own, "is_access_code_error": True}] if own else []
        await seam_fake.update_access_code(ids["codes"][key], errors=errors)
    report = await scan_and_reconcile(seam, manager)
    assert report.resolved == 1 and report.posted == 1
    assert f"code:{ids['codes']['healthy_guest']}" in keys(slack)
    assert keys(slack).count(f"code:{ids['codes']['duplicate']}") == 1


async def test_seam_outage_mid_scan_resolves_nothing_it_did_not_see(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
    store: Store,
    slack: FakeSlack,
) -> None:
    manager = make_manager(store, slack)
    await scan_and_reconcile(seam, manager)
    fixed = [
        await fix(seam_fake, key)
        for key in ("failed_to_set", "duplicate", "no_space", "unknown_error")
    ]
    updates = len(slack.calls_to("chat.update"))

    # Seam fails for every code list, then for the device list: nothing may be resolved.
    await seam_fake.simulate_outage(["/access_codes/unmanaged/list"])
    report = await scan_and_reconcile(seam, manager)
    assert report.resolved == 0 and report.slack_calls == 0 and report.left_alone == 13
    await seam_fake.simulate_outage(["/devices/list"])
    report = await scan_and_reconcile(seam, manager)
    assert report.resolved == 0 and report.slack_calls == 0
    await seam_fake.simulate_outage([])

    # Two devices fail partway through a scan: only alerts on devices fully seen resolve.
    await seam_fake.fail(503, paths=["/access_codes/unmanaged/list"], count=2)
    scan = await scan_workspace(seam, catalogue=CAT, concurrency=1)
    assert not scan.complete and len(scan.failed_device_ids) == 2
    report = await manager.reconcile(scan)
    resolved_now = {
        rec.access_code_id
        for code_id in fixed
        if (rec := await store.alert_for_code(code_id)) and rec.state == "resolved"
    }
    for code_id in fixed:
        rec = await store.alert_for_code(code_id)
        assert rec is not None
        seen = scan.saw_code(code_id) and rec.device_id in scan.covered_device_ids
        assert (code_id in resolved_now) == seen
    assert report.resolved == len(resolved_now) < len(fixed)
    # (a fixed lobby code also clears that lock's predictive slots risk: one edit, no resolve)
    assert report.updated <= 1
    assert len(slack.calls_to("chat.update")) == updates + report.resolved + report.updated

    # Seam is back: the rest resolve; no false "resolved" was ever posted in between.
    report = await scan_and_reconcile(seam, manager)
    assert report.resolved == len(fixed) - len(resolved_now)
    for code_id in fixed:
        assert (await store.alert_for_code(code_id)).state == "resolved"  # type: ignore[union-attr]
    resolved_messages = [m for m in roots(slack) if m["text"].startswith("Resolved")]
    assert len(resolved_messages) == len(fixed)


async def test_slack_429_is_waited_out_and_the_alert_posted_once(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
    store: Store,
    slack: FakeSlack,
) -> None:
    manager = make_manager(store, slack)
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    report = await scan_and_reconcile(seam, manager)
    elapsed = time.monotonic() - started
    assert report.posted == 13 and report.pending == 0
    assert sorted(keys(slack)) == sorted(expected_keys(seam_fake))
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 14 and posts[0].status == 429 and posts[1].status == 200
    assert posts[0].body["metadata"] == posts[1].body["metadata"]  # the same alert, retried
    assert elapsed >= 1.0  # Retry-After honoured by the client's retry handler


async def test_restart_between_scans_posts_no_duplicates(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
    slack: FakeSlack,
    tmp_path: Path,
) -> None:
    path = tmp_path / "restart.sqlite3"
    first = await Store.open(await database(path))
    await scan_and_reconcile(seam, make_manager(first, slack))
    await first.close()

    second = await Store.open(await database(path))
    manager = make_manager(second, slack)
    report = await scan_and_reconcile(seam, manager)
    assert report.slack_calls == 0 and len(roots(slack)) == 13
    code_id = await fix(seam_fake, "failed_to_set")
    report = await scan_and_reconcile(seam, manager)
    assert report.resolved == 1 and len(roots(slack)) == 13
    assert (await second.alert_for_code(code_id)).state == "resolved"  # type: ignore[union-attr]
    await second.close()


class CrashAfter(ChannelPacer):
    """Simulates the process dying after `n` Slack writes (the task is cancelled mid-scan)."""

    def __init__(self, n: int) -> None:
        super().__init__(0)
        self.n = n

    async def wait(self, channel: str) -> None:
        if self.n == 0:
            raise asyncio.CancelledError
        self.n -= 1


async def test_restart_mid_scan_loses_nothing_and_duplicates_nothing(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
    slack: FakeSlack,
    tmp_path: Path,
) -> None:
    path = tmp_path / "crash.sqlite3"
    first = await Store.open(await database(path))
    with pytest.raises(asyncio.CancelledError):
        await scan_and_reconcile(seam, make_manager(first, slack, pacer=CrashAfter(5)))
    await first.close()
    assert len(roots(slack)) == 5

    second = await Store.open(await database(path))
    report = await scan_and_reconcile(seam, make_manager(second, slack))
    assert report.posted == 8
    assert sorted(keys(slack)) == sorted(expected_keys(seam_fake))  # each exactly once
    await second.close()


async def test_channel_not_found_keeps_alerts_pending_until_it_works(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
    store: Store,
    slack: FakeSlack,
) -> None:
    manager = make_manager(store, slack)
    slack.fail_next("chat.postMessage", status=200, error="channel_not_found")
    report = await scan_and_reconcile(seam, manager)
    assert report.posted == 0 and report.pending == 13 and report.slack_calls == 1
    report = await scan_and_reconcile(seam, manager)
    assert report.posted == 13 and sorted(keys(slack)) == sorted(expected_keys(seam_fake))


async def test_storm_becomes_one_digest_updated_in_place(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
    store: Store,
    slack: FakeSlack,
) -> None:
    manager = make_manager(store, slack, storm_threshold=5)
    report = await scan_and_reconcile(seam, manager)
    assert (report.digests, report.digested, report.posted) == (1, 13, 0)
    [digest] = roots(slack)
    assert validate_blocks(digest["blocks"]) == []
    assert "13 new access-code and lock problems" in digest["text"]  # codes and locks
    assert (await scan_and_reconcile(seam, manager)).slack_calls == 0
    await fix(seam_fake, "failed_to_set")
    await fix(seam_fake, "duplicate")
    report = await scan_and_reconcile(seam, manager)
    assert report.resolved == 2 and report.updated == 1 and report.posted == 0
    [digest] = roots(slack)
    assert "11 open · 2 resolved" in str(digest["blocks"])


async def test_served_app_scans_posts_updates_and_resolves(
    seam_fake: SeamFake,  # noqa: F811
    slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.slack.alert_channel.ALERT_PACE_SECONDS", 0.0)
    settings = load_settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        seam_api_key=seam_fake.api_key,
        seam_endpoint=seam_fake.url,
        slack_api_url=slack.api_url,
        database_path=tmp_path / "served.sqlite3",
        database_url=await database_url(tmp_path / "served.sqlite3"),
        alert_channel=CHANNEL,
        scan_interval_seconds=0.2,
        digest_time="off",  # the daily pre-arrival digest has its own tests
    )
    runner = web.AppRunner(await build_web_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await slack.wait_for(lambda: len(roots(slack)) == 13, timeout=15, what="13 alerts")
        code_id = await fix(seam_fake, "no_space")
        await slack.wait_for(
            lambda: any(
                m["text"].startswith("Resolved")
                and m["metadata"]["event_payload"]["alert_key"] == f"code:{code_id}"
                for m in roots(slack)
            ),
            timeout=15,
            what="the fixed code's alert resolved",
        )
        await seam_fake.update_access_code(
            seam_fake.ids["codes"]["constraints_violated"],
            warnings=[{"warning_code": "delay_in_setting_on_device", "message": "Delay"}],
        )
        await slack.wait_for(
            lambda: any(
                "delay_in_setting_on_device" in str(m["blocks"]) and "Dog walker" in m["text"]
                for m in roots(slack)
            ),
            timeout=15,
            what="the changed code's alert edited",
        )
    finally:
        await runner.cleanup()  # stops the scanner task
    assert len(roots(slack)) == 13
    store = await Store.open(await database(tmp_path / "served.sqlite3"))
    assert await store.acquire_lease(LEASE_NAME, "after-shutdown", 60)  # released on stop
    assert len(await store.recent_scans()) >= 3
    await store.close()
