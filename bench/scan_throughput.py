"""Scan throughput: one full workspace scan of 1,000 devices and 10,000 codes (5 % failing).

    .venv/bin/python -m bench.scan_throughput [--devices 1000] [--codes-per-device 10]
        [--failing-ratio 0.05] [--rounds 3] [--bare-concurrency 4,8,16,32] [--json out.json]
    .venv/bin/python -m bench.scan_throughput --curve 100,1000,10000   # memory vs codes read

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

**Whole processes** (issue 16), side by side in the same run: `python -m bot scan --once` (the
command an operator runs: start-up, settings, the scan, the printed table, exit) against
`python -m bench.bare_scan` (plain httpx, only its own imports) at its *best* concurrency, picked
from `--bare-concurrency` by one run each. Each process is started with `posix_spawn` and reaped
with `os.wait4`, so its wall time (spawn to exit), CPU and peak RSS (`ru_maxrss`) are its own.
Targets: bot / bare ≤ 1.10 and the bot process's peak RSS < 200 MB.

`--curve` starts a workspace per size (devices × `--codes-per-device`) and runs one
`scan --once` process on each: peak RSS against codes read, to show that memory follows the
findings, not the codes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench import bare_scan
from bench.common import (
    PYTHON,
    REPO_ROOT,
    Target,
    bot_env,
    machine_facts,
    median,
    print_table,
    print_targets,
    python_module_json,
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
#: Issue 16: the whole `scan --once` process against the bare loop process, and its peak RSS.
TARGET_PROCESS_RATIO = 1.10
TARGET_PROCESS_RSS_MB = 200.0


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
            "codes": scan.codes_seen,
            "codes_kept": len(scan.codes),
            "findings": len(scan.findings),
            "rss_before_mb": before,
            "rss_peak_mb": _maxrss_mb(),
            "tracemalloc_peak_mb": peak_traced,
        }


async def bare_run(url: str, key: str, concurrency: int) -> dict[str, Any]:
    """The lower bound: the same list calls with plain httpx (`bench.bare_scan`)."""
    return await bare_scan.bare_run(url, key, concurrency)


# ----------------------------------------------------------------------------- driver


async def _child(
    mode: str, fake: SeamFake, concurrency: int, trace: bool = False
) -> dict[str, Any]:
    await fake.reset()  # empty call log, no delays
    args = ["--child", mode, "--url", fake.url, "--key", fake.api_key]
    args += ["--concurrency", str(concurrency)] + (["--trace"] if trace else [])
    result = await python_module_json("bench.scan_throughput", *args, what=f"{mode} run")
    result["fake_calls"] = len(await fake.calls())
    return result


#: Run by a small `python -S` launcher: spawns argv[2:], reaps it with wait4, writes its numbers to
#: argv[1]. A child spawned straight from this (large) driver would inherit the driver's peak
#: RSS in its `ru_maxrss` (Linux keeps the old memory map's high-water mark across exec).
_LAUNCHER = """
import json, os, sys, time
started = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], dict(os.environ))
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    json.dump({"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
               "rss_peak_mb": usage.ru_maxrss / 1024,
               "exit": os.waitstatus_to_exitcode(status)}, out)
