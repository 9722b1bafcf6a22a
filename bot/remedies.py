"""Remedies: the Seam side of each fix, independent of Slack.

Each operation sends its mutation once (never re-sent), follows the returned action attempt
to `success`/`error` or a time limit, and reports an `Outcome`. Seam endpoints:
docs.seam.co/latest/api/access_codes (update, delete, create, pull_backup_access_code) and
docs.seam.co/latest/api/access_codes/unmanaged (convert_to_managed, delete).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.seam.client import SeamClient
from bot.seam.errors import (
    SeamApiError,
    SeamConflictError,
    SeamInvalidInputError,
    SeamNotFoundError,
    SeamRateLimitedError,
    SeamUnavailableError,
)
from bot.seam.models import AccessCode, ActionAttempt

logger = logging.getLogger(__name__)

#: Seconds to follow an action attempt before reporting it as still pending.
ACTION_ATTEMPT_WAIT = 20.0


@dataclass(frozen=True)
class Outcome:
    """What a remedy achieved.

    `status` is "success", "error" (Seam refused or the attempt failed), "pending" (the
    action attempt had not finished within the wait), or "unknown" (the request went out but no
    readable answer came back, so it may or may not have been applied). `changed` says whether
    anything may have changed on Seam's side. `summary` is plain text safe to post (never a
    PIN).
    """

    status: str
    summary: str
    changed: bool
    action_attempt_id: str | None = None
    request_id: str | None = None
    detail: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when the remedy is confirmed done."""
        return self.status == "success"


_PIN_LIKE = re.compile(r"(?<!\d)\d{4,12}(?!\d)")


def redact_pins(text: str) -> str:
    """Replace anything that looks like a PIN (4–12 digits) with bullets; Seam's messages may
    quote the PIN (e.g. "Cannot set duplicate access code 2580")."""
    return _PIN_LIKE.sub("••••", text)


def refusal(exc: SeamApiError, what: str, *, sent: bool = True) -> Outcome:
    """Turn a Seam failure into a specific `Outcome`.

    A definite refusal (4xx) changed nothing, so the remedy may be tried again. When the request
    was `sent` but no readable answer came back (timeout, connection lost, 5xx, unreadable 2xx),
    Seam may have applied it: the outcome is "unknown" and says to re-check first.
    """
    if isinstance(exc, SeamUnavailableError) and sent:
        return Outcome(
            "unknown",
            f"Seam did not confirm whether it could {what} ({exc.error_type}); it may have been "
            "applied. Re-check the code before trying again.",
            changed=True,
            request_id=exc.request_id,
        )
    message = redact_pins(exc.message)
    if isinstance(exc, SeamNotFoundError):
        text = f"Seam could not {what}: the code no longer exists (deleted or expired)."
    elif isinstance(exc, SeamConflictError):
        text = f"Seam could not {what}: {message} (another code may already use that PIN)."
    elif isinstance(exc, SeamInvalidInputError):
        text = f"Seam could not {what}: it rejected the request ({message})."
    elif isinstance(exc, SeamRateLimitedError):
        text = (
            f"Seam could not {what} right now: too many changes on this lock "
            "(Seam allows about 10 per minute). Try again in a minute."
        )
    elif isinstance(exc, SeamUnavailableError):
        text = f"Seam could not {what}: Seam is unavailable or timed out. Nothing was changed."
    else:
        text = f"Seam could not {what}: {exc.error_type}: {message}"
    return Outcome("error", text, changed=False, request_id=exc.request_id)


async def _follow(seam: SeamClient, attempt: ActionAttempt | None, done: str, what: str) -> Outcome:
    if attempt is None:
        return Outcome("success", done, changed=True)
    try:
        final = await seam.wait_for_action_attempt(attempt, max_wait=ACTION_ATTEMPT_WAIT)
    except SeamApiError as exc:
        logger.warning("following action attempt %s failed: %s", attempt.action_attempt_id, exc)
        return Outcome(
            "pending",
            f"Seam accepted the request to {what}, but its result could not be read yet.",
            changed=True,
            action_attempt_id=attempt.action_attempt_id,
        )
    if final.status == "success":
        return Outcome("success", done, changed=True, action_attempt_id=final.action_attempt_id)
    if final.status == "error":
        reason = redact_pins(final.error.message) if final.error else "no reason given"
        kind = final.error.type if final.error else "error"
        return Outcome(
            "error",
            f"The lock did not accept the change ({kind}: {reason}).",
            changed=True,
            action_attempt_id=final.action_attempt_id,
        )
    return Outcome(
        "pending",
        f"Seam is still working on it (no result after {ACTION_ATTEMPT_WAIT:.0f} s); "
        "re-check in a few minutes.",
        changed=True,
        action_attempt_id=final.action_attempt_id,
    )


async def update_pin(seam: SeamClient, code: AccessCode, new_pin: str) -> Outcome:
    """Set a new PIN on a managed code (`/access_codes/update` with `code`)."""
    what = "update the PIN"
    fields: dict[str, Any] = {"code": new_pin}
    if code.is_time_bound and code.starts_at and code.ends_at:
        # Send the schedule along so the code stays time-bound (some servers reset it to
        # ongoing when an update names no times).
        fields["starts_at"] = code.starts_at.astimezone(UTC).isoformat()
        fields["ends_at"] = code.ends_at.astimezone(UTC).isoformat()
    try:
        attempt = await seam.update_access_code(code.access_code_id, **fields)
    except SeamApiError as exc:
        return refusal(exc, what)
    return await _follow(seam, attempt, "Seam reports the new PIN is set on the lock.", what)


