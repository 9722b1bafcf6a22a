"""Ack latency of `/seam-code` and of a button press while Seam takes 2 s per call.

    .venv/bin/python -m bench.ack_latency [--requests 500] [--concurrency 10] [--json out.json]

Four processes, all on 127.0.0.1:

* the Seam fake (node, default scenario), every Seam route delayed by 2 s (`delay(2.0)`);
* the bot: `python -m bench._serve`, i.e. `bot.app.build_web_app` with its production settings in
  its own Python process (the same app `python -m bot serve` runs; only the bind address
  differs);
* the Slack fake (`devtools.fake_slack.FakeSlack`) in this driver process, receiving the answers
  the bot posts to each request's `response_url` after reading Seam;
* the load client, a separate Python process (`--client` mode of this module): `concurrency`
  workers send signed requests back to back (closed loop). Each request is timed from just
  before `POST /slack/events` to the complete HTTP response (the ack), with httpx keep-alive
  connections; signing and body building happen before the clock starts. The first `warmup`
  requests of each kind are not counted.

The slash command looks up a managed, failing code (`/seam-code <id>`: two Seam reads, 4 s); the
button is **Re-check** (`remedy:recheck`) on an ephemeral answer (the same two reads). Both ack
before Seam is called. After the load, the driver waits (bounded) for every `response_url`
answer and reports how many arrived, and how many said Seam was unavailable.

**Baseline in the same run** (issue 16): after each kind on the bot, the minimal Bolt app
(`python -m bench._minimal_bolt --served`: Bolt's aiohttp app with ack-only listeners, served
the same way) gets the same load from the same client; the p99 ratio bot / minimal is the
target (≤ 1.15 at 100 concurrent or more, ≤ 1.1 below). `--no-minimal` skips it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import httpx

from bench.common import (
    BOT_TOKEN,
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
from devtools.slack_requests import block_actions_body, signed_headers, slash_command_body

Kind = Literal["command", "button"]
SEAM_DELAY = 2.0
TARGET_P99_MS = 100.0


# ----------------------------------------------------------------------------- client side


def _body(kind: Kind, code_id: str, response_url: str) -> bytes:
    if kind == "command":
        return slash_command_body(code_id, response_url=response_url, trigger_id="1.2.bench")
    return block_actions_body(
        "remedy:recheck",
        code_id,
        response_url=response_url,
        trigger_id="1.2.bench",
        is_ephemeral=True,
    )


async def run_client(
    url: str,
    kind: Kind,
    requests: int,
    concurrency: int,
    warmup: int,
    hooks: str,
    code_id: str,
) -> dict[str, Any]:
    """Send `warmup + requests` signed requests with `concurrency` in flight; time each ack."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    counter = itertools.count()
    total = warmup + requests
    async with httpx.AsyncClient(trust_env=False, timeout=30, limits=limits) as http:

        async def worker() -> None:
            while (i := next(counter)) < total:
                body = _body(kind, code_id, f"{hooks}{kind}-{i}")
                headers = signed_headers(SIGNING_SECRET, body)
                started = time.perf_counter()
                response = await http.post(url, content=body, headers=headers)
                elapsed = time.perf_counter() - started
                statuses[response.status_code] += 1
                if i >= warmup:
                    latencies.append(elapsed)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {
        "kind": kind,
        "latencies_ms": [round(x * 1000, 3) for x in latencies],
        "statuses": {str(k): v for k, v in statuses.items()},
        "wall_s": wall,
        "sent": total,
    }


# ----------------------------------------------------------------------------- driver side


async def _client_process(
    url: str, kind: Kind, requests: int, concurrency: int, warmup: int, hooks: str, code_id: str
) -> dict[str, Any]:
    return await python_module_json(
        "bench.ack_latency",
        *("--client", "--url", url, "--kind", kind, "--requests", str(requests)),
        *("--concurrency", str(concurrency), "--warmup", str(warmup), "--hooks", hooks),
        *("--code-id", code_id),
        what="load client",
    )


def _classify(answer: dict[str, Any]) -> str:
    text = json.dumps(answer)
    if "Seam is not answering" in text:
        return "seam_unavailable"
    if "Seam is rate-limiting" in text:
        return "seam_rate_limited"
    if "Something went wrong" in text:
        return "internal_error"
    return "diagnosis"


