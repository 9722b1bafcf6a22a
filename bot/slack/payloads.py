"""Reading what Slack sends: slash-command text, `block_actions` presses and modal state.

Everything here is defensive: a missing or odd field becomes an empty string or `None`, never an
exception, so a malformed payload gets a clear answer instead of a 500.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

#: Slack's limit of a view's `private_metadata` (characters; Slack's reference "View objects").
MAX_METADATA = 3000
#: Longest access_code_id accepted from a user (Seam ids are 36-character UUIDs).
MAX_ID_LENGTH = 64

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"}
_HELP_WORDS = {"help", "-h", "--help", "?", "usage"}
_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
#: A user mention or channel link: never an access code id.
_MENTION_RE = re.compile(r"^<[@#]")
#: Words, keeping Slack's `<…>` groups (a link label may hold spaces) whole.
_TOKEN_RE = re.compile(r"<[^<>]*>|[^\s<]+|<")


@dataclass(frozen=True)
class CommandInput:
    """The parsed text of `/seam-code`.

    `kind` is "help" (no argument or a help word), "id" (`value` holds a well-formed id),
    "open" (list the open problems), "arrivals" (`value` holds the hours, 1..216, default 72),
    or "invalid" (`value` holds a short reason safe to show the user).
    """

    kind: str
    value: str = ""


#: `/seam-code arrivals [hours]`: the default and the longest window (Seam programs scheduled
#: codes up to 9 days ahead: Seam's access codes guide).
ARRIVALS_DEFAULT_HOURS = 72
ARRIVALS_MAX_HOURS = 216


def _subcommand(text: str) -> CommandInput | None:
    """`open` and `arrivals [hours]` (any case), or None for anything else."""
    words = text.split()
    head = words[0].lower() if words else ""
    if head == "open" and len(words) == 1:
        return CommandInput("open")
    if head != "arrivals":
        return None
    if len(words) == 1:
        return CommandInput("arrivals", str(ARRIVALS_DEFAULT_HOURS))
    raw = words[1].lower().removesuffix("h")
    if len(words) == 2 and raw.isdigit() and 1 <= int(raw) <= ARRIVALS_MAX_HOURS:
        return CommandInput("arrivals", str(int(raw)))
    return CommandInput(
        "invalid",
        f"Give the hours as a whole number from 1 to {ARRIVALS_MAX_HOURS}, like "
        "`/seam-code arrivals 48`.",
    )


def parse_command_text(raw: str | None) -> CommandInput:
    """Normalise and classify the slash-command text, as Slack sends it.

    Slack's page "Slash commands" (and "Formatting text for app surfaces"): the text arrives
    with `&`, `<`, `>` escaped, links as `<url|label>`, mentions as `<@U…|name>` and channels as
    `<#C…|name>`. Rules, in order:

    * `&lt; &gt; &amp;` are unescaped; surrounding and non-breaking spaces, zero-width
      characters, backticks and quotes are removed;
    * `open` and `arrivals [hours]` are the subcommands (so those words are never ids);
    * a user mention or channel link is never an id: usage is shown ("help");
    * `<url|label>` / `<url>`: the label when it looks like an id, else the URL's
      `access_code_id` query parameter or last path segment;
    * several words: the one that looks like a Seam id (a UUID) is taken (`*fix* ID café`);
      two ids, or none, is "invalid" (one at a time);
    * a UUID is folded to lower case (Seam's ids are lower-case).
    """
    text = _clean(_unescape(raw or ""))
    if not text or text.lower() in _HELP_WORDS:
        return CommandInput("help")
    sub = _subcommand(text)
    if sub is not None:
        return sub
    parts = _TOKEN_RE.findall(text)
    if not parts:
        return CommandInput("help")
    if any(_MENTION_RE.match(part) for part in parts):
        return CommandInput("help")
    if len(parts) > 1:
        ids = [u for u in (_unwrap(p) for p in parts) if _UUID_RE.match(u)]
        if len(ids) != 1:
            return CommandInput("invalid", "Give one access code ID at a time.")
        return CommandInput("id", ids[0].lower())
    token = _unwrap(parts[0])
    if not token:
        return CommandInput("help")
    if len(token) > MAX_ID_LENGTH:
        return CommandInput(
            "invalid", f"That ID is too long ({len(token)} characters); Seam IDs are 36."
        )
    if not _ID_RE.match(token):
        return CommandInput(
            "invalid",
            "That doesn't look like a Seam access code ID: IDs contain only letters, digits, "
            "`-` and `_`.",
        )
    return CommandInput("id", token.lower() if _UUID_RE.match(token) else token)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        ch
        for ch in text
        if ch.isspace() or (ch not in _INVISIBLE and unicodedata.category(ch) not in ("Cc", "Cf"))
    )
    return " ".join(text.split())


def _from_url(url_text: str) -> str:
    url = urlparse(url_text)
    query_id = parse_qs(url.query).get("access_code_id")
    if query_id:
        return query_id[0].strip()
    segments = [s for s in url.path.split("/") if s]
    return segments[-1] if segments else ""


def _unwrap(token: str) -> str:
    token = token.strip("`'\"“”‘’*_~")
    if token.startswith("<") and token.endswith(">"):
        target, _, label = token[1:-1].partition("|")
        label = label.strip("`'\"“”‘’*_~ ")
        if label and _ID_RE.match(label):
            return label
        token = target
    if token.startswith(("http://", "https://")):
        return _from_url(token)
    return token.strip("`'\"“”‘’*_~")


# ----------------------------------------------------------------------------- block_actions


@dataclass(frozen=True)
class Press:
    """The parts of a `block_actions` payload a listener needs (all strings, possibly empty)."""

    user_id: str
    action_id: str
    value: str
    channel: str
    ts: str
    ephemeral: bool
    response_url: str
    trigger_id: str

    def context(self, action: str, code: str, target: str = "") -> RemedyContext:
        """The `RemedyContext` a modal opened by this press carries."""
        return RemedyContext(
            action=action,
            code=code,
            target=target,
            channel=self.channel,
            ts=self.ts,
            ephemeral=self.ephemeral,
            response_url=self.response_url,
        )

    def code_id(self) -> str | None:
        """The access_code_id a button's value names, or None when it is unusable."""
        parsed = parse_command_text(self.value)
        return parsed.value if parsed.kind == "id" else None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def read_press(body: dict[str, Any]) -> Press:
    """Read a `block_actions` body defensively: missing or odd fields become empty strings."""
    actions = body.get("actions")
    first = _dict(actions[0] if isinstance(actions, list) and actions else None)
    value = _str(first.get("value")) or _str(_dict(first.get("selected_option")).get("value"))
    container = _dict(body.get("container"))
    user = _dict(body.get("user"))
    channel = _dict(body.get("channel"))
    return Press(
        user_id=_str(user.get("id")),
        action_id=_str(first.get("action_id")),
        value=value,
        channel=_str(container.get("channel_id")) or _str(channel.get("id")),
        ts=_str(container.get("message_ts")),
        ephemeral=bool(container.get("is_ephemeral", True)),
        response_url=_str(body.get("response_url")),
        trigger_id=_str(body.get("trigger_id")),
    )


def user_id_of(body: dict[str, Any]) -> str:
    """The Slack user id of whoever sent a payload (`user.id` or `user_id`), or ""."""
    return _str(_dict(body.get("user")).get("id")) or _str(body.get("user_id"))


# ----------------------------------------------------------------------------- views


def view_selected_time(view: dict[str, Any], block: str, action: str) -> int | None:
    """A datetimepicker's `selected_date_time` (UNIX seconds, UTC), or None."""
    try:
        entry = view["state"]["values"][block][action]
    except (KeyError, TypeError):
        return None
    raw = entry.get("selected_date_time") if isinstance(entry, dict) else None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def view_value(view: dict[str, Any], block: str, action: str) -> str:
    """The submitted value of one input (text or selected option) in a view's state, or ""."""
    try:
        entry = view["state"]["values"][block][action]
    except (KeyError, TypeError):
        return ""
    if not isinstance(entry, dict):
        return ""
    if isinstance(entry.get("selected_option"), dict):
        return str(entry["selected_option"].get("value") or "")
    return str(entry.get("value") or "")


@dataclass(frozen=True)
class RemedyContext:
    """What a modal must remember about the button press that opened it (private_metadata).

    action: the remedy action value; code: the access_code_id the message is about; target:
    the code to act on (an unmanaged duplicate, a code to delete), if chosen; channel/ts: the
    message; ephemeral: whether that message is ephemeral; response_url: to edit it later.
    """

    action: str
    code: str
    target: str = ""
    channel: str = ""
    ts: str = ""
    ephemeral: bool = True
    response_url: str = ""

    def dumps(self) -> str:
        """Compact JSON for `private_metadata` (well under Slack's 3000 characters)."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str | None) -> RemedyContext | None:
        """Parse `private_metadata`; None when it is missing or malformed."""
        if not raw or len(raw) > MAX_METADATA:
            return None
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                return None
            fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
            ctx = cls(**fields)
        except (ValueError, TypeError, RecursionError):
            return None
        texts = (ctx.action, ctx.code, ctx.target, ctx.channel, ctx.ts, ctx.response_url)
        if not all(isinstance(t, str) and len(t) <= 1000 for t in texts):
            return None
        if not ctx.code or not isinstance(ctx.ephemeral, bool):
            return None
        if len(ctx.dumps()) > MAX_METADATA:
            return None
        return ctx
