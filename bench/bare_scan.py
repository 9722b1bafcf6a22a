"""The lower bound of a scan: the same Seam calls with a plain `httpx.AsyncClient`, nothing else.

    .venv/bin/python -m bench.bare_scan --url URL --key KEY [--concurrency 8]

`/devices/list` pages are decoded (to follow the cursor); each device's `/access_codes/list` and
`/access_codes/unmanaged/list` are read to the end and dropped, with `concurrency` devices in
flight. Prints one JSON line: wall and CPU seconds of the loop, calls, devices, peak RSS (MB).
This module imports only httpx and the standard library, so run as its own process it is also
the lower bound of a whole `python -m bot scan --once` process (start-up included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from typing import Any

import httpx


def maxrss_mb() -> float:
    """Peak RSS of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def bare_run(url: str, key: str, concurrency: int) -> dict[str, Any]:
    """One bare pass over the workspace; timings, calls, devices and memory."""
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=10, trust_env=False
    ) as http:
        before = maxrss_mb()
        calls = 0
        cpu, wall = time.process_time(), time.perf_counter()
        device_ids: list[str] = []
        cursor: str | None = None
        while True:
            response = await http.post(
                "/devices/list", json={"page_cursor": cursor} if cursor else {}
            )
            calls += 1
            page = response.json()
            device_ids += [d["device_id"] for d in page["devices"]]
            pagination = page.get("pagination") or {}
            cursor = pagination.get("next_page_cursor")
            if not pagination.get("has_next_page") or not cursor:
                break
        gate = asyncio.Semaphore(concurrency)

        async def one(device_id: str) -> None:
            nonlocal calls
            async with gate:
                for path in ("/access_codes/list", "/access_codes/unmanaged/list"):
                    response = await http.post(path, json={"device_id": device_id})
                    await response.aread()
                    response.raise_for_status()
                    calls += 1

        await asyncio.gather(*(one(d) for d in device_ids))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "calls": calls,
            "devices": len(device_ids),
            "rss_before_mb": before,
            "rss_peak_mb": maxrss_mb(),
        }


def main(argv: list[str] | None = None) -> int:
    """Command line: one bare pass, its numbers as one JSON line on stdout."""
    parser = argparse.ArgumentParser(prog="python -m bench.bare_scan", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(bare_run(args.url, args.key, args.concurrency))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
