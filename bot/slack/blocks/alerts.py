"""Block Kit builders for proactive alerts: pure functions from findings to Slack messages.

One message per affected access code (`code_alert_message`), one per lock or account problem
(`device_alert_message`, listing the codes it affects), a compact resolved form
(`resolved_message`), thread replies (`resolved_reply`, `reminder_reply`, `reopened_reply`,
`woke_reply`) and a storm digest (`digest_message`). Every builder returns a
`bot.slack.blocks.common.Message`, built with `slack_sdk.models.blocks` and serialised with
`to_dict()` (which checks the per-element limits) and at most 50 blocks (Slack's message
limit, which the SDK does not check).

Text rules: names and Seam messages are user- or vendor-controlled and always go through
`escape_mrkdwn`; catalogue titles, explanations and remedies are already mrkdwn-safe (the
catalogue loader rejects raw `<`, `>` and `&`, and the generic entry escapes Seam's message), so
they are only clipped, never escaped twice. PINs are only ever shown masked (`mask_pin`).

Urgency: Seam tries to program a scheduled code up to 9 days before its `starts_at`
(Seam's access codes guide), so a failing time-bound code is
ranked by the time left before the guest arrives. The label is an upper bound ("starts within
8 h") that stays true as time passes, so a message never goes stale between scans and is edited
only when the code crosses into a more urgent band (1 h, 2 h, 4 h, 8 h, 12 h, 24 h, 2 d, 3 d,
9 d); exact times are Slack date tokens that each reader sees in their own time zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)

from bot.domain.alert_plan import AlertActivity, AlertStatus, DigestItem
from bot.domain.catalogue import Catalogue, CatalogueEntry, RemedyAction, Scope
from bot.domain.findings import Finding, seconds_to_start, sort_findings, urgency_label
from bot.domain.text import escape_mrkdwn, humanize_delta, mask_pin, plain, slack_date
from bot.remedies.registry import REMEDIES
from bot.remedies.remove_backup import REMEDY as REMOVE_BACKUP
from bot.seam.models import AccessCode, Device
from bot.settings import SLACK_USER_ID
from bot.slack import ids
from bot.slack.blocks.code import code_actions, remedy_buttons
from bot.slack.blocks.common import Message, message_hash
from bot.slack.blocks.common import message as _message

__all__ = [
    "MAX_CODES_SHOWN",
    "MAX_DIGEST_ITEMS",
    "MAX_PROBLEMS_SHOWN",
    "AlertStatus",
    "DigestItem",
    "code_alert_message",
    "device_alert_message",
    "digest_message",
    "message_hash",
    "reminder_reply",
    "reopened_reply",
    "resolved_message",
    "resolved_reply",
    "seconds_to_start",
    "urgency_label",
    "woke_reply",
]

#: Problems shown in full in one alert before "…and N more".
MAX_PROBLEMS_SHOWN = 8
#: Affected codes listed in a device alert before "…and N more".
MAX_CODES_SHOWN = 15
#: Items listed in a digest before "…and N more".
MAX_DIGEST_ITEMS = 15

_SCOPE_LABEL = {Scope.DEVICE: "device-level", Scope.ACCOUNT: "account-level"}


# ----------------------------------------------------------------------------- small helpers


def _urgency_emoji(seconds: float | None) -> str:
    if seconds is None:
        return ":calendar:"
    if seconds <= 4 * 3600:
        return ":rotating_light:"
    if seconds <= 24 * 3600:
        return ":warning:"
    return ":calendar:"


def _kind_emoji(kind: str) -> str:
    return ":red_circle:" if kind == "error" else ":large_yellow_circle:"


def _worst(findings: Sequence[Finding]) -> Literal["error", "warning"]:
    return "error" if any(f.kind == "error" for f in findings) else "warning"


def _safe(text: str, limit: int) -> str:
    """Clip already mrkdwn-safe catalogue text without escaping it again."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mention(user_id: str | None) -> str:
    if user_id and SLACK_USER_ID.match(user_id):
        return f"<@{user_id}>"
    return escape_mrkdwn(user_id or "someone", 40)


