"""Alert storm: 1,000 access codes start failing at once.

    .venv/bin/python -m bench.alert_storm [--devices 1000] [--codes-per-device 10]
        [--storm 1000] [--json out.json]

The Seam fake runs the large scenario with nothing failing; a baseline scan posts nothing. Then
one bulk change makes `--storm` codes fail at once, and one scan + reconcile runs with the
production alerting settings: `AlertManager` with `ALERT_PACE_SECONDS` (1 write per second per
channel), the default `ALERT_STORM_THRESHOLD` (20), and the production Slack client
(`bot.app.build_slack_client`: waits out 429 with `Retry-After`). Cases:

1. **code storm**: 1,000 codes on 1,000 different locks get code-level errors.
2. **code storm + Slack 429**: the same, while Slack answers the first two `chat.postMessage`
   calls with HTTP 429 (`Retry-After: 1`).
3. **lock storm**: 100 locks go offline (device error `device_offline`, copied onto their 1,000
   codes as Seam does): grouped into one device alert per lock.

For each: Slack Web API calls (HTTP requests, 429s included), time of the scan and of the
reconcile, messages in the channel, and the store's view of every alert (listed in the digest,
posted, or pending = not yet shown anywhere). "Lost" = a failing subject with no alert row, or a
row neither posted nor listed in a digest. Then an unchanged rescan, and (case 1) recovery: all
1,000 fixed at once.
"""

from __future__ import annotations

import argparse
import asyncio
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
from bot.services.observing import scan_workspace
from bot.slack.alert_channel import ALERT_PACE_SECONDS
from bot.slack.alert_channel import slack_alert_service as AlertManager
from bot.store import Store
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake

CAT = default_catalogue()
FAILED = {
    "error_code": "failed_to_set_on_device",
    "message": "Failed to set code on device.",
    "is_access_code_error": True,
    "created_at": "2025-11-30T00:00:00.000Z",
}
OFFLINE = {
    "error_code": "device_offline",
    "message": "Device is offline",
    "is_device_error": True,
    "created_at": "2025-11-30T00:00:00.000Z",
}


async def _cycle(seam: SeamClient, manager: AlertManager, slack: FakeSlack) -> dict[str, Any]:
    """One scan + reconcile; what it cost in time and Slack calls."""
    calls_before = len(slack.calls)
    started = time.perf_counter()
    scan = await scan_workspace(seam, catalogue=CAT)
    scanned = time.perf_counter()
    report = await manager.reconcile(scan)
    done = time.perf_counter()
    calls = slack.calls[calls_before:]
    return {
        "scan_s": scanned - started,
        "reconcile_s": done - scanned,
        "total_s": done - started,
        "findings": len(scan.findings),
        "locks": len({f.device_id for f in scan.findings}),
        "carrier_codes": sum(len(f.carrier_code_ids) for f in scan.findings),
        "complete": scan.complete,
        "slack_http_calls": len(calls),
        "slack_calls_by_method": dict(Counter(f"{c.method} {c.status}" for c in calls)),
        "report": report.summary(),
        "digests": report.digests,
        "digested": report.digested,
        "posted": report.posted,
        "pending": report.pending,
        "errors": report.errors,
    }


async def _store_view(store: Store, expected_keys: set[str]) -> dict[str, Any]:
    alerts = await store.load_alerts()
    unresolved = {k: a for k, a in alerts.items() if a.state != "resolved"}
    in_digest = {k for k, a in unresolved.items() if a.digest_id is not None}
    posted = {k for k, a in unresolved.items() if a.ts is not None}
    pending = {k for k, a in unresolved.items() if a.is_pending}
    return {
        "alerts": len(unresolved),
        "in_digest": len(in_digest),
        "posted": len(posted),
        "pending": len(pending),
        "lost": len(expected_keys - (in_digest | posted)),
        "digests": len(await store.digests()),
    }


def _roots(slack: FakeSlack) -> list[dict[str, Any]]:
    return slack.messages(CHANNEL, include_replies=False)


