"""Fault drills: a Seam outage in the middle of a scan, Slack 429s and 5xx, and the scanner
process killed with SIGKILL mid-scan and restarted.

Real parts only: the official Seam fake (its own `/_fake/simulate_workspace_outage`), the
loopback Slack fake, real SQLite files, and for the kill drills `python -m bot scan` as a real
child process. The bad-input and forged/replayed-request drills are in
`tests/scenario/test_drills_input.py`. Numbers and context: docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from bot.app import build_slack_client
from bot.domain.alert_plan import plan_alerts
from bot.domain.catalogue import default_catalogue
from bot.seam.client import SeamClient
from bot.services.alerting import ReconcileReport
from bot.services.observing import scan_workspace
from bot.services.scanning import Scanner
from bot.settings import load_settings
from bot.slack.alert_channel import slack_alert_service as AlertManager
from bot.store import Store
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import REPO_ROOT, SeamFake
from tests.support.databases import database
from tests.support.fixtures import seam_fake, seam_fake_process  # noqa: F401

pytestmark = pytest.mark.asyncio(loop_scope="module")

CAT = default_catalogue()
CHANNEL = "CDRILLS"
CODE_LISTS = ["/access_codes/list", "/access_codes/unmanaged/list"]


# ----------------------------------------------------------------------------- helpers


class GatedSlack(FakeSlack):
    """The Slack fake, able to hold the n-th `chat.postMessage` (1-based) until released.

    `phase="before"`: held before Slack records anything (the post never happens);
    `phase="after"`: Slack has stored the message, only its answer (with the ts) is held back.
    `held` is set when the request is being held.
    """

    def __init__(self) -> None:
        super().__init__()
        self.hold_at: int | None = None
        self.phase = "before"
        self.held = asyncio.Event()
        self.release = asyncio.Event()
        self._posts = 0

    async def _handle_api(self, request: web.Request) -> web.Response:
        if self.hold_at is None or request.match_info["method"] != "chat.postMessage":
            return await super()._handle_api(request)
        self._posts += 1
        hold = self._posts == self.hold_at
        if hold and self.phase == "before":
            self.held.set()
            await self.release.wait()
            return web.json_response({"ok": False, "error": "fatal_error"}, status=500)
        response = await super()._handle_api(request)
        if hold:
            self.held.set()
            await self.release.wait()
        return response


@pytest_asyncio.fixture(loop_scope="module")
async def slack() -> AsyncIterator[GatedSlack]:
    fake = GatedSlack()
    async with fake:
        yield fake
    fake.release.set()


def slack_client(slack: FakeSlack) -> Any:
    """The production Slack client (Retry-After on 429, connection retries), at the fake."""
    settings = load_settings(
        slack_bot_token="xoxb-drill",
        slack_signing_secret="secret",
        seam_api_key="seam_x",
        slack_api_url=slack.api_url,
    )
    return build_slack_client(settings)


def make_manager(store: Store, slack: FakeSlack) -> AlertManager:
    return AlertManager(
        store, slack_client(slack), CHANNEL, catalogue=CAT, pace_seconds=0, escalate=False
    )


def roots(slack: FakeSlack) -> list[dict[str, Any]]:
    return slack.messages(CHANNEL, include_replies=False)


def root_keys(slack: FakeSlack) -> Counter[str]:
    """How many root messages each alert key has in the channel (1 = no duplicate); the daily
    pre-arrival digest is not an alert."""
    return Counter(
        key
        for m in roots(slack)
        if (key := m["metadata"]["event_payload"]["alert_key"]).startswith(("code:", "device:"))
    )


def thread_replies(slack: FakeSlack, ts: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages(CHANNEL) if m.get("thread_ts") == ts and m["ts"] != ts]


async def expected_keys(seam: SeamClient) -> set[str]:
    """The alerts a complete scan of the fake's current state should show (unfolded ones)."""
    scan = await scan_workspace(seam, catalogue=CAT)
    assert scan.complete
    groups = plan_alerts(scan.findings, scan.codes_by_id(), datetime.now(UTC))
    return {key for key, group in groups.items() if group.folded_into is None}


async def fix(fake: SeamFake, key: str) -> str:
    code_id: str = fake.ids["codes"][key]
    await fake.update_access_code(code_id, errors=[], warnings=[], status="set")
    return code_id


async def settle(manager: AlertManager, seam: SeamClient, rounds: int = 3) -> ReconcileReport:
    """Reconcile until a pass makes no Slack call (at most `rounds` passes); the last report."""
    report = ReconcileReport()
    for _ in range(rounds):
        report = await manager.reconcile(await scan_workspace(seam, catalogue=CAT))
        if report.slack_calls == 0:
            break
    return report