def _code_name(code: AccessCode | None, access_code_id: str | None) -> str:
    if code is not None and code.name and code.name.strip():
        return code.name.strip()
    return f"Access code {access_code_id or '?'}"


def _device_name(device: Device | None, device_id: str) -> str:
    return device.name if device is not None else device_id


def _entry(catalogue: Catalogue, finding: Finding) -> CatalogueEntry:
    return catalogue.lookup(
        finding.problem, finding.kind, message=finding.message, scope=finding.scope
    )


def _problem_block(finding: Finding, entry: CatalogueEntry) -> SectionBlock:
    """One problem: title, code, kind, scope, explanation, what to do, and Seam's words."""
    scope = _SCOPE_LABEL.get(finding.scope)
    head = (
        f"{_kind_emoji(finding.kind)} *{_safe(entry.title, 100)}*  "
        f"`{escape_mrkdwn(finding.problem, 80)}` · {finding.kind}"
        + (f" · _{scope}_" if scope else "")
    )
    lines = [head, _safe(entry.explanation, 800), f"*What to do:* {_safe(entry.remedy, 900)}"]
    if finding.message and not entry.is_generic:
        said = "The bot's check" if finding.source == "predictive" else "Seam says"
        lines.append(f"_{said}:_ {escape_mrkdwn(finding.message, 400)}")
    return SectionBlock(text=MarkdownTextObject(text="\n".join(lines)[:3000]))


def _problem_blocks(findings: Sequence[Finding], catalogue: Catalogue) -> list[Block]:
    ordered = sort_findings(findings)
    blocks: list[Block] = [_problem_block(f, _entry(catalogue, f)) for f in ordered]
    blocks = blocks[:MAX_PROBLEMS_SHOWN]
    if len(ordered) > MAX_PROBLEMS_SHOWN:
        more = len(ordered) - MAX_PROBLEMS_SHOWN
        blocks.append(_context(f"…and {more} more problem{'s' if more != 1 else ''}"))
    return blocks


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text[:2000])])


def alert_controls(alert_key: str, status: AlertStatus, *, can_end: bool) -> ActionsBlock:
    """Acknowledge (or Unacknowledge), Unsnooze when snoozed, and a labelled Snooze menu.

    Values carry only the alert key. `can_end` offers "Snooze until it ends" (a time-bound
    code's `ends_at`); "Snooze until a date and time…" opens a date-and-time picker.
    """
    choices = [(k, v) for k, v in ids.SNOOZE_CHOICES.items() if k != "end" or can_end]
    elements: list[Any] = []
    if status.state == "acknowledged":
        elements.append(
            ButtonElement(text="Unacknowledge", action_id=ids.ACTION_ALERT_UNACK, value=alert_key)
        )
    else:
        elements.append(
            ButtonElement(text="Acknowledge", action_id=ids.ACTION_ALERT_ACK, value=alert_key)
        )
    if status.state == "snoozed":
        elements.append(
            ButtonElement(text="Unsnooze", action_id=ids.ACTION_ALERT_UNSNOOZE, value=alert_key)
        )
    elements.append(
        StaticSelectElement(
            action_id=ids.ACTION_ALERT_SNOOZE,
            placeholder="Snooze…",
            options=[Option(value=f"{k}|{alert_key}"[:150], text=label) for k, label in choices],
        )
    )
    return ActionsBlock(block_id=ids.BLOCK_ALERT_CONTROLS, elements=elements)


def _status_line(status: AlertStatus) -> str | None:
    if status.state == "snoozed":
        until = f" until {slack_date(status.snoozed_until)}" if status.snoozed_until else ""
        return f":zzz: Snoozed{until} by {_mention(status.by)}: no reminders unless it gets worse."
    if status.state == "acknowledged":
        return f":eyes: Acknowledged by {_mention(status.by)}: no reminders."
    return None