async def _case(
    name: str,
    fake: SeamFake,
    slack: FakeSlack,
    tmp: Path,
    *,
    storm: int,
    kind: str,
    codes_per_device: int,
    slack_429: int = 0,
    recover: bool = False,
) -> dict[str, Any]:
    await fake.reset()
    await fake.restore()
    slack.clear()
    store = await Store.open(tmp / f"{name}.sqlite3")
    settings = bench_settings(fake.url, fake.api_key, slack.api_url)
    manager = AlertManager(
        store,
        slack_client(slack.api_url),
        CHANNEL,
        catalogue=CAT,
        storm_threshold=settings.alert_storm_threshold,
        pace_seconds=ALERT_PACE_SECONDS,
    )
    result: dict[str, Any] = {"case": name, "storm_threshold": settings.alert_storm_threshold}
    try:
        async with SeamClient(fake.api_key, fake.url) as seam:
            result["baseline"] = await _cycle(seam, manager, slack)
            if kind == "codes":
                code_ids = await fake.bulk_update(
                    "access_codes",
                    {"errors": [FAILED], "status": "unset"},
                    only="healthy",
                    limit=storm,
                )
                expected = {f"code:{c}" for c in code_ids}
                result["failing_codes"] = len(code_ids)
            else:  # enough locks offline to affect `storm` codes
                locks = await fake.bulk_update(
                    "devices",
                    {"errors": [OFFLINE], "properties": {"online": False}},
                    limit=max(1, storm // max(1, codes_per_device)),
                )
                code_ids = await fake.bulk_update(
                    "access_codes", {"errors": [OFFLINE]}, device_ids=locks
                )
                expected = {f"device:{d}" for d in locks}
                result["failing_codes"] = len(code_ids)
            if slack_429:
                slack.fail_next("chat.postMessage", status=429, retry_after=1, count=slack_429)
            result["alerts_expected"] = len(expected)
            result["storm"] = await _cycle(seam, manager, slack)
            result["storm"]["store"] = await _store_view(store, expected)
            roots = _roots(slack)
            keys = Counter(m["metadata"]["event_payload"]["alert_key"] for m in roots)
            result["storm"]["messages"] = len(roots)
            result["storm"]["duplicates"] = sum(n - 1 for n in keys.values())
            result["storm"]["digest_text"] = roots[0]["text"] if roots else ""
            result["rescan"] = await _cycle(seam, manager, slack)
            if recover:
                await fake.bulk_update(
                    "access_codes", {"errors": [], "status": "set"}, only="failing"
                )
                statements: list[str] = []
                await store._db.set_trace_callback(statements.append)
                result["recovery"] = await _cycle(seam, manager, slack)
                await store._db.set_trace_callback(None)
                result["recovery"]["commits"] = sum(
                    1 for sql in statements if sql.strip().upper() == "COMMIT"
                )
                result["recovery"]["store"] = await _store_view(store, set())
                roots = _roots(slack)
                result["recovery"]["messages"] = len(roots)
                result["recovery"]["digest_text"] = roots[0]["text"] if roots else ""
    finally:
        await store.close()
    return result


async def run(devices: int, codes_per_device: int, storm: int) -> list[dict[str, Any]]:
    """Run the three cases against one large fake."""
    with tempfile.TemporaryDirectory(prefix="bench-storm-") as tmp:
        async with (
            SeamFake.start(
                scenario="large",
                devices=devices,
                codes_per_device=codes_per_device,
                failing_ratio=0.0,
                ready_timeout=120,
            ) as fake,
            FakeSlack() as slack,
        ):
            return [
                await _case(
                    "code storm",
                    fake,
                    slack,
                    Path(tmp),
                    storm=storm,
                    kind="codes",
                    codes_per_device=codes_per_device,
                    recover=True,
                ),
                await _case(
                    "code storm + 2 x 429",
                    fake,
                    slack,
                    Path(tmp),
                    storm=storm,
                    kind="codes",
                    codes_per_device=codes_per_device,
                    slack_429=2,
                ),
                await _case(
                    "lock storm",
                    fake,
                    slack,
                    Path(tmp),
                    storm=storm,
                    kind="locks",
                    codes_per_device=codes_per_device,
                ),
            ]


def report(results: list[dict[str, Any]]) -> list[Target]:
    """Print one table per case; return the targets."""
    targets: list[Target] = []
    for r in results:
        s = r["storm"]
        rows: list[tuple[str, object]] = [
            ("failing codes / on locks", f"{r['failing_codes']} / {s['locks']}"),
            ("baseline scan Slack calls", r["baseline"]["slack_http_calls"]),
            ("storm: findings", f"{s['findings']} ({s['carrier_codes']} codes carried)"),
            ("storm: Slack HTTP calls", f"{s['slack_http_calls']} {s['slack_calls_by_method']}"),
            ("storm: messages in channel", f"{s['messages']} (duplicates {s['duplicates']})"),
            ("storm: digest text", s["digest_text"]),
            (
                "storm: scan / reconcile / total s",
                f"{s['scan_s']:.2f} / {s['reconcile_s']:.2f} / {s['total_s']:.2f}",
            ),
            ("storm: report", s["report"]),
            ("storm: store", s["store"]),
            (
                "rescan (unchanged): Slack calls",
                f"{r['rescan']['slack_http_calls']} ({r['rescan']['report']})",
            ),
            (
                "rescan: scan / reconcile s",
                f"{r['rescan']['scan_s']:.2f} / {r['rescan']['reconcile_s']:.2f}",
            ),
        ]
        if "recovery" in r:
            rec = r["recovery"]
            rows += [
                (
                    "recovery: Slack HTTP calls",
                    f"{rec['slack_http_calls']} {rec['slack_calls_by_method']}",
                ),
                ("recovery: reconcile s", f"{rec['reconcile_s']:.2f}"),
                ("recovery: SQLite transactions (COMMIT)", rec["commits"]),
                ("recovery: digest text", rec["digest_text"]),
                ("recovery: open alerts left", rec["store"]["alerts"]),
            ]
        print_table(f"Alert storm: {r['case']}", rows)
        if "recovery" in r:
            rec = r["recovery"]
            targets.append(
                Target(
                    f"{r['case']}: recovery resolves the digest's members in one transaction",
                    f"{rec['commits']} commits, reconcile {rec['reconcile_s']:.2f} s",
                    "not one commit per member (scan record + members + digest)",
                    rec["commits"] <= 3 and rec["store"]["alerts"] == 0,
                )
            )
        unhandled = [e for e in s["errors"] if "ratelimited" in e or "429" in e]
        store = s["store"]
        # Above the storm threshold: one digest; at or below it: one message per alert.
        storm = r["alerts_expected"] > r["storm_threshold"]
        messages = 1 if storm else r["alerts_expected"]
        ok = (
            s["messages"] == messages
            and s["digests"] == (1 if storm else 0)
            and store["lost"] == 0
            and store["pending"] == 0
            and s["duplicates"] == 0
            and not unhandled
        )
        targets.append(
            Target(
                f"{r['case']}: {'one digest' if storm else 'one message per alert'}, nothing "
                "lost, no unhandled 429",
                f"{s['messages']} message(s), {s['slack_http_calls']} Slack HTTP calls, "
                f"{s['total_s']:.1f} s, lost {store['lost']}, pending {store['pending']}, "
                f"429 left unhandled {len(unhandled)}",
                f"{'1 digest' if storm else f'{messages} messages'}, 0 lost, 0 unhandled 429",
                ok,
            )
        )
    return targets


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.alert_storm", description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--codes-per-device", type=int, default=10)
    parser.add_argument("--storm", type=int, default=1000, help="codes that fail at once")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)
    print("machine:", machine_facts())
    results = asyncio.run(run(args.devices, args.codes_per_device, args.storm))
    targets = report(results)
    print(
        f"\nWithout the digest, {args.storm} messages at {ALERT_PACE_SECONDS:.0f} per second per "
        f"channel would take at least {args.storm * ALERT_PACE_SECONDS:.0f} s to post."
    )
    passed = print_targets(targets)
    write_json(args.json, "alert_storm", {"cases": results, "targets": targets})
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
