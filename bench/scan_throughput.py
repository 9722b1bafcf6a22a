"""Scan throughput: one full workspace scan of 1,000 devices and 10,000 codes (5 % failing).

    .venv/bin/python -m bench.scan_throughput [--devices 1000] [--codes-per-device 10]
        [--failing-ratio 0.05] [--rounds 3] [--json out.json]

The Seam fake runs the large scenario (`devtools/fake_seam.mjs --scenario large`). Each run is
a fresh Python child process (`--child bot|bare`), so its peak RSS belongs to that run alone:

* **bot**: `bot.scanner.scan_workspace` with the production `SeamClient` and concurrency
  (`DEFAULT_CONCURRENCY` devices in flight): `/devices/list` (every page), then per device
  `/access_codes/list` and `/access_codes/unmanaged/list`, parsed into models and findings.
* **bare** (the lower bound): the same HTTP calls with a plain `httpx.AsyncClient`, the same
  headers and the same concurrency (a semaphore of `DEFAULT_CONCURRENCY` devices, each doing its
  two lists in turn). Only `/devices/list` pages are decoded (to follow the cursor); the code
  lists are read to the end and dropped.

Bot and bare runs alternate (`--rounds` each); the medians are compared. Seam calls are counted
twice: by the client (`SeamClient.calls`) and by the fake's own call log. Memory: `ru_maxrss`
of the child (peak RSS of the process) before the scan (after imports and client set-up) and
after it; then one more bot run under `tracemalloc` gives the peak of Python allocations during
the scan (tracemalloc slows the run, so its time is not used).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import sys
import time
import tracemalloc
from typing import Any

import httpx

from bench.common import (
    PYTHON,
    REPO_ROOT,
    Target,
    bot_env,
    machine_facts,
    median,
    print_table,
    print_targets,
    write_json,
)
from bot.domain.catalogue import default_catalogue
from bot.seam.client import SeamClient
from bot.services.observing import DEFAULT_CONCURRENCY, scan_workspace
from devtools.seam_fake import SeamFake

#: Seam's default `/devices/list` page size (the fake uses the same, 500).
DEVICES_PAGE = 500
TARGET_RATIO = 1.25
TARGET_RSS_MB = 150.0


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# ----------------------------------------------------------------------------- child runs


async def bot_run(url: str, key: str, concurrency: int, trace: bool) -> dict[str, Any]:
    """One `scan_workspace` with the production client; timings, calls, findings, memory."""
    catalogue = default_catalogue()
    async with SeamClient(key, url) as seam:
        before = _maxrss_mb()
        if trace:
            tracemalloc.start()
        cpu, wall = time.process_time(), time.perf_counter()
        scan = await scan_workspace(seam, catalogue=catalogue, concurrency=concurrency)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak_traced = tracemalloc.get_traced_memory()[1] / 1024 / 1024 if trace else None
        if trace:
            tracemalloc.stop()
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "calls": seam.calls,
            "scan_calls": scan.seam_calls,
            "complete": scan.complete,
            "devices": len(scan.devices),
            "codes": len(scan.codes),
            "findings": len(scan.findings),
            "rss_before_mb": before,
            "rss_peak_mb": _maxrss_mb(),
            "tracemalloc_peak_mb": peak_traced,
        }


async def bare_run(url: str, key: str, concurrency: int) -> dict[str, Any]:
    """The lower bound: the same list calls with plain httpx, no parsing of code lists."""
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=10, trust_env=False
    ) as http:
        before = _maxrss_mb()
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
            "rss_peak_mb": _maxrss_mb(),
        }


# ----------------------------------------------------------------------------- driver


async def _child(
    mode: str, fake: SeamFake, concurrency: int, trace: bool = False
) -> dict[str, Any]:
    await fake.reset()  # empty call log, no delays
    args = ["--child", mode, "--url", fake.url, "--key", fake.api_key]
    args += ["--concurrency", str(concurrency)] + (["--trace"] if trace else [])
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "bench.scan_throughput",
        *args,
        cwd=str(REPO_ROOT),
        env=bot_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} run failed:\n{err.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(out)
    result["fake_calls"] = len(await fake.calls())
    return result


async def run(
    devices: int, codes_per_device: int, failing_ratio: float, rounds: int, concurrency: int
) -> dict[str, Any]:
    """Start the large fake and alternate bot and bare runs; one traced bot run at the end."""
    async with SeamFake.start(
        scenario="large",
        devices=devices,
        codes_per_device=codes_per_device,
        failing_ratio=failing_ratio,
        ready_timeout=120,
    ) as fake:
        bot_runs: list[dict[str, Any]] = []
        bare_runs: list[dict[str, Any]] = []
        await _child("bare", fake, concurrency)  # warm-up (JIT of the fake, page cache)
        for _ in range(rounds):
            bare_runs.append(await _child("bare", fake, concurrency))
            bot_runs.append(await _child("bot", fake, concurrency))
        traced = await _child("bot", fake, concurrency, trace=True)
        return {
            "scenario": fake.ids["counts"],
            "concurrency": concurrency,
            "bot": bot_runs,
            "bare": bare_runs,
            "traced": traced,
        }


def report(results: dict[str, Any]) -> tuple[dict[str, Any], list[Target]]:
    """Print the table; return the summary numbers and the targets."""
    counts = results["scenario"]
    bot, bare, traced = results["bot"], results["bare"], results["traced"]
    bot_wall = median([r["wall_s"] for r in bot])
    bare_wall = median([r["wall_s"] for r in bare])
    ratio = bot_wall / bare_wall
    pages = math.ceil(counts["devices"] / DEVICES_PAGE)
    expected_calls = counts["devices"] * 2 + pages
    calls = {r["calls"] for r in bot} | {r["fake_calls"] for r in bot}
    peak = max(r["rss_peak_mb"] for r in bot)
    before = min(r["rss_before_mb"] for r in bot)
    summary = {
        "devices": counts["devices"],
        "codes": counts["codes"],
        "failing": counts["failing"],
        "findings": bot[0]["findings"],
        "complete": all(r["complete"] for r in bot),
        "bot_wall_s": [round(r["wall_s"], 3) for r in bot],
        "bare_wall_s": [round(r["wall_s"], 3) for r in bare],
        "bot_wall_median_s": bot_wall,
        "bare_wall_median_s": bare_wall,
        "ratio": ratio,
        "bot_cpu_median_s": median([r["cpu_s"] for r in bot]),
        "bare_cpu_median_s": median([r["cpu_s"] for r in bare]),
        "seam_calls": sorted(calls),
        "expected_calls": expected_calls,
        "rss_before_mb": before,
        "rss_peak_mb": peak,
        "rss_delta_mb": peak - before,
        "bare_rss_peak_mb": max(r["rss_peak_mb"] for r in bare),
        "tracemalloc_peak_mb": traced["tracemalloc_peak_mb"],
    }
    print_table(
        f"Scan throughput: {counts['devices']} devices, {counts['codes']} codes "
        f"({counts['failing']} failing), {results['concurrency']} devices in flight",
        [
            ("bot scan wall s (runs)", summary["bot_wall_s"]),
            ("bare httpx wall s (runs)", summary["bare_wall_s"]),
            ("median bot / bare s", f"{bot_wall:.2f} / {bare_wall:.2f}"),
            ("ratio bot / bare", f"{ratio:.2f}"),
            (
                "CPU s in the client process",
                f"bot {summary['bot_cpu_median_s']:.2f}, bare {summary['bare_cpu_median_s']:.2f}",
            ),
            ("Seam calls per scan", f"{sorted(calls)} (expected {expected_calls})"),
            ("scan complete / findings", f"{summary['complete']} / {summary['findings']}"),
            (
                "peak RSS MB (before scan)",
                f"{peak:.1f} ({before:.1f}; delta {peak - before:.1f}); bare "
                f"{summary['bare_rss_peak_mb']:.1f}",
            ),
            ("tracemalloc peak MB (scan)", f"{traced['tracemalloc_peak_mb']:.1f}"),
        ],
    )
    targets = [
        Target(
            "scan time / bare lower bound",
            f"{ratio:.2f}",
            f"<= {TARGET_RATIO}",
            ratio <= TARGET_RATIO,
        ),
        Target(
            "peak RSS of the scanning process",
            f"{peak:.1f} MB",
            f"< {TARGET_RSS_MB:.0f} MB",
            peak < TARGET_RSS_MB,
        ),
        Target(
            "Seam calls per scan",
            ", ".join(str(c) for c in sorted(calls)),
            f"devices x 2 + pages = {expected_calls}",
            calls == {expected_calls},
        ),
    ]
    return summary, targets


def main(argv: list[str] | None = None) -> int:
    """Command line (driver by default; `--child` is one measured run in its own process)."""
    parser = argparse.ArgumentParser(prog="python -m bench.scan_throughput", description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--codes-per-device", type=int, default=10)
    parser.add_argument("--failing-ratio", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3, help="bot and bare runs each")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument("--child", choices=["bot", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "bot":
        print(json.dumps(asyncio.run(bot_run(args.url, args.key, args.concurrency, args.trace))))
        return 0
    if args.child == "bare":
        print(json.dumps(asyncio.run(bare_run(args.url, args.key, args.concurrency))))
        return 0
    print("machine:", machine_facts())
    results = asyncio.run(
        run(args.devices, args.codes_per_device, args.failing_ratio, args.rounds, args.concurrency)
    )
    summary, targets = report(results)
    passed = print_targets(targets)
    write_json(
        args.json, "scan_throughput", {"summary": summary, "targets": targets, "runs": results}
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
