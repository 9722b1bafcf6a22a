"""The scanner (bot/scanner.py) against the real Seam fake: coverage, keys, concurrency, failures,
the owned loop, the app wiring rules and `python -m bot scan --once`."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import build_scanner
from bot.cli import run_cli
from bot.domain.catalogue import default_catalogue
from bot.domain.observation import ScanResult
from bot.seam.client import SeamClient
from bot.seam.models import AccessCode
from bot.services.alerting import AlertService, ReconcileReport
from bot.services.container import Services
from bot.services.observing import scan_workspace
from bot.services.scanning import LEASE_NAME, Scanner
from bot.settings import load_settings
from bot.slack.alert_channel import BlockKitAlertRenderer, ChannelPacer, SlackAlertChannel
from bot.slack.alert_channel import slack_alert_service as AlertManager
from bot.store import Store
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import REPO_ROOT, SeamFake
from tests.support.databases import database
from tests.support.fixtures import seam_fake, seam_fake_process  # noqa: F401

pytestmark = pytest.mark.asyncio(loop_scope="module")

CAT = default_catalogue()


@pytest_asyncio.fixture(loop_scope="module")
async def seam(seam_fake: SeamFake) -> AsyncIterator[SeamClient]:  # noqa: F811
    async with SeamClient(seam_fake.api_key, seam_fake.url, max_read_attempts=1) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def expected_fingerprints(fake: SeamFake) -> set[str]:
    """What the seeded scenario should produce (see devtools/fake_seam.mjs)."""
    ids = fake.ids
    out = set()
    for key, code_id in ids["codes"].items():
        issue = ids["issues"][key]
        if issue not in ("healthy", "device_offline"):
            out.add(f"code:{code_id}:{issue}")
    devices = ids["devices"]
    out |= {
        f"device:{devices['unit_3a_front_door']}:device_offline",
        f"device:{devices['garage']}:third_party_integration_detected",
        f"device:{devices['lobby']}:max_access_codes_reached",
    }
    # Arrivals first: the bot's own predictive checks on the seed (bot/domain/arrivals.py).
    out |= {
        f"code:{ids['codes']['delay_warning']}:at_risk_not_set",
        f"device:{devices['unit_3a_front_door']}:at_risk_lock_offline",
        f"device:{devices['unit_3a_front_door']}:at_risk_low_battery",
        f"device:{devices['lobby']}:at_risk_slots",
    }
    return out


async def test_a_scan_sees_every_device_and_code_once(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
) -> None:
    scan = await scan_workspace(seam, catalogue=CAT)
    ids = seam_fake.ids
    assert scan.complete and scan.devices_listed
    assert set(scan.devices) == set(ids["devices"].values())
    assert scan.covered_device_ids == frozenset(ids["devices"].values())
    all_codes = {**ids["codes"], **ids["unmanaged"]}
    assert scan.seen_code_ids == set(all_codes.values()) and scan.codes_seen == len(all_codes)
    assert ids["foreign"]["access_code_id"] not in scan.seen_code_ids
    for (code_id, device_id), code in scan.codes.items():
        assert code.access_code_id == code_id and code.device_id == device_id
    assert ids["unmanaged"]["owner_code"] in scan.seen_code_ids  # healthy: its id only
    # The streaming contract: every code with a problem keeps its model, healthy ones only
    # when they start within 72 h (or are a troubled lock's first code); the rest are ids.
    kept = set(scan.codes_by_id())
    assert {f.access_code_id for f in scan.findings if f.access_code_id} <= kept
    assert {c for f in scan.findings for c in f.carrier_code_ids} <= kept
    assert kept < scan.seen_code_ids
    for code_id in scan.seen_code_ids - kept:
        assert scan.saw_code(code_id) and scan.code(code_id) is None
    # 1 device list + (managed + unmanaged list) per device; one page each in the fake.
    assert scan.seam_calls == 1 + 2 * len(ids["devices"])
    assert len(await seam_fake.calls()) == scan.seam_calls
    assert {f.fingerprint for f in scan.findings} == expected_fingerprints(seam_fake)
    offline = next(f for f in scan.findings if f.problem == "device_offline")
    assert offline.subject == "device" and offline.access_code_id is None
    assert set(offline.carrier_code_ids) == {
        ids["codes"]["offline_guest"],
        ids["codes"]["offline_housekeeping"],
    }
    assert offline.is_parent_cause


class LeakyClient(SeamClient):
    """A client whose lists return repeats and other devices' codes (like a buggy server)."""

    async def list_access_codes(self, device_id: str) -> list[AccessCode]:
        codes = await self._list(
            "/access_codes/list", "access_codes", AccessCode, {"device_id": device_id}
        )
        return codes + codes  # every code twice, every device's codes


