"""Block Kit for one access code: the `/seam-code` answer, its problem sections and buttons.

Pure functions from Seam objects to `Message`s. Which buttons a message gets comes from the
catalogue (the actions each problem's entry advises) and the remedy registry (whether each
remedy is offered for this code); read-only actions (Re-check, Check device, Contact Seam
support) are labelled here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.catalogue import Catalogue, CatalogueEntry, RemedyAction, Scope, default_catalogue
from bot.domain.code_status import status_words
from bot.domain.findings import issue_scope, time_to_start_text
from bot.domain.text import escape_mrkdwn, mask_pin, plain, slack_date
from bot.remedies.base import Remedy
from bot.remedies.registry import REMEDIES
from bot.seam.models import AccessCode, Device, SeamIssue
from bot.slack import ids
from bot.slack.blocks.common import Message, render

#: Issues shown in full before "…and N more".
MAX_ISSUES_SHOWN = 20
#: The lock's own errors and warnings shown under a code (those not already on the code).
MAX_LOCK_ISSUES_SHOWN = 5

#: Button labels of the read-only actions (the remedies' own labels are on each remedy).
READ_ONLY_LABELS: dict[str, str] = {
    RemedyAction.RECHECK: "Re-check now",
    RemedyAction.CHECK_DEVICE: "Check device",
    RemedyAction.CONTACT_SUPPORT: "Contact Seam support",
}


def action_label(action: str, remedies: Mapping[str, Remedy] = REMEDIES) -> str | None:
    """The button text of an action key: a remedy's `button_label` or a read-only label."""
    remedy = remedies.get(action)
    return remedy.button_label if remedy is not None else READ_ONLY_LABELS.get(action)


_SCOPE_LABEL = {
    Scope.CODE: "this code",
    Scope.DEVICE: "device-level",
    Scope.ACCOUNT: "account-level",
}


def issue_block(issue: SeamIssue, entry: CatalogueEntry) -> SectionBlock:
    """One error or warning: title, code, scope, plain explanation, remedy and Seam's words."""
    emoji = ":red_circle:" if issue.kind == "error" else ":large_yellow_circle:"
    scope = _SCOPE_LABEL[issue_scope(issue, entry)]
    lines = [
        f"{emoji} *{escape_mrkdwn(entry.title, 100)}*  `{escape_mrkdwn(issue.code, 80)}` · "
        f"{issue.kind} · _{scope}_",
        escape_mrkdwn(entry.explanation, 800),
        f"*What to do:* {escape_mrkdwn(entry.remedy, 900)}",
    ]
    if issue.message and not entry.is_generic:
        lines.append(f"_Seam says:_ {escape_mrkdwn(issue.message, 400)}")
    return SectionBlock(text=MarkdownTextObject(text="\n".join(lines)[:3000]))


def _schedule(code: AccessCode, now: datetime) -> str:
    if not code.is_time_bound:
        return "Ongoing (no end date)"
    start, end = slack_date(code.starts_at), slack_date(code.ends_at)
    text = f"{start} → {end}"
    if code.starts_at and code.starts_at > now:
        text += f"\n_{time_to_start_text((code.starts_at - now).total_seconds())}_"
    elif code.ends_at and code.ends_at < now:
        text += "\n_ended_"
    return text


def _device_line(device: Device | None, device_id: str) -> str:
    if device is None:
        return f"`{escape_mrkdwn(device_id, 80)}` (details unavailable)"
    if device.online is None:
        state = ":white_circle: status unknown"
    else:
        state = ":large_green_circle: online" if device.online else ":red_circle: offline"
    return f"{escape_mrkdwn(device.name, 150)}\n{state}"


def code_actions(
    code: AccessCode,
    entries: Iterable[CatalogueEntry],
    remedies: Mapping[str, Remedy] = REMEDIES,
) -> list[str]:
    """The action keys whose buttons belong on a message about `code`.

    First the actions the entries advise, in catalogue order: a remedy when it is
    `offered_for` the code, a read-only action always; then any other registered remedy that
    offers itself for the code; then Re-check, if no entry listed it.
    """
    entries = list(entries)
    advised = {action for entry in entries for action in entry.actions}
    actions: list[str] = []
    for entry in entries:
        for action in entry.actions:
            if action in actions:
                continue
            remedy = remedies.get(action)
            if remedy is not None:
                if remedy.offered_for(code, advised):
                    actions.append(action)
            elif action in READ_ONLY_LABELS:
                actions.append(action)
    for key, remedy in remedies.items():
        if key not in actions and key not in advised and remedy.offered_for(code, advised):
            actions.append(key)
    if RemedyAction.RECHECK not in actions:
        actions.append(RemedyAction.RECHECK)
    return actions


