"""Storage faults are visible: a bad database stops start-up at once, and /healthz says when the
store cannot write. The bot runs as a real process where start-up is the point; the full disk
and the read-only folder are real (a small tmpfs, mounted by the test when it runs as root)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from tests.conftest import serve_bot
from tests.support.databases import sqlite_only

ROOT = Path(__file__).resolve().parents[2]
#: A full disk, a read-only folder, a corrupt file: SQLite's own failures.
pytestmark = sqlite_only


def start_bot(database: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "SEAM_", "DATABASE_", "REMEDY_", "ALERT_"))
    }
    env.update(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="secret",
        SEAM_API_KEY="seam_test",
        SEAM_ENDPOINT="http://127.0.0.1:9",
        DATABASE_PATH=str(database),
        PORT=str(_free_port()),
        SCAN_INTERVAL_SECONDS="0",
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "256k") -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.parametrize("fault", ["corrupt", "missing folder"])
def test_a_bad_database_stops_start_up_with_one_line_and_a_non_zero_exit(
    tmp_path: Path, fault: str
) -> None:
    database = tmp_path / "bot.sqlite3"
    if fault == "corrupt":
        database.write_bytes(b"this is not a database" * 500)
    else:
        database = tmp_path / "not-mounted" / "bot.sqlite3"
    started = time.monotonic()
    result = start_bot(database)
    assert result.returncode != 0 and time.monotonic() - started < 5
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "DATABASE_PATH" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_a_read_only_database_stops_start_up(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro") as folder:
        database = folder / "bot.sqlite3"
        ok = start_bot_once_to_create(database)
        assert ok
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        started = time.monotonic()
        result = start_bot(database)
        assert result.returncode != 0 and time.monotonic() - started < 5
        assert "database" in result.stderr.lower() and "Traceback" not in result.stderr


def start_bot_once_to_create(database: Path) -> bool:
    import asyncio as aio

    from bot.store import Store

    async def create() -> None:
        await (await Store.open(database)).close()

    aio.run(create())
    return database.exists()


async def test_healthz_is_503_while_the_disk_is_full_and_200_again_after(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    with tmpfs(tmp_path / "small", size="1m") as folder:
        async for bot in serve_bot(folder, seam_fake, slack):
            assert (await bot.http.get(f"{bot.url}/healthz")).status_code == 200
            filler = folder / "filler"
            with contextlib.suppress(OSError), filler.open("wb") as out:
                while True:
                    out.write(b"\0" * 65536)
            # Writes of the store now fail; several probes in a row to defeat page slack.
            statuses = []
            for _ in range(20):
                statuses.append((await bot.http.get(f"{bot.url}/healthz")).status_code)
                if statuses[-1] == 503:
                    break
                await asyncio.sleep(0.05)
            assert statuses[-1] == 503
            body = (await bot.http.get(f"{bot.url}/healthz")).json()
            assert body["ok"] is False and "cannot be written" in body["store"]
            filler.unlink()
            assert (await bot.http.get(f"{bot.url}/healthz")).status_code == 200


def fill(folder: Path) -> Path:
    """Fill the filesystem of `folder` up to the last byte; returns the filler file."""
    filler = folder / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as out:
        while True:
            out.write(b"\0" * 65536)
    return filler


async def test_disk_full_during_a_remedy_the_clicker_is_told_and_the_record_is_written_later(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    """Seam takes the new PIN while the disk is full: the clicker hears the real outcome at
    once, with a note that it is not recorded yet; once the disk has room the recovery timer
    writes the one audit row, confirms in the same place, and nothing is left stuck."""
    from bot.store import Store
    from tests.conftest import reply_text
    from tests.scenario.test_remedies import open_modal, pin_values

    code_id = seam_fake.ids["codes"]["failed_to_set"]
    with tmpfs(tmp_path / "small", size="1m") as folder:
        async for bot in serve_bot(folder, seam_fake, slack, remedy_recovery_seconds=2):
            await seam_fake.reset()
            view, key = await open_modal(bot, "update_pin", code_id)
            await seam_fake.delay(3, paths=["/access_codes/update"], phase="after")
            submitted = asyncio.create_task(bot.submit(view, pin_values("5821")))
            for _ in range(100):
                if await seam_fake.calls("/access_codes/update"):
                    break
                await asyncio.sleep(0.05)
            filler = fill(folder)
            for _ in range(40):  # defeat SQLite's page slack: wait until writes really fail
                if (await bot.http.get(f"{bot.url}/healthz")).status_code == 503:
                    break
                await asyncio.sleep(0.05)
            assert (await submitted).status_code == 200
            told = await bot.reply(key, wait=15)
            assert "5821" not in reply_text(told)
            assert "could not write this down" in reply_text(told)
            after = await seam_fake.get_access_code(code_id)
            assert after is not None and after["code"] == "5821"

            filler.unlink()
            confirmed = await bot.reply(key, count=2, wait=15)
            assert "now recorded" in reply_text(confirmed) and "5821" not in reply_text(confirmed)
            store = await Store.open(folder / "bot.sqlite3")
            try:
                rows = [e for e in await store.audit_entries() if e.action == "update_pin"]
                assert len(rows) == 1 and rows[0].outcome == "success"
                for _ in range(50):  # closed right after the message is sent
                    if not await store.journal_unfinished():
                        break
                    await asyncio.sleep(0.1)
                assert await store.journal_unfinished() == []
                assert await store.remedy_claim(f"code_lock:{code_id}") is None
            finally:
                await store.close()
            assert len(await seam_fake.calls("/access_codes/update")) == 1