async def test_leaky_lists_cannot_create_duplicates_or_misattribute(
    seam_fake: SeamFake,  # noqa: F811
) -> None:
    async with LeakyClient(seam_fake.api_key, seam_fake.url) as leaky:
        scan = await scan_workspace(leaky, catalogue=CAT)
    assert scan.complete and scan.dropped_codes > 0
    assert {f.fingerprint for f in scan.findings} == expected_fingerprints(seam_fake)
    fingerprints = [f.fingerprint for f in scan.findings]
    assert len(fingerprints) == len(set(fingerprints))
    for (_, device_id), code in scan.codes.items():
        assert code.device_id == device_id


class CountingClient(SeamClient):
    in_flight = 0
    peak = 0

    async def list_access_codes(self, device_id: str) -> list[AccessCode]:
        type(self).in_flight += 1
        type(self).peak = max(type(self).peak, type(self).in_flight)
        try:
            return await super().list_access_codes(device_id)
        finally:
            type(self).in_flight -= 1


@pytest.mark.parametrize(("concurrency", "peak"), [(1, 1), (2, 2), (8, 6)])
async def test_concurrency_is_bounded(
    seam_fake: SeamFake,  # noqa: F811
    concurrency: int,
    peak: int,
) -> None:
    await seam_fake.delay(0.05, ["/access_codes/list"])
    CountingClient.peak = 0
    async with CountingClient(seam_fake.api_key, seam_fake.url) as client:
        scan = await scan_workspace(client, catalogue=CAT, concurrency=concurrency)
    assert scan.complete
    assert CountingClient.peak == peak  # 6 devices in the scenario


async def test_a_device_failing_partway_marks_the_scan_incomplete(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
) -> None:
    await seam_fake.fail(503, paths=["/access_codes/unmanaged/list"], count=2)
    scan = await scan_workspace(seam, catalogue=CAT, concurrency=1)
    assert not scan.complete and scan.devices_listed
    assert len(scan.failed_device_ids) == 2 and len(scan.covered_device_ids) == 4
    for device_id in scan.failed_device_ids:
        assert not scan.covers(device_id)
        assert all(f.device_id != device_id for f in scan.findings)
    assert scan.covers("a-device-that-no-longer-exists")
    assert len(scan.errors) == 2 and "503" in scan.errors[0]


async def test_device_list_failure_sees_nothing(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
) -> None:
    await seam_fake.simulate_outage(["/devices/list"])
    scan = await scan_workspace(seam, catalogue=CAT)
    assert not scan.complete and not scan.devices_listed
    assert scan.findings == () and not scan.covers("anything")


async def test_seam_429_is_retried_within_the_scan(seam_fake: SeamFake) -> None:  # noqa: F811
    await seam_fake.fail(429, paths=["/access_codes/list"], count=1, retry_after=0, body="json")
    async with SeamClient(seam_fake.api_key, seam_fake.url) as client:
        scan = await scan_workspace(client, catalogue=CAT)
    assert scan.complete and scan.seam_calls == 14


# --------------------------------------------------------------------------- the owned loop


