"""Block Kit builders: pure functions from Seam objects to Slack messages.

Everything is built with `slack_sdk.models.blocks` and serialised with `to_dict()`, which
enforces Slack's per-element limits (api.slack.com/reference/block-kit/blocks); the message-level
limit of 50 blocks, which the SDK does not check, is enforced here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
from slack_sdk.models.views import View

from bot import ids
from bot.catalogue import Catalogue, CatalogueEntry, RemedyAction, Scope, default_catalogue
from bot.formatting import escape_mrkdwn, humanize_delta, mask_pin, plain, slack_date
from bot.seam.models import AccessCode, Device, SeamIssue

#: Slack's limit of blocks in one message (api.slack.com/reference/block-kit/blocks).
MAX_MESSAGE_BLOCKS = 50
#: Issues shown in full before "…and N more".
MAX_ISSUES_SHOWN = 20

#: Button labels for each remedy action (plain text, at most 75 characters).
ACTION_LABELS: dict[RemedyAction, str] = {
    RemedyAction.UPDATE_PIN: "Update PIN",
    RemedyAction.CONVERT_UNMANAGED: "Convert duplicate to managed",
    RemedyAction.DELETE_UNMANAGED: "Delete duplicate",
    RemedyAction.DELETE_AND_RECREATE: "Delete & recreate",
    RemedyAction.PULL_BACKUP: "Use backup code",
    RemedyAction.FREE_SLOT: "Free a slot",
    RemedyAction.RECHECK: "Re-check now",
    RemedyAction.CHECK_DEVICE: "Check device",
    RemedyAction.CONTACT_SUPPORT: "Contact Seam support",
}


@dataclass(frozen=True)
class Message:
    """A Slack message: fallback `text` (notifications, screen readers) and Block Kit `blocks`."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `chat.postMessage` / `respond()`."""
        return {"text": self.text, "blocks": self.blocks}


def _render(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        raise ValueError(f"{len(blocks)} blocks exceed Slack's limit of {MAX_MESSAGE_BLOCKS}")
    return [block.to_dict() for block in blocks]


def usage_message() -> Message:
    """How to use `/seam-code`."""
    text = (
        f"*Usage:* `{ids.COMMAND} <access_code_id>`\n"
        "Shows one Seam access code: its lock, schedule and status, every error and warning in "
        "plain words, and what to do about each.\n"
        f"Example: `{ids.COMMAND} 8f4c0b2e-5d1a-4c1e-9d5f-2b7a9e0c1a23`\n"
        "Find the ID in Seam Console or in the alert this bot posted."
    )
    return Message(
        text=f"Usage: {ids.COMMAND} <access_code_id>",
        blocks=_render([SectionBlock(text=MarkdownTextObject(text=text))]),
    )


def notice_message(title: str, detail: str, *, emoji: str = ":warning:") -> Message:
    """A short notice: one bold line and one detail line (both mrkdwn, caller-escaped)."""
    return Message(
        text=f"{title} {detail}"[:300],
        blocks=_render(
            [SectionBlock(text=MarkdownTextObject(text=f"{emoji} *{title}*\n{detail}"[:3000]))]
        ),
    )


def issue_scope(issue: SeamIssue, entry: CatalogueEntry) -> Scope:
    """Where a problem lives: Seam's own flags win, then the catalogue's scope."""
    if issue.is_connected_account_error:
        return Scope.ACCOUNT
    if issue.is_device_error or issue.is_bridge_error:
        return Scope.DEVICE
    return entry.scope


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
        text += f"\n_starts in {humanize_delta((code.starts_at - now).total_seconds())}_"
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


def can_pull_backup(code: AccessCode) -> bool:
    """Seam pulls backup codes only for managed time-bound codes with one available
    (docs.seam.co/latest/capability-guides/smart-locks/access-codes/backup-access-codes)."""
    return code.is_managed and code.is_time_bound and code.is_backup_access_code_available


def applies(action: RemedyAction, code: AccessCode) -> bool:
    """Whether a remedy button makes sense on a message about `code`.

    Backups need `can_pull_backup`; a PIN change, a recreate, or converting the duplicate
    *into* a sibling need the message's code to be managed.
    """
    if action == RemedyAction.PULL_BACKUP:
        return can_pull_backup(code)
    if action in (
        RemedyAction.UPDATE_PIN,
        RemedyAction.DELETE_AND_RECREATE,
        RemedyAction.CONVERT_UNMANAGED,
    ):
        return code.is_managed
    return True


def code_actions(code: AccessCode, entries: Iterable[CatalogueEntry]) -> list[RemedyAction]:
    """The distinct remedy actions of `entries` that apply to `code`, in catalogue order, with
    Re-check always offered last if no entry listed it."""
    actions: list[RemedyAction] = []
    for entry in entries:
        for action in entry.actions:
            if action not in actions and applies(action, code):
                actions.append(action)
    if RemedyAction.RECHECK not in actions:
        actions.append(RemedyAction.RECHECK)
    return actions


def remedy_buttons(code: AccessCode, actions: Sequence[RemedyAction]) -> ActionsBlock | None:
    """An actions block with one button per action; values carry only the access_code_id."""
    if not actions:
        return None
    buttons = [
        ButtonElement(
            text=ACTION_LABELS[action],
            action_id=ids.remedy_action_id(action.value),
            value=code.access_code_id,
            style="primary" if index == 0 and action != RemedyAction.RECHECK else None,
        )
        for index, action in enumerate(actions[:25])
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
    status, masked PIN, then each error and warning with its catalogue explanation and remedy,
    marking device- and account-level problems, and the remedy buttons that apply.
    """
    catalogue = catalogue or default_catalogue()
    now = now or datetime.now(UTC)
    name = code.name or "Unnamed access code"
    managed = "Managed by Seam" if code.is_managed else "Unmanaged (created outside Seam)"
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
                MarkdownTextObject(text=f"*Status*\n{escape_mrkdwn(code.status or 'unknown', 40)}"),
                MarkdownTextObject(text=f"*PIN*\n{mask_pin(code.code)}"),
            ],
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"access_code_id `{escape_mrkdwn(code.access_code_id, 80)}` · "
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
    return Message(text=plain(f"Access code {summary}", 300), blocks=_render(blocks))


def home_view(alert_channel: str | None) -> dict[str, Any]:
    """The App Home tab view: usage and where alerts go."""
    channel = f"<#{escape_mrkdwn(alert_channel, 40)}>" if alert_channel else "_not configured_"
    view = View(
        type="home",
        blocks=[
            HeaderBlock(text="Seam access-code doctor"),
            SectionBlock(
                text=MarkdownTextObject(
                    text="Finds smart-lock access codes that Seam could not program, explains "
                    "why in plain words, and fixes them from Slack."
                )
            ),
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"*Look up a code:* `{ids.COMMAND} <access_code_id>`\n"
                    f"*Alerts channel:* {channel}"
                )
            ),
        ],
    )
    result: dict[str, Any] = view.to_dict()
    return result
