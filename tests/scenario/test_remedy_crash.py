"""Crashes are real: the bot runs as its own process and is SIGKILLed in the middle of a remedy.

The remedy journal (write-ahead) must let a restart finish or settle what the kill interrupted:
the code exists again (or the change is confirmed), there is exactly one audit row and one
outcome message, and no claim or code lock stays stuck. The official Seam fake holds the answer
to the chosen mutation (`delay ... phase="after"`: Seam has done it, the bot has not heard), so
the kill lands exactly after that step.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.store import Store
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from devtools.slack_requests import block_actions_body, signed_headers, view_submission_body
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.support.databases import database as db_target

ROOT = Path(__file__).resolve().parents[2]
#: REMEDY_RECOVERY_SECONDS of the bots here: a killed process's remedy is finished this long
#: after its last sign of life (by a restart or by another process, on the recovery timer).
RECOVERY_SECONDS = 2
#: The new PIN the Update PIN drills submit.
PIN_5821 = {"new_pin": {"pin_value": "5821"}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """`python -m bot serve` (or `command`, e.g. `scan`) on a free loopback port, against the
    fakes. `database_url`: a PostgreSQL database to use whatever the suite's engine; `env`:
    more settings."""

    def __init__(
        self,
        fake: SeamFake,
        slack: FakeSlack,
        database: Path,
        *,
        command: str = "serve",
        database_url: str | None = None,
        **env: str,
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.lower().endswith("_proxy")
            and not k.startswith(("SLACK_", "SEAM_", "ALERT_", "SCAN_", "DATABASE_", "REMEDY_"))
        }
        self.env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SEAM_API_KEY=fake.api_key,
            SEAM_ENDPOINT=fake.url,
            SLACK_API_URL=slack.api_url,
            DATABASE_PATH=str(database),
            REMEDY_ALLOWED_USERS="*",
            REMEDY_RECOVERY_SECONDS=str(RECOVERY_SECONDS),
            SCAN_INTERVAL_SECONDS="0",
            PORT=str(self.port),
            PYTHONPATH=str(ROOT),
        )
        self.env.update(env)
        self.command = command
        self.database_url = database_url
        self.proc: asyncio.subprocess.Process | None = None
        self.database = database
        self.log = database.parent / f"bot-{self.port}.log"

    async def start(self) -> BotProcess:
        target = self.database_url or await db_target(self.database)
        if isinstance(target, str):  # PostgreSQL
            self.env["DATABASE_URL"] = target
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            self.command,
            cwd=str(ROOT),
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )
        if self.command != "serve":
            return self
        async with httpx.AsyncClient(trust_env=False, timeout=2) as http:
            for _ in range(200):
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return self
                await asyncio.sleep(0.05)
        raise AssertionError("the bot did not start")

    async def kill(self) -> None:
        """SIGKILL: nothing of the bot's own runs after this."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        await asyncio.wait_for(self.proc.wait(), 10)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    async def post(self, body: bytes) -> httpx.Response:
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            return await http.post(
                f"{self.url}/slack/events",
                content=body,
                headers=signed_headers(SIGNING_SECRET, body),
            )


@pytest.fixture
async def bots() -> AsyncIterator[list[BotProcess]]:
    started: list[BotProcess] = []
    yield started
    for bot in started:
        await bot.stop()


async def open_and_submit_view(
    bot: BotProcess, slack: FakeSlack, action: str, code_id: str
) -> dict[str, Any]:
    """Press a remedy button on a /seam-code answer and return its modal once filled in."""
    before = len(slack.calls_to("views.update"))
    response = await bot.post(
        block_actions_body(
            f"remedy:{action}",
            code_id,
            response_url=slack.response_url("crash"),
            trigger_id=slack.issue_trigger_id(),
            is_ephemeral=True,
        )
    )
    assert response.status_code == 200
    await slack.wait_for_call("views.update", count=before + 1, timeout=15)
    view_id = slack.calls_to("views.update")[-1].body["view_id"]
    return slack.views[view_id]


