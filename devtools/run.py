"""`python -m devtools.run` (what `make run` calls): the real bot, or the built-in demo.

With `SLACK_BOT_TOKEN`, `SLACK_SIGNING_SECRET` and `SEAM_API_KEY` all set (in the environment or
`.env`), this replaces itself with the real bot, `python -m bot serve`.

Otherwise it runs the demo, which needs no accounts:

* the official Seam fake seeded with a realistic property (`devtools.seam_fake.SeamFake`: six
  locks of four brands; codes failing with a duplicate unmanaged PIN, full slots, a failed set on
  a guest code starting soon, a code modified outside Seam, an offline lock with codes on it, and
  healthy codes);
* a loopback fake of the Slack Web API (`devtools.fake_slack.FakeSlack`) and, in front of it,
  the Slack stand-in page (`devtools.standin`), which shows the alert channel and sends signed
  slash commands, button clicks and modal submissions to the bot;
* the bot itself, unchanged (`bot.app.build_web_app`), with a signing secret generated for this
  run, `ALERT_CHANNEL` set to the stand-in's channel and a scan every 30 seconds;
* Seam webhooks (`devtools.demo_webhooks`): the fake never delivers them, so the demo signs and
  posts the events Seam would send when the fake's state changes; the stand-in's
  `#seam-webhooks` channel shows each one arriving.

It prints the page's address and a few failing access_code_ids to try; Ctrl-C or SIGTERM stops
everything (the Seam fake's node process included).

Demo settings (environment only; `.env` is not read for these): `DEMO_PORT` (page, default
8080), `PORT` (bot, default 3000), `SCAN_INTERVAL_SECONDS` (default 30). A busy port is replaced
by a free one. `--demo` runs the demo even when credentials are set.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from devtools.demo_webhooks import WEBHOOK_CHANNEL, WEBHOOK_CHANNEL_NAME, DemoWebhooks, new_secret
from devtools.fake_slack import FakeSlack
from devtools.seam_fake import REPO_ROOT, SeamFake
from devtools.standin import StandIn, Suggestion

__all__ = [
    "CREDENTIALS",
    "DEMO_CHANNEL",
    "Demo",
    "DemoOptions",
    "credentials_status",
    "demo_suggestions",
    "main",
]

logger = logging.getLogger("devtools.run")

#: The settings that switch `make run` from the demo to the real bot.
CREDENTIALS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SEAM_API_KEY")
#: `.env.example`'s placeholder values: a copied but unedited `.env` still means "no credentials".
_PLACEHOLDERS = {"xoxb-your-bot-token", "your-signing-secret", "seam_your_api_key"}
#: The alert channel the demo bot posts to, and its name on the page.
DEMO_CHANNEL = "C0DEMOALERTS"
DEMO_CHANNEL_NAME = "seam-alerts"
DEMO_BOT_TOKEN = "xoxb-demo-local-standin"

#: Scenario codes listed on the page and at start-up, in order: key → (label, where / why).
_TRY: tuple[tuple[str, str, str], ...] = (
    ("duplicate", "Duplicate PIN on the lock", "Unit 2B Back Door (Schlage)"),
    ("failed_to_set", "Guest code failed to set", "Unit 2B Front Door (August), starts in ~5 h"),
    ("august_slots_full", "Lock's code slots are full", "Unit 2B Front Door (August)"),
    ("external_modification", "Code changed outside Seam", "Garage Entry (SmartThings)"),
    ("offline_guest", "Lock offline with codes on it", "Unit 3A Front Door (August)"),
    ("no_space", "No space for another code", "Lobby Keypad (Schlage)"),
    ("constraints_violated", "PIN breaks the lock's rules", "Unit 2B Back Door (Schlage)"),
    ("delay_warning", "Guest code not on the lock yet (at risk)", "Garage Entry, starts in ~20 h"),
    ("healthy_guest", "A healthy code, for comparison", "Unit 2B Back Door (Schlage)"),
)


def credentials_status(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> dict[str, bool]:
    """Which of `CREDENTIALS` are set (non-blank, not `.env.example`'s placeholder).

    The environment wins over `env_file`, as in `bot.settings` (`.env` in the working directory).
    """
    environ = os.environ if environ is None else environ
    file_values: dict[str, str | None] = {}
    if env_file is not None and env_file.is_file():
        from dotenv import dotenv_values

        file_values = dict(dotenv_values(env_file))
    status: dict[str, bool] = {}
    for name in CREDENTIALS:
        value = environ.get(name)
        if value is None:
            value = file_values.get(name) or file_values.get(name.lower())
        value = (value or "").strip()
        status[name] = bool(value) and value not in _PLACEHOLDERS
    return status


def demo_suggestions(ids: Mapping[str, Any]) -> list[Suggestion]:
    """The scenario's failing codes (and one healthy code) to try, from `SeamFake.ids`."""
    codes = ids.get("codes") or {}
    return [
        Suggestion(label=label, access_code_id=str(codes[key]), detail=detail)
        for key, label, detail in _TRY
        if key in codes
    ]


@dataclass
class DemoOptions:
    """How to run the demo. Ports: 0 = any free port; a busy port falls back to a free one."""

    ui_port: int = 8080
    bot_port: int = 3000
    scan_interval: float = 30.0
    host: str = "127.0.0.1"
    alert_channel: str = DEMO_CHANNEL
    data_dir: Path | None = None
    settings_overrides: dict[str, Any] = field(default_factory=dict)


async def _start_site(runner: web.AppRunner, host: str, port: int) -> int:
    """Start `runner` on `host:port`, or on a free port if that one is taken; returns the port."""
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await site.stop()
        if port == 0:
            raise
        logger.info("port %s is busy; using a free port instead", port)
        site = web.TCPSite(runner, host, 0)
        await site.start()
    return int(runner.addresses[0][1])


class Demo:
    """The running demo: Seam fake, Slack fake, stand-in page and the bot.

    Use `async with Demo(options) as demo:` (or `await demo.start()` / `await demo.stop()`).
    Attributes once started: `seam`, `slack`, `standin`, `settings`, `signing_secret`,
    `ui_url`, `bot_url` (the bot's root; Slack requests go to `bot_url + "/slack/events"`),
    `suggestions`.
    """

    def __init__(self, options: DemoOptions | None = None) -> None:
        self.options = options or DemoOptions()
        self.signing_secret = secrets.token_hex(16)
        self.webhook_secret = new_secret()
        self.webhooks: DemoWebhooks | None = None
        self.seam = SeamFake.start(port=0)
        self.slack = FakeSlack()
        self.standin: StandIn | None = None
        self.settings: Any = None
        self.suggestions: list[Suggestion] = []
        self.ui_url = ""
        self.bot_url = ""
        self._runner: web.AppRunner | None = None
        self._data_dir: Path | None = None
        self._own_data_dir = False

    async def __aenter__(self) -> Demo:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _make_data_dir(self) -> Path:
        if self.options.data_dir is not None:
            self.options.data_dir.mkdir(parents=True, exist_ok=True)
            return self.options.data_dir
        self._own_data_dir = True
        try:
            base = REPO_ROOT / ".demo"
            base.mkdir(exist_ok=True)
            return Path(tempfile.mkdtemp(prefix="run-", dir=base))
        except OSError:
            return Path(tempfile.mkdtemp(prefix="seam-demo-"))

    async def start(self) -> Demo:
        """Start the four parts; on any failure, stop what was started and re-raise."""
        from bot.app import SLACK_EVENTS_PATH, build_web_app
        from bot.settings import load_settings
        from bot.web.serving import announce_serving

        opts = self.options
        try:
            await self.seam.launch()
            await self.slack.start()
            self.suggestions = demo_suggestions(self.seam.ids)
            self._data_dir = self._make_data_dir()
            # Bind the bot first so the stand-in knows where to send requests.
            overrides: dict[str, Any] = {
                "slack_bot_token": DEMO_BOT_TOKEN,
                "slack_signing_secret": self.signing_secret,
                "seam_api_key": self.seam.api_key,
                "seam_endpoint": self.seam.url,
                "slack_api_url": self.slack.api_url,
                "alert_channel": opts.alert_channel,
                "scan_interval_seconds": opts.scan_interval,
                "database_path": self._data_dir / "bot.sqlite3",
                "remedy_allowed_users": "*",  # the demo: everyone may try the remedies
                "seam_webhook_secret": self.webhook_secret,
                # Informational for Bolt only; the real port is chosen when binding below.
                "port": opts.bot_port if 0 < opts.bot_port < 65536 else 3000,
                **opts.settings_overrides,
            }
            self.settings = load_settings(**overrides)
            webapp = await build_web_app(self.settings)
            self._runner = web.AppRunner(webapp, access_log=None)
            await self._runner.setup()
            bot_port = await _start_site(self._runner, opts.host, opts.bot_port)
            self.bot_url = f"http://{opts.host}:{bot_port}"
            announce_serving(f"{self.bot_url}{SLACK_EVENTS_PATH}", self.seam.url)
            self.webhooks = DemoWebhooks(
                self.seam, self.slack, f"{self.bot_url}/seam/webhook", self.webhook_secret
            )
            self.webhooks.start()
            minutes = f"every {opts.scan_interval:g} s" if opts.scan_interval > 0 else "never (off)"
            self.standin = StandIn(
                self.slack,
                events_url=f"{self.bot_url}/slack/events",
                signing_secret=self.signing_secret,
                channels={
                    opts.alert_channel: DEMO_CHANNEL_NAME,
                    WEBHOOK_CHANNEL: WEBHOOK_CHANNEL_NAME,
                },
                suggestions=self.suggestions,
                intro=(
                    f"*This is the bot's alert channel.* It scans the fake Seam workspace {minutes}"
                    " and posts one alert per failing code here. Type `/seam-code <access_code_id>`"
                    " below, or pick a code on the left, then try the remedy buttons."
                ),
            )
            try:
                await self.standin.start(opts.host, opts.ui_port)
            except OSError:
                if opts.ui_port == 0:
                    raise
                logger.info("port %s is busy; using a free port instead", opts.ui_port)
                await self.standin.start(opts.host, 0)
            self.ui_url = self.standin.url
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        """Stop everything (idempotent): page, bot (scanner included), Slack fake, Seam fake."""
        if self.webhooks is not None:
            await self.webhooks.stop()
            self.webhooks = None
        if self.standin is not None:
            with contextlib.suppress(Exception):
                await self.standin.stop()
        runner, self._runner = self._runner, None
        if runner is not None:
            try:
                await runner.cleanup()
            except Exception:
                logger.exception("stopping the bot failed")
        with contextlib.suppress(Exception):
            await self.slack.stop()
        await self.seam.stop()
        if self._own_data_dir and self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None

    async def services_events_seen(self) -> int:
        """How many Seam events the bot recorded (for checks and the start-up text)."""
        if self._runner is None:
            return 0
        from bot.app import SERVICES_KEY

        store = self._runner.app[SERVICES_KEY].store
        last = await store.last_event_at()
        return self.webhooks.sent if (self.webhooks is not None and last is not None) else 0

    def describe(self) -> str:
        """The start-up text: where to go and what to try."""
        width = max((len(s.label) for s in self.suggestions), default=0)
        lines = [
            "",
            f"  Open {self.ui_url} in your browser: the Slack stand-in (alert channel, "
            "/seam-code, buttons, modals).",
            "",
            f"  Bot:         {self.bot_url}/slack/events (signing secret generated for this run)",
            f'  Seam fake:   {self.seam.url} ("Harbor View Rentals", 6 locks, 4 brands)',
            f"  Alerts:      #{DEMO_CHANNEL_NAME} ({self.options.alert_channel}), scanned every "
            f"{self.options.scan_interval:g} s",
            "",
            "  Try these in the page's message box:",
        ]
        for s in self.suggestions:
            lines.append(f"    /seam-code {s.access_code_id}   {s.label.ljust(width)}  {s.detail}")
        lines += ["", "  Press Ctrl-C to stop.", ""]
        return "\n".join(lines)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"devtools.run: {name} must be a whole number, got {raw!r}") from None


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"devtools.run: {name} must be a number, got {raw!r}") from None