def _schedule_line(code: AccessCode | None, now: datetime) -> str | None:
    seconds = seconds_to_start(code, now)
    if code is None or not code.is_time_bound:
        return None
    window = f"{slack_date(code.starts_at)} → {slack_date(code.ends_at)}"
    label = urgency_label(seconds)
    if label is None:
        return f":calendar: {window}"
    return f"{_urgency_emoji(seconds)} *{label.capitalize()}* · {window}"


def _titles(findings: Sequence[Finding], catalogue: Catalogue, limit: int = 3) -> str:
    ordered = sort_findings(findings)
    names = [_entry(catalogue, f).title for f in ordered[:limit]]
    if len(ordered) > limit:
        names.append(f"{len(ordered) - limit} more")
    return ", ".join(names)


# ----------------------------------------------------------------------------- code alerts


def code_alert_message(
    access_code_id: str,
    device_id: str,
    findings: Sequence[Finding],
    *,
    code: AccessCode | None,
    device: Device | None,
    catalogue: Catalogue,
    now: datetime,
    status: AlertStatus | None = None,
) -> Message:
    """The alert for one access code: every current problem, urgency, remedies.

    Args:
        access_code_id / device_id: the code and its own device.
        findings: the code's current code-level findings (at least one).
        code / device: the latest snapshot (None when unknown; ids are shown instead).
        now: aware UTC, for the urgency band.
        status: state line (snoozed / acknowledged) and first-seen time.
    """
    status = status or AlertStatus()
    name = _code_name(code, access_code_id)
    device_name = _device_name(device, device_id)
    worst = _worst(findings)
    verb = "failing" if worst == "error" else "warning"
    if all(f.source == "predictive" for f in findings):
        verb = "at risk"  # only the bot's own checks, before Seam reports anything
    managed = "" if code is None or code.is_managed else " · _unmanaged (created outside Seam)_"
    pin = f" · PIN {mask_pin(code.code)}" if code is not None else ""
    lines = [
        f"{_kind_emoji(worst)} *Access code {verb}: {escape_mrkdwn(name, 150)}*",
        f"on *{escape_mrkdwn(device_name, 150)}*{managed}{pin}",
    ]
    schedule = _schedule_line(code, now)
    if schedule:
        lines.append(schedule)
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)[:3000]))]
    blocks += _problem_blocks(findings, catalogue)
    state = _status_line(status)
    if state:
        blocks.append(_context(state))
    done = activity_line(status.activity)
    if done:
        blocks.append(_context(done))
    blocks.append(_context(_ids_line(status.first_seen, access_code_id, device_id)))
    snapshot = code or AccessCode(access_code_id=access_code_id, device_id=device_id)
    actions = code_actions(snapshot, [_entry(catalogue, f) for f in findings])
    buttons = remedy_buttons(snapshot, _not_hidden(actions, status))
    if buttons is not None:
        blocks.append(buttons)
    blocks.append(
        alert_controls(
            f"code:{access_code_id}",
            status,
            can_end=bool(code and code.is_time_bound and code.ends_at),
        )
    )
    label = urgency_label(seconds_to_start(code, now))
    text = (
        f"Access code {verb}: {escape_mrkdwn(name, 100)} on {escape_mrkdwn(device_name, 100)}: "
        f"{_titles(findings, catalogue)}" + (f" ({label})" if label else "")
    )
    return _message(text, blocks)


def _ids_line(first_seen: datetime | None, access_code_id: str | None, device_id: str) -> str:
    parts = []
    if first_seen is not None:
        parts.append(f"First seen {slack_date(first_seen)}")
    if access_code_id:
        parts.append(f"access_code_id `{escape_mrkdwn(access_code_id, 80)}`")
    parts.append(f"device_id `{escape_mrkdwn(device_id, 80)}`")
    return " · ".join(parts)


# ----------------------------------------------------------------------------- device alerts