async def open_and_submit(
    bot: BotProcess, slack: FakeSlack, action: str, code_id: str, values: dict[str, Any]
) -> str:
    """Press a remedy button on a /seam-code answer, wait for its modal, submit it."""
    view = await open_and_submit_view(bot, slack, action, code_id)
    body = view_submission_body(
        view["callback_id"],
        values,
        private_metadata=view.get("private_metadata", ""),
        trigger_id=slack.issue_trigger_id(),
        view_id=view["id"],
    )
    asyncio.get_running_loop().create_task(bot.post(body))  # the kill cuts this request off
    return "crash"


async def kill_after_seam_took_it(
    bot: BotProcess,
    fake: SeamFake,
    slack: FakeSlack,
    action: str,
    code_id: str,
    values: dict[str, Any],
    path: str,
) -> str:
    """Submit `action`, let Seam do the mutation at `path` but hold its answer back, SIGKILL
    the bot, release the fake. Returns the response_url key the outcome must reach."""
    await fake.reset()
    await fake.delay(60, paths=[path], phase="after")
    key = await open_and_submit(bot, slack, action, code_id, values)
    await wait_for_seam_call(fake, path)
    await asyncio.sleep(0.3)  # Seam has done it; its answer is held back
    await bot.kill()
    await fake.delay(0)
    return key


async def audit_rows(database: Path, action: str) -> list[Any]:
    store = await Store.open(await db_target(database))
    try:
        return [e for e in await store.audit_entries() if e.action == action]
    finally:
        await store.close()


async def wait_for_seam_call(fake: SeamFake, path: str) -> None:
    for _ in range(300):
        if await fake.calls(path):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} was never called")


async def test_killed_between_delete_and_create_the_code_is_recreated_after_restart(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack, bots: list[BotProcess]
) -> None:
    database = tmp_path / "bot.sqlite3"
    code_id = seam_fake.ids["codes"]["external_modification"]
    before = await seam_fake.get_access_code(code_id)
    assert before is not None
    bot = await BotProcess(seam_fake, slack, database).start()
    bots.append(bot)
    key = await kill_after_seam_took_it(
        bot, seam_fake, slack, "delete_and_recreate", code_id, {}, "/access_codes/delete"
    )
    assert await seam_fake.get_access_code(code_id) is None  # gone: the dangerous moment
    assert await seam_fake.calls("/access_codes/create") == []

    restarted = await BotProcess(seam_fake, slack, database).start()
    bots.append(restarted)
    await slack.wait_for_response(key, timeout=20)
    creates = await seam_fake.calls("/access_codes/create")
    assert len(creates) == 1
    body = creates[0]["body"]
    assert body["name"] == before["name"] and body["device_id"] == before["device_id"]
    rows = await audit_rows(database, "delete_and_recreate")
    assert len(rows) == 1 and rows[0].outcome == "success" and "after a restart" in rows[0].detail
    assert before["code"] not in rows[0].detail  # never the PIN
    messages = slack.responses[key]
    assert len(messages) == 1 and "after a restart" in json.dumps(messages[0])
    assert before["code"] not in json.dumps(messages[0])
    # Nothing is left stuck: the journal is closed, its secret erased, the code lock free.
    store = await Store.open(await db_target(database))
    try:
        assert await store.journal_unfinished() == []
        assert await store.remedy_claim(f"code_lock:{code_id}") is None
    finally:
        await store.close()


async def test_killed_after_seam_took_the_new_pin_the_change_is_confirmed_after_restart(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack, bots: list[BotProcess]
) -> None:
    database = tmp_path / "bot.sqlite3"
    code_id = seam_fake.ids["codes"]["failed_to_set"]
    bot = await BotProcess(seam_fake, slack, database).start()
    bots.append(bot)
    key = await kill_after_seam_took_it(
        bot, seam_fake, slack, "update_pin", code_id, PIN_5821, "/access_codes/update"
    )
    after = await seam_fake.get_access_code(code_id)
    assert after is not None and after["code"] == "5821"  # Seam took it

    restarted = await BotProcess(seam_fake, slack, database).start()
    bots.append(restarted)
    await slack.wait_for_response(key, timeout=20)
    rows = await audit_rows(database, "update_pin")
    assert len(rows) == 1 and rows[0].outcome == "success" and "went through" in rows[0].detail
    assert "5821" not in rows[0].detail
    assert len(slack.responses[key]) == 1 and "5821" not in json.dumps(slack.responses[key])
    assert len(await seam_fake.calls("/access_codes/update")) == 1  # never re-sent
    store = await Store.open(await db_target(database))
    try:
        assert await store.journal_unfinished() == []
        assert await store.remedy_claim(f"code_lock:{code_id}") is None
    finally:
        await store.close()