async def poll(predicate: Callable[[], Awaitable[bool]], what: str, limit: float = 15.0) -> None:
    """Wait until the async predicate is true (checked every 20 ms), at most `limit` s.

    Polling is the point: the state lives in other processes (the Seam fake, the scanner).
    """
    try:
        async with asyncio.timeout(limit):
            while not await predicate():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out after {limit} s waiting for {what}") from None


# ============================================================================ Seam outage


async def test_seam_outage_mid_scan_resolves_nothing_unseen_and_the_next_scan_recovers(
    seam_fake: SeamFake,  # noqa: F811
    slack: GatedSlack,
    tmp_path: Path,
) -> None:
    ids = seam_fake.ids
    store = await Store.open(await database(tmp_path / "outage.sqlite3"))
    async with SeamClient(seam_fake.api_key, seam_fake.url, max_read_attempts=2) as seam:
        expected = await expected_keys(seam)
        manager = make_manager(store, slack)
        scanner = Scanner(seam, catalogue=CAT, alerts=manager, interval=60, concurrency=1)
        await scanner.run_once()
        assert set(root_keys(slack)) == expected and len(expected) == 13

        # One fixed code on each of five locks: their alerts may resolve only if seen.
        fixed = {
            ids["devices"][device]: await fix(seam_fake, code)
            for device, code in [
                ("front_door", "failed_to_set"),
                ("back_door", "duplicate"),
                ("side_gate", "kwikset_unconfirmed"),
                ("garage", "unknown_error"),
                ("lobby", "no_space"),
            ]
        }
        updates_before = len(slack.calls_to("chat.update"))

        # Seam goes down while the scan is in progress: after the second device's lists.
        await seam_fake.reset()  # empty call log
        await seam_fake.delay(0.2, CODE_LISTS)
        iteration = asyncio.create_task(scanner.run_once())

        async def two_devices_requested() -> bool:
            return len(await seam_fake.calls("/access_codes/unmanaged/list")) >= 2

        await poll(two_devices_requested, "the scan to reach its second device")
        await seam_fake.simulate_outage(CODE_LISTS)
        await seam_fake.delay(0)
        outcome = await iteration  # no crash: the iteration ends with an incomplete scan

        scan, report = outcome.scan, outcome.report
        assert report is not None and not scan.complete and scan.devices_listed
        seen = {ids["devices"]["front_door"], ids["devices"]["back_door"]}
        assert scan.covered_device_ids == seen
        assert len(scan.failed_device_ids) == 4 and len(scan.errors) == 4
        assert report.resolved == 2  # the two fixed codes on the devices it did see
        for device_id, code_id in fixed.items():
            alert = await store.alert_for_code(code_id)
            assert alert is not None
            assert (alert.state == "resolved") == (device_id in seen), device_id
        # Only those two messages were edited; nothing else was touched or posted.
        assert len(slack.calls_to("chat.update")) == updates_before + 2
        assert set(root_keys(slack)) == expected and max(root_keys(slack).values()) == 1

        # Seam is back: the next scan is complete and resolves the other three, once each.
        await seam_fake.simulate_outage([])
        outcome = await scanner.run_once()
        assert outcome.scan.complete and outcome.report is not None
        assert outcome.report.resolved == 3 and outcome.report.posted == 0
        for code_id in fixed.values():
            alert = await store.alert_for_code(code_id)
            assert alert is not None and alert.state == "resolved"
            assert alert.ts is not None
            assert len(thread_replies(slack, alert.ts)) == 1  # one "resolved" reply each
        resolved = [m for m in roots(slack) if m["text"].startswith("Resolved")]
        assert len(resolved) == 5
        assert (await scanner.run_once()).report.slack_calls == 0  # type: ignore[union-attr]
    await store.close()


# ============================================================================ Slack 429 / 5xx


@pytest.mark.parametrize(
    ("method", "status", "count"),
    [
        ("chat.postMessage", 429, 4),  # beyond the client's 3 Retry-After retries
        ("chat.postMessage", 503, 3),
        ("chat.update", 429, 4),
        ("chat.update", 500, 2),
    ],
)
async def test_slack_failures_deliver_every_alert_exactly_once_after_recovery(
    seam_fake: SeamFake,  # noqa: F811
    slack: GatedSlack,
    tmp_path: Path,
    method: str,
    status: int,
    count: int,
) -> None:
    store = await Store.open(await database(tmp_path / "slack.sqlite3"))
    async with SeamClient(seam_fake.api_key, seam_fake.url) as seam:
        expected = await expected_keys(seam)
        manager = make_manager(store, slack)
        fixed: list[str] = []
        if method == "chat.update":
            await settle(manager, seam)
            fixed = [await fix(seam_fake, k) for k in ("failed_to_set", "duplicate", "no_space")]
        slack.fail_next(method, status=status, retry_after=0, count=count)
        during = await manager.reconcile(await scan_workspace(seam, catalogue=CAT))
        failed_calls = [c for c in slack.calls_to(method) if c.status == status]
        assert len(failed_calls) == count  # Slack really refused these
        assert during.errors  # counted and logged, never raised
        if method == "chat.postMessage":
            assert during.posted < len(expected) and during.pending > 0
        else:
            assert during.resolved < len(fixed)

        final = await settle(manager, seam)  # Slack has recovered
        assert final.slack_calls == 0

    keys = root_keys(slack)
    assert set(keys) == expected and set(keys.values()) == {1}  # each exactly once
    posted_ok = [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.status == 200 and c.response.get("ok") and "thread_ts" not in c.body
    ]
    assert len(posted_ok) == len(expected)  # no post was ever repeated
    for code_id in fixed:
        alert = await store.alert_for_code(code_id)
        assert alert is not None and alert.state == "resolved" and alert.ts is not None
        message = slack.message_store[(CHANNEL, alert.ts)]
        assert message["text"].startswith("Resolved")
        assert len(thread_replies(slack, alert.ts)) == 1  # one "resolved" reply, not two
    await store.close()


