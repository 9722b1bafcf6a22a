"""Cost of a scan when nothing changed: Slack calls and SQLite writes.

    .venv/bin/python -m bench.quiet_scan [--devices 1000] [--codes-per-device 10]
        [--failing-ratio 0.05] [--json out.json]

The Seam fake runs the large scenario (1,000 devices, 10,000 codes, 5 % = 500 failing). A real
scanner iteration (`Scanner.run_once`: lease, `scan_workspace`, `AlertManager.reconcile`) runs
once to post the alerts, then again with nothing changed in Seam; the second one is measured:

* Slack: Web API requests received by the Slack fake during the iteration;
* SQLite: the rows that changed, per table (every table is read before and after through a
  separate connection and diffed: inserted, updated, deleted); also every statement the store's
  connection ran (`sqlite3.Connection.set_trace_callback` through aiosqlite) and its
  `total_changes` delta.

Two cases: (1) the production settings, where 500 new alerts in one scan become one digest;
(2) the 500 alerts posted one by one (storm threshold above 500; the set-up posts without
pacing to save time, the measured iteration uses the production pacing), so every alert's
rendering is recomputed and compared with its stored hash on the quiet scan.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import (
    CHANNEL,
    Target,
    bench_settings,
    machine_facts,
    print_table,
    print_targets,
    slack_client,
    write_json,
)
from bot.domain.catalogue import default_catalogue
from bot.seam.client import SeamClient
from bot.services.scanning import Scanner
from bot.slack.alert_channel import ALERT_PACE_SECONDS, ChannelPacer
from bot.slack.alert_channel import slack_alert_service as AlertManager
from bot.store import Store
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake

CAT = default_catalogue()
_WRITE = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\s+(?:OR\s+\w+\s+)?(?:INTO\s+|FROM\s+)?(\w+)", re.I
)


class StatementLog:
    """Collects the SQL the store runs (sqlite3 trace callback; runs in aiosqlite's thread)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, sql: str) -> None:
        self.statements.append(sql)

    def writes(self) -> Counter[str]:
        """Write statements executed, by "VERB table" (executemany counts once per row)."""
        found: Counter[str] = Counter()
        for sql in self.statements:
            match = _WRITE.match(sql)
            if match:
                found[f"{match.group(1).upper()} {match.group(2)}"] += 1
        return found

    def commits(self) -> int:
        """COMMIT statements (transactions)."""
        return sum(1 for sql in self.statements if sql.strip().upper().startswith("COMMIT"))


def snapshot(path: Path) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """Every row of every table, keyed by its primary key (or the whole row)."""
    db = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        out: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
        for table in tables:
            info = list(db.execute(f"PRAGMA table_info({table})"))
            pk = [i for i, col in enumerate(info) if col[5]] or list(range(len(info)))
            out[table] = {
                tuple(row[i] for i in pk): tuple(row)
                for row in db.execute(f"SELECT * FROM {table}")
            }
        return out
    finally:
        db.close()


def diff(
    before: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]],
    after: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]],
) -> dict[str, dict[str, int]]:
    """Rows inserted / updated / deleted per table (tables with no change left out)."""
    out: dict[str, dict[str, int]] = {}
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, {}), after.get(table, {})
        counts = {
            "inserted": len(new.keys() - old.keys()),
            "deleted": len(old.keys() - new.keys()),
            "updated": sum(1 for k in new.keys() & old.keys() if new[k] != old[k]),
        }
        if any(counts.values()):
            out[table] = {k: v for k, v in counts.items() if v}
    return out