async def run(
    requests: int,
    concurrency: int,
    warmup: int,
    answer_wait: float,
    seam_max_in_flight: int | None = None,
    with_minimal: bool = True,
) -> dict[str, Any]:
    """Start the fakes and the bot, load it with each kind in turn, and collect the numbers."""
    results: dict[str, Any] = {
        "requests": requests,
        "concurrency": concurrency,
        "kinds": {},
        "experiment_seam_max_in_flight": seam_max_in_flight,
    }
    extra_env = {"BENCH_SEAM_MAX_IN_FLIGHT": str(seam_max_in_flight)} if seam_max_in_flight else {}
    with tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp:
        async with SeamFake.start() as seam, FakeSlack() as slack:
            await _measure(
                seam,
                slack,
                Path(tmp),
                results,
                requests,
                concurrency,
                warmup,
                answer_wait,
                extra_env,
                with_minimal,
            )
    return results


async def _measure(
    seam: SeamFake,
    slack: FakeSlack,
    tmp: Path,
    results: dict[str, Any],
    requests: int,
    concurrency: int,
    warmup: int,
    answer_wait: float,
    extra_env: dict[str, str],
    with_minimal: bool = True,
) -> None:
    await seam.delay(SEAM_DELAY)
    code_id = seam.ids["codes"]["failed_to_set"]
    bot = ServedBot(
        bot_env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SEAM_API_KEY=seam.api_key,
            SEAM_ENDPOINT=seam.url,
            SLACK_API_URL=slack.api_url,
            SCAN_INTERVAL_SECONDS="0",
            DATABASE_PATH=str(tmp / "bot.sqlite3"),
            LOG_LEVEL="WARNING",
            # Every request is one user's: without this most would be told "busy" (the cheaper
            # path). The bounds themselves are measured by bench.flood.
            REQUESTS_PER_USER="1000",
            REQUESTS_IN_FLIGHT="10000",
            **extra_env,
        )
    )
    await bot.start()
    minimal: ServedBot | None = None
    minimal_url = ""
    if with_minimal:
        minimal = ServedBot(
            bot_env(
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SLACK_API_URL=slack.api_url,
            ),
            module=("bench._minimal_bolt", "--served"),
        )
        await minimal.start()
        minimal_url = f"http://127.0.0.1:{minimal.port}/slack/events"
    try:
        url = f"http://127.0.0.1:{bot.port}/slack/events"
        hooks = f"{slack.base_url}/hooks/"
        kinds: tuple[Kind, ...] = ("command", "button")
        for kind in kinds:
            sent_at = time.monotonic()
            outcome = await _client_process(
                url, kind, requests, concurrency, warmup, hooks, code_id
            )
            keys = [f"{kind}-{i}" for i in range(outcome["sent"])]
            with contextlib.suppress(AssertionError):  # missing answers are reported below
                await slack.wait_for(
                    functools.partial(_all_answered, slack, keys),
                    timeout=answer_wait,
                    what=f"every {kind} answer",
                )
            answers = Counter(
                _classify(slack.responses[k][0]) for k in keys if slack.responses.get(k)
            )
            outcome["answers"] = dict(answers)
            outcome["answered"] = sum(answers.values())
            outcome["answers_done_s"] = time.monotonic() - sent_at
            results["kinds"][kind] = outcome
            if minimal is not None:
                results.setdefault("minimal", {})[kind] = await _client_process(
                    minimal_url, kind, requests, concurrency, warmup, hooks, code_id
                )
    finally:
        await bot.stop()
        if minimal is not None:
            await minimal.stop()
    results["bot_stderr_tail"] = list(bot.stderr)[-5:]


def _all_answered(slack: FakeSlack, keys: list[str]) -> bool:
    return all(slack.responses.get(k) for k in keys)


