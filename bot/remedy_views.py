"""Block Kit for remedies: modals (update PIN, confirmations, free a slot) and outcome notes.

Pure functions built with `slack_sdk.models` and serialised with `to_dict()` (which enforces
Slack's modal limits: title/submit/close 24 characters, 100 blocks, private_metadata 3000
characters; api.slack.com/reference/surfaces/views). `private_metadata` carries only ids and the
`response_url` of the message the button was on, never a PIN.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.formatting import escape_mrkdwn, humanize_delta, mask_pin, plain, slack_date
from bot.seam.models import AccessCode, Device

#: Modal callback_ids.
CALLBACK_UPDATE_PIN = "remedy_update_pin"
CALLBACK_CONFIRM = "remedy_confirm"
CALLBACK_FREE_SLOT = "remedy_free_slot"
#: Block and action ids inside modals.
BLOCK_PIN = "new_pin"
ACTION_PIN = "pin_value"
BLOCK_PICK = "pick_code"
ACTION_PICK = "picked_code"


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
        try:
            data = json.loads(raw or "")
            if not isinstance(data, dict):
                return None
            fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
            ctx = cls(**fields)
        except (ValueError, TypeError):
            return None
        texts = (ctx.action, ctx.code, ctx.target, ctx.channel, ctx.ts, ctx.response_url)
        if not all(isinstance(t, str) and len(t) <= 1000 for t in texts):
            return None
        if not ctx.code or not isinstance(ctx.ephemeral, bool):
            return None
        return ctx


def _view(
    callback_id: str, title: str, blocks: list[Any], ctx: RemedyContext, **kw: Any
) -> dict[str, Any]:
    kw.setdefault("close", "Cancel")
    view = View(
        type="modal",
        callback_id=callback_id,
        title=plain(title, 24),
        private_metadata=ctx.dumps(),
        blocks=blocks,
        **kw,
    )
    result: dict[str, Any] = view.to_dict()
    return result


def code_summary(
    code: AccessCode, device: Device | None = None, now: datetime | None = None
) -> str:
    """One mrkdwn paragraph describing a code: name, masked PIN, schedule, managed or not."""
    now = now or datetime.now(UTC)
    lines = [f"*{escape_mrkdwn(code.name or 'Unnamed code', 150)}*  PIN {mask_pin(code.code)}"]
    if device is not None:
        lines.append(f"Lock: {escape_mrkdwn(device.name, 150)}")
    if code.is_time_bound:
        window = f"{slack_date(code.starts_at)} → {slack_date(code.ends_at)}"
        if code.starts_at and code.starts_at > now:
            window += f" (starts in {humanize_delta((code.starts_at - now).total_seconds())})"
        lines.append(f"Schedule: {window}")
    else:
        lines.append("Schedule: ongoing")
    if code.is_managed:
        lines.append("Managed by Seam")
    else:
        created = f", first seen {slack_date(code.created_at)}" if code.created_at else ""
        lines.append(f"_Unmanaged: created outside Seam{created}_")
    return "\n".join(lines)


def loading_modal(ctx: RemedyContext, title: str) -> dict[str, Any]:
    """A modal opened at once (the trigger_id lives 3 s) while Seam is read."""
    blocks = [SectionBlock(text=MarkdownTextObject(text=":hourglass_flowing_sand: Reading Seam…"))]
    return _view(CALLBACK_CONFIRM, title, blocks, ctx)


def message_modal(ctx: RemedyContext, title: str, text: str) -> dict[str, Any]:
    """A modal with only a message and a Close button (nothing to submit)."""
    blocks = [SectionBlock(text=MarkdownTextObject(text=text[:3000]))]
    return _view(CALLBACK_CONFIRM, title, blocks, ctx, close="Close")


def update_pin_modal(
    ctx: RemedyContext,
    code: AccessCode | None = None,
    device: Device | None = None,
    *,
    suggestion: str | None = None,
    lengths: list[int] | None = None,
) -> dict[str, Any]:
    """The Update PIN modal: the code's summary, a PIN input, the accepted lengths and a hint."""
    hint = "Digits only."
    if lengths:
        hint = (
            f"Digits only, {lengths[0]}–{lengths[-1]} long."
            if len(lengths) > 1
            else (f"Digits only, {lengths[0]} long.")
        )
    if suggestion:
        hint += f" Seam suggests {suggestion}; you may use it."
    blocks: list[Any] = []
    if code is not None:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=code_summary(code, device))))
    blocks.append(
        InputBlock(
            block_id=BLOCK_PIN,
            label="New PIN",
            hint=plain(hint, 2000),
            element=PlainTextInputElement(
                action_id=ACTION_PIN, min_length=1, max_length=12, placeholder="Digits only"
            ),
        )
    )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="The PIN is sent to Seam only; it is never posted in a channel."
                )
            ]
        )
    )
    return _view(CALLBACK_UPDATE_PIN, "Update PIN", blocks, ctx, submit="Set PIN")


def confirm_modal(
    ctx: RemedyContext, title: str, question: str, subject: str, submit: str
) -> dict[str, Any]:
    """A confirmation modal: what will happen, the code it happens to, and a submit button."""
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=question[:3000])),
        SectionBlock(text=MarkdownTextObject(text=subject[:3000])),
    ]
    return _view(CALLBACK_CONFIRM, title, blocks, ctx, submit=plain(submit, 24))


def _slot_note(code: AccessCode, now: datetime) -> str:
    """Why a code is (or is not) a good one to delete, in a few words (plain text)."""
    if code.ends_at and code.ends_at < now:
        return "expired: safe to delete"
    if code.is_time_bound and code.starts_at and code.starts_at > now:
        return f"guest arriving in {humanize_delta((code.starts_at - now).total_seconds())}!"
    if code.is_time_bound:
        return "in use now (guest staying)"
    created = f", created {code.created_at:%Y-%m-%d}" if code.created_at else ""
    return f"ongoing{created}"


def free_slot_modal(
    ctx: RemedyContext, codes: list[AccessCode], device: Device | None, now: datetime | None = None
) -> dict[str, Any]:
    """Pick one of the device's codes to delete (expired and oldest first, PINs masked)."""
    now = now or datetime.now(UTC)
    options = []
    for code in codes[:10]:
        expired = bool(code.ends_at and code.ends_at < now)
        label = f"{code.name or 'Unnamed'} · {mask_pin(code.code)}"
        label += " · expired" if expired else ""
        label += "" if code.is_managed else " · unmanaged"
        options.append(
            Option(
                value=code.access_code_id,
                text=plain(label, 75),
                description=plain(_slot_note(code, now), 75),
            )
        )
    lock = escape_mrkdwn(device.name, 150) if device else "this lock"
    blocks: list[Any] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*{lock}* has no free slot. Pick a code to delete; it stops working at "
                "once. Expired and oldest codes are listed first."
            )
        ),
        InputBlock(
            block_id=BLOCK_PICK,
            label="Code to delete",
            element=RadioButtonsElement(action_id=ACTION_PICK, options=options),
        ),
    ]
    if len(codes) > 10:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"…and {len(codes) - 10} newer codes")])
        )
    return _view(CALLBACK_FREE_SLOT, "Free a slot", blocks, ctx, submit="Review")
