"""What a user is told when looking up or acting on a code fails, by kind of failure, and the
summary to send to Seam support."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from bot.domain.catalogue import Catalogue
from bot.domain.code_status import status_words
from bot.domain.device_check import DeviceCheck, check_device
from bot.domain.text import escape_mrkdwn, slack_date
from bot.seam.errors import (
    SeamApiError,
    SeamInvalidInputError,
    SeamInvalidResponseError,
    SeamNotFoundError,
    SeamRateLimitedError,
    SeamUnauthorizedError,
    SeamUnavailableError,
)
from bot.seam.failures import FailedCall
from bot.seam.models import AccessCode, Device
from bot.slack.blocks.common import Message, notice_message


def _rid(error: SeamApiError) -> str:
    return f" (Seam request id `{escape_mrkdwn(error.request_id, 80)}`)" if error.request_id else ""


def seam_failure_message(error: SeamApiError, access_code_id: str) -> Message:
    """A specific, friendly message for a Seam failure while reading `access_code_id`."""
    code_ref = f"`{escape_mrkdwn(access_code_id, 80)}`"
    if isinstance(error, SeamNotFoundError):
        return notice_message(
            "No such access code",
            f"Seam has no access code {code_ref} in this workspace. Check the ID; codes are "
            "also removed after their end time or when deleted.",
            emoji=":mag:",
        )
    if isinstance(error, SeamInvalidInputError):
        return notice_message(
            "Not a valid access code ID",
            f"Seam says {code_ref} is not a valid access code ID. Seam IDs look like "
            "`8f4c0b2e-5d1a-4c1e-9d5f-2b7a9e0c1a23`.",
        )
    if isinstance(error, SeamRateLimitedError):
        wait = f" in about {round(error.retry_after)} s" if error.retry_after else " in a minute"
        return notice_message(
            "Seam is rate-limiting requests",
            f"Seam asked us to slow down. Nothing was changed; try again{wait}.",
            emoji=":hourglass:",
        )
    if isinstance(error, SeamUnauthorizedError):
        return notice_message(
            "Seam rejected the bot's API key",
            "The bot could not authenticate with Seam. Ask an admin to check `SEAM_API_KEY`."
            + _rid(error),
            emoji=":lock:",
        )
    if isinstance(error, SeamInvalidResponseError):
        return notice_message(
            "Seam sent an answer the bot couldn't read",
            "Nothing was changed by the bot; try again in a minute." + _rid(error),
            emoji=":cloud:",
        )
    if isinstance(error, SeamUnavailableError):
        return notice_message(
            "Seam is not answering right now",
            f"Seam is unavailable or timed out ({escape_mrkdwn(error.error_type, 60)}). Nothing "
            "was changed; try again in a minute." + _rid(error),
            emoji=":cloud:",
        )
    return notice_message(
        "Seam returned an error",
        f"`{escape_mrkdwn(error.error_type, 80)}`: {escape_mrkdwn(error.message, 300)}"
        + _rid(error),
    )


def internal_error_message() -> Message:
    """Shown when something unexpected broke on the bot's side (details go to the log)."""
    return notice_message(
        "Something went wrong on our side",
        "The bot hit an unexpected error and logged it. Nothing was changed. Try again, and tell "
        "your admin if it keeps happening.",
        emoji=":x:",
    )


def stale_button_message() -> Message:
    """Shown when a button's value is unusable (an old or damaged message)."""
    return notice_message(
        "This button is out of date",
        "It no longer points at a usable access code. Run `/seam-code <access_code_id>` again "
        "for fresh buttons. Nothing was changed.",
        emoji=":arrows_counterclockwise:",
    )


def _failed_call_line(call: FailedCall) -> str:
    """One failed call, plain text for support: UTC time, route, what failed, request id."""
    at = call.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if call.action_attempt_id:
        what = f"action attempt {call.action_attempt_id} failed: {call.error_type}"
    elif call.status_code is not None:
        what = f"HTTP {call.status_code} {call.error_type}"
    else:
        what = f"{call.error_type} (no answer)"
    rid = f"seam-request-id {call.request_id}" if call.request_id else "no seam-request-id"
    return f"  {at}  {call.path}  {what}  {rid}"


