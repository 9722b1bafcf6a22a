"""The baseline for start-up and ack latency: a minimal Bolt app on the same aiohttp adapter.

    python -m bench._minimal_bolt            # as `python -m bot serve`: run_app, 0.0.0.0:$PORT
    python -m bench._minimal_bolt --served   # as `python -m bench._serve`: 127.0.0.1, PORT n

It has what every Slack app on this stack has and nothing of the bot: `AsyncApp` with a bot
token and signing secret (single workspace, `process_before_response=False`), Bolt's own aiohttp
app (`AsyncApp.web_app`) on `/slack/events`, one `/seam-code` listener and one `remedy:recheck`
action listener that only ack, and `GET /healthz` answering `{"ok": true}`. No access log, as
the bot. Settings: `SLACK_BOT_TOKEN`, `SLACK_SIGNING_SECRET`, `SLACK_API_URL`, `PORT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def build() -> web.Application:
    """The minimal app (see the module docstring)."""
    token = os.environ["SLACK_BOT_TOKEN"]
    app = AsyncApp(
        client=AsyncWebClient(token=token, base_url=os.environ.get("SLACK_API_URL") or None),
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=False,
    )

    @app.command("/seam-code")
    async def command(ack: AsyncAck) -> None:
        await ack()

    @app.action("remedy:recheck")
    async def press(ack: AsyncAck) -> None:
        await ack()

    webapp = app.web_app(path="/slack/events", port=int(os.environ.get("PORT", "3000")))

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    webapp.router.add_get("/healthz", healthz)
    return webapp


async def serve_on_free_port(app: web.Application) -> int:
    """Serve `app` on 127.0.0.1 and a free port, printed as `PORT <n>`, with no access log,
    until SIGTERM/SIGINT (also used by `bench._serve`)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(f"PORT {runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Serve like `python -m bot serve`, or (`--served`) like `bench._serve`."""
    args: list[Any] = list(sys.argv[1:] if argv is None else argv)
    if "--served" in args:
        return asyncio.run(serve_on_free_port(build()))
    web.run_app(build(), host="0.0.0.0", port=int(os.environ["PORT"]), print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