async def convert_unmanaged(seam: SeamClient, unmanaged: AccessCode) -> Outcome:
    """Bring an unmanaged code under Seam's management (`unmanaged/convert_to_managed`)."""
    try:
        await seam.convert_unmanaged_to_managed(unmanaged.access_code_id)
    except SeamApiError as exc:
        return refusal(exc, "convert the unmanaged code")
    return Outcome("success", "The unmanaged code is now managed by Seam.", changed=True)


async def delete_unmanaged(seam: SeamClient, unmanaged: AccessCode) -> Outcome:
    """Remove an unmanaged code from the lock (`unmanaged/delete`)."""
    what = "delete the unmanaged code"
    try:
        attempt = await seam.delete_unmanaged_access_code(unmanaged.access_code_id)
    except SeamApiError as exc:
        return refusal(exc, what)
    return await _follow(seam, attempt, "The unmanaged code was removed from the lock.", what)


async def delete_code(seam: SeamClient, code: AccessCode) -> Outcome:
    """Delete a code (managed or unmanaged) to free a slot on the lock."""
    if not code.is_managed:
        return await delete_unmanaged(seam, code)
    what = "delete the code"
    try:
        attempt = await seam.delete_access_code(code.access_code_id)
    except SeamApiError as exc:
        return refusal(exc, what)
    return await _follow(seam, attempt, "The code was deleted and its slot freed.", what)


async def delete_and_recreate(
    seam: SeamClient, code: AccessCode, others: list[AccessCode] | None = None
) -> Outcome:
    """Delete a code changed outside Seam and create it again with the same name, PIN, schedule.

    Seam recommends this for codes modified outside Seam
    (docs.seam.co/latest/capability-guides/smart-locks/access-codes/troubleshooting-access-code-issues).
    It refuses before deleting anything when another code on the lock (`others`) has the same
    PIN, since the re-create would then fail and leave the guest without a code. When Seam does
    not confirm the delete, the code is read again and re-created only if it is really gone.
    """
    clash = [
        o for o in others or [] if o.access_code_id != code.access_code_id and o.code == code.code
    ]
    if code.code and clash:
        return Outcome(
            "error",
            "Not deleted: another code on this lock uses the same PIN, so Seam would refuse to "
            "create it again. Deal with the duplicate first (convert or delete it).",
            changed=False,
        )
    deleted = await delete_code(seam, code)
    if deleted.status == "error":
        return deleted
    if deleted.status in ("unknown", "pending"):
        try:
            await seam.get_access_code(code.access_code_id)
            return deleted  # still there: do not create a second copy
        except SeamNotFoundError:
            pass  # gone after all: carry on and re-create it
        except SeamApiError:
            return deleted
    fields: dict[str, Any] = {}
    if code.name:
        fields["name"] = code.name
    if code.code:
        fields["code"] = code.code
    if code.is_time_bound and code.starts_at and code.ends_at:
        fields["starts_at"] = code.starts_at.astimezone(UTC).isoformat()
        fields["ends_at"] = code.ends_at.astimezone(UTC).isoformat()
    try:
        new_code, attempt = await seam.create_access_code(code.device_id, **fields)
    except SeamApiError as exc:
        failed = refusal(exc, "create the code again")
        return Outcome(
            "error",
            "The old code was deleted, but " + failed.summary + " Create it again in Seam "
            "Console or with a new PIN.",
            changed=True,
            request_id=failed.request_id,
        )
    result = await _follow(
        seam,
        attempt,
        "The code was deleted and created again with the same settings; its new "
        f"access_code_id is {new_code.access_code_id}.",
        "create",
    )
    return Outcome(
        result.status,
        result.summary,
        changed=True,
        action_attempt_id=result.action_attempt_id,
        detail={"new_access_code_id": new_code.access_code_id},
    )


async def pull_backup(seam: SeamClient, code: AccessCode) -> tuple[Outcome, AccessCode | None]:
    """Pull a backup code for a time-bound code (`pull_backup_access_code`).

    Returns the outcome and the backup code (whose PIN only the requester may see).
    """
    try:
        backup = await seam.pull_backup_access_code(code.access_code_id)
    except SeamApiError as exc:
        return refusal(exc, "pull a backup code"), None
    return (
        Outcome(
            "success",
            "A backup code from the lock's pool now stands in for this code.",
            changed=True,
            detail={"backup_access_code_id": backup.access_code_id},
        ),
        backup,
    )


def duplicates_of(code: AccessCode, device_codes: list[AccessCode]) -> list[AccessCode]:
    """Unmanaged codes on the same device with the same PIN (or named by Seam's error).

    Seam's `duplicate_code_on_device` error may carry `unmanaged_access_code_id`.
    """
    named = {
        str(issue.model_extra.get("unmanaged_access_code_id"))
        for issue in code.errors
        if issue.model_extra and issue.model_extra.get("unmanaged_access_code_id")
    }
    return [
        other
        for other in device_codes
        if not other.is_managed
        and other.access_code_id != code.access_code_id
        and other.device_id == code.device_id
        and (other.access_code_id in named or (code.code and other.code == code.code))
    ]


def slot_candidates(codes: list[AccessCode], now: datetime | None = None) -> list[AccessCode]:
    """Codes to offer for deletion to free a slot: expired first, then oldest first."""
    now = now or datetime.now(UTC)
    far = datetime.max.replace(tzinfo=UTC)

    def key(c: AccessCode) -> tuple[int, datetime]:
        expired = bool(c.ends_at and c.ends_at < now)
        return (0 if expired else 1, c.created_at or c.starts_at or far)

    return sorted(codes, key=key)
