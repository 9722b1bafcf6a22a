"""Command line: `python -m bot [serve]` runs the HTTP server on 0.0.0.0:$PORT.

`python -m bot webhook register --url https://.../seam/webhook` creates the Seam webhook and
prints its secret (for `SEAM_WEBHOOK_SECRET`); `python -m bot webhook list` shows them;
`python -m bot status` shows the last Seam event and scans. `python -m bot digest --once` posts
the pre-arrival digest (every arrival in the next 72 h, OK / at risk / failing) now.

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
    webhook = sub.add_parser("webhook", help="the Seam webhook that sends real-time events")
    webhook_sub = webhook.add_subparsers(dest="webhook_command", required=True)
    register = webhook_sub.add_parser(
        "register", help="create the Seam webhook and print the secret for SEAM_WEBHOOK_SECRET"
    )
    register.add_argument("--url", required=True, help="https://<your host>/seam/webhook")
    webhook_sub.add_parser("list", help="show the Seam webhooks of this workspace")
    sub.add_parser("status", help="last Seam event, last scans, and whether webhooks are on")
    digest = sub.add_parser("digest", help="the pre-arrival digest (every arrival in 72 h)")
    digest.add_argument(
        "--once", action="store_true", required=True, help="post it to ALERT_CHANNEL now"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"seam-code-doctor: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command in (None, "serve", "scan"):
        from bot.app import load_alert_routes
        from bot.domain.routing import RoutesError

        try:  # a bad ALERT_ROUTES file stops start-up with one line naming the rule
            load_alert_routes(settings)
        except RoutesError as exc:
            print(f"seam-code-doctor: configuration error: ALERT_ROUTES {exc}", file=sys.stderr)
            return 2
    if args.command == "scan":
        import asyncio

        from bot.cli import run_cli

        return asyncio.run(run_cli(settings, once=args.once, post=args.post))
    if args.command == "webhook":
        import asyncio

        from bot.cli import list_webhooks, register_webhook

        if args.webhook_command == "register":
            return asyncio.run(register_webhook(settings, args.url))
        return asyncio.run(list_webhooks(settings))
    if args.command == "digest":
        import asyncio

        from bot.cli import run_digest

        return asyncio.run(run_digest(settings))
    if args.command == "status":
        import asyncio

        from bot.cli import status

        return asyncio.run(status(settings))
    if args.command in (None, "serve"):
        import asyncio

        from aiohttp import web

        from bot.app import SLACK_EVENTS_PATH, build_web_app
        from bot.store import Store, StoreError
        from bot.web.serving import announce_serving

        async def preflight() -> None:
            await (await Store.open(settings.database_target())).close()

        try:  # a corrupt, read-only or misplaced database stops start-up, fast and clearly
            asyncio.run(asyncio.wait_for(preflight(), 5.0))
        except (StoreError, TimeoutError) as exc:
            print(
                f"seam-code-doctor: {exc or 'the database did not answer in 5 s'}", file=sys.stderr
            )
            return 1
        url = f"http://0.0.0.0:{settings.port}{SLACK_EVENTS_PATH}"
        # No access log: one line per request was ~10 % of the ack path; the bot's own loggers
        # say what matters. `print` is called once the port is bound: say where, with that port
        # (in Socket Mode Slack comes over the WebSocket; the app says so itself).
        web.run_app(
            build_web_app(settings),
            host="0.0.0.0",
            port=settings.port,
            print=None
            if settings.slack_app_token is not None
            else lambda _: announce_serving(url, str(settings.seam_endpoint)),
            access_log=None,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
