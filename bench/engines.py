"""SQLite (one process) against PostgreSQL (several processes), side by side in one run.

    .venv/bin/python -m bench.engines [--devices 1000] [--codes-per-device 10]
        [--commands 200] [--remedies 40] [--json out.json]

PostgreSQL is the server named by `TEST_POSTGRES_URL`, or a throwaway cluster started here
(`tests.support.postgres`). Two measurements, each on both engines:

1. **Scan**: the large Seam workspace (`--devices` locks × `--codes-per-device` codes, 5 %
   failing). A real scanner iteration (`Scanner.run_once`: lease, `scan_workspace`,
   `AlertManager.reconcile`, posting the storm as one digest) on a new store, then a quiet one
   with nothing changed. Time of each and the store's writes: write statements (INSERT /
   UPDATE / DELETE; `executemany` counts each row) and rows changed, counted on the store's
   connection for both engines alike.
2. **Acks and remedies**: 1 web process on SQLite against 2 web processes (`SCANNER=off`) on one
   PostgreSQL database. `--commands` signed `/seam-code <id>` requests at once, spread over the
   processes: ack p50/p99 (the HTTP answer). Then `--remedies` Update PIN submissions on as many
   different codes at once: remedies per second until every one is audited.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    CHANNEL,
    SIGNING_SECRET,
    ServedBot,
    Target,
    bot_env,
    machine_facts,
    percentile,
    print_table,
    print_targets,
    slack_client,
    write_json,
)
from bot.domain.catalogue import default_catalogue
from bot.domain.pins import easy_pin
from bot.seam.client import SeamClient
from bot.services.scanning import Scanner
from bot.slack import ids
from bot.slack.alert_channel import ChannelPacer
from bot.slack.alert_channel import slack_alert_service as AlertManager
from bot.slack.payloads import RemedyContext
from bot.store import Store
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake
from devtools.slack_requests import signed_headers, slash_command_body, view_submission_body
from tests.support.postgres import PostgresServer

CAT = default_catalogue()
BOT_TOKEN = "xoxb-bench-token"


class WriteCounter:
    """Counts the write statements and rows changed on a store's connection (either engine)."""

    def __init__(self, store: Store) -> None:
        self.statements = 0
        self.rows = 0
        db: Any = store._db
        execute, executemany = db.execute, db.executemany

        def counted_execute(sql: str, params: Any = ()) -> Any:
            pending = execute(sql, params)
            if sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
                self.statements += 1
                return _Rows(pending, self)
            return pending

        async def counted_many(sql: str, rows: Any) -> Any:
            rows = list(rows)
            self.statements += len(rows)
            self.rows += len(rows)
            return await executemany(sql, rows)

        db.execute, db.executemany = counted_execute, counted_many


class _Rows:
    """Wraps an execute result to add its row count (awaited or used as a context manager)."""

    def __init__(self, pending: Any, counter: WriteCounter) -> None:
        self._pending, self._counter = pending, counter

    def __await__(self) -> Any:
        async def run() -> Any:
            cursor = await self._pending
            self._counter.rows += max(0, cursor.rowcount)
            return cursor

        return run().__await__()


async def scan_case(
    engine: str, target: str | Path, fake: SeamFake, slack: FakeSlack
) -> dict[str, Any]:
    """One posting iteration and one quiet iteration on a new store at `target`."""
    await fake.reset()
    await fake.restore()
    slack.clear()
    store = await Store.open(target)
    try:
        manager = AlertManager(
            store, slack_client(slack.api_url), CHANNEL, catalogue=CAT, pacer=ChannelPacer(0)
        )
        counter = WriteCounter(store)
        async with SeamClient(fake.api_key, fake.url) as seam:
            scanner = Scanner(seam, catalogue=CAT, alerts=manager, interval=60)
            started = time.perf_counter()
            first = await scanner.run_once()
            first_s = time.perf_counter() - started
            first_writes = (counter.statements, counter.rows)
            counter.statements = counter.rows = 0
            started = time.perf_counter()
            await scanner.run_once()
            quiet_s = time.perf_counter() - started
        return {
            "engine": engine,
            "first_s": first_s,
            "first_write_statements": first_writes[0],
            "first_rows_changed": first_writes[1],
            "quiet_s": quiet_s,
            "quiet_write_statements": counter.statements,
            "quiet_rows_changed": counter.rows,
            "findings": len(first.scan.findings),
        }
    finally:
        await store.close()


async def _managed_code_ids(fake: SeamFake, count: int) -> list[str]:
    """`count` healthy managed codes, on as many different locks (the large scenario
    interleaves codes over devices); an empty patch only reads them."""
    return await fake.bulk_update("access_codes", {}, limit=count, only="healthy")


