"""Serve the bot like `python -m bot serve`, but on 127.0.0.1 and a free port it reports.

Settings come from the environment exactly as for `python -m bot`; the one difference is the
listening address: `127.0.0.1:<free port>` instead of `0.0.0.0:$PORT`, printed on stdout as
`PORT <n>` once the server accepts connections. Stops on SIGTERM/SIGINT.

Experiment (off unless set): `BENCH_SEAM_MAX_IN_FLIGHT=N` wraps `SeamClient._send` in an
`asyncio.Semaphore(N)`, to measure the fix proposed in docs/benchmarks.md (bound the Seam
requests in flight below httpx's pool size, so waiting happens on a semaphore instead of inside
httpcore's connection pool).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any

from bench._minimal_bolt import serve_on_free_port
from bot.app import build_web_app
from bot.seam.client import SeamClient
from bot.settings import SettingsError, load_settings


def _bound_seam_requests(limit: int) -> None:
    """The experiment: at most `limit` Seam HTTP requests in flight per process."""
    original = SeamClient._send
    gate = asyncio.Semaphore(limit)

    async def send(self: SeamClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with gate:
            return await original(self, path, body)

    SeamClient._send = send  # type: ignore[method-assign]


async def serve() -> int:
    """Build the real web app (`bot.app.build_web_app`) and serve it until a stop signal."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"bench._serve: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if limit := os.environ.get("BENCH_SEAM_MAX_IN_FLIGHT"):
        _bound_seam_requests(int(limit))
        logging.getLogger(__name__).warning("experiment: Seam requests in flight <= %s", limit)
    return await serve_on_free_port(await build_web_app(settings))


if __name__ == "__main__":
    sys.exit(asyncio.run(serve()))
