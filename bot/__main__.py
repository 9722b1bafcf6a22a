"""Command line: `python -m bot [serve]` runs the HTTP server on 0.0.0.0:$PORT.

`python -m bot scan --once [--post]` runs one Seam scan and prints the findings as a table
(`--post` also posts, updates and resolves the alerts in ALERT_CHANNEL); exit 1 if the scan was
incomplete. `python -m bot scan` runs the scanner as its own process.
"""

from __future__ import annotations

import argparse
import sys

from bot.settings import SettingsError, configure_logging, load_settings


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, load settings (one clear line and exit 2 if invalid), and run."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve Slack requests on 0.0.0.0:$PORT (the default)")
    scan = sub.add_parser(
        "scan", help="scan Seam for failing access codes (alone: every SCAN_INTERVAL_SECONDS)"
    )
    scan.add_argument("--once", action="store_true", help="scan once and print the findings")
    scan.add_argument("--post", action="store_true", help="with --once: also post the alerts")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"seam-code-doctor: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "scan":
        import asyncio

        from bot.cli import run_cli

        return asyncio.run(run_cli(settings, once=args.once, post=args.post))
    if args.command in (None, "serve"):
        from aiohttp import web

        from bot.app import build_web_app

        web.run_app(build_web_app(settings), host="0.0.0.0", port=settings.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
