"""What the App Home dashboard and `/seam-code open` show: open problems, urgent first. Pure.

An `OpenProblem` is one unresolved alert (a code or a lock) in compact form, with the start of
the soonest arrival it concerns; `order_problems` puts the most urgent first (soonest check-in,
stays in progress first, then errors before warnings), and `urgency_counts` buckets them the way
the dashboard's headline does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.domain.alert_plan import AlertState
from bot.domain.findings import Subject

__all__ = ["URGENCY_BUCKETS", "OpenProblem", "order_problems", "urgency_bucket", "urgency_counts"]

#: Dashboard buckets (label, upper bound in seconds before the start), most urgent first;
#: "in stay" (started) comes first and "no arrival soon" (ongoing or beyond 72 h) last.
URGENCY_BUCKETS: tuple[tuple[str, float], ...] = (
    ("within 4 h", 4 * 3600.0),
    ("within 24 h", 24 * 3600.0),
    ("within 72 h", 72 * 3600.0),
)
IN_STAY = "stay in progress"
NOT_SOON = "no arrival soon"


@dataclass(frozen=True)
class OpenProblem:
    """One unresolved alert, compact.

    Attributes:
        alert_key: `code:<id>` or `device:<id>`.
        subject: "access_code" or "device".
        title: the code's name (or the lock's, for lock alerts), raw.
        device_name: the lock's name, raw.
        access_code_id / device_id: the subject (access_code_id None for lock alerts).
        state: "open", "snoozed" or "acknowledged".
        problems: `(problem code, kind)` of its open problems, errors first.
        starts_at: the soonest start of an arrival it concerns (aware UTC), or None.
        predictive: every problem is one of the bot's own at-risk checks.
    """

    alert_key: str
    subject: Subject
    title: str
    device_name: str
    access_code_id: str | None
    device_id: str
    state: AlertState
    problems: tuple[tuple[str, Literal["error", "warning"]], ...]
    starts_at: datetime | None = None
    predictive: bool = False

    @property
    def worst_kind(self) -> Literal["error", "warning"]:
        """ "error" if any open problem is an error."""
        return "error" if any(kind == "error" for _, kind in self.problems) else "warning"

    def starts_in(self, now: datetime) -> float | None:
        """Seconds to `starts_at` (negative: the stay is under way), or None."""
        return None if self.starts_at is None else (self.starts_at - now).total_seconds()


def urgency_bucket(starts_in: float | None) -> str:
    """The dashboard bucket of a start `starts_in` seconds away."""
    if starts_in is None:
        return NOT_SOON
    if starts_in <= 0:
        return IN_STAY
    for label, bound in URGENCY_BUCKETS:
        if starts_in <= bound:
            return label
    return NOT_SOON


def order_problems(problems: Iterable[OpenProblem], now: datetime) -> list[OpenProblem]:
    """Urgent first: soonest check-in (stays in progress first), then errors, then by title."""

    def key(p: OpenProblem) -> tuple[bool, float, bool, str]:
        seconds = p.starts_in(now)
        return (seconds is None, seconds or 0.0, p.worst_kind != "error", p.title.lower())

    return sorted(problems, key=key)


def urgency_counts(problems: Iterable[OpenProblem], now: datetime) -> list[tuple[str, int]]:
    """`(bucket, how many)` for every bucket, most urgent first (zeros included)."""
    labels = [IN_STAY, *(label for label, _ in URGENCY_BUCKETS), NOT_SOON]
    counts = dict.fromkeys(labels, 0)
    for problem in problems:
        counts[urgency_bucket(problem.starts_in(now))] += 1
    return list(counts.items())
