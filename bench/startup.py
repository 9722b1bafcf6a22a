"""Start-up to a healthy `/healthz`: `python -m bot serve` against a minimal Bolt app.

    .venv/bin/python -m bench.startup [--rounds 7] [--json out.json]

Each run is a fresh process on a free port: **bot** = `python -m bot serve` (production
settings, an existing SQLite file, no scanning); **minimal** = `python -m bench._minimal_bolt`
(Bolt's aiohttp app with one ack-only listener and `/healthz`, served by the same
`web.run_app`). The driver polls `GET /healthz` every 5 ms from the moment it spawns the process
until the first 200, then stops it (SIGTERM). Bot and minimal runs alternate after one warm-up
each; medians compared. Target (issue 16): bot ≤ 1.5 × minimal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    BOT_TOKEN,
    PYTHON,
    REPO_ROOT,
    SIGNING_SECRET,
    Target,
    bot_env,
    machine_facts,
    median,
    print_table,
    print_targets,
    write_json,
)

TARGET_RATIO = 1.5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def one(mode: str, database: Path) -> float:
    """Seconds from spawning `mode` ("bot" or "minimal") to its first healthy `/healthz`."""
    port = _free_port()
    env = bot_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL="http://127.0.0.1:9/api/",
        SEAM_API_KEY="seam_bench",
        SEAM_ENDPOINT="http://127.0.0.1:9",
        SCAN_INTERVAL_SECONDS="0",
        DATABASE_PATH=str(database),
        LOG_LEVEL="WARNING",
        PORT=str(port),
    )
    module = ["bot", "serve"] if mode == "bot" else ["bench._minimal_bolt"]
    url = f"http://127.0.0.1:{port}/healthz"
    async with httpx.AsyncClient(trust_env=False, timeout=1) as http:
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            PYTHON,
            "-m",
            *module,
            cwd=str(REPO_ROOT),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(url)).status_code == 200:
                        return time.perf_counter() - started
                if proc.returncode is not None or time.perf_counter() - started > 30:
                    err = await proc.stderr.read() if proc.stderr else b""
                    raise RuntimeError(f"{mode} never became healthy:\n{err.decode()[-2000:]}")
                await asyncio.sleep(0.005)
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            await proc.wait()


async def run(rounds: int) -> dict[str, Any]:
    """Warm up each, then alternate bot and minimal runs."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        database = Path(tmp) / "bot.sqlite3"
        await one("bot", database)  # creates and migrates the database, warms the page cache
        await one("minimal", database)
        bot: list[float] = []
        minimal: list[float] = []
        for _ in range(rounds):
            bot.append(await one("bot", database))
            minimal.append(await one("minimal", database))
    return {"bot_s": bot, "minimal_s": minimal}


def report(results: dict[str, Any]) -> tuple[dict[str, Any], list[Target]]:
    """Print the table; return the summary and the target."""
    bot, minimal = median(results["bot_s"]), median(results["minimal_s"])
    ratio = bot / minimal
    print_table(
        "Start-up to a healthy /healthz (spawn to first 200)",
        [
            ("bot `python -m bot serve` ms (runs)", [round(x * 1000) for x in results["bot_s"]]),
            ("minimal Bolt app ms (runs)", [round(x * 1000) for x in results["minimal_s"]]),
            ("median bot / minimal ms", f"{bot * 1000:.0f} / {minimal * 1000:.0f}"),
            ("ratio", f"{ratio:.2f}"),
        ],
    )
    summary = {"bot_median_s": bot, "minimal_median_s": minimal, "ratio": ratio}
    target = Target(
        "start-up bot / minimal Bolt app", f"{ratio:.2f}", f"<= {TARGET_RATIO}", ratio <= 1.5
    )
    return summary, [target]


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)
    print("machine:", machine_facts())
    results = asyncio.run(run(args.rounds))
    summary, targets = report(results)
    passed = print_targets(targets)
    write_json(args.json, "startup", {"summary": summary, "targets": targets, "runs": results})
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
