"""The Slack stand-in: a loopback web page in front of `FakeSlack` that plays the Slack client.

The bot talks to `devtools.fake_slack.FakeSlack` exactly as it talks to Slack (Web API calls,
`response_url` posts). This server shows that traffic as a Slack-like page and turns what the
person does on the page into the signed requests Slack would send to the bot's `/slack/events`:

* the channels (messages the bot posted or edited, thread replies under their parent, an
  "edited" marker) and ephemeral messages ("Only visible to you"), merged in time order;
* `/seam-code ...` typed in the composer → a signed slash command whose `response_url` points at
  FakeSlack's `/hooks/<key>` and whose `trigger_id` comes from `FakeSlack.issue_trigger_id()`;
  an ack with a body (usage, invalid input) is shown as an ephemeral message;
* a button or select → a signed `block_actions` (container channel/message_ts/is_ephemeral,
  response_url, a fresh trigger_id); `confirm` dialogs are shown by the page first;
* `response_url` posts: `replace_original` replaces the message the URL belongs to (the
  ephemeral the button was on, the previous answer to a command, or a channel message),
  `delete_original` removes it, anything else is a new ephemeral (or channel message with
  `response_type: in_channel`);
* modals the bot opens (`views.open/update/push`) → shown with their inputs; Submit → a signed
  `view_submission`; its ack: `errors` under the inputs, `update`/`push` applied, empty = close;
* the App Home tab (`app_home_opened` event → `views.publish`).

The page never sees the signing secret: it calls this server's small JSON API and the server
signs (`devtools.slack_requests`). The page polls `GET /api/state?since=<revision>`, which
answers at once when something changed and otherwise waits up to `wait` seconds (long poll).

JSON API (all bodies JSON):

* `GET  /api/state?since=N&wait=S` → the whole page state (see `StandIn.state`).
* `POST /api/command` `{"text": "/seam-code <id>", "channel": "C..."}`.
* `POST /api/action` `{"surface": "message"|"ephemeral"|"view"|"home", "channel", "ts",
  "ephemeral_id", "view_id", "block_index", "element_index" (-1 = section accessory),
  "selected": value for selects/radio/overflow, "values": modal input state for "view"}`.
* `POST /api/submit` `{"view_id", "values": {block_id: {action_id: {"type", "value"?,
  "selected"?, "selected_list"?}}}}`; `POST /api/close` `{"view_id", "all": bool}`.
* `POST /api/home` opens the App Home tab; `POST /api/dismiss` `{"ephemeral_id"}`.

Each answers `{"ok": bool, "status": bot HTTP status, "error"?: str}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from devtools.fake_slack import BOT_USER_ID, FakeSlack
from devtools.slack_requests import (
    block_actions_body,
    event_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)

__all__ = ["BANNER", "DEMO_USER_ID", "StandIn", "Suggestion"]

logger = logging.getLogger(__name__)

#: The person using the page (a valid Slack user id shape).
DEMO_USER_ID = "U0DEMOUSER"
DEMO_USER_NAME = "you"
#: The banner at the top of the page.
BANNER = "Demo: fake Seam + local Slack stand-in"
#: Slash commands the page sends to the bot (others get Slack's "not a valid command" answer).
KNOWN_COMMANDS = ("/seam-code",)
#: Slack shows an error when an app takes longer than this to acknowledge a request (s).
ACK_LIMIT_SECONDS = 3.0

_STATIC = Path(__file__).resolve().parent / "static"
_STATIC_FILES = {
    "app.js": "application/javascript",
    "app.css": "text/css",
}
_SELECTS = ("static_select", "radio_buttons", "overflow")
_MULTI = ("checkboxes", "multi_static_select")


@dataclass(frozen=True)
class Suggestion:
    """A code to try, listed on the page: clicking it fills in `/seam-code <access_code_id>`."""

    label: str
    access_code_id: str
    detail: str = ""


@dataclass
class _Ephemeral:
    id: str
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    context: str = ""
    thread_ts: str | None = None
    replaced: bool = False
    author: str = ""


@dataclass
class _Target:
    """What a `response_url` belongs to."""

    channel: str
    kind: Literal["command", "ephemeral", "message"]
    ts: str = ""
    ephemeral_id: str = ""
    context: str = ""


@dataclass
class _Notice:
    id: int
    level: Literal["info", "warning", "error"]
    text: str
    at: float = field(default_factory=time.time)


class StandInError(Exception):
    """A page request the stand-in cannot turn into a Slack request (HTTP 400 to the page)."""


class StandIn:
    """The stand-in web server.

    Args:
        slack: the running FakeSlack the bot's Web API client points at.
        events_url: the bot's `/slack/events` URL.
        signing_secret: the bot's signing secret (used to sign every request; never sent to the
            page).
        channels: channel id → name shown in the sidebar (the first is selected by default).
        suggestions: codes to try, shown in the sidebar.
        user_id / user_name: who the person on the page is.
        bot_name: the app's display name.
        intro: mrkdwn shown at the top of the first channel (what to do on the page).
        long_poll_seconds: the longest `GET /api/state` waits for a change.
    """

    def __init__(
        self,
        slack: FakeSlack,
        *,
        events_url: str,
        signing_secret: str,
        channels: Mapping[str, str] | None = None,
        suggestions: Sequence[Suggestion] = (),
        user_id: str = DEMO_USER_ID,
        user_name: str = DEMO_USER_NAME,
        bot_name: str = "Seam code doctor",
        intro: str = "",
        long_poll_seconds: float = 20.0,
    ) -> None:
        self.slack = slack
        self.events_url = events_url
        self._secret = signing_secret
        self.channels: dict[str, str] = dict(channels or {"C0DEMOALERTS": "seam-alerts"})
        if not self.channels:
            raise ValueError("at least one channel is needed")
        self.suggestions = list(suggestions)
        self.user_id = user_id
        self.user_name = user_name
        self.bot_name = bot_name
        self.intro = intro
        self.long_poll_seconds = long_poll_seconds
        self.port = 0
        self._host = "127.0.0.1"
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        self._revision = 0
        self._changed = asyncio.Event()
        self._closing = False
        self._syncing = False
        self._ephemerals: dict[str, _Ephemeral] = {}
        self._targets: dict[str, _Target] = {}
        self._applied: dict[str, int] = {}
        self._applied_post_ephemerals = 0
        self._known_views: set[str] = set()
        self._modal_stack: list[str] = []
        self._view_errors: dict[str, dict[str, str]] = {}
        self._notices: list[_Notice] = []
        self._last_ts = 0.0

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """The page's address, "http://127.0.0.1:PORT"."""
        return f"http://{self._host}:{self.port}"

    @property
    def default_channel(self) -> str:
        """The channel shown first (the first of `channels`)."""
        return next(iter(self.channels))

    def web_app(self) -> web.Application:
        """The aiohttp application (page, static files, JSON API)."""
        app = web.Application(client_max_size=256 * 1024)
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/state", self._api_state)
        app.router.add_post("/api/command", self._api_command)
        app.router.add_post("/api/action", self._api_action)
        app.router.add_post("/api/submit", self._api_submit)
        app.router.add_post("/api/close", self._api_close)
        app.router.add_post("/api/home", self._api_home)
        app.router.add_post("/api/dismiss", self._api_dismiss)
        app.on_shutdown.append(self._wake_pollers)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> StandIn:
        """Serve on `host:port` (0 = any free port).

        Raises:
            OSError: the port is taken (the caller may retry with 0).
        """
        if self._runner is not None:
            return self
        self._closing = False
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15), trust_env=False)
        runner = web.AppRunner(self.web_app(), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            await self._http.close()
            self._http = None
            raise
        self._runner = runner
        self._host = host
        self.port = int(runner.addresses[0][1])
        self.slack.listeners.append(self._on_slack_change)
        return self

    async def stop(self) -> None:
        """Stop serving and close the HTTP client (state is kept)."""
        with contextlib.suppress(ValueError):
            self.slack.listeners.remove(self._on_slack_change)
        self._closing = True
        self._bump()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        http, self._http = self._http, None
        if http is not None:
            await http.close()

    async def __aenter__(self) -> StandIn:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _wake_pollers(self, _: web.Application) -> None:
        self._closing = True
        self._bump()

    # ------------------------------------------------------------------ change tracking

    @property
    def revision(self) -> int:
        """Increases whenever anything the page shows changed."""
        return self._revision

    def _bump(self) -> None:
        self._revision += 1
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def _on_slack_change(self) -> None:
        self._sync()
        self._bump()

    async def wait_for_change(self, since: int, timeout: float) -> int:  # noqa: ASYNC109
        """Wait until `revision` differs from `since` (at most `timeout` seconds); returns it."""
        self._sync()
        deadline = time.monotonic() + timeout
        while self._revision == since and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
        return self._revision

    def _sync(self) -> None:
        """Fold new response_url posts, chat.postEphemeral messages and modals into the state."""
        if self._syncing:
            return
        self._syncing = True
        try:
            for key, posts in list(self.slack.responses.items()):
                done = self._applied.get(key, 0)
                while done < len(posts):
                    body = posts[done]
                    done += 1
                    self._applied[key] = done
                    self._apply_response(key, body)
            posted = self.slack.ephemerals
            while self._applied_post_ephemerals < len(posted):
                item = posted[self._applied_post_ephemerals]
                self._applied_post_ephemerals += 1
                if item.get("user") == self.user_id:
                    self._add_ephemeral(
                        str(item.get("channel") or self.default_channel),
                        text=str(item.get("text") or ""),
                        blocks=item.get("blocks"),
                        thread_ts=item.get("thread_ts"),
                        ts=str(item.get("message_ts") or "") or None,
                    )
            for view_id, view in list(self.slack.views.items()):
                if view_id in self._known_views:
                    continue
                self._known_views.add(view_id)
                previous = view.get("previous_view_id")
                if not previous:
                    self._modal_stack = [view_id]
                elif self._modal_stack and previous == self._modal_stack[-1]:
                    self._modal_stack.append(view_id)
        finally:
            self._syncing = False

    def _next_ts(self) -> str:
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def _add_ephemeral(
        self,
        channel: str,
        *,
        text: str,
        blocks: Any,
        context: str = "",
        thread_ts: Any = None,
        ts: str | None = None,
        author: str = "",
    ) -> _Ephemeral:
        eph = _Ephemeral(
            id=f"E{next(self._ids)}",
            channel=channel,
            ts=ts or self._next_ts(),
            text=text,
            blocks=copy.deepcopy(blocks) if isinstance(blocks, list) else None,
            context=context,
            thread_ts=str(thread_ts) if thread_ts else None,
            author=author,
        )
        self._ephemerals[eph.id] = eph
        return eph

    def _apply_response(self, key: str, body: Mapping[str, Any]) -> None:
        """Apply one `response_url` post the way the Slack client shows it."""
        target = self._targets.get(key) or _Target(self.default_channel, "command")
        self._targets[key] = target
        text = str(body.get("text") or "")
        blocks = body.get("blocks") if isinstance(body.get("blocks"), list) else None
        if body.get("delete_original"):
            if target.kind == "message":
                self.slack.delete_message(target.channel, target.ts)
            else:
                self._ephemerals.pop(target.ephemeral_id, None)
            return
        if body.get("replace_original"):
            if target.kind == "message":
                fields: dict[str, Any] = {"text": text}
                if blocks is not None:
                    fields["blocks"] = blocks
                try:
                    self.slack.replace_message(target.channel, target.ts, **fields)
                except (KeyError, ValueError) as exc:
                    self._notice("error", f"response_url replace_original failed: {exc!r}")
                return
            eph = self._ephemerals.get(target.ephemeral_id)
            if eph is not None:
                eph.text, eph.blocks, eph.replaced = text, copy.deepcopy(blocks), True
                return
        if body.get("response_type") == "in_channel":
            fields = {"text": text}
            if blocks is not None:
                fields["blocks"] = blocks
            if body.get("thread_ts"):
                fields["thread_ts"] = body["thread_ts"]
            try:
                self.slack.post_message(target.channel, **fields)
            except ValueError as exc:
                self._notice("error", f"response_url in_channel post refused: {exc}")
            return
        eph = self._add_ephemeral(
            target.channel,
            text=text,
            blocks=blocks,
            context=target.context,
            thread_ts=body.get("thread_ts"),
        )
        if target.kind == "command" and not target.ephemeral_id:
            target.ephemeral_id = eph.id

    def _notice(self, level: Literal["info", "warning", "error"], text: str) -> None:
        self._notices.append(_Notice(id=next(self._ids), level=level, text=text))
        del self._notices[:-20]
        log = logger.warning if level != "info" else logger.info
        log("stand-in: %s", text)
        self._bump()

    # ------------------------------------------------------------------ state

    def state(self) -> dict[str, Any]:
        """Everything the page shows, as JSON-ready data.

        `{"revision", "banner", "intro", "user": {"id", "name"}, "bot": {"id", "name"},
        "names": {"users": {id: name}, "channels": {id: name}},
        "channels": [{"id", "name", "items": [item, ...]}], "modal": None | {"view_id",
        "view", "errors": {block_id: text}, "depth"}, "home": view | None,
        "suggestions": [{"label", "access_code_id", "detail", "command"}],
        "notices": [{"id", "level", "text", "at"}]}`. An item is a channel message
        `{"kind": "message", "ts", "text", "blocks", "edited", "from_bot", "replies": [...]}` or
        an ephemeral `{"kind": "ephemeral", "id", "ts", "text", "blocks", "context",
        "replaced", "author"}` (author "" = the app, "Slackbot" = answered by the stand-in);
        replies are the same shapes.
        """
        self._sync()
        channel_ids = list(self.channels)
        for ch, _ in self.slack.message_store:
            if ch not in channel_ids:
                channel_ids.append(ch)
        channels = [
            {"id": ch, "name": self.channels.get(ch, ch), "items": self._timeline(ch)}
            for ch in channel_ids
        ]
        modal = None
        while self._modal_stack and self._modal_stack[-1] not in self.slack.views:
            self._modal_stack.pop()
        if self._modal_stack:
            top = self._modal_stack[-1]
            modal = {
                "view_id": top,
                "view": copy.deepcopy(self.slack.views[top]),
                "errors": dict(self._view_errors.get(top, {})),
                "depth": len(self._modal_stack),
            }
        home = self.slack.home_views.get(self.user_id)
        users = {self.user_id: self.user_name, BOT_USER_ID: self.bot_name}
        users.update({uid: str(u.get("name") or uid) for uid, u in self.slack.users.items()})
        return {
            "revision": self._revision,
            "banner": BANNER,
            "intro": self.intro,
            "user": {"id": self.user_id, "name": self.user_name},
            "bot": {"id": BOT_USER_ID, "name": self.bot_name},
            "names": {
                "users": users,
                "channels": {ch: self.channels.get(ch, ch) for ch in channel_ids},
            },
            "channels": channels,
            "modal": modal,
            "home": copy.deepcopy(home) if home else None,
            "suggestions": [
                {
                    "label": s.label,
                    "access_code_id": s.access_code_id,
                    "detail": s.detail,
                    "command": f"/seam-code {s.access_code_id}",
                }
                for s in self.suggestions
            ],
            "notices": [
                {"id": n.id, "level": n.level, "text": n.text, "at": n.at} for n in self._notices
            ],
        }

    def _timeline(self, channel: str) -> list[dict[str, Any]]:
        top: list[dict[str, Any]] = []
        by_ts: dict[str, dict[str, Any]] = {}
        orphans: list[dict[str, Any]] = []
        for message in self.slack.messages(channel):
            item = {
                "kind": "message",
                "ts": message["ts"],
                "text": message.get("text", ""),
                "blocks": message.get("blocks"),
                "edited": bool(message.get("edited")),
                "from_bot": message.get("user") == BOT_USER_ID or bool(message.get("bot_id")),
                "user": message.get("user", ""),
                "replies": [],
            }
            thread = message.get("thread_ts")
            if thread and thread != message["ts"]:
                item["thread_ts"] = thread
                orphans.append(item)
            else:
                by_ts[message["ts"]] = item
                top.append(item)
        for eph in self._ephemerals.values():
            if eph.channel != channel:
                continue
            item = {
                "kind": "ephemeral",
                "id": eph.id,
                "ts": eph.ts,
                "text": eph.text,
                "blocks": eph.blocks,
                "context": eph.context,
                "replaced": eph.replaced,
                "author": eph.author,
                "replies": [],
            }
            if eph.thread_ts and eph.thread_ts in by_ts:
                item["thread_ts"] = eph.thread_ts
                orphans.append(item)
            else:
                top.append(item)
        for item in orphans:
            parent = by_ts.get(str(item.get("thread_ts")))
            if parent is not None:
                parent["replies"].append(item)
            else:
                top.append(item)
        for item in top:
            item["replies"].sort(key=lambda i: float(i["ts"]))
        top.sort(key=lambda i: float(i["ts"]))
        return top

    # ------------------------------------------------------------------ talking to the bot

    async def _post(self, body: bytes, what: str) -> tuple[int, Any]:
        """POST a signed body to the bot; returns (HTTP status or 0, parsed ack body or None)."""
        if self._http is None:
            raise StandInError("the stand-in is not running")
        headers = signed_headers(self._secret, body)
        started = time.monotonic()
        try:
            async with self._http.post(self.events_url, data=body, headers=headers) as resp:
                status = resp.status
                raw = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._notice("error", f"Could not reach the bot at {self.events_url} ({exc!r}).")
            return 0, None
        elapsed = time.monotonic() - started
        if status != 200:
            self._notice("error", f"The bot answered HTTP {status} to the {what}.")
        elif elapsed > ACK_LIMIT_SECONDS:
            self._notice(
                "warning",
                f"The bot took {elapsed:.1f} s to acknowledge the {what}; Slack would have shown "
                "an error after 3 s.",
            )
        parsed: Any = None
        if raw.strip():
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = {"text": raw.decode("utf-8", "replace")}
        return status, parsed

    async def send_command(self, text: str, channel: str | None = None) -> dict[str, Any]:
        """Send what was typed in the composer (`/seam-code <id>`) as a signed slash command."""
        channel = channel or self.default_channel
        typed = " ".join(text.split())
        command, _, arg = typed.partition(" ")
        if not command.startswith("/"):
            self._add_ephemeral(
                channel,
                text="This stand-in only sends slash commands to the bot.",
                blocks=_note_blocks(
                    "This stand-in only sends slash commands: try `/seam-code <access_code_id>`."
                ),
                context=typed[:80],
                author="Slackbot",
            )
            self._bump()
            return {"ok": False, "status": 0, "error": "not a slash command"}
        if command not in KNOWN_COMMANDS:
            self._add_ephemeral(
                channel,
                text=f"{command} is not a valid command.",
                blocks=_note_blocks(
                    f"`{_esc(command[:40])}` is not a valid command. In this demo the app "
                    "answers `/seam-code`."
                ),
                context=typed[:80],
                author="Slackbot",
            )
            self._bump()
            return {"ok": False, "status": 0, "error": "unknown command"}
        key = f"cmd{next(self._ids)}"
        self._targets[key] = _Target(channel, "command", context=typed[:200])
        body = slash_command_body(
            arg,
            command=command,
            user_id=self.user_id,
            user_name=self.user_name,
            channel_id=channel,
            channel_name=self.channels.get(channel, channel),
            response_url=self.slack.response_url(key),
            trigger_id=self.slack.issue_trigger_id(),
        )
        status, ack = await self._post(body, f"{command} command")
        if status == 200 and isinstance(ack, dict) and (ack.get("text") or ack.get("blocks")):
            self._apply_response(key, ack)
        self._bump()
        return {"ok": status == 200, "status": status}

    def _source_blocks(
        self, request: Mapping[str, Any]
    ) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
        """The surface kind, its blocks, and extra context for an `/api/action` request."""
        surface = request.get("surface")
        if surface == "message":
            channel, ts = str(request.get("channel")), str(request.get("ts"))
            message = self.slack.message_store.get((channel, ts))
            if message is None or message.get("deleted"):
                raise StandInError("that message no longer exists")
            return "message", list(message.get("blocks") or []), {"message": message}
        if surface == "ephemeral":
            eph = self._ephemerals.get(str(request.get("ephemeral_id")))
            if eph is None:
                raise StandInError("that message was dismissed")
            return "ephemeral", list(eph.blocks or []), {"ephemeral": eph}
        if surface == "view":
            view = self.slack.views.get(str(request.get("view_id")))
            if view is None:
                raise StandInError("that modal is closed")
            return "view", list(view.get("blocks") or []), {"view": view}
        if surface == "home":
            home = self.slack.home_views.get(self.user_id)
            if home is None:
                raise StandInError("the Home tab is not published")
            return "home", list(home.get("blocks") or []), {"view": home}
        raise StandInError(f"unknown surface {surface!r}")

    async def send_action(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """A click on a button (or a choice in a select) → a signed `block_actions`."""
        surface, blocks, extra = self._source_blocks(request)
        try:
            b_index = int(request.get("block_index", -1))
            e_index = int(request.get("element_index", -1))
            block = blocks[b_index]
            element = block["accessory"] if e_index == -1 else block["elements"][e_index]
        except (IndexError, KeyError, TypeError, ValueError):
            raise StandInError("no such element on that message") from None
        if not isinstance(element, dict):
            raise StandInError("no such element on that message")
        kind = str(element.get("type") or "button")
        block_id = str(block.get("block_id") or f"b{b_index}")
        action_id = str(element.get("action_id") or f"a{b_index}_{e_index}")
        if kind == "button":
            value = str(element.get("value") or "")
        elif kind in _SELECTS:
            value = str(request.get("selected") or "")
            if not value:
                raise StandInError("nothing was selected")
        else:
            raise StandInError(f"{kind} elements are not clickable in this stand-in")
        button_text = str((element.get("text") or {}).get("text") or "Button")
        if surface in ("view", "home"):
            view = copy.deepcopy(extra["view"])
            if surface == "view" and isinstance(request.get("values"), dict):
                view["state"] = {"values": _state_values(view, request["values"])}
            body = block_actions_body(
                action_id,
                value,
                user_id=self.user_id,
                response_url="",
                trigger_id=self.slack.issue_trigger_id(view_id=view["id"]),
                block_id=block_id,
                container_type="view",
                view=view,
                action_type=kind,
                button_text=button_text,
            )
        else:
            key = f"act{next(self._ids)}"
            if surface == "message":
                message = extra["message"]
                channel, ts = str(message["channel"]), str(message["ts"])
                self._targets[key] = _Target(channel, "message", ts=ts, context=button_text)
                is_ephemeral = False
                message_blocks = list(message.get("blocks") or [])
                message_text = str(message.get("text") or "")
            else:
                eph = extra["ephemeral"]
                channel, ts = eph.channel, eph.ts
                self._targets[key] = _Target(
                    channel, "ephemeral", ephemeral_id=eph.id, context=eph.context
                )
                is_ephemeral = True
                message_blocks = []
                message_text = eph.text
            body = block_actions_body(
                action_id,
                value,
                user_id=self.user_id,
                channel_id=channel,
                message_ts=ts,
                response_url=self.slack.response_url(key),
                trigger_id=self.slack.issue_trigger_id(),
                block_id=block_id,
                message_blocks=message_blocks,
                is_ephemeral=is_ephemeral,
                action_type=kind,
                button_text=button_text,
                message_text=message_text,
            )
        status, _ = await self._post(body, f"click on “{button_text}”")
        self._bump()
        return {"ok": status == 200, "status": status}

    async def submit_view(self, view_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Submit a modal → a signed `view_submission`; apply the ack's `response_action`."""
        view = self.slack.views.get(view_id)
        if view is None:
            raise StandInError("that modal is closed")
        state = _state_values(view, values)
        title = str((view.get("title") or {}).get("text") or "Modal")
        body = view_submission_body(
            str(view.get("callback_id") or ""),
            state,
            private_metadata=str(view.get("private_metadata") or ""),
            user_id=self.user_id,
            trigger_id=self.slack.issue_trigger_id(view_id=view_id),
            view_id=view_id,
            blocks=list(view.get("blocks") or []),
            title=title,
            view_hash=str(view.get("hash") or ""),
        )
        self._view_errors.pop(view_id, None)
        status, ack = await self._post(body, f"“{title}” form")
        if status != 200:
            self._bump()
            return {"ok": False, "status": status}
        action = ack.get("response_action") if isinstance(ack, dict) else None
        result: dict[str, Any] = {"ok": True, "status": status, "response_action": action}
        if action == "errors":
            errors = ack.get("errors") if isinstance(ack, dict) else None
            self._view_errors[view_id] = {
                str(k): str(v) for k, v in (errors or {}).items() if isinstance(k, str)
            }
        elif action in ("update", "push"):
            try:
                if action == "update":
                    self.slack.update_view(view_id, ack.get("view") or {})
                else:
                    self.slack.push_view(view_id, ack.get("view") or {})
            except (KeyError, ValueError) as exc:
                self._notice("error", f"The bot's response_action {action} was refused: {exc}")
                result["ok"] = False
        elif action == "clear":
            self._modal_stack.clear()
            self.slack.close_view(view_id, close_all=True)
        else:
            self._close_top(view_id)
        self._bump()
        return result

    def _close_top(self, view_id: str) -> None:
        if view_id in self._modal_stack:
            del self._modal_stack[self._modal_stack.index(view_id) :]
        self.slack.close_view(view_id)

    async def close_view(self, view_id: str, *, close_all: bool = False) -> dict[str, Any]:
        """Cancel (back one view) or × (close all); sends `view_closed` when the view asks."""
        view = self.slack.views.get(view_id)
        if close_all:
            self._modal_stack.clear()
            self.slack.close_view(view_id, close_all=True)
        else:
            self._close_top(view_id)
        status = 200
        if view is not None and view.get("notify_on_close"):
            payload = {
                "type": "view_closed",
                "team": {"id": "T111", "domain": "test-domain"},
                "user": {"id": self.user_id, "name": self.user_name, "team_id": "T111"},
                "api_app_id": "A111",
                "view": view,
                "is_cleared": close_all,
            }
            body = urlencode({"payload": json.dumps(payload)}).encode()
            status, _ = await self._post(body, "closed modal")
        self._bump()
        return {"ok": status == 200, "status": status}

    async def open_home(self) -> dict[str, Any]:
        """Open the App Home tab: a signed `app_home_opened` event."""
        body = event_body(
            {
                "type": "app_home_opened",
                "user": self.user_id,
                "channel": "D0DEMOHOME",
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            }
        )
        status, _ = await self._post(body, "App Home event")
        self._bump()
        return {"ok": status == 200, "status": status}

    def dismiss(self, ephemeral_id: str) -> dict[str, Any]:
        """The "Dismiss message" link on an ephemeral message."""
        found = self._ephemerals.pop(ephemeral_id, None) is not None
        self._bump()
        return {"ok": found, "status": 0}

    # ------------------------------------------------------------------ HTTP handlers

    async def _index(self, _: web.Request) -> web.Response:
        html = (_STATIC / "index.html").read_text("utf-8")
        return web.Response(
            text=html, content_type="text/html", headers={"Cache-Control": "no-store"}
        )

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _STATIC_FILES:
            raise web.HTTPNotFound()
        return web.Response(
            body=(_STATIC / name).read_bytes(),
            content_type=_STATIC_FILES[name],
            headers={"Cache-Control": "no-store"},
        )

    async def _api_state(self, request: web.Request) -> web.Response:
        try:
            since = int(request.query.get("since", "-1"))
            wait = min(float(request.query.get("wait", self.long_poll_seconds)), 60.0)
        except ValueError:
            raise web.HTTPBadRequest(text="since and wait must be numbers") from None
        if since == self._revision and wait > 0:
            await self.wait_for_change(since, wait)
        return web.json_response(self.state(), headers={"Cache-Control": "no-store"})

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="expected a JSON object") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        return data

    @staticmethod
    def _answer(result: dict[str, Any]) -> web.Response:
        return web.json_response(result)

    @staticmethod
    def _refuse(exc: StandInError) -> web.Response:
        return web.json_response({"ok": False, "status": 0, "error": str(exc)}, status=400)

    async def _api_command(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        text = data.get("text")
        channel = data.get("channel")
        if not isinstance(text, str) or not text.strip():
            return self._refuse(StandInError("type a command, e.g. /seam-code <id>"))
        if channel is not None and (not isinstance(channel, str) or not channel):
            return self._refuse(StandInError("bad channel"))
        return self._answer(await self.send_command(text[:4000], channel))

    async def _api_action(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        try:
            return self._answer(await self.send_action(data))
        except StandInError as exc:
            return self._refuse(exc)

    async def _api_submit(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        raw = data.get("values")
        values: dict[str, Any] = raw if isinstance(raw, dict) else {}
        try:
            return self._answer(await self.submit_view(str(data.get("view_id")), values))
        except StandInError as exc:
            return self._refuse(exc)

    async def _api_close(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        return self._answer(
            await self.close_view(str(data.get("view_id")), close_all=bool(data.get("all")))
        )

    async def _api_home(self, _: web.Request) -> web.Response:
        return self._answer(await self.open_home())

    async def _api_dismiss(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        return self._answer(self.dismiss(str(data.get("ephemeral_id"))))


# ---------------------------------------------------------------------------------- helpers


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _note_blocks(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": f":information_source: {text}"}}]


def _options_of(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    options = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            options += [o for o in group.get("options") or [] if isinstance(o, dict)]
    return options


def _elements_by_id(view: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Input elements of a view keyed by (block_id, action_id), with the page's fallback ids."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for b_index, block in enumerate(view.get("blocks") or []):
        if not isinstance(block, dict):
            continue
        block_id = str(block.get("block_id") or f"b{b_index}")
        element = block.get("element")
        if block.get("type") == "input" and isinstance(element, dict):
            found[(block_id, str(element.get("action_id") or f"a{b_index}_0"))] = element
    return found


def _state_values(view: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The page's input values → Slack's `view.state.values` (options looked up in the view)."""
    elements = _elements_by_id(view)
    state: dict[str, dict[str, Any]] = {}
    for (block_id, action_id), element in elements.items():
        given = values.get(block_id, {}).get(action_id) if isinstance(values, Mapping) else None
        given = given if isinstance(given, Mapping) else {}
        kind = str(element.get("type") or "plain_text_input")
        options = {str(o.get("value")): o for o in _options_of(element)}
        entry: dict[str, Any] = {"type": kind}
        if kind in ("static_select", "radio_buttons"):
            picked = options.get(str(given.get("selected")))
            entry["selected_option"] = copy.deepcopy(picked) if picked else None
        elif kind in _MULTI:
            chosen = given.get("selected_list")
            chosen = chosen if isinstance(chosen, list) else []
            entry["selected_options"] = [
                copy.deepcopy(options[str(v)]) for v in chosen if str(v) in options
            ]
        elif kind == "datepicker":
            entry["selected_date"] = given.get("value") or None
        elif kind == "timepicker":
            entry["selected_time"] = given.get("value") or None
        elif kind == "datetimepicker":
            raw = given.get("value")
            entry["selected_date_time"] = (
                int(raw) if isinstance(raw, str) and raw.isdigit() else None
            )
        else:
            value = given.get("value")
            entry["value"] = value if isinstance(value, str) and value != "" else None
        state.setdefault(block_id, {})[action_id] = entry
    return state