# ============================================================================ SIGKILL


HEALED = (
    "august_slots_full",
    "constraints_violated",
    "kwikset_unconfirmed",
    "external_modification",
    "delay_warning",
    "unknown_error",
    "legacy_external_modification",
)


class ScannerProcess:
    """`python -m bot scan` (the scanner as its own process) against the fakes."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.proc: asyncio.subprocess.Process | None = None
        self.log: list[str] = []
        self._drain: asyncio.Task[None] | None = None

    async def start(self) -> ScannerProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "scan",
            cwd=str(self.cwd),
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self.proc.stderr is not None
        self._drain = asyncio.create_task(self._read(self.proc.stderr))
        return self

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.log.append(line.decode("utf-8", "replace").rstrip())

    def logged(self, text: str) -> int:
        return sum(text in line for line in self.log)

    async def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs in the child."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        assert await asyncio.wait_for(self.proc.wait(), 10) == -signal.SIGKILL
        await self._finish()

    async def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 15)
        await self._finish()
        return code

    async def _finish(self) -> None:
        if self._drain is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drain, 5)

    async def ensure_stopped(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        await self._finish()


@pytest_asyncio.fixture(loop_scope="module")
async def processes() -> AsyncIterator[list[ScannerProcess]]:
    started: list[ScannerProcess] = []
    yield started
    for proc in started:
        await proc.ensure_stopped()


def scanner_env(fake: SeamFake, slack: FakeSlack, database: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy")
        and not k.startswith(("SLACK_", "SEAM_", "ALERT_", "SCAN_", "DATABASE_", "REMEDY_"))
    }
    return env | {
        "PYTHONPATH": str(REPO_ROOT),
        "SLACK_BOT_TOKEN": "xoxb-drill",
        "SLACK_SIGNING_SECRET": "secret",
        "SEAM_API_KEY": fake.api_key,
        "SEAM_ENDPOINT": fake.url,
        "SLACK_API_URL": slack.api_url,
        "ALERT_CHANNEL": CHANNEL,
        "SCAN_INTERVAL_SECONDS": "1",
        "DIGEST_TIME": "off",  # alerts only: the pre-arrival digest has its own tests
        "DATABASE_PATH": str(database),
        "LOG_LEVEL": "INFO",
    }


def alert_rows(database: Path) -> dict[str, tuple[str | None, str]]:
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
        return {
            k: (ts, state) for k, ts, state in db.execute("SELECT alert_key, ts, state FROM alerts")
        }


async def start_scanner(
    processes: list[ScannerProcess], env: dict[str, str], cwd: Path
) -> ScannerProcess:
    proc = await ScannerProcess(env, cwd).start()
    processes.append(proc)
    return proc


async def _six_alerts(fake: SeamFake) -> set[str]:
    for key in HEALED:
        await fix(fake, key)
    async with SeamClient(fake.api_key, fake.url) as seam:
        expected = await expected_keys(seam)
    await fake.reset()  # empty call log
    assert len(expected) == 6
    return expected


async def test_sigkill_mid_scan_and_mid_post_then_restart_loses_and_duplicates_nothing(
    seam_fake: SeamFake,  # noqa: F811
    slack: GatedSlack,
    tmp_path: Path,
    processes: list[ScannerProcess],
) -> None:
    expected = await _six_alerts(seam_fake)
    database = tmp_path / "shared.sqlite3"
    env = scanner_env(seam_fake, slack, database)

    # 1. Killed while reading Seam (code lists slowed to 1 s): nothing posted, nothing stored.
    await seam_fake.delay(1.0, CODE_LISTS)
    first = await start_scanner(processes, env, tmp_path)

    async def reading_codes() -> bool:
        return bool(await seam_fake.calls("/access_codes/list"))

    await poll(reading_codes, "the first scan to read code lists")
    await first.kill()
    assert roots(slack) == [] and alert_rows(database) == {}
    await seam_fake.delay(0)

    # 2. Killed while posting: the 3rd chat.postMessage is held before Slack records it.
    slack.hold_at, slack.phase = 3, "before"
    second = await start_scanner(processes, env, tmp_path)
    await asyncio.wait_for(slack.held.wait(), 20)
    await second.kill()
    slack.release.set()
    posted = set(root_keys(slack))
    assert len(posted) == 2
    rows = alert_rows(database)
    assert {k for k, (ts, _) in rows.items() if ts} == posted
    assert len([k for k, (ts, _) in rows.items() if ts is None]) == 1  # the intent, no ts

    # 3. Restarted: the killed holder's lease names a process on this host that no longer
    #    exists, so the new scanner takes it over at once instead of waiting for it to expire.
    slack.hold_at = None
    third = await start_scanner(processes, env, tmp_path)

    async def all_posted() -> bool:
        return len(roots(slack)) >= len(expected)

    await poll(all_posted, "every alert to be posted")
    done = third.logged("scan complete")

    async def one_more_scan() -> bool:
        return third.logged("scan complete") > done

    await poll(one_more_scan, "one more complete scan")
    assert await third.terminate() == 0
    keys = root_keys(slack)
    assert set(keys) == expected  # none lost
    assert set(keys.values()) == {1}  # none duplicated
    assert all(ts for ts, _ in alert_rows(database).values())


async def test_sigkill_between_slack_accepting_a_post_and_the_ts_commit(
    seam_fake: SeamFake,  # noqa: F811
    slack: GatedSlack,
    tmp_path: Path,
    processes: list[ScannerProcess],
) -> None:
    """The one window bot/alerts.py documents: Slack stored the message, the bot died before
    writing its ts. Nothing is lost; the alert is posted again once (recognisable by its
    `metadata.event_payload.alert_key`). See docs/benchmarks.md for the proposed fix."""
    expected = await _six_alerts(seam_fake)
    database = tmp_path / "window.sqlite3"
    env = scanner_env(seam_fake, slack, database)
    slack.hold_at, slack.phase = 3, "after"
    first = await start_scanner(processes, env, tmp_path)
    await asyncio.wait_for(slack.held.wait(), 20)
    await first.kill()
    slack.release.set()
    slack.hold_at = None
    assert len(roots(slack)) == 3
    in_window = roots(slack)[-1]["metadata"]["event_payload"]["alert_key"]
    assert alert_rows(database)[in_window][0] is None  # Slack has it, the store has no ts

    second = await start_scanner(processes, env, tmp_path)  # takes the dead holder's lease

    async def all_posted() -> bool:
        return set(root_keys(slack)) == expected

    await poll(all_posted, "every alert to be posted")
    assert await second.terminate() == 0
    keys = root_keys(slack)
    assert set(keys) == expected  # none lost
    duplicated = {k for k, n in keys.items() if n > 1}
    assert duplicated <= {in_window} and keys[in_window] <= 2  # today: exactly this one, twice


# ============================================================================ the benchmarks' fake


async def test_large_scenario_scans_fully_and_honours_the_workspace_outage() -> None:
    """The large scenario (bench/) at a small size: every device and code seen once, lists
    filtered by device, `bulk_update`, and the fake's outage on the shim-answered list route."""
    async with (
        SeamFake.start(
            scenario="large", devices=40, codes_per_device=3, failing_ratio=0.25
        ) as fake,
        SeamClient(fake.api_key, fake.url, max_read_attempts=1) as seam,
    ):
        assert fake.ids["counts"] == {"devices": 40, "codes": 120, "failing": 30}
        scan = await scan_workspace(seam, catalogue=CAT)
        assert scan.complete and len(scan.devices) == 40 and scan.codes_seen == 120
        assert scan.dropped_codes == 0 and scan.seam_calls == 40 * 2 + 1
        assert len(scan.findings) == 30
        assert len({f.device_id for f in scan.findings}) > 10  # spread over the locks

        failing = await fake.bulk_update("access_codes", {"errors": []}, only="failing", limit=10)
        assert len(failing) == 10
        after = (await scan_workspace(seam, catalogue=CAT)).findings
        assert len([f for f in after if f.source == "scan"]) == 20
        # A cleared code still "unset" that starts within AT_RISK_HOURS is at risk (predictive).
        assert {f.problem for f in after if f.source == "predictive"} <= {"at_risk_not_set"}

        await fake.simulate_outage(["/access_codes/list"])
        scan = await scan_workspace(seam, catalogue=CAT)
        assert not scan.complete and len(scan.failed_device_ids) == 40 and not scan.findings
        await fake.simulate_outage([])
        assert (await scan_workspace(seam, catalogue=CAT)).complete