async def assert_nothing_stuck(database: Path, code_id: str) -> None:
    """The journal is closed (its secret erased) and no claim on the code is left running."""
    store = await Store.open(await db_target(database))
    try:
        assert await store.journal_unfinished() == []
        assert await store.remedy_claim(f"code_lock:{code_id}") is None
    finally:
        await store.close()


async def test_killed_after_the_journal_but_before_seam_saw_the_change_nothing_happened(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack, bots: list[BotProcess]
) -> None:
    """The window between the write-ahead entry and the first mutation: the update request is
    lost on its way (the shim's "drop"), the bot is killed; after the restart the bot reads the
    code back, says the change did not happen, and nothing is left stuck."""
    database = tmp_path / "bot.sqlite3"
    code_id = seam_fake.ids["codes"]["failed_to_set"]
    before = await seam_fake.get_access_code(code_id)
    assert before is not None
    bot = await BotProcess(seam_fake, slack, database).start()
    bots.append(bot)
    await seam_fake.reset()
    await seam_fake.delay(60, paths=["/access_codes/update"], phase="drop")
    key = await open_and_submit(
        bot, slack, "update_pin", code_id, {"new_pin": {"pin_value": "5821"}}
    )
    await wait_for_seam_call(seam_fake, "/access_codes/update")  # journal written before it
    store = await Store.open(await db_target(database))
    try:
        (entry,) = await store.journal_unfinished()
        assert entry.remedy == "update_pin" and entry.steps == ()
    finally:
        await store.close()
    await bot.kill()
    await asyncio.sleep(0.3)
    await seam_fake.delay(0)
    after = await seam_fake.get_access_code(code_id)
    assert after is not None and after["code"] == before["code"]  # Seam never saw it
    assert (await seam_fake.calls("/access_codes/update"))[0]["status"] == "dropped"

    restarted = await BotProcess(seam_fake, slack, database).start()
    bots.append(restarted)
    await slack.wait_for_response(key, timeout=20)
    rows = await audit_rows(database, "update_pin")
    assert len(rows) == 1 and rows[0].outcome == "error" and "did not happen" in rows[0].detail
    (message,) = slack.responses[key]
    assert "did not happen" in json.dumps(message) and "5821" not in json.dumps(message)
    assert len(await seam_fake.calls("/access_codes/update")) == 1  # never re-sent
    await assert_nothing_stuck(database, code_id)


async def test_a_peer_process_finishes_a_killed_remedy_on_its_timer_without_any_restart(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack, bots: list[BotProcess]
) -> None:
    """Two processes on one database; the one running Delete and recreate is SIGKILLed
    after the delete. Nobody restarts it: the other process's recovery timer sees the entry
    go idle and re-creates the code, once."""
    database = tmp_path / "bot.sqlite3"
    code_id = seam_fake.ids["codes"]["external_modification"]
    before = await seam_fake.get_access_code(code_id)
    assert before is not None
    peer = await BotProcess(seam_fake, slack, database).start()
    bots.append(peer)
    doomed = await BotProcess(seam_fake, slack, database).start()
    bots.append(doomed)
    await seam_fake.reset()
    await seam_fake.delay(60, paths=["/access_codes/delete"], phase="after")
    key = await open_and_submit(doomed, slack, "delete_and_recreate", code_id, {})
    await wait_for_seam_call(seam_fake, "/access_codes/delete")
    # While the doomed process lives, its heartbeat keeps the peer off its remedy.
    await asyncio.sleep(RECOVERY_SECONDS * 1.5)
    assert await seam_fake.calls("/access_codes/create") == []
    assert key not in slack.responses
    await doomed.kill()
    await seam_fake.delay(0)
    assert await seam_fake.get_access_code(code_id) is None

    await slack.wait_for_response(key, timeout=RECOVERY_SECONDS * 5)
    creates = await seam_fake.calls("/access_codes/create")
    assert len(creates) == 1 and creates[0]["body"]["name"] == before["name"]
    rows = await audit_rows(database, "delete_and_recreate")
    assert len(rows) == 1 and rows[0].outcome == "success"
    assert len(slack.responses[key]) == 1
    await assert_nothing_stuck(database, code_id)