def report(results: dict[str, Any]) -> list[Target]:
    """Print the tables and return the targets."""
    targets: list[Target] = []
    for kind, outcome in results["kinds"].items():
        lat = outcome["latencies_ms"]
        p50, p90, p99 = (percentile(lat, q) for q in (50, 90, 99))
        print_table(
            f"Ack latency: {'/seam-code' if kind == 'command' else 'button (Re-check)'}, "
            f"Seam {SEAM_DELAY:.0f} s per call, {results['concurrency']} concurrent",
            [
                ("requests timed", len(lat)),
                ("HTTP statuses", outcome["statuses"]),
                ("p50 / p90 / p99 ms", f"{p50:.1f} / {p90:.1f} / {p99:.1f}"),
                ("max ms", f"{max(lat):.1f}"),
                ("throughput req/s", f"{outcome['sent'] / outcome['wall_s']:.0f}"),
                ("answers via response_url", f"{outcome['answered']}/{outcome['sent']}"),
                ("answer kinds", outcome["answers"]),
                ("all answers in (s after start)", f"{outcome['answers_done_s']:.1f}"),
            ],
        )
        ok_status = set(outcome["statuses"]) == {"200"}
        targets.append(
            Target(
                f"{kind} ack p99",
                f"{p99:.1f} ms (all 200: {ok_status})",
                f"< {TARGET_P99_MS:.0f} ms",
                p99 < TARGET_P99_MS and ok_status,
            )
        )
        base = results.get("minimal", {}).get(kind)
        if base is not None:
            b_lat = base["latencies_ms"]
            b50, b99 = percentile(b_lat, 50), percentile(b_lat, 99)
            ratio = p99 / b99
            goal = 1.15 if results["concurrency"] >= 100 else 1.1
            print_table(
                f"  same load on the minimal Bolt app ({kind})",
                [
                    ("p50 / p99 ms", f"{b50:.1f} / {b99:.1f}"),
                    ("HTTP statuses", base["statuses"]),
                    ("p99 ratio bot / minimal", f"{ratio:.2f}"),
                ],
            )
            outcome["minimal_p99_ms"], outcome["p99_ratio"] = b99, ratio
            targets.append(
                Target(
                    f"{kind} ack p99 / minimal Bolt app p99 ({results['concurrency']} concurrent)",
                    f"{p99:.1f} / {b99:.1f} ms = {ratio:.2f}",
                    f"<= {goal}",
                    ratio <= goal,
                )
            )
    return targets


def main(argv: list[str] | None = None) -> int:
    """Command line (driver by default; `--client` is the load client the driver starts)."""
    parser = argparse.ArgumentParser(prog="python -m bench.ack_latency", description=__doc__)
    parser.add_argument("--requests", type=int, default=500, help="timed requests per kind")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per kind")
    parser.add_argument("--answer-wait", type=float, default=180.0, help="max s for answers")
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument(
        "--experiment-seam-max-in-flight",
        type=int,
        metavar="N",
        help="experiment: bound the bot's Seam requests in flight to N (see bench._serve)",
    )
    parser.add_argument(
        "--no-minimal", action="store_true", help="skip the minimal Bolt app baseline"
    )
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--kind", choices=["command", "button"], help=argparse.SUPPRESS)
    parser.add_argument("--hooks", help=argparse.SUPPRESS)
    parser.add_argument("--code-id", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        out = asyncio.run(
            run_client(
                args.url,
                args.kind,
                args.requests,
                args.concurrency,
                args.warmup,
                args.hooks,
                args.code_id,
            )
        )
        print(json.dumps(out))
        return 0
    print("machine:", machine_facts())
    results = asyncio.run(
        run(
            args.requests,
            args.concurrency,
            args.warmup,
            args.answer_wait,
            args.experiment_seam_max_in_flight,
            not args.no_minimal,
        )
    )
    targets = report(results)
    passed = print_targets(targets)
    summary = {
        kind: {
            "p50_ms": percentile(o["latencies_ms"], 50),
            "p90_ms": percentile(o["latencies_ms"], 90),
            "p99_ms": percentile(o["latencies_ms"], 99),
            "max_ms": max(o["latencies_ms"]),
            "statuses": o["statuses"],
            "req_per_s": o["sent"] / o["wall_s"],
            "answered": o["answered"],
            "sent": o["sent"],
            "answers": o["answers"],
            "answers_done_s": o["answers_done_s"],
            "minimal_p99_ms": o.get("minimal_p99_ms"),
            "p99_ratio": o.get("p99_ratio"),
        }
        for kind, o in results["kinds"].items()
    }
    write_json(args.json, "ack_latency", {"summary": summary, "targets": targets})
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
