"""Small pure text helpers: PIN masking and redaction, mrkdwn escaping, date tokens, durations.

No I/O and no Slack SDK: these are string rules (Slack's "Formatting text for app surfaces" page
for escaping and date tokens) that every layer may use.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_PIN_LIKE = re.compile(r"(?<!\d)\d{4,12}(?!\d)")


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
    such as `<!channel>` or links (Slack's page "Formatting text for app surfaces", escaping).
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


#: A date without the time, for short spaces (`slack_date(moment, DATE_ONLY, DATE_ONLY_FALLBACK)`).
DATE_ONLY = "{date_short_pretty}"
#: The UTC fallback of `DATE_ONLY` (shown where Slack cannot render the token).
DATE_ONLY_FALLBACK = "%Y-%m-%d"


def slack_date(
    moment: datetime | None,
    fmt: str = "{date_short_pretty} at {time}",
    fallback: str = "%Y-%m-%d %H:%M UTC",
) -> str:
    """A Slack date token that each reader sees in their own time zone, with a UTC fallback.

    Example: `<!date^1764460800^{date_short_pretty} at {time}|2025-11-30 00:00 UTC>`
    (Slack's page "Formatting text for app surfaces", date formatting). `fallback` is a
    `strftime` format applied in UTC.
    """
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    shown = moment.astimezone(UTC).strftime(fallback)
    return f"<!date^{int(moment.timestamp())}^{fmt}|{shown}>"


def humanize_delta(seconds: float) -> str:
    """`18000` -> `"5 h"`, `90` -> `"2 min"`, `200000` -> `"2 d"` (rounded, absolute value)."""
    seconds = abs(seconds)
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} d"


def redact_pins(text: str) -> str:
    """Replace anything that looks like a PIN (4–12 digits) with bullets; Seam's messages may
    quote the PIN (e.g. "Cannot set duplicate access code 2580")."""
    return _PIN_LIKE.sub("••••", text)
