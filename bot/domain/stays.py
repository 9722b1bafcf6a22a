"""Where a code stands in its guest's stay, and what deleting it would do to that guest.

A time-bound code opens the door from `starts_at` to `ends_at` (Seam API reference, "Access
codes"); deleting it removes it from the lock at once. So deleting a code whose stay is under
way, or starts within `ARRIVING_SOON_SECONDS`, locks someone out who is about to use it: "Free
a slot" lists those codes last, marks them, and repeats the warning before the deletion.
Ongoing codes (no schedule) have no stay to read; they are neither expired nor at risk here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.domain.findings import seconds_to_start
from bot.domain.text import escape_mrkdwn, humanize_delta, slack_date
from bot.seam.models import AccessCode

__all__ = ["ARRIVING_SOON_SECONDS", "Stay", "StayPhase", "deletion_warning", "stay_of"]

#: A stay starting within this many seconds counts as "arriving soon" (two days: a guest
#: arriving tomorrow evening could not be given a new code in time by someone off shift).
ARRIVING_SOON_SECONDS = 48 * 3600

#: "expired" (ended), "in_stay" (under way now), "arriving_soon" (starts within
#: `ARRIVING_SOON_SECONDS`), "upcoming" (starts later), "ongoing" (no schedule to read).
StayPhase = Literal["expired", "in_stay", "arriving_soon", "upcoming", "ongoing"]


@dataclass(frozen=True)
class Stay:
    """A code's place in its stay at one moment.

    `seconds_to_start` is positive before the stay, zero or negative while it is under way, and
    None for expired and ongoing codes.
    """

    phase: StayPhase
    seconds_to_start: float | None = None

    @property
    def at_risk(self) -> bool:
        """Deleting the code now locks out a guest who is staying or arriving soon."""
        return self.phase in ("in_stay", "arriving_soon")

    @property
    def note(self) -> str:
        """A few plain words for a list: "arrives in 5 h", "guest staying now", "expired"."""
        if self.phase == "arriving_soon" and self.seconds_to_start is not None:
            return f"arrives in {humanize_delta(self.seconds_to_start)}"
        if self.phase == "upcoming" and self.seconds_to_start is not None:
            return f"starts in {humanize_delta(self.seconds_to_start)}"
        return {"in_stay": "guest staying now", "expired": "expired"}.get(self.phase, "ongoing")


def stay_of(code: AccessCode, now: datetime) -> Stay:
    """Where `code` stands at `now` (aware UTC); see `StayPhase`."""
    if code.ends_at is not None and code.ends_at < now:
        return Stay("expired")
    seconds = seconds_to_start(code, now)
    if seconds is None:
        return Stay("ongoing")
    if seconds <= 0:
        return Stay("in_stay", seconds)
    if seconds <= ARRIVING_SOON_SECONDS:
        return Stay("arriving_soon", seconds)
    return Stay("upcoming", seconds)


def deletion_warning(code: AccessCode, now: datetime) -> str | None:
    """mrkdwn warning for deleting a code at risk, or None when no guest is about to need it.

    Examples: "*Guest: Jane Doe* arrives in 5 h: deleting this code locks them out." and
    "*Guest: Jane Doe* is staying now (until <date token>): deleting this code locks them out."
    """
    stay = stay_of(code, now)
    if not stay.at_risk:
        return None
    who = f"*{escape_mrkdwn(code.name, 100)}*" if code.name else "The guest of this code"
    if stay.phase == "arriving_soon":
        when = stay.note
    else:
        until = f" (until {slack_date(code.ends_at)})" if code.ends_at else ""
        when = f"is staying now{until}"
    return f"{who} {when}: deleting this code locks them out."
