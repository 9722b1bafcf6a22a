"""`python -m bot` as a real process: serves /healthz and answers /seam-code on $PORT."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import httpx

from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from devtools.slack_requests import signed_headers, slash_command_body

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_python_m_bot_serves_and_answers(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack
) -> None:
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PORT": str(port),
        "SLACK_BOT_TOKEN": "xoxb-cli-test",
        "SLACK_SIGNING_SECRET": "cli-secret",
        "SEAM_API_KEY": seam_fake.api_key,
        "SEAM_ENDPOINT": seam_fake.url,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_PATH": str(tmp_path / "cli.sqlite3"),
        "SCAN_INTERVAL_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
            for _ in range(100):
                try:
                    health = await http.get(f"http://127.0.0.1:{port}/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("python -m bot did not start listening")
            assert health.status_code == 200 and health.json()["ok"] is True
            body = slash_command_body(
                seam_fake.ids["codes"]["duplicate"],
                response_url=slack.response_url("cli"),
                trigger_id=slack.issue_trigger_id(),
            )
            response = await http.post(
                f"http://127.0.0.1:{port}/slack/events",
                content=body,
                headers=signed_headers("cli-secret", body),
            )
            assert response.status_code == 200
            await slack.wait_for_response("cli", timeout=10)
            assert "duplicate_code_on_device" in str(slack.responses["cli"][0])
    finally:
        proc.terminate()
        output, _ = await asyncio.wait_for(proc.communicate(), 10)
    assert b"cli-secret" not in output and seam_fake.api_key.encode() not in output
    # once, with the port really bound (aiohttp binds it after the app's start-up ran)
    serving = [line for line in output.decode().splitlines() if "serving Slack requests" in line]
    assert len(serving) == 1, output.decode()[-2000:]
    assert f"serving Slack requests on http://0.0.0.0:{port}/slack/events" in serving[0]
    assert "Running on" not in output.decode()  # aiohttp's own banner is replaced by that line
