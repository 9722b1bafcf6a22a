"""Shared fixtures: the real Seam fake, the loopback Slack fake, and the bot served over HTTP.

`bot` serves the real aiohttp application (`bot.app.build_web_app`) on a loopback port with a
real SQLite file in `tmp_path`, its Seam client pointed at the Seam fake and its Slack client at
the Slack fake. Requests are signed exactly as Slack signs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.app import SERVICES_KEY, build_web_app
from bot.services.container import Services
from bot.settings import Settings, load_settings
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from devtools.slack_requests import (
    block_actions_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from tests.support.databases import database_url, postgres_server

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No proxy, OAuth or bot settings leak in from the machine's environment."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name.startswith(("SLACK_", "SEAM_")):
            monkeypatch.delenv(name, raising=False)
    for name in (
        "ALERT_CHANNEL",
        "ALERT_ROUTES",
        "REMEDY_ALLOWED_USERS",
        "DATABASE_PATH",
        "DATABASE_URL",
        "PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(params=["sqlite", "postgres"])
async def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a store test's store lives, once per engine: a SQLite file, then a fresh database
    on a real PostgreSQL server (skipped where PostgreSQL cannot run, failed in CI)."""
    if request.param == "sqlite":
        return tmp_path / "store.sqlite3"
    try:
        server = postgres_server()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL is not available here: {exc}")
    return await server.create_database()


@pytest.fixture
async def seam_fake() -> AsyncIterator[SeamFake]:
    """A fresh seeded Seam fake (official `@seamapi/fake-seam-connect` behind the test shim)."""
    async with SeamFake.start(port=0) as fake:
        yield fake


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A loopback fake of the Slack Web API and response_url sink."""
    async with FakeSlack() as fake:
        yield fake


@dataclass
class Bot:
    """The served bot and ways to reach it like Slack does."""

    url: str
    settings: Settings
    services: Services
    slack: FakeSlack
    seam: SeamFake
    http: httpx.AsyncClient
    _n: int = field(default=0)
    web: web.Application | None = None

    async def post(
        self,
        body: bytes,
        *,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST a body to /slack/events, signed with `secret` (Slack's v0 scheme)."""
        sent = {**signed_headers(secret, body, timestamp), **(headers or {})}
        return await self.http.post(f"{self.url}/slack/events", content=body, headers=sent)

    def _key(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    async def command(
        self, text: str, *, user_id: str = "U111"
    ) -> tuple[httpx.Response, str, float]:
        """Send `/seam-code text`; returns the HTTP response, the response_url key, and seconds."""
        key = self._key("cmd")
        body = slash_command_body(
            text,
            user_id=user_id,
            response_url=self.slack.response_url(key),
            trigger_id=self.slack.issue_trigger_id(),
        )
        started = time.perf_counter()
        response = await self.post(body)
        return response, key, time.perf_counter() - started

    async def press(
        self,
        action_id: str,
        value: str,
        *,
        user_id: str = "U111",
        is_ephemeral: bool = True,
        channel_id: str = "C111",
        message_ts: str = "1700000000.000100",
    ) -> tuple[httpx.Response, str]:
        """Click a button; returns the HTTP response and the response_url key."""
        key = self._key("press")
        body = block_actions_body(
            action_id,
            value,
            user_id=user_id,
            channel_id=channel_id,
            message_ts=message_ts,
            response_url=self.slack.response_url(key),
            trigger_id=self.slack.issue_trigger_id(),
            is_ephemeral=is_ephemeral,
        )
        return await self.post(body), key

    async def submit(
        self,
        view: dict[str, Any],
        values: dict[str, dict[str, Any]],
        *,
        user_id: str = "U111",
    ) -> httpx.Response:
        """Submit a modal the bot opened (`view` as stored by the Slack fake)."""
        body = view_submission_body(
            view["callback_id"],
            values,
            private_metadata=view.get("private_metadata", ""),
            user_id=user_id,
            trigger_id=self.slack.issue_trigger_id(),
            view_id=view["id"],
        )
        return await self.post(body)

    async def reply(self, key: str, count: int = 1, wait: float = 10.0) -> dict[str, Any]:
        """The `count`-th response_url post under `key` (waits for it)."""
        await self.slack.wait_for_response(key, count=count, timeout=wait)
        return self.slack.responses[key][count - 1]


def reply_text(message: dict[str, Any]) -> str:
    """All text of a Slack message (fallback text and every block) as one string."""
    return (
        message.get("text", "") + "\n" + json.dumps(message.get("blocks", []), ensure_ascii=False)
    )


async def serve_bot(
    tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack, **overrides: Any
) -> AsyncIterator[Bot]:
    """Serve the bot against the fakes until the generator is closed."""
    settings = load_settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        seam_api_key=seam_fake.api_key,
        seam_endpoint=seam_fake.url,
        slack_api_url=slack.api_url,
        **{
            "remedy_allowed_users": "*",
            "database_path": tmp_path / "bot.sqlite3",
            "database_url": await database_url(tmp_path / "bot.sqlite3"),
            "scan_interval_seconds": 0,
            **overrides,
        },
    )
    webapp = await build_web_app(settings)
    runner = web.AppRunner(webapp, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        yield Bot(
            url=f"http://127.0.0.1:{port}",
            settings=settings,
            services=webapp[SERVICES_KEY],
            slack=slack,
            seam=seam_fake,
            http=http,
            web=webapp,
        )
    await runner.cleanup()


@pytest.fixture
async def bot(tmp_path: Path, seam_fake: SeamFake, slack: FakeSlack) -> AsyncIterator[Bot]:
    """The bot served on loopback (REMEDY_ALLOWED_USERS=*: everyone may run remedies)."""
    async for served in serve_bot(tmp_path, seam_fake, slack):
        yield served