def _affected_line(
    code: AccessCode | None,
    access_code_id: str,
    own: Sequence[Finding],
    catalogue: Catalogue,
    now: datetime,
) -> str:
    name = escape_mrkdwn(_code_name(code, access_code_id), 80)
    parts = [f"• *{name}*"]
    seconds = seconds_to_start(code, now)
    label = urgency_label(seconds)
    if label and code is not None:
        parts.append(f"{_urgency_emoji(seconds)} {label} ({slack_date(code.starts_at)})")
    if code is not None:
        parts.append(f"PIN {mask_pin(code.code)}")
    if own:
        parts.append(f"also: {_titles(own, catalogue, 2)}")
    parts.append(f"`{escape_mrkdwn(access_code_id, 64)}`")
    return " · ".join(parts)


def _not_hidden(actions: Sequence[str], status: AlertStatus) -> list[str]:
    """Actions minus those whose outcome the alert already shows (a remedy that went through)."""
    hidden = set(status.activity.hidden_actions) if status.activity is not None else set()
    return [a for a in actions if a not in hidden]


def _device_buttons(
    device_id: str,
    findings: Sequence[Finding],
    affected: Sequence[tuple[str, Sequence[Finding]]],
    codes: Mapping[str, AccessCode],
    catalogue: Catalogue,
    status: AlertStatus,
) -> ActionsBlock | None:
    """The buttons a lock alert's advice names (the catalogue actions of its problems).

    Buttons take an access_code_id (the listeners find the lock from it): the most urgent
    affected code, else any code Seam listed on the lock. A backup code is offered for that
    most urgent code when Seam can pull one, and the button names whom it is for.
    """
    subject_id = affected[0][0] if affected else None
    if subject_id is None:
        subject_id = next(
            (c.access_code_id for c in codes.values() if c.device_id == device_id), None
        )
    if subject_id is None:
        return None
    subject = codes.get(subject_id)
    if subject is None:
        return ActionsBlock(
            block_id=ids.BLOCK_REMEDIES,
            elements=[
                ButtonElement(
                    text="Check device",
                    action_id=ids.remedy_action_id(RemedyAction.CHECK_DEVICE),
                    value=subject_id,
                )
            ],
        )
    actions = code_actions(subject, [_entry(catalogue, f) for f in findings])
    buttons = remedy_buttons(subject, _not_hidden(actions, status))
    if buttons is not None:
        backup = ids.remedy_action_id(RemedyAction.PULL_BACKUP)
        for element in buttons.elements:
            if isinstance(element, ButtonElement) and element.action_id == backup:
                name = _code_name(subject, subject_id)
                element.text = PlainTextObject(text=plain(f"Use backup code: {name}", 75))
    return buttons


def device_alert_message(
    device_id: str,
    findings: Sequence[Finding],
    affected: Sequence[tuple[str, Sequence[Finding]]],
    *,
    device: Device | None,
    codes: Mapping[str, AccessCode],
    catalogue: Catalogue,
    now: datetime,
    status: AlertStatus | None = None,
) -> Message:
    """The alert for a lock- or account-level problem, listing the access codes it affects.

    Args:
        device_id: the lock.
        findings: the device's own findings (device- or account-level; at least one).
        affected: `(access_code_id, its own code-level findings folded in here)` for each
            affected code, most urgent first; codes with findings are not posted separately
            (every one of their problems is explained by this one).
        device: the latest device snapshot (None when unknown).
        codes: snapshots of the affected codes by access_code_id (for names, times, PINs).
        now: aware UTC, for the urgency bands.
        status: state line and first-seen time.
    """
    status = status or AlertStatus()
    device_name = _device_name(device, device_id)
    worst = _worst(findings)
    headline = _titles(findings, catalogue, 2)
    account = any(f.scope is Scope.ACCOUNT for f in findings)
    what = "Account problem" if account else "Lock problem"
    lines = [f"{_kind_emoji(worst)} *{what}: {escape_mrkdwn(device_name, 150)}* — {headline}"]
    folds = any(own for _, own in affected)
    n = len(affected)
    if n:
        lines.append(
            f"{n} access code{'s' if n != 1 else ''} affected"
            + ("; their own alerts are held back until this clears." if folds else ".")
        )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)[:3000]))]
    blocks += _problem_blocks(findings, catalogue)
    if affected:
        shown = [
            _affected_line(codes.get(cid), cid, own, catalogue, now)
            for cid, own in affected[:MAX_CODES_SHOWN]
        ]
        text = "*Affected access codes*\n" + "\n".join(line[:190] for line in shown)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text[:3000])))
        if n > MAX_CODES_SHOWN:
            blocks.append(_context(f"…and {n - MAX_CODES_SHOWN} more affected codes"))
    state = _status_line(status)
    if state:
        blocks.append(_context(state))
    done = activity_line(status.activity)
    if done:
        blocks.append(_context(done))
    blocks.append(_context(_ids_line(status.first_seen, None, device_id)))
    buttons = _device_buttons(device_id, findings, affected, codes, catalogue, status)
    if buttons is not None:
        blocks.append(buttons)
    blocks.append(alert_controls(f"device:{device_id}", status, can_end=False))
    text = f"{what}: {escape_mrkdwn(device_name, 100)}: {headline}" + (
        f" ({n} access code{'s' if n != 1 else ''} affected)" if n else ""
    )
    return _message(text, blocks)


