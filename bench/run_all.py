"""Run every benchmark in turn, each in its own process, and print every target's PASS/MISS.

    .venv/bin/python -m bench.run_all [--out DIR] [--quick]

`--out DIR` keeps each benchmark's JSON (`DIR/<name>.json`). `--quick` runs smaller sizes (a
smoke test of the scripts, not numbers to record). Exit status 0 only if every target is met.
Takes about 5 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import PYTHON, REPO_ROOT, bot_env, machine_facts

BENCHES: dict[str, list[str]] = {
    "ack_latency": [],
    "scan_throughput": ["--rounds", "5"],
    "alert_storm": [],
    "quiet_scan": [],
    "webhook_latency": [],
}
QUICK: dict[str, list[str]] = {
    "ack_latency": ["--requests", "60"],
    "scan_throughput": ["--devices", "100", "--rounds", "1"],
    "alert_storm": ["--devices", "200", "--storm", "100"],
    "quiet_scan": ["--devices", "100"],
    "webhook_latency": ["--events", "20"],
}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; print a summary of their targets."""
    parser = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__)
    parser.add_argument("--out", help="directory for the JSON results")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = parser.parse_args(argv)
    print("machine:", machine_facts(), flush=True)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-"))
    out.mkdir(parents=True, exist_ok=True)
    statuses: dict[str, int] = {}
    for name, extra in (QUICK if args.quick else BENCHES).items():
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.monotonic()
        done = subprocess.run(
            [PYTHON, "-m", f"bench.{name}", *extra, "--json", str(out / f"{name}.json")],
            cwd=REPO_ROOT,
            env=bot_env(),
            timeout=1800,
            check=False,
        )
        statuses[name] = done.returncode
        print(f"(bench.{name}: exit {done.returncode} in {time.monotonic() - started:.0f} s)")
    print("\nSummary")
    for name in statuses:
        path = out / f"{name}.json"
        if not path.exists():
            print(f"  ERROR  bench.{name}: no results (exit {statuses[name]})")
            continue
        for target in json.loads(path.read_text())["targets"]:
            flag = "PASS" if target["met"] else "MISS"
            print(f"  {flag}  {name}: {target['name']}: {target['measured']}")
    print(f"\nJSON results in {out}")
    return 0 if all(code == 0 for code in statuses.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
