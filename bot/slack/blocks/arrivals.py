"""Block Kit for arrivals first: the daily pre-arrival digest, `/seam-code arrivals`, and the
escalation replies in an alert's thread.

Pure builders from `bot.domain.arrivals.Arrival`s. Times are Slack date tokens (each reader
sees their own local time; Slack's page "Formatting text for app surfaces"); days are grouped
in `TIMEZONE`. Names are user-controlled and always escaped; PINs never appear. A message stays
within Slack's 50 blocks: arrivals that are not OK get a section with a button each (the
button re-reads the code and shows its `/seam-code` answer to the clicker), up to
`MAX_BUTTONS`; OK arrivals are listed as lines; anything beyond is counted ("…and N more").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, tzinfo

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.arrivals import Arrival, Escalation, arrivals_by_day, count_arrivals
from bot.domain.catalogue import Catalogue, RemedyAction
from bot.domain.text import escape_mrkdwn, humanize_delta, slack_date
from bot.slack import ids
from bot.slack.blocks.common import Message
from bot.slack.blocks.common import message as _message

__all__ = [
    "MAX_BUTTONS",
    "STATE_EMOJI",
    "STATE_LABEL",
    "arrival_blocks",
    "arrival_digest_message",
    "arrival_line",
    "arrivals_reply",
    "escalation_reply",
    "headline",
]

#: Not-OK arrivals that get their own section and button in one message.
MAX_BUTTONS = 25
#: OK arrivals listed (as lines) in one message before "…and N more".
MAX_OK_LINES = 60
STATE_EMOJI = {"ok": ":white_check_mark:", "at_risk": ":warning:", "failing": ":red_circle:"}
STATE_LABEL = {"ok": "ready", "at_risk": "at risk", "failing": "failing"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def headline(arrivals: Sequence[Arrival], window_hours: float) -> str:
    """ "14 arrivals, 12 ready, 1 at risk, 1 failing" (plain words; no arrivals: a short line)."""
    counts = count_arrivals(arrivals)
    if counts.total == 0:
        return f"No arrivals in the next {humanize_delta(window_hours * 3600)}."
    return (
        f"{_plural(counts.total, 'arrival')}, {counts.ok} ready, {counts.at_risk} at risk, "
        f"{counts.failing} failing"
    )


def _problem_titles(arrival: Arrival, catalogue: Catalogue, limit: int = 2) -> str:
    titles = list(dict.fromkeys(_title(catalogue, p) for p in arrival.problems))
    shown = ", ".join(titles[:limit])
    return shown + (f" +{len(titles) - limit}" if len(titles) > limit else "")


def _title(catalogue: Catalogue, problem: str) -> str:
    """The catalogue title of a problem code, whichever list (errors or warnings) it is in."""
    entry = catalogue.get(problem, "error") or catalogue.get(problem, "warning")
    return (entry or catalogue.lookup(problem, "error")).title


def arrival_line(arrival: Arrival, catalogue: Catalogue, *, with_problems: bool = True) -> str:
    """One arrival: state, name, lock, start (date token) and, when not OK, its problems."""
    name = escape_mrkdwn(arrival.name or f"Access code {arrival.access_code_id}", 80)
    parts = [
        f"{STATE_EMOJI[arrival.state]} *{name}* on {escape_mrkdwn(arrival.device_name, 60)}",
        f"{slack_date(arrival.starts_at, '{time}')} ({STATE_LABEL[arrival.state]})",
    ]
    if with_problems and arrival.state != "ok" and arrival.problems:
        parts.append(_problem_titles(arrival, catalogue))
    return " · ".join(parts)[:700]


def _details_button(arrival: Arrival, action_id: str) -> ButtonElement:
    return ButtonElement(text="Details", action_id=action_id, value=arrival.access_code_id)


def _day_label(day_start: datetime) -> str:
    return slack_date(day_start, "{date_long_pretty}")


def arrival_blocks(
    arrivals: Sequence[Arrival],
    *,
    catalogue: Catalogue,
    tz: tzinfo,
    room: int,
    action_id: str = ids.remedy_action_id(RemedyAction.RECHECK),
) -> list[Block]:
    """Day headers, a section with a Details button (`action_id`) per arrival that is not OK,
    OK ones as lines; at most `room` blocks, the rest counted."""
    blocks: list[Block] = []
    buttons = 0
    ok_lines = 0
    left_out = 0
    for day, items in arrivals_by_day(arrivals, tz):
        start = datetime.combine(day, time(0, 0), tzinfo=tz)
        header = SectionBlock(
            text=MarkdownTextObject(
                text=f"*{_day_label(start)}* · {_plural(len(items), 'arrival')}"
            )
        )
        own: list[Block] = []
        ready: list[str] = []
        for arrival in items:
            used = len(blocks) + 1 + len(own)
            if arrival.state != "ok" and buttons < MAX_BUTTONS and used < room - 2:
                own.append(
                    SectionBlock(
                        text=MarkdownTextObject(text=arrival_line(arrival, catalogue)),
                        accessory=_details_button(arrival, action_id),
                    )
                )
                buttons += 1
            elif arrival.state == "ok" and ok_lines < MAX_OK_LINES:
                ready.append(arrival_line(arrival, catalogue))
                ok_lines += 1
            else:
                left_out += 1
        for first in range(0, len(ready), 10):
            if len(blocks) + 1 + len(own) >= room - 1:
                left_out += len(ready) - first
                break
            chunk = "\n".join(ready[first : first + 10])
            own.append(SectionBlock(text=MarkdownTextObject(text=chunk[:3000])))
        if own:  # a day with nothing shown gets no header; its arrivals are counted below
            blocks += [header, *own]
    if left_out:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"…and {left_out} more; see `{ids.COMMAND} arrivals` or the App Home"
                    )
                ]
            )
        )
    return blocks


def arrival_digest_message(
    arrivals: Sequence[Arrival],
    *,
    catalogue: Catalogue,
    now: datetime,
    tz: tzinfo,
    window_hours: float = 72,
    unseen_locks: int = 0,
) -> Message:
    """The daily pre-arrival digest: a headline count, then every arrival by day.

    Args:
        arrivals: time-bound codes starting within the window, with their states.
        now: aware UTC (the "as of" line).
        tz: TIMEZONE, for grouping by day (times themselves are date tokens).
        unseen_locks: locks whose codes Seam could not list (their arrivals are missing; said).
    """
    head = headline(arrivals, window_hours)
    if not arrivals and not unseen_locks:
        text = f":sunrise: *Pre-arrival check:* {head}"
        return _message(
            f"Pre-arrival check: {head}", [SectionBlock(text=MarkdownTextObject(text=text))]
        )
    blocks: list[Block] = [
        HeaderBlock(text=f"Arrivals in the next {humanize_delta(window_hours * 3600)}"),
        SectionBlock(text=MarkdownTextObject(text=f"*{escape_mrkdwn(head, 200)}*")),
    ]
    note = f"As of {slack_date(now)}"
    if unseen_locks:
        note += (
            f" · :warning: Seam could not be read for {_plural(unseen_locks, 'lock')}: "
            "their arrivals are missing here"
        )
    blocks += arrival_blocks(arrivals, catalogue=catalogue, tz=tz, room=50 - len(blocks) - 1)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    return _message(f"Pre-arrival check: {head}", blocks)


def arrivals_reply(
    arrivals: Sequence[Arrival],
    *,
    catalogue: Catalogue,
    now: datetime,
    tz: tzinfo,
    hours: float,
    as_of: datetime | None,
) -> Message:
    """The `/seam-code arrivals [hours]` answer (ephemeral): the same layout as the digest."""
    head = headline(arrivals, hours)
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":calendar: *Arrivals in the next {humanize_delta(hours * 3600)}:* "
                f"{escape_mrkdwn(head, 200)}"
            )
        )
    ]
    blocks += arrival_blocks(arrivals, catalogue=catalogue, tz=tz, room=48)
    seen = f"From the scan of {slack_date(as_of)}" if as_of else f"As of {slack_date(now)}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=seen)]))
    return _message(f"Arrivals: {head}", blocks)


def escalation_reply(
    step: Escalation, *, starts_at: datetime | None, mention: str | None, problem_titles: str
) -> Message:
    """Thread reply raising an open alert again as check-in nears (T-24 h, T-4 h, T-1 h).

    `mention` (mrkdwn, e.g. `<!subteam^S123>`) is included only where due: T-4 h and T-1 h,
    and not once the alert was acknowledged.
    """
    when = f" ({slack_date(starts_at)})" if starts_at else ""
    emoji = ":rotating_light:" if step.seconds <= 4 * 3600 else ":warning:"
    text = (
        f"{emoji} *Check-in in under {humanize_delta(step.seconds)}*{when} and this is still "
        f"open: {problem_titles or 'the problem'}."
    )
    if mention:
        text = f"{mention} {text}"
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=text[:3000]))])
