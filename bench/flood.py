"""Fairness under a flood: one user sends 1,500 `/seam-code` in 2 s while another user asks too.

    .venv/bin/python -m bench.flood [--flood 1500] [--seconds 2] [--others 4] [--json out.json]

Four processes on 127.0.0.1: the Seam fake (default scenario, every route delayed by
`--seam-delay` = 1 s, so one lookup, two Seam reads, takes 2 s with no flood), the bot
(`python -m bench._serve`, production settings: `REQUESTS_PER_USER` 3, `REQUESTS_IN_FLIGHT` 64),
the Slack fake in this driver (it receives the `response_url` answers), and the load client
(`--client`, its own process). The client sends the flooder's commands open loop, request `i`
at `i × seconds / flood` s (as fast as it can when it falls behind), each on its own task with
up to 256 connections, and times each ack. Other users' `/seam-code` (one each) are sent at
evenly spaced moments inside the flood; the driver times each of those from just before its
POST to the moment the Slack fake receives its answer. `--unbounded` raises the bounds to
1,000 per user and 10,000 overall (the most the settings allow; close to the behaviour before
issue 16), for comparison.

Targets (issue 16): the other user's answers arrive within 5 s; every flooded request is acked
(< 100 ms p99) and either answered or told "busy, try again in a moment" (none silently
dropped); the bot's memory stays bounded (peak RSS from `/proc/<pid>/status` VmHWM, before and
after the flood).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    BOT_TOKEN,
    PYTHON,
    SIGNING_SECRET,
    ServedBot,
    Target,
    bot_env,
    machine_facts,
    percentile,
    print_table,
    print_targets,
    python_module_json,
    write_json,
)
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from devtools.slack_requests import signed_headers, slash_command_body

BUSY = "Busy, try again in a moment"
TARGET_OTHER_S = 5.0
TARGET_ACK_P99_MS = 100.0
UNBOUNDED = {"REQUESTS_PER_USER": "1000", "REQUESTS_IN_FLIGHT": "10000"}
FLOODER, OTHER = "UFLOOD0001", "UOTHER000"


# ----------------------------------------------------------------------------- client side


async def run_client(
    url: str, hooks: str, code_id: str, flood: int, seconds: float, others: int
) -> dict[str, Any]:
    """Send the flood (open loop) and the other user's commands; time every ack.

    aiohttp's client, not httpx: with 1,500 requests waiting for 256 connections, httpcore's
    pool spends its time re-scanning the queue (encode/httpcore#1035) and would measure itself.
    """
    import aiohttp

    records: list[dict[str, Any]] = []
    other_at = [seconds * (k + 1) / (others + 1) for k in range(others)]
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as http:
        # Warm the connections, so the flood measures the bot rather than TCP set-up.
        health = url.replace("/slack/events", "/healthz")

        async def warm() -> None:
            async with http.get(health) as response:
                await response.read()

        await asyncio.gather(*(warm() for _ in range(128)))
        start = time.perf_counter()

        async def send(who: str, key: str, at: float) -> None:
            body = slash_command_body(
                code_id, user_id=who, response_url=f"{hooks}{key}", trigger_id="1.2.flood"
            )
            headers = signed_headers(SIGNING_SECRET, body)
            await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
            sent_wall, sent = time.time(), time.perf_counter()
            try:
                async with http.post(url, data=body, headers=headers) as response:
                    text = await response.text()
                status, busy = response.status, BUSY in text
            except aiohttp.ClientError as exc:
                status, busy = 0, False
                key = f"{key}:{type(exc).__name__}"
            records.append(
                {
                    "who": who,
                    "key": key,
                    "sent_at": sent_wall,
                    "offset_s": sent - start,
                    "ack_ms": (time.perf_counter() - sent) * 1000,
                    "status": status,
                    "busy": busy,
                }
            )

        tasks = [send(FLOODER, f"flood-{i}", i * seconds / flood) for i in range(flood)]
        # Each of the others is a different person (one person's 4 lookups in 2 s would meet
        # their own REQUESTS_PER_USER bound, which is not what this measures).
        tasks += [send(f"{OTHER}{k}", f"other-{k}", at) for k, at in enumerate(other_at)]
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
    return {"records": records, "wall_s": wall}


# ----------------------------------------------------------------------------- driver side


def _vm(pid: int) -> dict[str, float]:
    """VmHWM (peak RSS) and VmRSS of a process, in MB."""
    out: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                out[name] = int(value.split()[0]) / 1024
    return out


async def run(
    flood: int,
    seconds: float,
    others: int,
    seam_delay: float,
    answer_wait: float,
    profile: str | None = None,
    unbounded: bool = False,
) -> dict[str, Any]:
    """Start the fakes and the bot, flood it, and collect acks, answers and memory."""
    with tempfile.TemporaryDirectory(prefix="bench-flood-") as tmp:
        async with SeamFake.start() as seam, FakeSlack() as slack:
            await seam.delay(seam_delay)
            code_id = seam.ids["codes"]["failed_to_set"]
            bot = ServedBot(
                bot_env(
                    SLACK_BOT_TOKEN=BOT_TOKEN,
                    SLACK_SIGNING_SECRET=SIGNING_SECRET,
                    SEAM_API_KEY=seam.api_key,
                    SEAM_ENDPOINT=seam.url,
                    SLACK_API_URL=slack.api_url,
                    SCAN_INTERVAL_SECONDS="0",
                    DATABASE_PATH=str(Path(tmp) / "bot.sqlite3"),
                    LOG_LEVEL="WARNING",
                    **(UNBOUNDED if unbounded else {}),
                )
            )
            await bot.start()
            try:
                return await _measure(
                    bot, seam, slack, code_id, flood, seconds, others, answer_wait, profile
                )
            finally:
                await bot.stop()


async def _measure(
    bot: ServedBot,
    seam: SeamFake,
    slack: FakeSlack,
    code_id: str,
    flood: int,
    seconds: float,
    others: int,
    answer_wait: float,
    profile: str | None,
) -> dict[str, Any]:
    url = f"http://127.0.0.1:{bot.port}/slack/events"
    hooks = f"{slack.base_url}/hooks/"
    # Baseline: the other user's answer with no flood.
    arrived: dict[str, float] = {}

    async def watch(key: str) -> None:
        with contextlib.suppress(AssertionError):
            await slack.wait_for_response(key, timeout=answer_wait + seconds + 30)
            arrived[key] = time.time()

    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        body = slash_command_body(
            code_id, user_id=OTHER, response_url=f"{hooks}quiet", trigger_id="1.2.q"
        )
        watcher = asyncio.create_task(watch("quiet"))
        sent = time.time()
        await http.post(url, content=body, headers=signed_headers(SIGNING_SECRET, body))
        await watcher
    quiet_answer_s = arrived.get("quiet", float("nan")) - sent
    memory_before = _vm(bot.pid)

    watchers = [asyncio.create_task(watch(f"other-{k}")) for k in range(others)]
    spy = None
    if profile:
        spy = await asyncio.create_subprocess_exec(
            str(Path(PYTHON).with_name("py-spy")),
            *("record", "-p", str(bot.pid), "-o", profile, "-f", "raw", "-r", "100"),
            *("-d", str(int(seconds + 10))),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    client = await python_module_json(
        "bench.flood",
        *("--client", "--url", url, "--hooks", hooks, "--code-id", code_id),
        *("--flood", str(flood), "--seconds", str(seconds), "--others", str(others)),
        what="the flood client",
    )
    if spy is not None:
        await spy.wait()
    memory_peak = _vm(bot.pid)
    await asyncio.gather(*watchers)
    records = client["records"]
    expected = [r["key"] for r in records if r["who"] == FLOODER and not r["busy"]]
    with contextlib.suppress(AssertionError):
        await slack.wait_for(
            lambda: all(slack.responses.get(k) for k in expected),
            timeout=answer_wait,
            what="every admitted flood answer",
        )
    memory_after = _vm(bot.pid)
    for r in records:
        if r["who"].startswith(OTHER) and r["key"] in arrived:
            r["answer_s"] = arrived[r["key"]] - r["sent_at"]
    answered = sum(1 for k in expected if slack.responses.get(k))
    answered_busy = sum(1 for k in expected if BUSY in json.dumps(slack.responses.get(k) or ""))
    return {
        "flood": flood,
        "seconds": seconds,
        "client_wall_s": client["wall_s"],
        "records": records,
        "quiet_answer_s": quiet_answer_s,
        "flood_admitted": len(expected),
        "flood_answered": answered,
        "flood_answered_busy": answered_busy,
        "memory_before_mb": memory_before,
        "memory_after_flood_mb": memory_peak,
        "memory_after_answers_mb": memory_after,
        "bot_stderr_tail": list(bot.stderr)[-5:],
    }


def report(results: dict[str, Any]) -> tuple[dict[str, Any], list[Target]]:
    """Print the table; return the summary and the targets."""
    records = results["records"]
    flood = [r for r in records if r["who"] == FLOODER]
    others = [r for r in records if r["who"].startswith(OTHER)]
    acks = [r["ack_ms"] for r in flood]
    p50, p99 = percentile(acks, 50), percentile(acks, 99)
    statuses = sorted({r["status"] for r in flood})
    busy = sum(1 for r in flood if r["busy"])
    dropped = len(flood) - busy - results["flood_answered"]
    other_s = [r.get("answer_s", float("inf")) for r in others]
    other_busy = sum(1 for r in others if r["busy"])
    sent_in = max(r["offset_s"] for r in flood) if flood else 0.0
    summary = {
        "flood_sent": len(flood),
        "sent_within_s": sent_in,
        "ack_p50_ms": p50,
        "ack_p99_ms": p99,
        "ack_max_ms": max(acks) if acks else None,
        "statuses": statuses,
        "busy_in_ack": busy,
        "admitted": results["flood_admitted"],
        "answered": results["flood_answered"],
        "dropped": dropped,
        "other_answer_s": other_s,
        "other_busy": other_busy,
        "quiet_answer_s": results["quiet_answer_s"],
        "memory_mb": {
            "before": results["memory_before_mb"],
            "after_flood": results["memory_after_flood_mb"],
            "after_answers": results["memory_after_answers_mb"],
        },
    }
    mem = summary["memory_mb"]
    print_table(
        f"Flood: {len(flood)} /seam-code from one user in {sent_in:.2f} s "
        f"(asked: {results['seconds']:.0f} s), another user meanwhile",
        [
            (
                "flood ack p50 / p99 / max ms",
                f"{p50:.1f} / {p99:.1f} / {summary['ack_max_ms']:.1f}",
            ),
            ("HTTP statuses", statuses),
            ("told busy in the ack", busy),
            ("admitted / answered", f"{results['flood_admitted']} / {results['flood_answered']}"),
            ("neither (dropped)", dropped),
            ("other user's answers (s)", ", ".join(f"{s:.2f}" for s in other_s)),
            ("other user told busy", other_busy),
            ("other user's answer without flood (s)", f"{results['quiet_answer_s']:.2f}"),
            (
                "bot memory MB (peak RSS / RSS)",
                f"before {mem['before'].get('VmHWM', 0):.1f} / {mem['before'].get('VmRSS', 0):.1f};"
                f" after the flood {mem['after_flood'].get('VmHWM', 0):.1f} / "
                f"{mem['after_flood'].get('VmRSS', 0):.1f}; after the answers "
                f"{mem['after_answers'].get('VmRSS', 0):.1f}",
            ),
        ],
    )
    worst_other = max(other_s) if other_s else float("inf")
    targets = [
        Target(
            "other user's answer during the flood",
            f"max {worst_other:.2f} s, {other_busy} told busy",
            f"<= {TARGET_OTHER_S:.0f} s, none busy",
            worst_other <= TARGET_OTHER_S and other_busy == 0,
        ),
        Target(
            "flood acks",
            f"p99 {p99:.1f} ms, statuses {statuses}",
            f"all 200, p99 < {TARGET_ACK_P99_MS:.0f} ms",
            p99 < TARGET_ACK_P99_MS and statuses == [200],
        ),
        Target(
            "every flooded request answered or told busy",
            f"{busy} busy + {results['flood_answered']} answered of {len(flood)}",
            "none dropped",
            dropped == 0,
        ),
        Target(
            "bot memory bounded",
            f"peak RSS {mem['after_flood'].get('VmHWM', 0):.1f} MB "
            f"(before {mem['before'].get('VmHWM', 0):.1f})",
            "reported",
            True,
        ),
    ]
    return summary, targets


def main(argv: list[str] | None = None) -> int:
    """Command line (driver by default; `--client` is the load client the driver starts)."""
    parser = argparse.ArgumentParser(prog="python -m bench.flood", description=__doc__)
    parser.add_argument("--flood", type=int, default=1500, help="the flooder's commands")
    parser.add_argument("--seconds", type=float, default=2.0, help="sent within this time")
    parser.add_argument("--others", type=int, default=4, help="the other user's commands")
    parser.add_argument("--seam-delay", type=float, default=1.0, help="s per Seam call")
    parser.add_argument("--answer-wait", type=float, default=60.0, help="max s for answers")
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument("--unbounded", action="store_true", help="bounds off (comparison)")
    parser.add_argument("--profile", help="py-spy the bot during the flood (raw, to this file)")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--hooks", help=argparse.SUPPRESS)
    parser.add_argument("--code-id", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        out = asyncio.run(
            run_client(args.url, args.hooks, args.code_id, args.flood, args.seconds, args.others)
        )
        print(json.dumps(out))
        return 0
    print("machine:", machine_facts())
    results = asyncio.run(
        run(
            args.flood,
            args.seconds,
            args.others,
            args.seam_delay,
            args.answer_wait,
            args.profile,
            args.unbounded,
        )
    )
    summary, targets = report(results)
    passed = print_targets(targets)
    write_json(args.json, "flood", {"summary": summary, "targets": targets, "runs": results})
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
