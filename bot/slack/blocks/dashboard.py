"""Block Kit for the dashboard: `/seam-code open` and the App Home tab.

Pure builders from `bot.services.board.BoardSnapshot` data. The App Home view stays within
Slack's 100 blocks per view (Slack's reference "View objects"): open problems get a section and
a button each up to `MAX_HOME_PROBLEMS`, arrivals are listed by day like the digest, and what is
left out is counted ("…and N more"). Names are escaped, PINs never shown, times are date tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.domain.arrivals import Arrival
from bot.domain.catalogue import Catalogue, RemedyAction
from bot.domain.dashboard import OpenProblem, urgency_counts
from bot.domain.findings import time_to_start_text
from bot.domain.text import escape_mrkdwn, plain, slack_date
from bot.seam.models import AccessCode, Device
from bot.slack import ids
from bot.slack.blocks.arrivals import arrival_blocks, headline
from bot.slack.blocks.code import access_code_message
from bot.slack.blocks.common import Message
from bot.slack.blocks.common import message as _message

__all__ = [
    "MAX_HOME_BLOCKS",
    "MAX_HOME_PROBLEMS",
    "HomeHealth",
    "code_details_view",
    "dashboard_view",
    "open_problems_reply",
    "problem_line",
]

#: Slack's limit of blocks in one view (App Home, modal).
MAX_HOME_BLOCKS = 100
#: Open problems with their own section and button on the App Home.
MAX_HOME_PROBLEMS = 30
#: Open problems listed in the `/seam-code open` answer.
MAX_REPLY_PROBLEMS = 25
_STATE = {"snoozed": " · :zzz: snoozed", "acknowledged": " · :eyes: acknowledged"}


@dataclass(frozen=True)
class HomeHealth:
    """Configuration health shown on the App Home.

    Attributes:
        alert_channel: ALERT_CHANNEL, or None.
        channel_problem: why the last write to it failed (`not_in_channel`...), or None.
        remedies: "everyone", "N people" or "nobody" (REMEDY_ALLOWED_USERS).
        webhooks_on: SEAM_WEBHOOK_SECRET is set.
        webhook_warning: "webhooks look silent" warning, if any.
        scanning: SCAN_INTERVAL_SECONDS > 0 (and an alert channel).
    """

    alert_channel: str | None
    channel_problem: str | None
    remedies: str
    webhooks_on: bool
    webhook_warning: str | None
    scanning: bool


def _title(catalogue: Catalogue, problem: str, kind: str) -> str:
    return catalogue.lookup(problem, kind).title


def problem_line(problem: OpenProblem, catalogue: Catalogue, now: datetime) -> str:
    """One open problem: severity, code (or lock), lock, start, problems, snooze/ack state."""
    emoji = ":red_circle:" if problem.worst_kind == "error" else ":large_yellow_circle:"
    if problem.predictive:
        emoji = ":warning:"
    what = "Lock" if problem.subject == "device" else "Code"
    parts = [f"{emoji} *{escape_mrkdwn(problem.title, 80)}*"]
    if problem.subject == "access_code":
        parts.append(f"on {escape_mrkdwn(problem.device_name, 60)}")
    else:
        parts[0] = f"{emoji} *{what}: {escape_mrkdwn(problem.device_name, 80)}*"
    seconds = problem.starts_in(now)
    if problem.starts_at is not None and seconds is not None:
        parts.append(f"{time_to_start_text(seconds)} ({slack_date(problem.starts_at)})")
    titles = [_title(catalogue, p, k) for p, k in problem.problems[:2]]
    if len(problem.problems) > 2:
        titles.append(f"+{len(problem.problems) - 2}")
    if titles:
        parts.append(", ".join(titles))
    return (" · ".join(parts) + _STATE.get(problem.state, ""))[:700]


def _problem_section(
    problem: OpenProblem, catalogue: Catalogue, now: datetime, action_id: str
) -> SectionBlock:
    accessory = (
        ButtonElement(text="Details", action_id=action_id, value=problem.access_code_id)
        if problem.access_code_id
        else None
    )
    return SectionBlock(
        text=MarkdownTextObject(text=problem_line(problem, catalogue, now)), accessory=accessory
    )


def open_problems_reply(
    problems: Sequence[OpenProblem], *, catalogue: Catalogue, now: datetime
) -> Message:
    """The `/seam-code open` answer (ephemeral): open problems, urgent first, each code with
    a Details button (re-reads it and shows its `/seam-code` answer)."""
    if not problems:
        text = ":white_check_mark: *No open problems.* Every alert is resolved."
        return _message("No open problems", [SectionBlock(text=MarkdownTextObject(text=text))])
    n = len(problems)
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":clipboard: *{n} open problem{'s' if n != 1 else ''}*, most urgent first"
            )
        )
    ]
    recheck = ids.remedy_action_id(RemedyAction.RECHECK)
    for problem in problems[:MAX_REPLY_PROBLEMS]:
        blocks.append(_problem_section(problem, catalogue, now, recheck))
    if n > MAX_REPLY_PROBLEMS:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"…and {n - MAX_REPLY_PROBLEMS} more; the App Home lists them too"
                    )
                ]
            )
        )
    return _message(f"{n} open problem(s)", blocks)


def _health_lines(
    health: HomeHealth, last_scan: datetime | None, last_hook: datetime | None
) -> str:
    ok, bad = ":white_check_mark:", ":x:"
    if health.alert_channel is None:
        channel = f"{bad} Alert channel not set (`ALERT_CHANNEL`)"
    elif health.channel_problem:
        channel = (
            f"{bad} Alert channel <#{escape_mrkdwn(health.alert_channel, 40)}>: Slack refused "
            f"the last post ({escape_mrkdwn(health.channel_problem, 80)}); invite the bot"
        )
    else:
        channel = f"{ok} Alert channel <#{escape_mrkdwn(health.alert_channel, 40)}>"
    remedies = (
        f"{bad} Nobody may run remedies (`REMEDY_ALLOWED_USERS`)"
        if health.remedies == "nobody"
        else f"{ok} Remedies allowed for {escape_mrkdwn(health.remedies, 40)}"
    )
    hooks = (
        f"{ok} Seam webhooks on" if health.webhooks_on else f"{bad} Seam webhooks off (scans only)"
    )
    if health.webhook_warning:
        hooks += f"\n:warning: {escape_mrkdwn(health.webhook_warning, 300)}"
    scans = f"{ok} Scanning on" if health.scanning else f"{bad} Scanning off"
    times = (
        f"Last scan: {slack_date(last_scan) if last_scan else 'none yet'} · "
        f"last Seam webhook: {slack_date(last_hook) if last_hook else 'none yet'}"
    )
    return "\n".join([channel, remedies, hooks, scans, times])


def dashboard_view(
    *,
    now: datetime,
    problems: Sequence[OpenProblem],
    arrivals: Sequence[Arrival],
    last_scan_at: datetime | None,
    last_webhook_at: datetime | None,
    health: HomeHealth,
    catalogue: Catalogue,
    tz: tzinfo,
) -> dict[str, Any]:
    """The App Home dashboard: counts by urgency, open problems (urgent first, a Details button
    each), arrivals in 72 h with their state, last scan/webhook, configuration health.

    Returns the `home` view as a dict (at most `MAX_HOME_BLOCKS` blocks).
    """
    counts = urgency_counts(problems, now)
    count_text = " · ".join(f"*{n}* {label}" for label, n in counts if n) or "*0* open"
    blocks: list[Block] = [
        HeaderBlock(text="Seam access-code doctor"),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*{len(problems)} open problem{'s' if len(problems) != 1 else ''}* by "
                f"check-in: {count_text}"
            )
        ),
        DividerBlock(),
    ]
    tail: list[Block] = [
        DividerBlock(),
        SectionBlock(
            text=MarkdownTextObject(
                text="*Configuration*\n" + _health_lines(health, last_scan_at, last_webhook_at)
            )
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"`{ids.COMMAND} <access_code_id>` · `{ids.COMMAND} open` · "
                    f"`{ids.COMMAND} arrivals [hours]` · updated {slack_date(now)}"
                )
            ]
        ),
    ]
    arrivals_room = 2 + min(len(arrivals), 20) + 8  # header + a few days + lines
    problem_room = MAX_HOME_BLOCKS - len(blocks) - len(tail) - arrivals_room - 2
    shown = list(problems[: max(0, min(MAX_HOME_PROBLEMS, problem_room))])
    if problems:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="*Open problems*, urgent first")))
        for problem in shown:
            blocks.append(_problem_section(problem, catalogue, now, ids.ACTION_HOME_SHOW_CODE))
        if len(problems) > len(shown):
            blocks.append(
                ContextBlock(
                    elements=[
                        MarkdownTextObject(
                            text=f"…and {len(problems) - len(shown)} more; "
                            f"`{ids.COMMAND} open` lists them"
                        )
                    ]
                )
            )
    else:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=":white_check_mark: No open problems."))
        )
    blocks.append(DividerBlock())
    blocks.append(
        SectionBlock(
            text=MarkdownTextObject(text=f"*Arrivals in the next 72 h:* {headline(arrivals, 72)}")
        )
    )
    room = MAX_HOME_BLOCKS - len(blocks) - len(tail)
    blocks += arrival_blocks(
        arrivals, catalogue=catalogue, tz=tz, room=room, action_id=ids.ACTION_HOME_SHOW_CODE
    )
    blocks += tail
    view = View(type="home", blocks=blocks[:MAX_HOME_BLOCKS])
    result: dict[str, Any] = view.to_dict()
    return result


def code_details_view(
    code: AccessCode | None,
    device: Device | None,
    *,
    catalogue: Catalogue,
    note: str | None = None,
) -> dict[str, Any]:
    """A modal with a code's `/seam-code` answer (problems, meaning, what to do), opened from
    the App Home (which has no response_url). Its buttons are left out: a modal cannot answer
    them; the note says where to act. `code` None shows only `note` (loading, or an error)."""
    blocks: list[Any] = []
    if code is not None:
        answer = access_code_message(code, device, catalogue=catalogue)
        blocks = [b for b in answer.blocks if b.get("type") != "actions"]
        hint = (
            f"To fix it, use the buttons on its alert or run `{ids.COMMAND} "
            f"{escape_mrkdwn(code.access_code_id, 64)}` in any channel."
        )
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=hint)]).to_dict())
    if note:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=note[:3000])).to_dict())
    view = View(
        type="modal",
        title=plain("Access code", 24),
        close="Close",
        blocks=blocks[:MAX_HOME_BLOCKS],
    )
    result: dict[str, Any] = view.to_dict()
    return result