# ----------------------------------------------------------------------------- resolved state


def resolved_message(
    *,
    subject: Literal["access_code", "device"],
    title: str,
    device_name: str,
    problem_titles: Sequence[str],
    resolved_at: datetime,
    gone: bool,
    access_code_id: str | None,
    device_id: str,
    activity: AlertActivity | None = None,
    backup_access_code_id: str | None = None,
) -> Message:
    """The alert message edited to its resolved form (no buttons, except *Remove backup code*
    when a backup code pulled for the code is still on the lock).

    Args:
        subject: which kind of alert it was.
        title: the code name (code alerts) or lock name (device alerts), raw.
        device_name: the lock name, raw.
        problem_titles: catalogue titles of the problems that cleared.
        resolved_at: aware UTC.
        gone: the code (or lock) is no longer listed by Seam (deleted or expired).
        activity: the last thing someone did on it (a code re-created under a new id is said
            so, not "no longer in Seam").
        backup_access_code_id: the backup code pulled for this code, still listed by Seam
            (`pulled_backup_access_code_id` of a code that reports no error).
    """
    name = escape_mrkdwn(title, 150)
    where = f" on *{escape_mrkdwn(device_name, 150)}*" if subject == "access_code" else ""
    what = "Access code" if subject == "access_code" else "Lock"
    replaced = activity.replaced_by if activity is not None else None
    if replaced:
        reason = f"Re-created as a new code `{escape_mrkdwn(replaced, 64)}`."
    elif gone:
        reason = "It is no longer in Seam (deleted or expired)."
    else:
        reason = "Seam no longer reports a problem."
    cleared = ", ".join(_safe(t, 80) for t in problem_titles[:5])
    lines = [
        f":white_check_mark: *Resolved — {what}: {name}*{where}",
        reason + (f" Was: ~{cleared}~" if cleared else ""),
    ]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)[:3000]))]
    line = activity_line(activity)
    if line:
        blocks.append(_context(line))
    if backup_access_code_id and access_code_id:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=":information_source: The backup code "
                    f"`{escape_mrkdwn(backup_access_code_id, 64)}` pulled for this code is still "
                    "on the lock and still opens it. Remove it once the guest uses their own code."
                )
            )
        )
        blocks.append(
            ActionsBlock(
                block_id=ids.BLOCK_REMEDIES,
                elements=[
                    ButtonElement(
                        text=REMOVE_BACKUP.button_label,
                        action_id=ids.remedy_action_id(REMOVE_BACKUP.key),
                        value=access_code_id,
                    )
                ],
            )
        )
    blocks.append(
        _context(
            f"Resolved {slack_date(resolved_at)} · " + _ids_line(None, access_code_id, device_id)
        )
    )
    return _message(f"Resolved: {what.lower()} {name}", blocks)