async def test_killed_after_seam_converted_the_duplicate_the_conversion_is_verified(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack, bots: list[BotProcess]
) -> None:
    database = tmp_path / "bot.sqlite3"
    code_id = seam_fake.ids["codes"]["duplicate"]
    owner = seam_fake.ids["unmanaged"]["owner_code"]
    bot = await BotProcess(seam_fake, slack, database).start()
    bots.append(bot)
    path = "/access_codes/unmanaged/convert_to_managed"
    key = await kill_after_seam_took_it(
        bot, seam_fake, slack, "convert_unmanaged", code_id, {}, path
    )

    restarted = await BotProcess(seam_fake, slack, database).start()
    bots.append(restarted)
    await slack.wait_for_response(key, timeout=20)
    rows = await audit_rows(database, "convert_unmanaged")
    assert len(rows) == 1 and rows[0].outcome == "success" and "Verified" in rows[0].detail
    assert len(slack.responses[key]) == 1 and "after a restart" in json.dumps(
        slack.responses[key][0]
    )
    assert len(await seam_fake.calls(path)) == 1
    await assert_nothing_stuck(database, owner)


@pytest.mark.parametrize(
    ("path", "phase", "creates", "outcome", "words"),
    [
        ("/access_codes/delete", "drop", 0, "error", "did not happen"),
        ("/access_codes/create", "after", 1, "success", "created again"),
    ],
    ids=["before-the-delete", "after-the-create"],
)
async def test_killed_at_the_other_steps_of_delete_and_recreate_no_code_is_lost_or_doubled(
    tmp_path: Path,
    seam_fake: SeamFake,
    slack: FakeSlack,
    bots: list[BotProcess],
    path: str,
    phase: Any,
    creates: int,
    outcome: str,
    words: str,
) -> None:
    """Killed while the delete is lost on its way (Seam never deleted it), or after Seam
    created the new code but before the bot heard: after the restart exactly one code with
    the original name is on the lock, one audit row, one message, nothing stuck."""
    database = tmp_path / "bot.sqlite3"
    code_id = seam_fake.ids["codes"]["external_modification"]
    before = await seam_fake.get_access_code(code_id)
    assert before is not None
    bot = await BotProcess(seam_fake, slack, database).start()
    bots.append(bot)
    await seam_fake.reset()
    await seam_fake.delay(60, paths=[path], phase=phase)
    key = await open_and_submit(bot, slack, "delete_and_recreate", code_id, {})
    await wait_for_seam_call(seam_fake, path)
    await asyncio.sleep(0.3)
    await bot.kill()
    await asyncio.sleep(0.2)
    await seam_fake.delay(0)

    restarted = await BotProcess(seam_fake, slack, database).start()
    bots.append(restarted)
    await slack.wait_for_response(key, timeout=20)
    assert len(await seam_fake.calls("/access_codes/create")) == creates  # never a second copy
    same = [
        c
        for c in await seam_fake.list_access_codes(before["device_id"])
        if c["name"] == before["name"]
    ]
    assert len(same) == 1  # the guest's code is on the lock exactly once
    rows = await audit_rows(database, "delete_and_recreate")
    assert len(rows) == 1 and rows[0].outcome == outcome and words in rows[0].detail
    assert before["code"] not in rows[0].detail
    assert len(slack.responses[key]) == 1
    await assert_nothing_stuck(database, code_id)


