"""A loopback fake of the Slack Web API plus a `response_url` sink (aiohttp).

Usage::

    async with FakeSlack() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        body = slash_command_body("ABC", response_url=slack.response_url("cmd"),
                                  trigger_id=slack.issue_trigger_id())
        ...
        [reply] = await slack.wait_for_response("cmd")
        assert slack.calls_to("chat.postMessage")

What it enforces like Slack does (answering HTTP 200 `{"ok": false, "error": ...}`):
`not_authed` / `invalid_auth` (a `Bearer xoxb-...` header is required), Block Kit limits
(`invalid_blocks`, with the reasons in `errors`), `msg_too_long`, `no_text`, `view_too_large`,
`message_not_found`, trigger_id expiry (3 s) and single use, view `hash_conflict`,
`push_limit_reached`, `unknown_method`. Injected failures come from `fail_next`.

Socket Mode (Slack's page "Using Socket Mode"): `apps.connections.open`, called with an app-level
token (`xapp-…`; a bot token gets `not_allowed_token_type`, and an app token on any other method
too), answers a one-use `ws://127.0.0.1:PORT/socket?ticket=…` URL served here. The fake greets
each connection with `hello`, delivers envelopes with `deliver` (or anything at all with
`send_socket`), and records every message the app sends back in `socket_received` (acks carry
`envelope_id`; `wait_for_ack`).

All times are seconds. Everything is single-event-loop; no threads.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, TypeVar

from aiohttp import WSMsgType, web

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "TEAM_ID",
    "FakeSlack",
    "Headers",
    "SlackCall",
    "validate_blocks",
    "validate_view",
]

TEAM_ID = "T111"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A111"

T = TypeVar("T")
Surface = Literal["message", "modal", "home"]

# ---------------------------------------------------------------------------------------------
# Block Kit validation (pure functions)
# ---------------------------------------------------------------------------------------------

MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}
MAX_VIEW_BYTES = 250_000
MAX_TEXT_CHARS = 4000  # chat.update / chat.postEphemeral `text`
MAX_POST_TEXT_CHARS = 40_000  # chat.postMessage truncates above this

_SELECTS_WITH_OPTIONS = {"static_select", "multi_static_select"}
_OTHER_SELECTS = {
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
}
_INPUT_ELEMENTS = {
    "plain_text_input",
    "datepicker",
    "timepicker",
    "datetimepicker",
    "number_input",
    "email_text_input",
    "url_text_input",
    "rich_text_input",
    "file_input",
}
_ELEMENT_TYPES = (
    {"button", "overflow", "checkboxes", "radio_buttons", "image", "workflow_button"}
    | _SELECTS_WITH_OPTIONS
    | _OTHER_SELECTS
    | _INPUT_ELEMENTS
)
_BLOCK_TYPES = {
    "section",
    "header",
    "divider",
    "actions",
    "context",
    "image",
    "input",
    "rich_text",
    "video",
    "file",
    "markdown",
    "table",
    "context_actions",
}


def _text(
    obj: Any,
    path: str,
    *,
    max_len: int | None = None,
    plain_only: bool = False,
) -> list[str]:
    """Check one text object `{"type": "plain_text"|"mrkdwn", "text": str, ...}`."""
    if not isinstance(obj, dict):
        return [f"{path}: must be a text object, got {type(obj).__name__}"]
    errors: list[str] = []
    kind = obj.get("type")
    if kind not in ("plain_text", "mrkdwn"):
        errors.append(f"{path}.type: must be plain_text or mrkdwn, got {kind!r}")
    elif plain_only and kind != "plain_text":
        errors.append(f"{path}.type: must be plain_text, got {kind!r}")
    text = obj.get("text")
    if not isinstance(text, str):
        errors.append(f"{path}.text: must be a string")
    elif text == "":
        errors.append(f"{path}.text: must be more than 0 characters")
    elif max_len is not None and len(text) > max_len:
        errors.append(f"{path}.text: must be at most {max_len} characters (got {len(text)})")
    if "emoji" in obj and (kind != "plain_text" or not isinstance(obj["emoji"], bool)):
        errors.append(f"{path}.emoji: only a boolean on plain_text")
    if "verbatim" in obj and (kind != "mrkdwn" or not isinstance(obj["verbatim"], bool)):
        errors.append(f"{path}.verbatim: only a boolean on mrkdwn")
    return errors


def _str_field(
    obj: Mapping[str, Any], key: str, path: str, max_len: int, *, required: bool = False
) -> list[str]:
    if key not in obj:
        return [f"{path}.{key}: is required"] if required else []
    value = obj[key]
    if not isinstance(value, str):
        return [f"{path}.{key}: must be a string"]
    if required and value == "":
        return [f"{path}.{key}: must be more than 0 characters"]
    if len(value) > max_len:
        return [f"{path}.{key}: must be at most {max_len} characters (got {len(value)})"]
    return []


def _confirm(obj: Any, path: str) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{path}: must be a confirm object"]
    errors: list[str] = []
    for key, limit in (("title", 100), ("confirm", 30), ("deny", 30)):
        if key not in obj:
            errors.append(f"{path}.{key}: is required")
        else:
            errors += _text(obj[key], f"{path}.{key}", max_len=limit, plain_only=True)
    if "text" not in obj:
        errors.append(f"{path}.text: is required")
    else:
        errors += _text(obj["text"], f"{path}.text", max_len=300)
    if "style" in obj and obj["style"] not in ("primary", "danger"):
        errors.append(f"{path}.style: must be primary or danger")
    return errors


def _option(obj: Any, path: str, *, plain_only: bool, allow_url: bool = False) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{path}: must be an option object"]
    errors: list[str] = []
    if "text" not in obj:
        errors.append(f"{path}.text: is required")
    else:
        errors += _text(obj["text"], f"{path}.text", max_len=75, plain_only=plain_only)
    errors += _str_field(obj, "value", path, 150, required=True)
    if "description" in obj:
        errors += _text(obj["description"], f"{path}.description", max_len=75)
    if "url" in obj:
        if allow_url:
            errors += _str_field(obj, "url", path, 3000)
        else:
            errors.append(f"{path}.url: only allowed on overflow options")
    return errors


def _options(
    options: Any,
    path: str,
    *,
    min_items: int,
    max_items: int,
    plain_only: bool,
    allow_url: bool = False,
) -> list[str]:
    if not isinstance(options, list):
        return [f"{path}: must be an array"]
    if not min_items <= len(options) <= max_items:
        return [f"{path}: must have {min_items}..{max_items} items (got {len(options)})"]
    errors: list[str] = []
    for i, opt in enumerate(options):
        errors += _option(opt, f"{path}[{i}]", plain_only=plain_only, allow_url=allow_url)
    return errors


def _element(el: Any, path: str, *, where: str) -> list[str]:
    """Check one block element. `where`: "actions", "accessory", "input" or "context"."""
    if not isinstance(el, dict):
        return [f"{path}: must be an object"]
    kind = el.get("type")
    if kind not in _ELEMENT_TYPES:
        return [f"{path}.type: unknown element type {kind!r}"]
    errors: list[str] = []
    if where == "context" and kind != "image":
        return [f"{path}.type: context elements must be image or text objects, got {kind!r}"]
    if kind == "image" and where in ("actions", "input"):
        errors.append(f"{path}.type: image is not allowed in {where} blocks")
    if "action_id" in el:
        errors += _str_field(el, "action_id", path, 255, required=True)
    if "confirm" in el:
        errors += _confirm(el["confirm"], f"{path}.confirm")
    if "placeholder" in el:
        errors += _text(el["placeholder"], f"{path}.placeholder", max_len=150, plain_only=True)

    if kind == "button":
        if "text" not in el:
            errors.append(f"{path}.text: is required")
        else:
            errors += _text(el["text"], f"{path}.text", max_len=75, plain_only=True)
        errors += _str_field(el, "value", path, 2000)
        errors += _str_field(el, "url", path, 3000)
        if "style" in el and el["style"] not in ("primary", "danger"):
            errors.append(f"{path}.style: must be primary or danger")
    elif kind in _SELECTS_WITH_OPTIONS:
        if "options" in el and "option_groups" in el:
            errors.append(f"{path}: options and option_groups are mutually exclusive")
        elif "options" in el:
            errors += _options(
                el["options"], f"{path}.options", min_items=1, max_items=100, plain_only=True
            )
        elif "option_groups" in el:
            groups = el["option_groups"]
            if not isinstance(groups, list) or not 1 <= len(groups) <= 100:
                errors.append(f"{path}.option_groups: must have 1..100 items")
            else:
                for gi, group in enumerate(groups):
                    gpath = f"{path}.option_groups[{gi}]"
                    if not isinstance(group, dict):
                        errors.append(f"{gpath}: must be an object")
                        continue
                    errors += _text(
                        group.get("label"), f"{gpath}.label", max_len=75, plain_only=True
                    )
                    errors += _options(
                        group.get("options"),
                        f"{gpath}.options",
                        min_items=1,
                        max_items=100,
                        plain_only=True,
                    )
        else:
            errors.append(f"{path}: options or option_groups is required")
        if "initial_option" in el:
            errors += _option(el["initial_option"], f"{path}.initial_option", plain_only=True)
    elif kind == "overflow":
        errors += _options(
            el.get("options"),
            f"{path}.options",
            min_items=1,
            max_items=5,
            plain_only=True,
            allow_url=True,
        )
    elif kind in ("checkboxes", "radio_buttons"):
        errors += _options(
            el.get("options"), f"{path}.options", min_items=1, max_items=10, plain_only=False
        )
    elif kind == "plain_text_input":
        for key, lo in (("min_length", 0), ("max_length", 1)):
            if key in el and (not isinstance(el[key], int) or not lo <= el[key] <= 3000):
                errors.append(f"{path}.{key}: must be an integer {lo}..3000")
    elif kind == "image":
        if "image_url" not in el and "slack_file" not in el:
            errors.append(f"{path}: image_url or slack_file is required")
        errors += _str_field(el, "image_url", path, 3000)
        errors += _str_field(el, "alt_text", path, 2000, required=True)
    return errors


def _block(block: Any, path: str) -> list[str]:
    if not isinstance(block, dict):
        return [f"{path}: must be an object"]
    kind = block.get("type")
    if kind not in _BLOCK_TYPES:
        return [f"{path}.type: unknown block type {kind!r}"]
    errors: list[str] = []
    if kind == "section":
        if "text" not in block and "fields" not in block:
            errors.append(f"{path}: section needs text or fields")
        if "text" in block:
            errors += _text(block["text"], f"{path}.text", max_len=3000)
        if "fields" in block:
            fields = block["fields"]
            if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
                n = len(fields) if isinstance(fields, list) else "not an array"
                errors.append(f"{path}.fields: must have 1..10 items (got {n})")
            else:
                for i, f in enumerate(fields):
                    errors += _text(f, f"{path}.fields[{i}]", max_len=2000)
        if "accessory" in block:
            errors += _element(block["accessory"], f"{path}.accessory", where="accessory")
    elif kind == "header":
        if "text" not in block:
            errors.append(f"{path}.text: is required")
        else:
            errors += _text(block["text"], f"{path}.text", max_len=150, plain_only=True)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            n = len(elements) if isinstance(elements, list) else "not an array"
            errors.append(f"{path}.elements: must have 1..25 items (got {n})")
        else:
            seen: set[str] = set()
            for i, el in enumerate(elements):
                errors += _element(el, f"{path}.elements[{i}]", where="actions")
                aid = el.get("action_id") if isinstance(el, dict) else None
                if isinstance(aid, str):
                    if aid in seen:
                        errors.append(f"{path}.elements[{i}].action_id: duplicate {aid!r}")
                    seen.add(aid)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            n = len(elements) if isinstance(elements, list) else "not an array"
            errors.append(f"{path}.elements: must have 1..10 items (got {n})")
        else:
            for i, el in enumerate(elements):
                epath = f"{path}.elements[{i}]"
                if isinstance(el, dict) and el.get("type") in ("plain_text", "mrkdwn"):
                    errors += _text(el, epath)
                else:
                    errors += _element(el, epath, where="context")
    elif kind == "image":
        if "image_url" not in block and "slack_file" not in block:
            errors.append(f"{path}: image_url or slack_file is required")
        errors += _str_field(block, "image_url", path, 3000)
        errors += _str_field(block, "alt_text", path, 2000, required=True)
        if "title" in block:
            errors += _text(block["title"], f"{path}.title", max_len=2000, plain_only=True)
    elif kind == "input":
        if "label" not in block:
            errors.append(f"{path}.label: is required")
        else:
            errors += _text(block["label"], f"{path}.label", max_len=2000, plain_only=True)
        if "element" not in block:
            errors.append(f"{path}.element: is required")
        else:
            errors += _element(block["element"], f"{path}.element", where="input")
        if "hint" in block:
            errors += _text(block["hint"], f"{path}.hint", max_len=2000, plain_only=True)
    return errors


def validate_blocks(blocks: Any, surface: Surface = "message") -> list[str]:
    """Check `blocks` against Slack's Block Kit limits for a surface; returns the problems.

    Args:
        blocks: the `blocks` array as it would be sent (list of dicts).
        surface: "message" (≤ 50 blocks) or "modal" / "home" (≤ 100 blocks).

    Returns:
        Human-readable errors like `"blocks[2].text.text: must be at most 3000 characters
        (got 3001)"`; empty when Slack would accept the blocks. Pure function.

    Checked: block count; block_id ≤ 255 and unique; section text ≤ 3000, fields ≤ 10 each
    ≤ 2000; header plain_text ≤ 150; actions 1..25 elements with unique action_ids; context
    1..10 elements; button text ≤ 75, value ≤ 2000, url ≤ 3000, style; action_id ≤ 255;
    confirm title ≤ 100, text ≤ 300, confirm/deny ≤ 30; option text ≤ 75, value ≤ 150;
    static selects ≤ 100 options; overflow 1..5 options; text objects well-formed
    (type, non-empty text, emoji only on plain_text, verbatim only on mrkdwn).
    """
    if surface not in MAX_BLOCKS:
        raise ValueError(f"unknown surface {surface!r}")
    if not isinstance(blocks, list):
        return ["blocks: must be an array"]
    errors: list[str] = []
    limit = MAX_BLOCKS[surface]
    if len(blocks) > limit:
        errors.append(f"blocks: at most {limit} blocks per {surface} (got {len(blocks)})")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        path = f"blocks[{i}]"
        errors += _block(block, path)
        if isinstance(block, dict) and "block_id" in block:
            bid = block["block_id"]
            if not isinstance(bid, str) or bid == "":
                errors.append(f"{path}.block_id: must be a non-empty string")
            elif len(bid) > 255:
                errors.append(f"{path}.block_id: must be at most 255 characters (got {len(bid)})")
            elif bid in block_ids:
                errors.append(f"{path}.block_id: duplicate {bid!r}")
            else:
                block_ids.add(bid)
    return errors


def validate_view(view: Any) -> list[str]:
    """Check a modal or Home tab view object (its own fields and its blocks).

    Checked: type modal/home; modal title required, title/submit/close plain_text ≤ 24;
    `submit` required when a modal has input blocks; private_metadata ≤ 3000; callback_id and
    external_id ≤ 255; blocks via `validate_blocks(blocks, type)`. Size (250 kB) is checked by
    the server as `view_too_large`, not here.
    """
    if not isinstance(view, dict):
        return ["view: must be an object"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [f"view.type: must be modal or home, got {kind!r}"]
    errors: list[str] = []
    if kind == "modal" and "title" not in view:
        errors.append("view.title: is required")
    for key in ("title", "submit", "close"):
        if view.get(key) is not None:  # stored views carry `null` for an absent submit/close
            errors += _text(view[key], f"view.{key}", max_len=24, plain_only=True)
    errors += _str_field(view, "private_metadata", "view", 3000)
    errors += _str_field(view, "callback_id", "view", 255)
    errors += _str_field(view, "external_id", "view", 255)
    blocks = view.get("blocks")
    if blocks is None:
        errors.append("view.blocks: is required")
    else:
        errors += validate_blocks(blocks, kind)
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if kind == "modal" and has_input and view.get("submit") is None:
            errors.append("view.submit: is required when blocks contain an input block")
    return errors


# ---------------------------------------------------------------------------------------------
# The fake server
# ---------------------------------------------------------------------------------------------


class Headers(dict[str, str]):
    """Request headers: keys stored lower-cased, lookups case-insensitive."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        super().__init__({k.lower(): v for k, v in (items or {}).items()})

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key.lower() if isinstance(key, str) else key)

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass
class SlackCall:
    """One Web API request as received.

    Attributes:
        method: e.g. "chat.postMessage".
        body: query + form/JSON params merged (JSON-string `blocks`/`view` are decoded).
        headers: request headers (`Headers`: lower-cased names, case-insensitive lookups).
        at: `time.time()` when received (seconds).
        status: HTTP status answered.
        response: the JSON answered.
    """

    method: str
    body: dict[str, Any]
    headers: Headers
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Failure:
    method: str
    status: int
    retry_after: float | None
    error: str
    remaining: int


