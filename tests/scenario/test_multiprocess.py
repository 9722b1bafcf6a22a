"""Several processes on one database: what must happen once is decided by the database.

Two alert services on two store connections reconcile the same scan at once (once per engine);
then real processes on a real PostgreSQL: two web processes (`SCANNER=off`) and scanners
(`python -m bot scan`). A double click that reaches both web processes runs one remedy; any
number of scanners post each alert once; a SIGKILLed leading scanner is replaced within about
one scan interval and nothing is posted twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.seam.client import SeamClient
from bot.services.observing import scan_workspace
from bot.services.scanning import LEASE_NAME
from bot.store import Store
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from devtools.slack_requests import view_submission_body
from tests.scenario.test_alerts_integration import CAT, CHANNEL, expected_keys, make_manager
from tests.scenario.test_alerts_integration import keys as all_keys
from tests.scenario.test_remedy_crash import BotProcess, open_and_submit_view
from tests.support.databases import postgres_server

INTERVAL = 2.0


def keys(slack: FakeSlack) -> list[str]:
    """The alert keys of the channel's messages (the daily pre-arrival digest left out)."""
    return [k for k in all_keys(slack) if k.startswith(("code:", "device:"))]


@pytest.fixture
async def postgres_url() -> str:
    """A fresh database on the suite's PostgreSQL server (skipped where it cannot run, failed
    in CI)."""
    try:
        server = postgres_server()
    except (RuntimeError, OSError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL is not available here: {exc}")
    return await server.create_database()


@pytest.fixture
async def procs() -> AsyncIterator[list[BotProcess]]:
    started: list[BotProcess] = []
    yield started
    for proc in started:
        await proc.stop()


async def test_two_services_reconciling_the_same_scan_at_once_post_each_alert_once(
    seam_fake: SeamFake, slack: FakeSlack, store_target: str | Path
) -> None:
    first, second = await Store.open(store_target), await Store.open(store_target)
    try:
        async with SeamClient(seam_fake.api_key, seam_fake.url) as seam:
            scan = await scan_workspace(seam, catalogue=CAT)
        one, two = make_manager(first, slack), make_manager(second, slack)
        await asyncio.gather(one.reconcile(scan), two.reconcile(scan))
        await asyncio.gather(one.reconcile(scan), two.reconcile(scan))  # and again: no edits
        posted = keys(slack)
        assert sorted(posted) == sorted(set(posted))  # never twice
        assert set(posted) == expected_keys(seam_fake)  # and none lost
    finally:
        await first.close()
        await second.close()


async def test_a_double_click_reaching_two_web_processes_runs_one_remedy(
    tmp_path: Path,
    seam_fake: SeamFake,
    slack: FakeSlack,
    procs: list[BotProcess],
    postgres_url: str,
) -> None:
    webs = []
    for _ in range(2):
        web = BotProcess(seam_fake, slack, tmp_path / "unused.sqlite3", database_url=postgres_url)
        web.env["SCANNER"] = "off"
        webs.append(await web.start())
        procs.append(web)
    code_id = seam_fake.ids["codes"]["failed_to_set"]
    await seam_fake.reset()
    view = await open_and_submit_view(webs[0], slack, "update_pin", code_id)
    body = view_submission_body(
        view["callback_id"],
        {"new_pin": {"pin_value": "5821"}},
        private_metadata=view.get("private_metadata", ""),
        trigger_id=slack.issue_trigger_id(),
        view_id=view["id"],
    )
    answers = await asyncio.gather(webs[0].post(body), webs[1].post(body))
    assert all(a.status_code == 200 for a in answers)
    for _ in range(100):
        if await seam_fake.calls("/access_codes/update"):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)
    assert len(await seam_fake.calls("/access_codes/update")) == 1
    store = await Store.open(postgres_url)
    try:
        rows = [e for e in await store.audit_entries() if e.action == "update_pin"]
        assert len(rows) == 1
    finally:
        await store.close()


async def _holder_pid(url: str) -> int | None:
    store = await Store.open(url)
    try:
        holder = await store.lease_holder(LEASE_NAME)
    finally:
        await store.close()
    return int(holder.split(":")[1]) if holder else None


async def test_scanners_post_each_alert_once_and_a_killed_leader_is_replaced(
    tmp_path: Path,
    seam_fake: SeamFake,
    slack: FakeSlack,
    procs: list[BotProcess],
    postgres_url: str,
) -> None:
    scanners = []
    for _ in range(2):
        scanner = BotProcess(
            seam_fake,
            slack,
            tmp_path / "unused.sqlite3",
            command="scan",
            database_url=postgres_url,
            ALERT_CHANNEL=CHANNEL,
            SCAN_INTERVAL_SECONDS=str(INTERVAL),
        )
        scanners.append(await scanner.start())
        procs.append(scanner)
    expected = expected_keys(seam_fake)
    await slack.wait_for(lambda: set(keys(slack)) == expected, 20, what="every alert posted")
    await asyncio.sleep(INTERVAL * 2)  # both keep running: still nothing posted twice
    assert sorted(keys(slack)) == sorted(expected)

    leader_pid = await _holder_pid(postgres_url)
    leader = next(s for s in scanners if s.proc is not None and s.proc.pid == leader_pid)
    follower = next(s for s in scanners if s is not leader)
    os.kill(leader_pid or 0, signal.SIGKILL)
    assert leader.proc is not None
    await leader.proc.wait()
    killed_at = asyncio.get_running_loop().time()
    # A new problem appears: only a live scanner can post it.
    healthy = seam_fake.ids["codes"]["healthy_guest"]
    await seam_fake.update_access_code(
        healthy, errors=[{"error_code": "failed_to_set_on_device", "message": "Failed"}]
    )
    await slack.wait_for(
        lambda: f"code:{healthy}" in keys(slack), INTERVAL * 4, what="the follower's post"
    )
    handover = asyncio.get_running_loop().time() - killed_at
    assert follower.proc is not None and follower.proc.returncode is None
    assert await _holder_pid(postgres_url) == follower.proc.pid
    assert handover < INTERVAL * 2  # about one interval: the lease, then one scan
    assert sorted(keys(slack)) == sorted({*expected, f"code:{healthy}"})