def activity_line(activity: AlertActivity | None) -> str | None:
    """ "Re-checked <date> by @who: unchanged" (mrkdwn), or None."""
    if activity is None:
        return None
    verb = escape_mrkdwn(activity.verb, 60)
    outcome = f": {escape_mrkdwn(activity.outcome, 200)}" if activity.outcome else ""
    emoji = {
        "done": ":white_check_mark:",
        "failed": ":x:",
        "still working on it": ":hourglass:",
    }.get(activity.outcome, ":arrows_counterclockwise:")
    if activity.verb != "Re-checked" and activity.outcome not in ("done", "failed"):
        emoji = ":hourglass:" if "working" in activity.outcome else ":grey_question:"
    return f"{emoji} {verb} {slack_date(activity.at)} by {_mention(activity.by)}{outcome}"


def resolved_reply(
    *,
    subject: Literal["access_code", "device", "digest"],
    gone: bool = False,
    replaced_by: str | None = None,
) -> Message:
    """Thread reply when an alert (or a whole digest) clears."""
    if replaced_by:
        text = (
            ":white_check_mark: Resolved: re-created as a new code "
            f"`{escape_mrkdwn(replaced_by, 64)}`."
        )
    elif subject == "digest":
        text = ":white_check_mark: Resolved: every problem listed in this digest has cleared."
    elif gone:
        text = ":white_check_mark: Resolved: the code is no longer in Seam (deleted or expired)."
    elif subject == "device":
        text = ":white_check_mark: Resolved: Seam no longer reports a problem with this lock."
    else:
        text = ":white_check_mark: Resolved: Seam no longer reports a problem with this code."
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=text))])


def reminder_reply(
    *, open_seconds: float, problem_titles: Sequence[str], starts_in: float | None
) -> Message:
    """Thread reminder for an alert still open after ALERT_REMIND_HOURS."""
    titles = ", ".join(_safe(t, 80) for t in problem_titles[:3]) or "the problem"
    label = urgency_label(starts_in)
    text = f":alarm_clock: Still open after {humanize_delta(open_seconds)}: {titles}." + (
        f" {_urgency_emoji(starts_in)} *{label.capitalize()}*." if label else ""
    )
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=text[:3000]))])


def reopened_reply(problem_titles: Sequence[str]) -> Message:
    """Thread reply when a recently resolved alert comes back (edited back to open)."""
    titles = ", ".join(_safe(t, 80) for t in problem_titles[:3]) or "a problem"
    text = f":repeat: It's back: Seam reports {titles} again."
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=text[:3000]))])


def woke_reply(problem_titles: Sequence[str]) -> Message:
    """Thread reply when a snoozed alert gets worse and wakes up."""
    titles = ", ".join(_safe(t, 80) for t in problem_titles[:3]) or "a new error"
    text = f":bell: Snooze ended early, this got worse: {titles}."
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=text[:3000]))])


# ----------------------------------------------------------------------------- digest


def _digest_line(item: DigestItem, now: datetime) -> str:
    emoji = _kind_emoji(item.worst_kind) if item.open else ":white_check_mark:"
    name = escape_mrkdwn(item.title, 80)
    name = f"*{name}*" if item.open else f"~{name}~"
    parts = [f"{emoji} {name} on {escape_mrkdwn(item.device_name, 60)}"]
    titles = ", ".join(_safe(t, 60) for t in item.problem_titles[:2])
    if titles:
        parts.append(titles)
    label = urgency_label(item.starts_in) if item.open else None
    if label:
        parts.append(f"{label} ({slack_date(item.starts_at)})")
    if item.access_code_id:
        parts.append(f"`{escape_mrkdwn(item.access_code_id, 64)}`")
    return " · ".join(parts)[:600]