@dataclass
class _Trigger:
    issued_at: float
    used: bool = False
    view_id: str | None = None


class _SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _ts_key(ts: str) -> tuple[int, int]:
    sec, _, frac = ts.partition(".")
    return int(sec), int(frac or 0)


class FakeSlack:
    """Loopback fake of the Slack Web API (`/api/<method>`) and response_url sink (`/hooks/<key>`).

    Attributes:
        api_url: "http://127.0.0.1:PORT/api/" (an `AsyncWebClient` `base_url`).
        calls: every Web API request, in order (`SlackCall`).
        responses: `response_url` posts by key: `{key: [json body, ...]}`.
        message_store: messages by `(channel, ts)`; each is the current message dict
            (`{"type", "user", "bot_id", "text", "blocks", "ts", "channel", "thread_ts"?,
            "edited"?, "deleted"?}`).
        ephemerals: chat.postEphemeral messages (`{"channel", "user", "text", "blocks",
            "message_ts", "thread_ts"?}`).
        views: modals by view id (current state); `home_views`: Home tab view by user id.
        users / channels: overrides for users.info / conversations.info by id.
        usergroups: user group id (`S…`) -> member user ids, for `usergroups.users.list`
            (an unknown id answers `no_such_subteam`).
        closed_channels: channel ids the bot is not a member of: `chat.postMessage` there
            answers `not_in_channel` (as Slack does without `chat:write.public` or in a
            private channel), and `conversations.info` says `is_member: false`.
        listeners: zero-argument callables run after every recorded request, response_url
            post or `update_view` / `push_view` / `post_message` (e.g. a UI's change feed);
            they must not block, and an exception from one is ignored.
        revision: increases by one at each of those changes.
        socket_received: Socket Mode: every message the app sent over the socket, parsed
            (`{"envelope_id": …, "payload"?: …}` for acks; `{"_raw": text}` if not JSON).
        socket_connections: Socket Mode: how many WebSockets were accepted so far.
        trigger_ttl: seconds a trigger_id stays valid (Slack: 3).
        response_url_limit: posts accepted per response_url key (None = unlimited; Slack: 5).

    Args:
        trigger_ttl: see above.
        response_url_limit: see above.
    """

    def __init__(self, *, trigger_ttl: float = 3.0, response_url_limit: int | None = None) -> None:
        self.trigger_ttl = trigger_ttl
        self.response_url_limit = response_url_limit
        self.calls: list[SlackCall] = []
        self.responses: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
        self.message_store: dict[tuple[str, str], dict[str, Any]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.closed_channels: set[str] = set()
        self.usergroups: dict[str, list[str]] = {}
        self.socket_received: list[dict[str, Any]] = []
        self.socket_connections = 0
        self._socket_tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self.revoked_tokens: set[str] = set()
        self.listeners: list[Callable[[], None]] = []
        self.revision = 0
        self._view_stacks: dict[str, list[str]] = {}
        self._last_root: str | None = None
        self._triggers: dict[str, _Trigger] = {}
        self._failures: list[_Failure] = []
        self._last_ts = 0.0
        self._ids = itertools.count(1)
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeSlack:
        """Serve on 127.0.0.1 on a free port."""
        if self._runner is not None:
            return self
        app = web.Application()
        app.router.add_route("GET", "/api/{method}", self._handle_api)
        app.router.add_route("POST", "/api/{method}", self._handle_api)
        app.router.add_route("POST", "/hooks/{key:.+}", self._handle_hook)
        app.router.add_route("GET", "/socket", self._handle_socket)
        self._changed = asyncio.Condition()
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        addresses = runner.addresses
        self.port = int(addresses[0][1])
        return self

    async def stop(self) -> None:
        """Stop serving (recorded state is kept)."""
        runner, self._runner = self._runner, None
        for ws in list(self._sockets):
            await ws.close()
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """The server root, "http://127.0.0.1:PORT"."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """Web API base URL for `AsyncWebClient(base_url=...)`."""
        return f"{self.base_url}/api/"

    def response_url(self, key: str = "x") -> str:
        """A response_url whose posts are recorded in `responses[key]`."""
        return f"{self.base_url}/hooks/{key}"

    def clear(self) -> None:
        """Forget calls, responses, messages, views, triggers and pending failures."""
        self.calls.clear()
        self.responses.clear()
        self.message_store.clear()
        self.ephemerals.clear()
        self.views.clear()
        self.home_views.clear()
        self._view_stacks.clear()
        self._triggers.clear()
        self._failures.clear()

    # ------------------------------------------------------------------ test helpers

    def issue_trigger_id(self, *, view_id: str | None = None) -> str:
        """A fresh trigger_id: valid for `trigger_ttl` seconds and usable once.

        `view_id`: the modal it comes from (for views.push); default = last opened modal.
        """
        n = next(self._ids)
        trigger = f"{int(time.time() * 1000)}{n:03d}.{TEAM_ID[1:]}111111.{secrets.token_hex(16)}"
        self._triggers[trigger] = _Trigger(issued_at=time.monotonic(), view_id=view_id)
        return trigger

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: float | None = 1,
        error: str | None = None,
        count: int = 1,
    ) -> None:
        """Make the next `count` calls to `method` ("*" = any) fail.

        status 429 → HTTP 429, `Retry-After: <retry_after>` header, `{"ok": false, "error":
        "ratelimited"}`. status 200 → HTTP 200 `{"ok": false, "error": error}` (e.g.
        "not_in_channel", "channel_not_found"). Other statuses (500, 503) → that HTTP status with
        `{"ok": false, "error": error}` (+ Retry-After when given). `error` defaults to
        "ratelimited" (429), "internal_error" (5xx) or "fatal_error".
        """
        if error is None:
            error = (
                "ratelimited"
                if status == 429
                else "internal_error"
                if status >= 500
                else "fatal_error"
            )
        self._failures.append(
            _Failure(
                method=method,
                status=status,
                retry_after=retry_after if status != 200 else None,
                error=error,
                remaining=count,
            )
        )

    def calls_to(self, method: str) -> list[SlackCall]:
        """Calls to one Web API method, in order."""
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str, *, include_replies: bool = True) -> list[dict[str, Any]]:
        """Current (edited, not deleted) messages in `channel`, oldest first (copies)."""
        out = [
            copy.deepcopy(m)
            for (ch, _), m in self.message_store.items()
            if ch == channel
            and not m.get("deleted")
            and (include_replies or m.get("thread_ts") in (None, m["ts"]))
        ]
        return sorted(out, key=lambda m: _ts_key(m["ts"]))

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 (the documented test-helper signature)
        *,
        what: str = "condition",
    ) -> T:
        """Wait until `predicate()` is truthy (re-checked on every recorded request).

        Returns the truthy value. Raises AssertionError listing what was recorded on timeout
        (`timeout` in seconds).
        """
        cond = self._condition()
        async with cond:
            try:
                async with asyncio.timeout(timeout):
                    while not (result := predicate()):
                        await cond.wait()
            except TimeoutError:
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}; recorded:\n{self.describe()}"
                ) from None
        return result

    async def wait_for_response(
        self,
        key: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """Wait until `count` posts reached `response_url(key)`; returns all posts for the key."""
        await self.wait_for(
            lambda: len(self.responses.get(key, [])) >= count,
            timeout,
            what=f"{count} post(s) to response_url {key!r}",
        )
        return list(self.responses[key])

    async def wait_for_call(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SlackCall]:
        """Wait until `method` was called `count` times; returns those calls."""
        await self.wait_for(
            lambda: len(self.calls_to(method)) >= count,
            timeout,
            what=f"{count} call(s) to {method}",
        )
        return self.calls_to(method)

    # ------------------------------------------------------------------ Socket Mode

    @property
    def socket_open(self) -> bool:
        """Whether an app is connected over Socket Mode now."""
        return any(not ws.closed for ws in self._sockets)

    async def wait_for_socket(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until an app is connected over Socket Mode (seconds)."""
        await self.wait_for(lambda: self.socket_open, timeout, what="a Socket Mode connection")

    async def send_socket(self, message: Mapping[str, Any] | str) -> None:
        """Send one message (a dict as JSON, a str as is) on the newest open socket.

        Raises:
            RuntimeError: no app is connected.
        """
        open_sockets = [ws for ws in self._sockets if not ws.closed]
        if not open_sockets:
            raise RuntimeError("no Socket Mode connection")
        text = message if isinstance(message, str) else json.dumps(message)
        await open_sockets[-1].send_str(text)

    async def deliver(
        self,
        kind: Literal["slash_commands", "interactive", "events_api"],
        payload: Mapping[str, Any],
        *,
        envelope_id: str | None = None,
    ) -> str:
        """Deliver one envelope as Slack does (`{"envelope_id", "type", "payload",
        "accepts_response_payload"}`; events also carry `retry_attempt` 0). Returns its id."""
        eid = envelope_id or f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{next(self._ids)}"
        envelope: dict[str, Any] = {
            "envelope_id": eid,
            "type": kind,
            "payload": dict(payload),
            "accepts_response_payload": kind != "events_api",
        }
        if kind == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        await self.send_socket(envelope)
        return eid

    def ack_of(self, envelope_id: str) -> dict[str, Any] | None:
        """The app's ack of one envelope, if it arrived."""
        return next((m for m in self.socket_received if m.get("envelope_id") == envelope_id), None)

    async def wait_for_ack(
        self,
        envelope_id: str,
        timeout: float = 3.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Wait for the app's ack of `envelope_id` (default: Slack's 3 seconds)."""
        ack: dict[str, Any] = await self.wait_for(
            lambda: self.ack_of(envelope_id), timeout, what=f"the ack of envelope {envelope_id}"
        )
        return ack

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._socket_tickets:
            return web.Response(status=401, text="invalid_ticket")
        self._socket_tickets.discard(ticket)  # one connection per URL, as Slack's
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connections += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": sum(1 for s in self._sockets if not s.closed),
                "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        await self._notify()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    data = {"_raw": msg.data}
                self.socket_received.append(data if isinstance(data, dict) else {"_raw": data})
                await self._notify()
        finally:
            self._sockets.remove(ws)
            await self._notify()
        return ws

    def describe(self) -> str:
        """A readable summary of recorded calls and response_url posts (for failures)."""
        lines = []
        for c in self.calls:
            body = {k: v for k, v in c.body.items() if k not in ("blocks", "view")}
            extra = " +blocks" if "blocks" in c.body else " +view" if "view" in c.body else ""
            err = "" if c.response.get("ok") else f" -> {c.status} {c.response.get('error')}"
            lines.append(f"  {c.method} {json.dumps(body, default=str)[:200]}{extra}{err}")
        for key, posts in self.responses.items():
            for p in posts:
                lines.append(f"  response_url[{key}] {json.dumps(p, default=str)[:200]}")
        return "\n".join(lines) if lines else "  (nothing)"

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def _notify(self) -> None:
        self._changed_now()
        cond = self._condition()
        async with cond:
            cond.notify_all()

    def _changed_now(self) -> None:
        self.revision += 1
        for listener in list(self.listeners):
            try:
                listener()
            except Exception:  # a broken UI hook must never break the fake
                continue

    # ------------------------------------------------------------------ stand-in helpers

    def update_view(self, view_id: str, view: Mapping[str, Any]) -> dict[str, Any]:
        """Replace modal `view_id` as a `response_action: "update"` ack does (new hash).

        Raises:
            KeyError: no such view. ValueError: the view is invalid (the reasons joined).
        """
        current = self.views[view_id]
        try:
            checked = self._check_view(copy.deepcopy(dict(view)), expected_type="modal")
        except _SlackError as e:
            raise ValueError(f"{e.error}: {'; '.join(e.extra.get('errors', []))}") from None
        stored = self._materialize_view(
            checked,
            view_id=view_id,
            root_view_id=current["root_view_id"],
            previous=current["previous_view_id"],
        )
        self.views[view_id] = stored
        self._changed_now()
        return copy.deepcopy(stored)

    def push_view(self, view_id: str, view: Mapping[str, Any]) -> dict[str, Any]:
        """Push a modal on top of `view_id`'s stack as a `response_action: "push"` ack does.

        Raises:
            KeyError: no such view. ValueError: the view is invalid or the stack is full (3).
        """
        current = self.views[view_id]
        stack = self._view_stacks.setdefault(current["root_view_id"], [current["root_view_id"]])
        if len(stack) >= 3:
            raise ValueError("push_limit_reached")
        try:
            checked = self._check_view(copy.deepcopy(dict(view)), expected_type="modal")
        except _SlackError as e:
            raise ValueError(f"{e.error}: {'; '.join(e.extra.get('errors', []))}") from None
        new_id = self._new_id("V")
        stored = self._materialize_view(
            checked, view_id=new_id, root_view_id=current["root_view_id"], previous=stack[-1]
        )
        self.views[new_id] = stored
        stack.append(new_id)
        self._changed_now()
        return copy.deepcopy(stored)

    def close_view(self, view_id: str, *, close_all: bool = False) -> None:
        """Take modal `view_id` off its stack as Slack does when the person closes it (Cancel or
        Back: it and the views pushed above it; `close_all`, the ×: the whole stack), or when
        a submission is acked empty (`clear`: the whole stack). The views stay readable in
        `views`; a later push goes on top of what is left. Unknown ids are ignored.
        """
        current = self.views.get(view_id)
        if current is None:
            return
        root = current["root_view_id"]
        stack = self._view_stacks.get(root)
        if stack is None:
            return
        cut = 0 if close_all else (stack.index(view_id) if view_id in stack else len(stack))
        del stack[cut:]
        if not stack:
            del self._view_stacks[root]
        self._changed_now()

    def post_message(self, channel: str, **fields: Any) -> dict[str, Any]:
        """Store a message as chat.postMessage would (no HTTP call recorded); returns it.

        For a response_url post with `response_type: "in_channel"`. `fields`: text, blocks,
        thread_ts. Raises ValueError when Slack would refuse the content.
        """
        try:
            result = self._m_chat_postMessage({"channel": channel, **fields})
        except _SlackError as e:
            raise ValueError(e.error) from None
        self._changed_now()
        return dict(result["message"])

    def replace_message(self, channel: str, ts: str, **fields: Any) -> dict[str, Any]:
        """Replace a stored message as a response_url `replace_original` does; returns it.

        `fields`: text, blocks. Raises KeyError when the message does not exist (or is deleted),
        ValueError when Slack would refuse the content.
        """
        message = self.message_store.get((channel, ts))
        if message is None or message.get("deleted"):
            raise KeyError((channel, ts))
        try:
            self._check_message_content(fields, max_text=MAX_TEXT_CHARS)
        except _SlackError as e:
            raise ValueError(e.error) from None
        message["text"] = fields.get("text", "")
        if "blocks" in fields:
            message["blocks"] = copy.deepcopy(fields["blocks"])
        else:
            message.pop("blocks", None)
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        self._changed_now()
        return _public(message)

    def delete_message(self, channel: str, ts: str) -> None:
        """Mark a stored message deleted (a response_url `delete_original`); no-op if absent."""
        message = self.message_store.get((channel, ts))
        if message is not None:
            message["deleted"] = True
            self._changed_now()

    # ------------------------------------------------------------------ HTTP handlers

    async def _handle_hook(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        if not isinstance(body, dict):
            body = {"_raw": body}
        limit = self.response_url_limit
        if limit is not None and len(self.responses[key]) >= limit:
            return web.Response(status=404, text="used_url")
        self.responses[key].append(body)
        await self._notify()
        return web.Response(status=200, text="ok")

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        headers = Headers(request.headers)
        call = SlackCall(method=method, body={}, headers=headers, at=time.time())
        self.calls.append(call)
        extra_headers: dict[str, str] = {}
        try:
            call.body = await self._parse_body(request)
            self._check_auth(headers, method)
            failure = self._take_failure(method)
            if failure is not None:
                if failure.retry_after is not None:
                    extra_headers["Retry-After"] = _fmt_seconds(failure.retry_after)
                call.status = failure.status
                call.response = {"ok": False, "error": failure.error}
            else:
                handler = getattr(self, "_m_" + method.replace(".", "_"), None)
                if handler is None:
                    raise _SlackError("unknown_method", req_method=method)
                call.response = {"ok": True, **handler(call.body)}
                if method == "auth.test":
                    extra_headers["x-oauth-scopes"] = (
                        "commands,chat:write,chat:write.public,users:read,usergroups:read"
                    )
        except _SlackError as e:
            call.response = {"ok": False, "error": e.error, **e.extra}
        await self._notify()
        return web.json_response(call.response, status=call.status, headers=extra_headers)

    async def _parse_body(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            ctype = request.content_type
            raw = await request.read()
            if ctype == "application/json":
                try:
                    parsed = json.loads(raw) if raw else {}
                except ValueError:
                    raise _SlackError("invalid_json") from None
                if not isinstance(parsed, dict):
                    raise _SlackError("invalid_json")
                params.update(parsed)
            elif raw:
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in ("blocks", "view", "attachments"):
            value = params.get(key)
            if isinstance(value, str):
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    raise _SlackError(
                        "invalid_blocks_format" if key == "blocks" else f"invalid_{key}"
                    ) from None
        return params

    def _check_auth(self, headers: Mapping[str, str], method: str = "") -> None:
        auth = headers.get("authorization", "")
        if not auth:
            raise _SlackError("not_authed")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        wants_app_token = method == "apps.connections.open"
        if token.startswith("xapp-") != wants_app_token and token.startswith(("xapp-", "xoxb-")):
            raise _SlackError("not_allowed_token_type")
        if not token.startswith("xapp-" if wants_app_token else "xoxb-"):
            raise _SlackError("invalid_auth")
        if token in self.revoked_tokens:
            raise _SlackError("token_revoked")

    def _take_failure(self, method: str) -> _Failure | None:
        for f in self._failures:
            if f.method in (method, "*") and f.remaining > 0:
                f.remaining -= 1
                self._failures = [x for x in self._failures if x.remaining > 0]
                return f
        return None

    def _next_ts(self) -> str:
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}{secrets.token_hex(2).upper()}"

    # ------------------------------------------------------------------ shared checks

    @staticmethod
    def _check_message_content(body: Mapping[str, Any], *, max_text: int | None) -> None:
        text = body.get("text")
        blocks = body.get("blocks")
        if not text and not blocks and not body.get("attachments"):
            raise _SlackError("no_text")
        if isinstance(text, str) and max_text is not None and len(text) > max_text:
            raise _SlackError("msg_too_long")
        if blocks is not None:
            errors = validate_blocks(blocks, "message")
            if errors:
                raise _SlackError(
                    "invalid_blocks",
                    errors=errors,
                    response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
                )

    @staticmethod
    def _require(body: Mapping[str, Any], key: str, error: str) -> str:
        value = body.get(key)
        if not isinstance(value, str) or not value:
            raise _SlackError(error)
        return value

    def _use_trigger(self, body: Mapping[str, Any]) -> _Trigger:
        trigger_id = body.get("trigger_id")
        if not isinstance(trigger_id, str) or trigger_id not in self._triggers:
            raise _SlackError("invalid_trigger_id")
        trigger = self._triggers[trigger_id]
        if trigger.used:
            raise _SlackError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued_at > self.trigger_ttl:
            raise _SlackError("expired_trigger_id")
        trigger.used = True
        return trigger

    @staticmethod
    def _check_view(view: Any, *, expected_type: str | None = None) -> dict[str, Any]:
        if not isinstance(view, dict):
            raise _SlackError("invalid_arguments")
        if len(json.dumps(view).encode("utf-8")) > MAX_VIEW_BYTES:
            raise _SlackError("view_too_large")
        if expected_type is not None and view.get("type") != expected_type:
            raise _SlackError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] view.type must be {expected_type}"]},
            )
        errors = validate_view(view)
        if errors:
            raise _SlackError(
                "invalid_blocks"
                if any(e.startswith("blocks") for e in errors)
                else "invalid_arguments",
                errors=errors,
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        return view

    def _materialize_view(
        self, view: dict[str, Any], *, view_id: str, root_view_id: str, previous: str | None
    ) -> dict[str, Any]:
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view["type"],
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.{secrets.token_hex(4)}",
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": previous,
            "root_view_id": root_view_id,
            "app_id": APP_ID,
            "external_id": "",
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        stored.update(copy.deepcopy(view))
        stored["id"] = view_id
        return stored

    # ------------------------------------------------------------------ Web API methods

    def _m_auth_test(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake-workspace.slack.com/",
            "team": "Fake Workspace",
            "user": "seam-code-doctor",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _m_chat_postMessage(self, body: Mapping[str, Any]) -> dict[str, Any]:
        channel = self._require(body, "channel", "channel_not_found")
        if channel in self.closed_channels:
            raise _SlackError("not_in_channel")
        self._check_message_content(body, max_text=None)
        ts = self._next_ts()
        text = body.get("text")
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": text[:MAX_POST_TEXT_CHARS] if isinstance(text, str) else "",
            "ts": ts,
            "channel": channel,
        }
        if "blocks" in body:
            message["blocks"] = copy.deepcopy(body["blocks"])
        if "metadata" in body:
            message["metadata"] = copy.deepcopy(body["metadata"])
        thread_ts = body.get("thread_ts")
        if thread_ts:
            parent = self.message_store.get((channel, str(thread_ts)))
            if parent is not None:
                message["thread_ts"] = str(thread_ts)
                parent.setdefault("thread_ts", parent["ts"])
                parent["reply_count"] = parent.get("reply_count", 0) + 1
            else:
                message["thread_ts"] = str(thread_ts)
        self.message_store[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": _public(message)}

    def _m_chat_update(self, body: Mapping[str, Any]) -> dict[str, Any]:
        channel = self._require(body, "channel", "channel_not_found")
        ts = self._require(body, "ts", "message_not_found")
        message = self.message_store.get((channel, ts))
        if message is None or message.get("deleted"):
            raise _SlackError("message_not_found")
        self._check_message_content(body, max_text=MAX_TEXT_CHARS)
        if "text" in body:
            message["text"] = body["text"]
        if "blocks" in body:
            message["blocks"] = copy.deepcopy(body["blocks"])
        if "metadata" in body:
            message["metadata"] = copy.deepcopy(body["metadata"])
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {
            "channel": channel,
            "ts": ts,
            "text": message.get("text", ""),
            "message": _public(message),
        }

    def _m_chat_postEphemeral(self, body: Mapping[str, Any]) -> dict[str, Any]:
        channel = self._require(body, "channel", "channel_not_found")
        user = self._require(body, "user", "user_not_found")
        self._check_message_content(body, max_text=MAX_TEXT_CHARS)
        ts = self._next_ts()
        self.ephemerals.append(
            {
                "channel": channel,
                "user": user,
                "text": body.get("text", ""),
                "blocks": copy.deepcopy(body.get("blocks")),
                "message_ts": ts,
                "thread_ts": body.get("thread_ts"),
            }
        )
        return {"message_ts": ts}

    def _m_chat_delete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        channel = self._require(body, "channel", "channel_not_found")
        ts = self._require(body, "ts", "message_not_found")
        message = self.message_store.get((channel, ts))
        if message is None or message.get("deleted"):
            raise _SlackError("message_not_found")
        message["deleted"] = True
        return {"channel": channel, "ts": ts}

    def _m_views_open(self, body: Mapping[str, Any]) -> dict[str, Any]:
        view = self._check_view(body.get("view"), expected_type="modal")
        self._use_trigger(body)
        view_id = self._new_id("V")
        stored = self._materialize_view(view, view_id=view_id, root_view_id=view_id, previous=None)
        self.views[view_id] = stored
        self._view_stacks[view_id] = [view_id]
        self._last_root = view_id
        return {"view": copy.deepcopy(stored)}

    def _m_views_push(self, body: Mapping[str, Any]) -> dict[str, Any]:
        view = self._check_view(body.get("view"), expected_type="modal")
        trigger = self._use_trigger(body)
        origin = self.views.get(trigger.view_id or "") if trigger.view_id else None
        root = origin["root_view_id"] if origin else self._last_root
        if root is None or root not in self._view_stacks:
            raise _SlackError("not_found")
        stack = self._view_stacks[root]
        if len(stack) >= 3:
            raise _SlackError("push_limit_reached")
        view_id = self._new_id("V")
        stored = self._materialize_view(
            view, view_id=view_id, root_view_id=root, previous=stack[-1]
        )
        self.views[view_id] = stored
        stack.append(view_id)
        return {"view": copy.deepcopy(stored)}

    def _m_views_update(self, body: Mapping[str, Any]) -> dict[str, Any]:
        view_id = body.get("view_id")
        external_id = body.get("external_id")
        current: dict[str, Any] | None = None
        if isinstance(view_id, str) and view_id:
            current = self.views.get(view_id)
        elif isinstance(external_id, str) and external_id:
            current = next(
                (v for v in self.views.values() if v.get("external_id") == external_id), None
            )
        else:
            raise _SlackError("invalid_arguments")
        if current is None:
            raise _SlackError("not_found")
        expected_hash = body.get("hash")
        if expected_hash and expected_hash != current["hash"]:
            raise _SlackError("hash_conflict")
        view = self._check_view(body.get("view"), expected_type="modal")
        stored = self._materialize_view(
            view,
            view_id=current["id"],
            root_view_id=current["root_view_id"],
            previous=current["previous_view_id"],
        )
        self.views[current["id"]] = stored
        return {"view": copy.deepcopy(stored)}

    def _m_views_publish(self, body: Mapping[str, Any]) -> dict[str, Any]:
        user_id = self._require(body, "user_id", "user_not_found")
        view = self._check_view(body.get("view"), expected_type="home")
        current = self.home_views.get(user_id)
        expected_hash = body.get("hash")
        if expected_hash and (current is None or expected_hash != current["hash"]):
            raise _SlackError("hash_conflict")
        view_id = current["id"] if current else self._new_id("V")
        stored = self._materialize_view(view, view_id=view_id, root_view_id=view_id, previous=None)
        self.home_views[user_id] = stored
        return {"view": copy.deepcopy(stored)}

    def _m_users_info(self, body: Mapping[str, Any]) -> dict[str, Any]:
        user_id = self._require(body, "user", "user_not_found")
        if user_id in self.users:
            return {"user": copy.deepcopy(self.users[user_id])}
        name = f"user-{user_id.lower()}"
        return {
            "user": {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": f"User {user_id}",
                "deleted": False,
                "is_bot": False,
                "is_admin": False,
                "tz": "America/Los_Angeles",
                "tz_label": "Pacific Standard Time",
                "tz_offset": -28800,
                "profile": {
                    "real_name": f"User {user_id}",
                    "display_name": name,
                    "email": f"{name}@example.com",
                },
            }
        }

    def _m_apps_connections_open(self, body: Mapping[str, Any]) -> dict[str, Any]:
        ticket = secrets.token_hex(16)
        self._socket_tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self.port}/socket?ticket={ticket}"}

    def _m_usergroups_users_list(self, body: Mapping[str, Any]) -> dict[str, Any]:
        group = self._require(body, "usergroup", "no_such_subteam")
        if group not in self.usergroups:
            raise _SlackError("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    def _m_conversations_info(self, body: Mapping[str, Any]) -> dict[str, Any]:
        channel = self._require(body, "channel", "channel_not_found")
        if channel in self.channels:
            return {"channel": copy.deepcopy(self.channels[channel])}
        return {
            "channel": {
                "id": channel,
                "name": f"channel-{channel.lower()}",
                "is_channel": not channel.startswith("D"),
                "is_im": channel.startswith("D"),
                "is_private": channel.startswith("G"),
                "is_archived": False,
                "is_member": channel not in self.closed_channels,
                "context_team_id": TEAM_ID,
            }
        }


def _public(message: Mapping[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in message.items() if k not in ("channel", "deleted")}


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
