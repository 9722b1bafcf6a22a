"""Block Kit for remedies: the modal of each `Proposal` form (PIN entry, confirmation, choice).

Pure functions built with `slack_sdk.models` and serialised with `to_dict()` (which enforces
Slack's modal limits: title/submit/close 24 characters, 100 blocks, private_metadata 3000
characters; Slack's reference "View objects"). `private_metadata` carries only ids and the
`response_url` of the message the button was on, never a PIN.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    DateTimePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.domain.findings import time_to_start_text
from bot.domain.pins import describe_rules
from bot.domain.stays import ARRIVING_SOON_SECONDS, stay_of
from bot.domain.text import (
    DATE_ONLY,
    DATE_ONLY_FALLBACK,
    escape_mrkdwn,
    humanize_delta,
    mask_pin,
    plain,
    slack_date,
)
from bot.remedies.base import Proposal, Remedy
from bot.seam.models import AccessCode, Device
from bot.slack.ids import (
    ACTION_PICK,
    ACTION_PIN,
    ACTION_SNOOZE_UNTIL,
    BLOCK_PICK,
    BLOCK_PIN,
    BLOCK_SNOOZE_UNTIL,
    CALLBACK_CONFIRM,
    CALLBACK_FREE_SLOT,
    CALLBACK_SNOOZE_UNTIL,
    CALLBACK_UPDATE_PIN,
)
from bot.slack.payloads import RemedyContext


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
            window += f" ({time_to_start_text((code.starts_at - now).total_seconds())})"
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
    title: str = "Update PIN",
    error: str | None = None,
) -> dict[str, Any]:
    """The Update PIN modal: the code's summary, a PIN input, the accepted lengths and a hint.

    `error`: why the last PIN was refused, shown above the input (used when the checks
    finished after the submission was acked, so Slack's inline field errors are no longer
    possible)."""
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
    rules = "; ".join(escape_mrkdwn(rule, 120) for rule in describe_rules(device))
    blocks.append(
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*This lock's PIN rules:* {rules}. Easy PINs (1111, 1234, 1212) are refused."
            )
        )
    )
    if error:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f":warning: *That PIN was not set:* {escape_mrkdwn(error, 500)}"
                )
            )
        )
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
    return _view(CALLBACK_UPDATE_PIN, title, blocks, ctx, submit="Set PIN")


def confirm_modal(
    ctx: RemedyContext,
    title: str,
    question: str,
    subject: str,
    submit: str,
    *,
    close: str = "Cancel",
) -> dict[str, Any]:
    """A confirmation modal: what will happen, the code it happens to, and a submit button.

    `close` is the close button's text: "Back" for the review of a code picked in a "choose"
    form, which is pushed onto the list (`response_action: push`), so closing it returns to
    the list (Slack's page "Modals", the view stack).
    """
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=question[:3000])),
        SectionBlock(text=MarkdownTextObject(text=subject[:3000])),
    ]
    return _view(
        CALLBACK_CONFIRM, title, blocks, ctx, submit=plain(submit, 24), close=plain(close, 24)
    )


#: A text field of a radio button option: 75 characters (Slack's reference "Option object").
OPTION_TEXT_MAX = 75


def _slot_label(code: AccessCode, now: datetime) -> str:
    """ "Name · ••34" plus what matters for deleting it; a guest staying now or arriving soon
    is marked ":warning: … · arrives in 5 h" (the mark is kept, the name is cut to fit)."""
    stay = stay_of(code, now)
    suffix = f" · {mask_pin(code.code)}"
    if stay.at_risk:
        suffix += f" · {stay.note}"
    elif stay.phase == "expired":
        suffix += " · expired"
    suffix += "" if code.is_managed else " · unmanaged"
    prefix = ":warning: " if stay.at_risk else ""
    room = OPTION_TEXT_MAX - len(prefix) - len(suffix)
    return prefix + plain(code.name or "Unnamed", max(room, 1)) + suffix


def _slot_note(code: AccessCode, now: datetime) -> str:
    """One line under an option (mrkdwn: radio buttons render Slack date tokens), at most 75
    characters: when it ended, starts or was created; words only if the date does not fit."""
    stay = stay_of(code, now)
    created = "created" if code.is_managed else "first seen"
    moment: datetime | None
    if stay.phase == "expired":
        words, moment, tail = "ended", code.ends_at, ", safe to delete"
    elif stay.phase == "in_stay":
        words, moment, tail = "staying until", code.ends_at, ""
    elif stay.phase == "arriving_soon":
        words, moment, tail = "check-in", code.starts_at, ""
    elif stay.phase == "upcoming":
        words, moment, tail = "starts", code.starts_at, ""
    else:
        words, moment, tail = f"no end date, {created}", code.created_at, ""
    if moment is None:
        return {"expired": "expired, safe to delete"}.get(stay.phase, words.split(",")[0])
    text = f"{words} {slack_date(moment, DATE_ONLY, DATE_ONLY_FALLBACK)}{tail}"
    return text if len(text) <= OPTION_TEXT_MAX else f"{words.split(',')[0]}{tail}"


def free_slot_modal(
    ctx: RemedyContext,
    codes: list[AccessCode],
    device: Device | None,
    now: datetime | None = None,
    *,
    title: str = "Free a slot",
) -> dict[str, Any]:
    """Pick one of the device's codes to delete, in the order given (`slot_candidates`: expired
    and oldest first, a guest staying now or arriving soon last and marked), PINs masked.

    Slack allows 10 radio buttons; the codes past the tenth are counted, saying how many of
    them belong to a guest staying now or arriving soon.
    """
    now = now or datetime.now(UTC)
    options = [
        Option(
            value=code.access_code_id,
            text=_slot_label(code, now),
            description=MarkdownTextObject(text=_slot_note(code, now)),
        )
        for code in codes[:10]
    ]
    lock = escape_mrkdwn(device.name, 150) if device else "this lock"
    soon = humanize_delta(ARRIVING_SOON_SECONDS)
    blocks: list[Any] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*{lock}* has no free slot. Pick a code to delete; it stops working at "
                "once. Expired and oldest codes are listed first; :warning: marks a guest "
                f"staying now or arriving within {soon} (listed last): deleting their code "
                "locks them out."
            )
        ),
        InputBlock(
            block_id=BLOCK_PICK,
            label="Code to delete",
            element=RadioButtonsElement(action_id=ACTION_PICK, options=options),
        ),
    ]
    if len(codes) > 10:
        hidden = codes[10:]
        risky = sum(1 for c in hidden if stay_of(c, now).at_risk)
        more = f"…and {len(hidden)} more code{'s' if len(hidden) != 1 else ''} not listed"
        if risky:
            more += f" ({risky} of a guest staying now or arriving soon)"
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
    return _view(CALLBACK_FREE_SLOT, title, blocks, ctx, submit="Review")


def proposal_modal(ctx: RemedyContext, remedy: Remedy, proposal: Proposal) -> dict[str, Any]:
    """The modal for a remedy's `Proposal`: PIN entry, confirmation, choice, or a message."""
    if proposal.form == "pin":
        return update_pin_modal(
            ctx,
            proposal.code,
            proposal.device,
            suggestion=proposal.suggestion,
            lengths=list(proposal.lengths),
            title=remedy.title,
        )
    if proposal.form == "choose":
        return free_slot_modal(ctx, list(proposal.candidates), proposal.device, title=remedy.title)
    if proposal.form == "confirm" and proposal.target is not None:
        return confirm_modal(
            ctx,
            remedy.title,
            proposal.text,
            code_summary(proposal.target, proposal.device),
            proposal.submit or "Confirm",
        )
    return message_modal(ctx, remedy.title, proposal.text or "There is nothing to do now.")


def snooze_until_modal(ctx: RemedyContext) -> dict[str, Any]:
    """Pick the date and time an alert stays snoozed until (each reader's own time zone)."""
    blocks = [
        InputBlock(
            block_id=BLOCK_SNOOZE_UNTIL,
            label="Snooze until",
            element=DateTimePickerElement(action_id=ACTION_SNOOZE_UNTIL),
            hint=plain("No reminders until then, unless the alert gets worse.", 150),
        )
    ]
    return _view(CALLBACK_SNOOZE_UNTIL, "Snooze alert", blocks, ctx, submit="Snooze")