def digest_message(items: Sequence[DigestItem], *, now: datetime, created_at: datetime) -> Message:
    """One message standing in for many new alerts found in one scan (a storm).

    `items` are all members, most urgent first; the first `MAX_DIGEST_ITEMS` are listed, the
    rest counted. Resolved members are struck through; when none is open the digest says so.
    """
    total = len(items)
    open_items = [i for i in items if i.open]
    if not open_items:
        text = f":white_check_mark: *All {total} problems from this digest are resolved*"
        return _message(
            f"Resolved: all {total} problems from this digest",
            [
                SectionBlock(text=MarkdownTextObject(text=text)),
                _context(f"Found {slack_date(created_at)}"),
            ],
        )
    locks = sum(1 for i in items if i.access_code_id is None)
    what = (
        "lock problems"
        if locks == total
        else "access-code problems"
        if locks == 0
        else "access-code and lock problems"
    )
    head = (
        f":rotating_light: *{total} new {what} found in one scan*\n"
        "Too many to post one by one, so they are listed here, most urgent first. Look one up "
        f"with `{ids.COMMAND} <access_code_id>`."
    )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=head))]
    listed = sorted(items, key=lambda i: (not i.open,))[:MAX_DIGEST_ITEMS]
    lines = [_digest_line(i, now) for i in listed]
    for start in range(0, len(lines), 5):
        chunk = "\n".join(lines[start : start + 5])
        blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk[:3000])))
    if total > MAX_DIGEST_ITEMS:
        blocks.append(_context(f"…and {total - MAX_DIGEST_ITEMS} more"))
    resolved = total - len(open_items)
    blocks.append(
        _context(
            f"{len(open_items)} open · {resolved} resolved · found {slack_date(created_at)} · "
            "this message is updated as they change"
        )
    )
    return _message(f"{total} new {what} ({len(open_items)} open)", blocks)


def door_refused_message(
    code: AccessCode, device: Device | None, *, catalogue: Catalogue, at: datetime
) -> Message:
    """Someone was refused at the door with this code (`lock.access_denied`): the most urgent
    message the bot posts. A backup code comes first when Seam can pull one, then the code's
    own remedies."""
    name = _code_name(code, code.access_code_id)
    device_name = _device_name(device, code.device_id)
    lines = [
        f":rotating_light: *Door refused a code: {escape_mrkdwn(name, 150)}* on "
        f"*{escape_mrkdwn(device_name, 150)}* · {slack_date(at)}",
        "Someone tried this code at the door and the lock did not open. If a guest is waiting, "
        "give them a backup code now; then fix the code.",
    ]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)[:3000]))]
    entries = [catalogue.lookup(i.code, i.kind, message=i.message) for i in code.issues]
    findings = [
        Finding(
            subject="access_code",
            access_code_id=code.access_code_id,
            device_id=code.device_id,
            problem=i.code,
            kind=i.kind,
            message=i.message,
            scope=Scope.CODE,
            blocking=e.blocking,
        )
        for i, e in zip(code.issues, entries, strict=True)
    ]
    blocks += _problem_blocks(findings, catalogue)
    backup = REMEDIES[RemedyAction.PULL_BACKUP]
    first = [backup.key] if backup.offered_for(code, {backup.key}) else []
    rest = [a for a in code_actions(code, entries) if a not in first]
    if RemedyAction.CHECK_DEVICE not in rest:
        rest.insert(0, RemedyAction.CHECK_DEVICE)
    buttons = remedy_buttons(code, [*first, *rest])
    if buttons is not None:
        blocks.append(buttons)
    blocks.append(_context(_ids_line(None, code.access_code_id, code.device_id)))
    return _message(f"Door refused a code: {escape_mrkdwn(name, 100)} on {device_name}", blocks)


def remedy_settled_reply(*, label: str, by: str, ok: bool, detail: str) -> Message:
    """Thread reply when a change Seam had accepted but not confirmed settles."""
    if ok:
        text = (
            f":white_check_mark: Seam confirms {_mention(by)}'s *{escape_mrkdwn(label, 60)}* went "
            f"through: {escape_mrkdwn(detail, 300)}"
        )
    else:
        text = (
            f":x: {_mention(by)}'s *{escape_mrkdwn(label, 60)}* did not take: "
            f"{escape_mrkdwn(detail, 300)}"
        )
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=text[:3000]))])