class ExplodingManager(AlertService):
    calls = 0
    third = asyncio.Event()

    async def reconcile(self, scan: ScanResult) -> ReconcileReport:
        type(self).calls += 1
        if type(self).calls >= 3:
            type(self).third.set()
        raise RuntimeError("boom")


async def test_loop_survives_failing_iterations_and_stops_cleanly(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
    slack: FakeSlack,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = await Store.open(await database(tmp_path / "s.sqlite3"))
    client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
    manager = ExplodingManager(
        store,
        SlackAlertChannel(client, ChannelPacer(0)),
        BlockKitAlertRenderer(CAT),
        "C1",
        catalogue=CAT,
    )
    scanner = Scanner(seam, catalogue=CAT, alerts=manager, interval=0.01)
    task = scanner.start()
    assert scanner.start() is task  # idempotent
    await asyncio.wait_for(ExplodingManager.third.wait(), 10)
    await scanner.stop()
    assert task.done() and not scanner.running
    assert "scan iteration failed" in caplog.text
    # The lease was given back: another scanner may take it at once.
    assert await store.acquire_lease(LEASE_NAME, "someone-else", 60)
    await store.close()


async def test_stop_cancels_a_scan_in_progress(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
) -> None:
    await seam_fake.delay(5, ["/devices/list"])
    scanner = Scanner(seam, catalogue=CAT, interval=60)
    scanner.start()
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await scanner.stop()
    assert time.monotonic() - started < 1


async def test_only_one_scanner_reconciles_at_a_time(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
    slack: FakeSlack,
    tmp_path: Path,
) -> None:
    store = await Store.open(await database(tmp_path / "s.sqlite3"))
    client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)

    def make() -> Scanner:
        am = AlertManager(store, client, "C1", catalogue=CAT, pace_seconds=0, escalate=False)
        return Scanner(seam, catalogue=CAT, alerts=am, interval=60)

    first, second = make(), make()
    assert (await first.run_once()).report is not None
    outcome = await second.run_once()
    assert outcome.report is None and outcome.skipped_reason
    await first.stop()
    assert (await second.run_once()).report is not None
    await second.stop()
    await store.close()


async def test_a_quiet_iteration_writes_only_its_scan_record(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
    slack: FakeSlack,
    tmp_path: Path,
) -> None:
    """Nothing changed in Seam: no Slack call, and the only row written is the scan's (the lease
    is renewed only when less than half its ttl is left)."""
    path = tmp_path / "s.sqlite3"
    store = await Store.open(path)
    client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
    am = AlertManager(store, client, "C1", catalogue=CAT, pace_seconds=0, escalate=False)
    scanner = Scanner(seam, catalogue=CAT, alerts=am, interval=60)
    first = await scanner.run_once()
    assert first.report is not None and first.report.posted > 0

    def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        with sqlite3.connect(path) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return {t: sorted(map(tuple, db.execute(f"SELECT * FROM {t}"))) for t in tables}

    before, calls = snapshot(), len(slack.calls)
    second = await scanner.run_once()
    assert second.report is not None and second.report.slack_calls == 0
    after = snapshot()
    assert len(slack.calls) == calls
    changed = {t for t in after if after[t] != before.get(t)}
    # sqlite_sequence: the AUTOINCREMENT counter of the scan row's id.
    assert changed == {"scans", "sqlite_sequence"}
    assert len(after["scans"]) == len(before["scans"]) + 1

    # Near expiry the lease is renewed (and still exclusive).
    scanner._lease_until = time.time() + 1
    await scanner.run_once()
    assert snapshot()["leases"] != after["leases"]
    assert not await store.acquire_lease(LEASE_NAME, "someone-else", 60)
    await scanner.stop()
    await store.close()


def settings(fake: SeamFake, tmp_path: Path, **kw: Any) -> Any:
    return load_settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        seam_api_key=fake.api_key,
        seam_endpoint=fake.url,
        database_path=tmp_path / "bot.sqlite3",
        **kw,
    )