async def _case(
    name: str, fake: SeamFake, slack: FakeSlack, tmp: Path, *, storm_threshold: int
) -> dict[str, Any]:
    await fake.reset()
    await fake.restore()
    slack.clear()
    db_path = tmp / f"{name.replace(' ', '-')}.sqlite3"
    store = await Store.open(db_path)
    settings = bench_settings(fake.url, fake.api_key, slack.api_url)
    pacer = ChannelPacer(0)  # set-up only; the measured iteration uses the production pacing
    manager = AlertManager(
        store,
        slack_client(slack.api_url),
        CHANNEL,
        catalogue=CAT,
        storm_threshold=storm_threshold,
        pacer=pacer,
    )
    result: dict[str, Any] = {"case": name, "storm_threshold": storm_threshold}
    try:
        async with SeamClient(fake.api_key, fake.url) as seam:
            scanner = Scanner(seam, catalogue=CAT, alerts=manager, interval=60)
            first = await scanner.run_once()
            result["setup"] = {
                "report": first.report.summary() if first.report else None,
                "slack_calls": len(slack.calls),
                "duration_s": first.duration,
            }
            pacer.interval = ALERT_PACE_SECONDS
            log = StatementLog()
            rows_before = snapshot(db_path)
            await store._db.set_trace_callback(log)
            changes_before = store._db.total_changes
            calls_before = len(slack.calls)
            started = time.perf_counter()
            quiet = await scanner.run_once()
            elapsed = time.perf_counter() - started
            await store._db.set_trace_callback(None)  # type: ignore[arg-type]  # None = off
            changed = diff(rows_before, snapshot(db_path))
            assert quiet.report is not None
            scan = quiet.scan
            result["quiet"] = {
                "duration_s": elapsed,
                "scan_s": (scan.finished_at - scan.started_at).total_seconds(),
                "complete": scan.complete,
                "findings": len(scan.findings),
                "seam_calls": scan.seam_calls,
                "slack_calls": len(slack.calls) - calls_before,
                "report": quiet.report.summary(),
                "sqlite_rows_changed": store._db.total_changes - changes_before,
                "sqlite_changed_by_table": changed,
                "sqlite_writes": dict(log.writes()),
                "sqlite_commits": log.commits(),
                "sqlite_statements": len(log.statements),
            }
            await scanner.stop()
            result["settings_storm_threshold"] = settings.alert_storm_threshold
    finally:
        await store.close()
    return result


async def run(devices: int, codes_per_device: int, failing_ratio: float) -> list[dict[str, Any]]:
    """Both cases against one large fake."""
    with tempfile.TemporaryDirectory(prefix="bench-quiet-") as tmp:
        async with (
            SeamFake.start(
                scenario="large",
                devices=devices,
                codes_per_device=codes_per_device,
                failing_ratio=failing_ratio,
                ready_timeout=120,
            ) as fake,
            FakeSlack() as slack,
        ):
            default_threshold = bench_settings(
                fake.url, fake.api_key, slack.api_url
            ).alert_storm_threshold
            failing = fake.ids["counts"]["failing"]
            return [
                await _case(
                    "digest (production settings)",
                    fake,
                    slack,
                    Path(tmp),
                    storm_threshold=default_threshold,
                ),
                await _case(
                    "one message per alert",
                    fake,
                    slack,
                    Path(tmp),
                    storm_threshold=failing + 1,
                ),
            ]


def report(results: list[dict[str, Any]]) -> list[Target]:
    """Print one table per case; return the targets."""
    targets: list[Target] = []
    for r in results:
        q = r["quiet"]
        writes: dict[str, int] = q["sqlite_writes"]
        changed: dict[str, dict[str, int]] = q["sqlite_changed_by_table"]
        beyond = {
            f"{table} {what}": n
            for table, counts in changed.items()
            for what, n in counts.items()
            if (table, what) != ("scans", "inserted")
        }
        print_table(
            f"Quiet scan: {r['case']} (storm threshold {r['storm_threshold']})",
            [
                ("set-up iteration", f"{r['setup']['report']} in {r['setup']['duration_s']:.1f} s"),
                ("quiet iteration s (scan s)", f"{q['duration_s']:.2f} ({q['scan_s']:.2f})"),
                ("findings / Seam calls", f"{q['findings']} / {q['seam_calls']}"),
                ("Slack calls", q["slack_calls"]),
                ("reconcile report", q["report"]),
                ("SQLite rows changed, by table", changed),
                ("SQLite rows changed (total_changes)", q["sqlite_rows_changed"]),
                ("SQLite write statements run", writes),
                ("SQLite transactions (COMMIT)", q["sqlite_commits"]),
            ],
        )
        targets.append(
            Target(f"{r['case']}: Slack calls", str(q["slack_calls"]), "0", q["slack_calls"] == 0)
        )
        targets.append(
            Target(
                f"{r['case']}: SQLite writes beyond the scan row",
                ", ".join(f"{k} {v}" for k, v in sorted(beyond.items())) or "none",
                "none",
                not beyond,
            )
        )
    return targets


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.quiet_scan", description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--codes-per-device", type=int, default=10)
    parser.add_argument("--failing-ratio", type=float, default=0.05)
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)
    print("machine:", machine_facts())
    results = asyncio.run(run(args.devices, args.codes_per_device, args.failing_ratio))
    targets = report(results)
    passed = print_targets(targets)
    write_json(args.json, "quiet_scan", {"cases": results, "targets": targets})
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