"""


def _spawn_measured(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run one process to its end; its own wall (spawn to exit), CPU, peak RSS and exit code."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile(suffix=".json") as numbers,
    ):
        actions = [
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
        ]
        os.chdir(REPO_ROOT)
        launcher = [PYTHON, "-S", "-c", _LAUNCHER, numbers.name, *argv]
        pid = os.posix_spawn(PYTHON, launcher, env, file_actions=actions)
        os.waitpid(pid, 0)
        result: dict[str, Any] = json.loads(Path(numbers.name).read_text())
        out.seek(0)
        err.seek(0)
        result["stdout"] = out.read().decode()
        result["stderr"] = err.read().decode()[-2000:]
    return result


async def _process(mode: str, fake: SeamFake, concurrency: int) -> dict[str, Any]:
    """One whole process: `bot` = `python -m bot scan --once`, `bare` = `bench.bare_scan`."""
    await fake.reset()
    if mode == "bot":
        with tempfile.TemporaryDirectory() as tmp:
            env = bot_env(
                SLACK_BOT_TOKEN="xoxb-bench-token",
                SLACK_SIGNING_SECRET="bench-signing-secret",
                SEAM_API_KEY=fake.api_key,
                SEAM_ENDPOINT=fake.url,
                DATABASE_PATH=f"{tmp}/bench.sqlite3",
                LOG_LEVEL="WARNING",
            )
            argv = [PYTHON, "-m", "bot", "scan", "--once"]
            result = await asyncio.to_thread(_spawn_measured, argv, env)
        if result["exit"] != 0:
            raise RuntimeError(f"scan --once exited {result['exit']}:\n{result['stderr']}")
        last = [line for line in result.pop("stdout").splitlines() if line.startswith("Scan ")]
        result["summary"] = last[-1] if last else ""
    else:
        argv = [PYTHON, "-m", "bench.bare_scan", "--url", fake.url, "--key", fake.api_key]
        argv += ["--concurrency", str(concurrency)]
        result = await asyncio.to_thread(_spawn_measured, argv, bot_env())
        if result["exit"] != 0:
            raise RuntimeError(f"bare scan exited {result['exit']}:\n{result['stderr']}")
        result["loop"] = json.loads(result.pop("stdout"))
    result["mode"], result["concurrency"] = mode, concurrency
    result["fake_calls"] = len(await fake.calls())
    return result


async def run_processes(
    fake: SeamFake, rounds: int, concurrency: int, bare_concurrencies: list[int]
) -> dict[str, Any]:
    """Pick the bare loop's best concurrency, then alternate whole bot and bare processes."""
    trial = {c: await _process("bare", fake, c) for c in bare_concurrencies}
    best = min(trial, key=lambda c: trial[c]["wall_s"])
    bots: list[dict[str, Any]] = []
    bares: list[dict[str, Any]] = []
    for _ in range(rounds):
        bares.append(await _process("bare", fake, best))
        bots.append(await _process("bot", fake, concurrency))
    return {
        "bare_trial_s": {c: round(r["wall_s"], 3) for c, r in trial.items()},
        "bare_best_concurrency": best,
        "bot": bots,
        "bare": bares,
    }


def _large_fake(
    devices: int, codes_per_device: int, failing_ratio: float
) -> contextlib.AbstractAsyncContextManager[SeamFake]:
    """The Seam fake's large scenario at this size."""
    return SeamFake.start(
        scenario="large",
        devices=devices,
        codes_per_device=codes_per_device,
        failing_ratio=failing_ratio,
        ready_timeout=180,
    )


async def run_curve(sizes: list[int], codes_per_device: int, failing_ratio: float) -> list[Any]:
    """One `scan --once` process per workspace size: peak RSS against codes read."""
    points = []
    for devices in sizes:
        async with _large_fake(devices, codes_per_device, failing_ratio) as fake:
            bare = await _process("bare", fake, DEFAULT_CONCURRENCY)
            bot = await _process("bot", fake, DEFAULT_CONCURRENCY)
            points.append(
                {
                    **fake.ids["counts"],
                    "bot_rss_peak_mb": bot["rss_peak_mb"],
                    "bare_rss_peak_mb": bare["rss_peak_mb"],
                    "bot_wall_s": bot["wall_s"],
                    "bare_wall_s": bare["wall_s"],
                }
            )
    return points


