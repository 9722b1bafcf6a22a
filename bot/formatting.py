"""Small pure text helpers: PIN masking, Slack mrkdwn escaping, Slack date tokens, id parsing."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

#: Longest access_code_id accepted from a user (Seam ids are 36-character UUIDs).
MAX_ID_LENGTH = 64

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"}
_HELP_WORDS = {"help", "-h", "--help", "?", "usage"}


def mask_pin(pin: str | None) -> str:
    """Mask a door PIN for display: `"123434"` -> `"••34"`; short or missing PINs -> bullets.

    The full PIN must never reach a channel or a log; only an ephemeral reveal to an allowed
    user may show it.
    """
    if not pin:
        return "(no PIN yet)"
    pin = str(pin)
    if len(pin) < 4:
        return "••••"
    return "••" + pin[-2:]


def escape_mrkdwn(text: str | None, limit: int = 500) -> str:
    """Escape `&`, `<`, `>` as Slack requires and cut to `limit` characters.

    Escaping stops user-supplied names (which Seam stores verbatim) from injecting mentions
    such as `<!channel>` or links (api.slack.com/reference/surfaces/formatting#escaping).
    """
    if text is None:
        return ""
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str | None, limit: int) -> str:
    """One-line plain text cut to `limit` characters (for plain_text objects)."""
    value = " ".join(str(text or "").split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def slack_date(moment: datetime | None, fmt: str = "{date_short_pretty} at {time}") -> str:
    """A Slack date token that each reader sees in their own time zone, with a UTC fallback.

    Example: `<!date^1764460800^{date_short_pretty} at {time}|2025-11-30 00:00 UTC>`
    (api.slack.com/reference/surfaces/formatting#date-formatting).
    """
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{fmt}|{fallback}>"


def humanize_delta(seconds: float) -> str:
    """`18000` -> `"5 h"`, `90` -> `"2 min"`, `200000` -> `"2 d"` (rounded, absolute value)."""
    seconds = abs(seconds)
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} d"


@dataclass(frozen=True)
class CommandInput:
    """The parsed text of `/seam-code`.

    `kind` is "help" (no argument or a help word), "id" (`value` holds a well-formed id), or
    "invalid" (`value` holds a short reason safe to show the user).
    """

    kind: str
    value: str = ""


def parse_command_text(raw: str | None) -> CommandInput:
    """Normalise and classify the slash-command text.

    Removes surrounding and non-breaking spaces, zero-width characters, backticks and quotes,
    and unwraps Slack's `<url|label>` / `<url>` link syntax (taking the label, or the URL's
    `access_code_id` query parameter or last path segment).
    """
    text = _clean(raw or "")
    if not text or text.lower() in _HELP_WORDS:
        return CommandInput("help")
    parts = text.split()
    if len(parts) > 1:
        return CommandInput("invalid", "Give one access code ID at a time.")
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
    return CommandInput("id", token)


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        ch
        for ch in text
        if ch.isspace() or (ch not in _INVISIBLE and unicodedata.category(ch) not in ("Cc", "Cf"))
    )
    return " ".join(text.split())


def _unwrap(token: str) -> str:
    token = token.strip("`'\"“”‘’")
    if token.startswith("<") and token.endswith(">"):
        inner = token[1:-1]
        target, _, label = inner.partition("|")
        token = label or target
    if token.startswith(("http://", "https://")):
        url = urlparse(token)
        query_id = parse_qs(url.query).get("access_code_id")
        if query_id:
            return query_id[0].strip()
        segments = [s for s in url.path.split("/") if s]
        return segments[-1] if segments else ""
    return token.strip("`'\"“”‘’")