async def test_a_change_still_in_flight_when_the_bot_died_is_never_called_undone(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack, bots: list[BotProcess]
) -> None:
    """Seam holds the delete for 3 s and then does it; the bot is killed the moment it sent it.
    A recovery that read the code at once would say "did not happen" and close the journal,
    and the guest's code would be gone for good. The bot waits out the window in which a sent
    request may still land, then re-creates the code, once."""
    database = tmp_path / "bot.sqlite3"
    code_id = seam_fake.ids["codes"]["external_modification"]
    before = await seam_fake.get_access_code(code_id)
    assert before is not None
    bot = await BotProcess(seam_fake, slack, database).start()
    bots.append(bot)
    await seam_fake.reset()
    await seam_fake.delay(3, paths=["/access_codes/delete"], phase="before")
    key = await open_and_submit(bot, slack, "delete_and_recreate", code_id, {})
    await wait_for_seam_call(seam_fake, "/access_codes/delete")
    await bot.kill()
    await seam_fake.delay(0)  # the held delete still lands, 3 s after it was sent

    restarted = await BotProcess(seam_fake, slack, database).start()
    bots.append(restarted)
    await slack.wait_for_response(key, timeout=30)
    (message,) = slack.responses[key]
    assert "did not happen" not in json.dumps(message) and "created again" in json.dumps(message)
    same = [
        c
        for c in await seam_fake.list_access_codes(before["device_id"])
        if c["name"] == before["name"]
    ]
    assert len(same) == 1
    rows = await audit_rows(database, "delete_and_recreate")
    assert len(rows) == 1 and rows[0].outcome == "success"
    await assert_nothing_stuck(database, code_id)


async def test_a_pulled_backup_code_is_shown_to_its_requester_after_a_kill(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack, bots: list[BotProcess]
) -> None:
    """Seam pulled the backup code, the bot died before it heard: after the restart the
    requester gets the backup PIN privately (Seam names the backup on the code), once."""
    database = tmp_path / "bot.sqlite3"
    code_id = seam_fake.ids["codes"]["failed_to_set"]
    bot = await BotProcess(seam_fake, slack, database).start()
    bots.append(bot)
    path = "/access_codes/pull_backup_access_code"
    key = await kill_after_seam_took_it(bot, seam_fake, slack, "pull_backup", code_id, {}, path)
    original = await seam_fake.get_access_code(code_id)
    assert original is not None and original["pulled_backup_access_code_id"]
    backup = await seam_fake.get_access_code(original["pulled_backup_access_code_id"])
    assert backup is not None

    restarted = await BotProcess(seam_fake, slack, database).start()
    bots.append(restarted)
    await slack.wait_for_response(key, count=2, timeout=20)
    texts = [json.dumps(m) for m in slack.responses[key]]
    private = [t for t in texts if backup["code"] in t]
    assert len(private) == 1 and '"response_type": "ephemeral"' in private[0]
    assert "Show backup PIN" in private[0]
    assert backup["code"] not in next(t for t in texts if t not in private)
    rows = await audit_rows(database, "pull_backup")
    assert len(rows) == 1 and rows[0].outcome == "success"
    assert backup["code"] not in rows[0].detail


async def test_two_processes_recovering_through_a_slow_seam_finish_it_once(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack, bots: list[BotProcess]
) -> None:
    """Seam takes longer to answer a recovery's read (3 s) than REMEDY_RECOVERY_SECONDS (2 s):
    the process recovering keeps the entry alive (its heartbeat is its own task), so the other
    process never takes it over: one audit row, one message."""
    database = tmp_path / "bot.sqlite3"
    code_id = seam_fake.ids["codes"]["failed_to_set"]
    bot = await BotProcess(seam_fake, slack, database).start()
    bots.append(bot)
    key = await kill_after_seam_took_it(
        bot, seam_fake, slack, "update_pin", code_id, PIN_5821, "/access_codes/update"
    )
    await seam_fake.delay(3, paths=["/access_codes/get"], phase="after")
    for _ in range(2):
        bots.append(await BotProcess(seam_fake, slack, database).start())
    await slack.wait_for_response(key, timeout=20)
    await asyncio.sleep(RECOVERY_SECONDS * 3)  # time for a second, wrong takeover
    rows = await audit_rows(database, "update_pin")
    assert len(rows) == 1 and rows[0].outcome == "success"
    assert len(slack.responses[key]) == 1
    await assert_nothing_stuck(database, code_id)