async def run(
    devices: int,
    codes_per_device: int,
    failing_ratio: float,
    rounds: int,
    concurrency: int,
    bare_concurrencies: list[int],
    processes_only: bool = False,
) -> dict[str, Any]:
    """Start the large fake and alternate bot and bare runs; one traced bot run at the end;
    then the whole processes (`run_processes`). `processes_only`: one in-process bot run (for
    its kept/seen counts and tracemalloc peak) instead of the alternating in-process rounds."""
    async with _large_fake(devices, codes_per_device, failing_ratio) as fake:
        bot_runs: list[dict[str, Any]] = []
        bare_runs: list[dict[str, Any]] = []
        await _child("bare", fake, concurrency)  # warm-up (JIT of the fake, page cache)
        for _ in range(1 if processes_only else rounds):
            bare_runs.append(await _child("bare", fake, concurrency))
            bot_runs.append(await _child("bot", fake, concurrency))
        traced = await _child("bot", fake, concurrency, trace=True)
        processes = await run_processes(fake, rounds, concurrency, bare_concurrencies)
        return {
            "scenario": fake.ids["counts"],
            "concurrency": concurrency,
            "bot": bot_runs,
            "bare": bare_runs,
            "traced": traced,
            "processes": processes,
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
            ("codes kept as models / seen", f"{bot[0].get('codes_kept')} / {bot[0]['codes']}"),
        ],
    )
    procs = results["processes"]
    p_bot = median([r["wall_s"] for r in procs["bot"]])
    p_bare = median([r["wall_s"] for r in procs["bare"]])
    p_ratio = p_bot / p_bare
    p_peak = max(r["rss_peak_mb"] for r in procs["bot"])
    summary.update(
        {
            "process_bot_wall_s": [round(r["wall_s"], 3) for r in procs["bot"]],
            "process_bare_wall_s": [round(r["wall_s"], 3) for r in procs["bare"]],
            "process_ratio": p_ratio,
            "process_bot_cpu_median_s": median([r["cpu_s"] for r in procs["bot"]]),
            "process_bare_cpu_median_s": median([r["cpu_s"] for r in procs["bare"]]),
            "process_bot_rss_peak_mb": p_peak,
            "process_bare_rss_peak_mb": max(r["rss_peak_mb"] for r in procs["bare"]),
            "bare_trial_s": procs["bare_trial_s"],
            "bare_best_concurrency": procs["bare_best_concurrency"],
        }
    )
    print_table(
        "Whole processes: `python -m bot scan --once` vs `python -m bench.bare_scan`",
        [
            ("bare loop by concurrency (s)", procs["bare_trial_s"]),
            ("bare best concurrency", procs["bare_best_concurrency"]),
            ("bot process wall s (runs)", summary["process_bot_wall_s"]),
            ("bare process wall s (runs)", summary["process_bare_wall_s"]),
            ("median bot / bare s", f"{p_bot:.2f} / {p_bare:.2f}"),
            ("ratio bot / bare", f"{p_ratio:.2f}"),
            (
                "CPU s per process (median)",
                f"bot {summary['process_bot_cpu_median_s']:.2f}, "
                f"bare {summary['process_bare_cpu_median_s']:.2f}",
            ),
            (
                "peak RSS MB",
                f"bot {p_peak:.1f}, bare {summary['process_bare_rss_peak_mb']:.1f}",
            ),
            ("scan --once says", procs["bot"][0]["summary"]),
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
        Target(
            "whole `scan --once` process / bare loop process (best concurrency)",
            f"{p_ratio:.2f}",
            f"<= {TARGET_PROCESS_RATIO}",
            p_ratio <= TARGET_PROCESS_RATIO,
        ),
        Target(
            "peak RSS of the `scan --once` process",
            f"{p_peak:.1f} MB",
            f"< {TARGET_PROCESS_RSS_MB:.0f} MB",
            p_peak < TARGET_PROCESS_RSS_MB,
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
    parser.add_argument(
        "--bare-concurrency",
        default="4,8,16,32",
        help="devices in flight tried for the bare loop process; the best one is compared",
    )
    parser.add_argument(
        "--processes-only",
        action="store_true",
        help="one in-process round (not --rounds) before the whole-process comparison",
    )
    parser.add_argument(
        "--curve", help="comma-separated device counts: peak RSS of scan --once per size"
    )
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
    if args.curve:
        sizes = [int(n) for n in args.curve.split(",")]
        points = asyncio.run(run_curve(sizes, args.codes_per_device, args.failing_ratio))
        print_table(
            "Memory of `scan --once` against codes read (peak RSS of the whole process)",
            [
                (
                    f"{p['codes']:>7} codes ({p['failing']} failing)",
                    f"bot {p['bot_rss_peak_mb']:.1f} MB, bare {p['bare_rss_peak_mb']:.1f} MB; "
                    f"wall bot {p['bot_wall_s']:.2f} s, bare {p['bare_wall_s']:.2f} s",
                )
                for p in points
            ],
        )
        write_json(args.json, "scan_memory_curve", {"points": points})
        return 0
    bare_concurrencies = [int(n) for n in args.bare_concurrency.split(",")]
    results = asyncio.run(
        run(
            args.devices,
            args.codes_per_device,
            args.failing_ratio,
            args.rounds,
            args.concurrency,
            bare_concurrencies,
            args.processes_only,
        )
    )
    summary, targets = report(results)
    passed = print_targets(targets)
    write_json(
        args.json, "scan_throughput", {"summary": summary, "targets": targets, "runs": results}
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