def support_summary_message(code: AccessCode, failures: Sequence[FailedCall] = ()) -> Message:
    """The summary to send to Seam support about `code` (ids, codes, status; never a PIN).

    `failures` are the recent failed Seam calls about the code or its lock, newest first
    (`bot.seam.failures.FailureLog.recent`): each with its `seam-request-id` and, for a change
    the lock refused, its `action_attempt_id`, which Seam support asks for (Seam API reference,
    "Errors" and "Action attempts"). The bot keeps them in memory, so the list covers the time
    since it last started.
    """
    problems = ", ".join(sorted({i.code for i in code.issues})) or "none"
    status = status_words(code.status, managed=code.is_managed)
    lines = [
        f"access_code_id: {code.access_code_id}",
        f"device_id: {code.device_id}",
        f"workspace_id: {code.workspace_id or 'unknown'}",
        f"error/warning codes: {problems}",
        f"status: {status.term} ({status.plain})",
    ]
    if failures:
        lines.append("failed Seam requests seen by this bot (newest first):")
        lines += [_failed_call_line(call) for call in failures]
    else:
        lines.append("failed Seam requests seen by this bot: none since it last started")
    text = (
        "Send this to Seam support (support@seam.co or the chat in Seam Console). It includes "
        "the `seam-request-id` of this code's recent failed Seam requests and the ids of its "
        f"failed action attempts:\n```{escape_mrkdwn(chr(10).join(lines), 2400)}```"
    )
    return notice_message("Contact Seam support", text, emoji=":sos:")


_STATE_WORDS = {"online": "online", "offline": "*offline*", "unknown": "in an unknown state"}
_STATE_EMOJI = {
    "online": ":large_green_circle:",
    "offline": ":red_circle:",
    "unknown": ":white_circle:",
}


def _device_state_line(check: DeviceCheck) -> str:
    """ "*Lock* is *offline* since <date> (Seam's `device_offline`) · battery 18 % (low)"."""
    line = f"{_STATE_EMOJI[check.state]} *{escape_mrkdwn(check.name, 150)}* is "
    line += _STATE_WORDS[check.state]
    if check.offline_since is not None and check.offline_error:
        since = "since" if check.state == "offline" else "and unreachable since"
        line += (
            f" {since} {slack_date(check.offline_since)} (Seam's "
            f"`{escape_mrkdwn(check.offline_error, 40)}`)"
        )
    line += "."
    if check.battery_level is not None:
        low = ", low" if check.battery_low else ""
        line += f" Battery {round(check.battery_level * 100)} % (Seam's last reading{low})."
    return line


def device_check_message(device: Device | None, catalogue: Catalogue) -> Message:
    """The "Check device" answer: the state the lock is in and what to do for that state.

    Rules (`bot.domain.device_check.check_device`): online, offline or unknown from
    `properties.online`; "since" only when Seam dated its connectivity error; what to do from
    the catalogue's remedy of each error the lock reports (or of `device_offline` for an
    offline lock that reports none); nothing to do for an online lock with no error.
    """
    if device is None:
        return notice_message(
            "Device check",
            "Seam did not return the lock; check it in Seam Console.",
            emoji=":satellite:",
        )
    check = check_device(device, catalogue)
    lines = [_device_state_line(check)]
    if check.problems:
        listed = ", ".join(
            f"{p.title} (`{escape_mrkdwn(p.code, 60)}`{', warning' if p.kind == 'warning' else ''})"
            for p in check.problems[:8]
        )
        lines.append(f"*The lock reports:* {listed}")
    if check.advice:
        lines.append("*What to do:*")
        lines += [f"• {advice}" for advice in check.advice[:5]]
    elif check.state == "online":
        lines.append("Nothing to do: it is reachable, and Seam can send changes to it now.")
    return notice_message("Device check", "\n".join(lines), emoji=":satellite:")