async def test_build_scanner_rules(
    seam_fake: SeamFake,  # noqa: F811
    seam: SeamClient,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = await Store.open(await database(tmp_path / "s.sqlite3"))
    client = AsyncWebClient(token="xoxb-test")

    def services(**kw: Any) -> Services:
        return Services(
            settings=settings(seam_fake, tmp_path, **kw), seam=seam, catalogue=CAT, store=store
        )

    caplog.set_level(logging.INFO)
    assert build_scanner(services(scan_interval_seconds=0, alert_channel="C1"), client) is None
    assert build_scanner(services(scan_interval_seconds=0), client) is None
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert build_scanner(services(scan_interval_seconds=60), client) is None
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "ALERT_CHANNEL" in warnings[0].getMessage()
    scanner = build_scanner(
        services(scan_interval_seconds=60, alert_channel="C1", alert_remind_hours=2), client
    )
    assert scanner is not None and scanner.alerts is not None
    assert scanner.interval == 60 and scanner.alerts.remind_after == 7200
    await store.close()


# --------------------------------------------------------------------------- command line


async def test_cli_prints_a_table_without_pins(
    seam_fake: SeamFake,  # noqa: F811
    tmp_path: Path,
) -> None:
    out = io.StringIO()
    code = await run_cli(settings(seam_fake, tmp_path), once=True, post=False, out=out)
    text = out.getvalue()
    assert code == 0
    assert "DEVICE" in text and "URGENCY" in text and "Scan complete" in text
    assert "Guest: Jane Doe" in text and "failed_to_set_on_device" in text
    assert "starts in 5 h" in text
    assert "(lock; 2 codes)" in text and "device_offline" in text
    for pin in ("4827", "6051", "2580", "1234"):
        assert pin not in text
    assert not (tmp_path / "bot.sqlite3").exists()  # no --post: nothing stored


async def test_cli_exit_codes(
    seam_fake: SeamFake,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await run_cli(settings(seam_fake, tmp_path), once=True, post=True) == 2
    assert "ALERT_CHANNEL" in capsys.readouterr().err
    await seam_fake.simulate_outage(["/access_codes/unmanaged/list"])
    out = io.StringIO()
    assert await run_cli(settings(seam_fake, tmp_path), once=True, post=False, out=out) == 1
    assert "Scan INCOMPLETE" in out.getvalue()


async def test_cli_post_reconciles_to_the_channel(
    seam_fake: SeamFake,  # noqa: F811
    slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.slack.alert_channel.ALERT_PACE_SECONDS", 0.0)
    cfg = settings(seam_fake, tmp_path, alert_channel="CCLI", slack_api_url=slack.api_url)
    out = io.StringIO()
    assert await run_cli(cfg, once=True, post=True, out=out) == 0
    # one message per alert (a code or a lock), whatever number of problems each lists
    alerts = {fp.rsplit(":", 1)[0] for fp in expected_fingerprints(seam_fake)}
    assert len(slack.messages("CCLI")) == len(alerts) == 13
    assert "Alerts in CCLI: posted=13" in out.getvalue()
    out = io.StringIO()
    assert await run_cli(cfg, once=True, post=True, out=out) == 0
    # Nothing new is posted; open alerts whose check-in nears are raised in their threads.
    line = next(x for x in out.getvalue().splitlines() if x.startswith("Alerts in CCLI:"))
    assert "posted" not in line and "updated" not in line, line
    assert len(slack.messages("CCLI", include_replies=False)) == 13


async def test_python_m_bot_scan_once(
    seam_fake: SeamFake,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SEAM_", "ALERT_"))}
    env |= {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SEAM_API_KEY": seam_fake.api_key,
        "SEAM_ENDPOINT": seam_fake.url,
        "DATABASE_PATH": str(tmp_path / "x.sqlite3"),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "scan",
        "--once",
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    assert "failed_to_set_on_device" in stdout.decode()