def remedy_buttons(
    code: AccessCode, actions: Sequence[str], remedies: Mapping[str, Remedy] = REMEDIES
) -> ActionsBlock | None:
    """An actions block with one button per action; values carry only the access_code_id.

    Actions with no label (neither a registered remedy nor a read-only action) are skipped.
    """
    labelled = [(a, label) for a in actions if (label := action_label(a, remedies)) is not None]
    if not labelled:
        return None
    buttons = [
        ButtonElement(
            text=label,
            action_id=ids.remedy_action_id(action),
            value=code.access_code_id,
            style="primary" if index == 0 and action != RemedyAction.RECHECK else None,
        )
        for index, (action, label) in enumerate(labelled[:25])
    ]
    return ActionsBlock(block_id=ids.BLOCK_REMEDIES, elements=buttons)


def access_code_message(
    code: AccessCode,
    device: Device | None,
    *,
    catalogue: Catalogue | None = None,
    now: datetime | None = None,
) -> Message:
    """The `/seam-code` answer for one access code.

    Shows name, device (online or not), managed/unmanaged, type and schedule (Slack date tokens),
    status in plain words (Seam's own term in the small print below: `bot.domain.code_status`),
    masked PIN, then each error and warning with its catalogue explanation and remedy, marking
    device- and account-level problems, and the remedy buttons that apply.
    """
    catalogue = catalogue or default_catalogue()
    now = now or datetime.now(UTC)
    name = code.name or "Unnamed access code"
    managed = "Managed by Seam" if code.is_managed else "Unmanaged (created outside Seam)"
    status = status_words(code.status, managed=code.is_managed)
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"Access code: {name}", 150)),
        SectionBlock(
            block_id=ids.BLOCK_SUMMARY,
            fields=[
                MarkdownTextObject(text=f"*Device*\n{_device_line(device, code.device_id)}"),
                MarkdownTextObject(text=f"*Management*\n{managed}"),
                MarkdownTextObject(
                    text=f"*Type*\n{'Time-bound' if code.is_time_bound else 'Ongoing'}"
                ),
                MarkdownTextObject(text=f"*Schedule*\n{_schedule(code, now)}"),
                MarkdownTextObject(text=f"*Status*\n{status.sentence}"),
                MarkdownTextObject(text=f"*PIN*\n{mask_pin(code.code)}"),
            ],
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Seam status `{escape_mrkdwn(status.term, 40)}` · "
                    f"access_code_id `{escape_mrkdwn(code.access_code_id, 80)}` · "
                    f"device_id `{escape_mrkdwn(code.device_id, 80)}`"
                )
            ]
        ),
        DividerBlock(),
    ]
    issues = code.issues
    entries = [catalogue.lookup(i.code, i.kind, message=i.message) for i in issues]
    if not issues:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=":white_check_mark: *No errors or warnings.* Seam reports nothing wrong "
                    "with this code."
                )
            )
        )
    for issue, entry in list(zip(issues, entries, strict=True))[:MAX_ISSUES_SHOWN]:
        blocks.append(issue_block(issue, entry))
    if len(issues) > MAX_ISSUES_SHOWN:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(text=f"…and {len(issues) - MAX_ISSUES_SHOWN} more problems")
                ]
            )
        )
    on_code = {(i.code, i.kind) for i in issues}
    lock_issues = [
        i for i in (device.issues if device is not None else []) if (i.code, i.kind) not in on_code
    ][:MAX_LOCK_ISSUES_SHOWN]
    if lock_issues:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text="*The lock itself reports:*")])
        )
        for issue in lock_issues:
            blocks.append(
                issue_block(issue, catalogue.lookup(issue.code, issue.kind, message=issue.message))
            )
    buttons = remedy_buttons(code, code_actions(code, entries))
    if buttons is not None:
        if code.code:
            buttons.elements.append(
                ButtonElement(
                    text="Show PIN", action_id=ids.ACTION_SHOW_PIN, value=code.access_code_id
                )
            )
        blocks.append(buttons)
    n_err, n_warn = len(code.errors), len(code.warnings)
    safe = escape_mrkdwn(name, 150)
    summary = f"{safe}: {n_err} error(s), {n_warn} warning(s)" if issues else f"{safe}: no problems"
    return Message(text=plain(f"Access code {summary}", 300), blocks=render(blocks))
