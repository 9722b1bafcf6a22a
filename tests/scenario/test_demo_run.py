"""`python -m devtools.run`: real bot with credentials, otherwise the demo (fakes + stand-in)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools import run
from devtools.run import CREDENTIALS, DEMO_CHANNEL, Demo, DemoOptions, credentials_status
from devtools.seam_fake import REPO_ROOT

HAS_SCANNER = importlib.util.find_spec("bot.services.scanning") is not None
NO_SCANNER = "bot.scanner does not exist yet: the alert-channel assertion is skipped"


# ============================================================================ credentials


def test_credentials_come_from_the_environment_or_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    assert credentials_status({}, env_file) == dict.fromkeys(CREDENTIALS, False)
    env_file.write_text("SLACK_BOT_TOKEN=xoxb-1\nSLACK_SIGNING_SECRET=s\n")
    assert credentials_status({"SEAM_API_KEY": "seam_k"}, env_file) == dict.fromkeys(
        CREDENTIALS, True
    )
    # Blank values and .env.example's unedited placeholders do not count.
    env_file.write_text((REPO_ROOT / ".env.example").read_text())
    assert credentials_status({}, env_file) == dict.fromkeys(CREDENTIALS, False)
    assert credentials_status({"SEAM_API_KEY": " "}, None)["SEAM_API_KEY"] is False


def test_with_credentials_run_execs_the_real_bot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in zip(CREDENTIALS, ("xoxb-real", "secret", "seam_key"), strict=True):
        monkeypatch.setenv(name, value)
    calls: list[tuple[str, list[str]]] = []

    def fake_execv(path: str, args: list[str]) -> None:
        calls.append((path, args))
        raise SystemExit(0)

    monkeypatch.setattr(os, "execv", fake_execv)
    with pytest.raises(SystemExit):
        run.main([])
    assert calls == [(sys.executable, [sys.executable, "-m", "bot", "serve"])]


def test_demo_suggestions_list_failing_codes_first() -> None:
    ids = {"codes": {"healthy_guest": "h", "duplicate": "d", "no_space": "n"}}
    suggestions = run.demo_suggestions(ids)
    assert [s.access_code_id for s in suggestions] == ["d", "n", "h"]
    assert "Duplicate" in suggestions[0].label


# ============================================================================ the demo, in-process


async def test_demo_serves_the_page_and_the_bot_and_takes_a_free_port_when_busy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        options = DemoOptions(ui_port=taken, bot_port=taken, scan_interval=30, data_dir=tmp_path)
        async with Demo(options) as demo, httpx.AsyncClient(trust_env=False, timeout=30) as http:
            assert demo.ui_url.startswith("http://127.0.0.1:")
            assert not demo.ui_url.endswith(f":{taken}")
            assert not demo.bot_url.endswith(f":{taken}")
            # said once, after binding, with the port really used (not the busy one asked for)
            serving = [r.getMessage() for r in caplog.records if "serving Slack" in r.getMessage()]
            assert serving == [
                f"serving Slack requests on {demo.bot_url}/slack/events (Seam at {demo.seam.url})"
            ]
            assert demo.ui_url in demo.describe()
            assert demo.seam.ids["codes"]["duplicate"] in demo.describe()
            page = await http.get(demo.ui_url)
            assert page.status_code == 200 and "local Slack stand-in" in page.text
            health = await http.get(f"{demo.bot_url}/healthz")
            assert health.json()["ok"] is True
            assert demo.settings.alert_channel == DEMO_CHANNEL
            assert demo.settings.database_path.parent == tmp_path
            # A command typed in the page reaches the bot and its answer shows up.
            code_id = demo.seam.ids["codes"]["duplicate"]
            sent = await http.post(
                f"{demo.ui_url}/api/command", json={"text": f"/seam-code {code_id}"}
            )
            assert sent.json() == {"ok": True, "status": 200}
            await demo.slack.wait_for(lambda: demo.slack.responses, 10, what="the answer")
            [answer] = next(iter(demo.slack.responses.values()))
            assert "duplicate_code_on_device" in str(answer["blocks"])
            if not HAS_SCANNER:
                pytest.skip(NO_SCANNER)
            # The first scan runs at start-up: alerts reach the channel well within one interval.
            await demo.slack.wait_for(
                lambda: len(demo.slack.messages(DEMO_CHANNEL)) >= 3, 25, what="seeded alerts"
            )


# ============================================================================ the real command


def _children(pid: int) -> list[int]:
    """Direct child process ids of `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc to find child processes")
async def test_python_m_devtools_run_starts_the_demo_and_stops_cleanly(tmp_path: Path) -> None:
    """No credentials: one line, the page URL, codes to try; SIGTERM stops node too."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "SEAM_")) and not k.lower().endswith("_proxy")
    }
    env.update(PYTHONPATH=str(REPO_ROOT), DEMO_PORT="0", PORT="0", PYTHONUNBUFFERED="1")
    stderr = (tmp_path / "stderr.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devtools.run",
        cwd=tmp_path,  # no .env here
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        url = ""
        deadline = time.monotonic() + 40
        while not url:
            line = await asyncio.wait_for(proc.stdout.readline(), deadline - time.monotonic())
            if not line:
                raise AssertionError(
                    "exited early:\n" + "".join(lines) + (tmp_path / "stderr.log").read_text()
                )
            lines.append(line.decode())
            if match := re.search(r"Open (http://127\.0\.0\.1:\d+)", lines[-1]):
                url = match.group(1)
        assert lines[0].startswith("Starting the demo (no Slack or Seam credentials configured)")
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            assert (await http.get(url)).status_code == 200
            state: dict[str, Any] = (await http.get(f"{url}/api/state?wait=0")).json()
            assert state["suggestions"]
            if HAS_SCANNER:
                for _ in range(60):
                    if state["channels"][0]["items"]:
                        break
                    state = (
                        await http.get(f"{url}/api/state?since={state['revision']}&wait=1")
                    ).json()
                assert state["channels"][0]["items"], "no alert reached the stand-in"
        children = _children(proc.pid)
        assert children, "the Seam fake's node process should be a child"
        proc.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(proc.stdout.read(), 20)
        assert await asyncio.wait_for(proc.wait(), 5) == 0
        assert "Stopping the demo" in rest.decode()
        await asyncio.sleep(0.2)
        assert [pid for pid in children if _alive(pid)] == []
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        stderr.close()


async def test_the_demo_sends_seam_webhooks_and_the_stand_in_shows_them(tmp_path: Path) -> None:
    from bot.seam.client import SeamClient
    from devtools.demo_webhooks import WEBHOOK_CHANNEL

    options = DemoOptions(ui_port=0, bot_port=0, scan_interval=0, data_dir=tmp_path)
    async with Demo(options) as demo:
        code_id = demo.seam.ids["codes"]["failed_to_set"]
        async with SeamClient(demo.seam.api_key, demo.seam.url) as seam:
            await seam.update_access_code(code_id, code="5821")

        def shown() -> list[str]:
            return [m.get("text", "") for m in demo.slack.messages(WEBHOOK_CHANNEL)]

        await demo.slack.wait_for(lambda: len(shown()) >= 2, timeout=10)
        assert any("access_code.set_on_device" in t and ": 200" in t for t in shown())
        assert "5821" not in " ".join(shown())
        assert await demo.services_events_seen() >= 2
