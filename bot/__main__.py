"""Command line: `python -m bot [serve]` runs the HTTP server on 0.0.0.0:$PORT."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, load settings (one clear line and exit 2 if invalid), and run."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve Slack requests on 0.0.0.0:$PORT (the default)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"seam-code-doctor: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.command in (None, "serve"):
        from aiohttp import web

        from bot.app import build_web_app

        web.run_app(build_web_app(settings), host="0.0.0.0", port=settings.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