async def run_demo(options: DemoOptions) -> int:
    """Run the demo until SIGINT/SIGTERM. Returns the process exit code."""
    from bot.settings import SettingsError

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    demo = Demo(options)
    try:
        await demo.start()
    except SettingsError as exc:
        print(f"devtools.run: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError) as exc:
        print(f"devtools.run: could not start the demo: {exc}", file=sys.stderr)
        return 1
    try:
        print(demo.describe(), flush=True)
        await stop.wait()
        print("Stopping the demo…", flush=True)
    finally:
        await demo.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the real bot when all credentials are set, else the demo."""
    parser = argparse.ArgumentParser(
        prog="python -m devtools.run",
        description="Run the bot: the real one when SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and "
        "SEAM_API_KEY are set, else a demo against a bundled Seam fake and a local Slack "
        "stand-in page.",
    )
    parser.add_argument("--demo", action="store_true", help="run the demo even with credentials")
    parser.add_argument("--ui-port", type=int, help="the stand-in page's port (DEMO_PORT, 8080)")
    parser.add_argument("--bot-port", type=int, help="the demo bot's port (PORT, 3000)")
    parser.add_argument(
        "--scan-interval", type=float, help="seconds between scans (SCAN_INTERVAL_SECONDS, 30)"
    )
    args = parser.parse_args(argv)

    status = credentials_status()
    if all(status.values()) and not args.demo:
        print("Credentials found: starting the real bot (python -m bot serve).", flush=True)
        os.execv(sys.executable, [sys.executable, "-m", "bot", "serve"])
    missing = [name for name, ok in status.items() if not ok]
    if args.demo:
        reason = "--demo given"
    elif len(missing) == len(CREDENTIALS):
        reason = "no Slack or Seam credentials configured"
    else:
        reason = f"{', '.join(missing)} not set"
    print(f"Starting the demo ({reason}): bundled Seam fake + local Slack stand-in…", flush=True)
    options = DemoOptions(
        ui_port=args.ui_port if args.ui_port is not None else _env_int("DEMO_PORT", 8080),
        bot_port=args.bot_port if args.bot_port is not None else _env_int("PORT", 3000),
        scan_interval=(
            args.scan_interval
            if args.scan_interval is not None
            else _env_float("SCAN_INTERVAL_SECONDS", 30.0)
        ),
    )
    log_level = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    logging.basicConfig(
        level=log_level if log_level in logging.getLevelNamesMapping() else "INFO",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("httpx", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return asyncio.run(run_demo(options))


if __name__ == "__main__":
    sys.exit(main())