async def web_case(
    engine: str,
    targets: list[str | Path],
    fake: SeamFake,
    slack: FakeSlack,
    commands: int,
    remedies: int,
) -> dict[str, Any]:
    """Acks of `commands` slash commands, then `remedies` Update PINs, over the processes."""
    await fake.reset()
    await fake.restore()
    slack.clear()
    bots: list[ServedBot] = []
    try:
        for target in targets:
            env = bot_env(
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SEAM_API_KEY=fake.api_key,
                SEAM_ENDPOINT=fake.url,
                SLACK_API_URL=slack.api_url,
                REMEDY_ALLOWED_USERS="*",
                SCAN_INTERVAL_SECONDS="0",
                SCANNER="off",
                LOG_LEVEL="WARNING",
            )
            env["DATABASE_URL" if isinstance(target, str) else "DATABASE_PATH"] = str(target)
            bots.append(await ServedBot(env).start())
        urls = [f"http://127.0.0.1:{b.port}/slack/events" for b in bots]
        code_ids = await _managed_code_ids(fake, max(commands, remedies))
        async with httpx.AsyncClient(trust_env=False, timeout=30, limits=httpx.Limits()) as http:

            async def post(url: str, body: bytes) -> float:
                started = time.perf_counter()
                answer = await http.post(
                    url, content=body, headers=signed_headers(SIGNING_SECRET, body)
                )
                answer.raise_for_status()
                return time.perf_counter() - started

            acks = await asyncio.gather(
                *(
                    post(
                        urls[i % len(urls)],
                        slash_command_body(
                            code_ids[i % len(code_ids)],
                            response_url=slack.response_url(f"cmd{i}"),
                            trigger_id=slack.issue_trigger_id(),
                        ),
                    )
                    for i in range(commands)
                )
            )
            pins = random.Random(7).sample(range(100000, 999999), remedies * 2)
            chosen = [str(p) for p in pins if not easy_pin(str(p))][:remedies]
            bodies = [
                view_submission_body(
                    ids.CALLBACK_UPDATE_PIN,
                    {ids.BLOCK_PIN: {ids.ACTION_PIN: chosen[i]}},
                    private_metadata=RemedyContext(
                        action="update_pin",
                        code=code_ids[i],
                        response_url=slack.response_url(f"fix{i}"),
                    ).dumps(),
                    view_id=f"VBENCH{i:05d}",
                    trigger_id=slack.issue_trigger_id(),
                )
                for i in range(remedies)
            ]
            store = await Store.open(targets[0])
            try:
                started = time.perf_counter()
                await asyncio.gather(*(post(urls[i % len(urls)], b) for i, b in enumerate(bodies)))
                async with asyncio.timeout(300):
                    while True:
                        done = await store.audit_entries(limit=10_000)
                        if len([e for e in done if e.action == "update_pin"]) >= remedies:
                            break
                        await asyncio.sleep(0.1)
                remedy_s = time.perf_counter() - started
                outcomes = [e.outcome for e in done if e.action == "update_pin"]
            finally:
                await store.close()
        return {
            "engine": engine,
            "processes": len(bots),
            "ack_p50_ms": percentile(acks, 50) * 1000,
            "ack_p99_ms": percentile(acks, 99) * 1000,
            "remedies": remedies,
            "remedy_s": remedy_s,
            "remedies_per_s": remedies / remedy_s,
            "remedy_successes": outcomes.count("success"),
        }
    finally:
        for bot in bots:
            await bot.stop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    server = PostgresServer.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
            async with (
                SeamFake.start(
                    port=0,
                    scenario="large",
                    devices=args.devices,
                    codes_per_device=args.codes_per_device,
                ) as fake,
                FakeSlack() as slack,
            ):
                scans = [
                    await scan_case("sqlite", Path(tmp) / "scan.sqlite3", fake, slack),
                    await scan_case("postgres", await server.create_database(), fake, slack),
                ]
                shared = await server.create_database()
                webs = [
                    await web_case(
                        "sqlite",
                        [Path(tmp) / "web.sqlite3"],
                        fake,
                        slack,
                        args.commands,
                        args.remedies,
                    ),
                    await web_case(
                        "postgres", [shared, shared], fake, slack, args.commands, args.remedies
                    ),
                ]
    finally:
        server.stop()
    return {"machine": machine_facts(), "scans": scans, "webs": webs, "args": vars(args)}


def report(results: dict[str, Any]) -> list[Target]:
    """Print the tables; the targets are the correctness checks (every remedy succeeded)."""
    for scan in results["scans"]:
        print_table(f"scan on {scan['engine']}", list(scan.items()))
    for web in results["webs"]:
        print_table(f"web on {web['engine']}", list(web.items()))
    return [
        Target(
            name=f"every remedy succeeded ({web['engine']}, {web['processes']} process(es))",
            measured=f"{web['remedy_successes']}/{web['remedies']}",
            goal=f"{web['remedies']}/{web['remedies']}",
            met=web["remedy_successes"] == web["remedies"],
        )
        for web in results["webs"]
    ]


def main(argv: list[str] | None = None) -> int:
    """Run both measurements on both engines and print them."""
    parser = argparse.ArgumentParser(prog="python -m bench.engines", description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--codes-per-device", type=int, default=10)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--remedies", type=int, default=40)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args))
    targets = report(results)
    write_json(args.json, "engines", {**results, "targets": targets})
    return 0 if print_targets(targets) else 1


if __name__ == "__main__":
    sys.exit(main())
