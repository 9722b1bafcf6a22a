"""Remove a pulled backup code once the code it stood in for works again.

A backup code pulled from the lock's pool (`pull_backup_access_code`) stays on the lock, usable,
until it is removed: Seam's guide "Backup access codes" says a pulled backup code is the
operator's to manage, and the original code names it in `pulled_backup_access_code_id`. Leaving
it live hands out a second working PIN for the same stay. This remedy is offered on messages
about a code that names a pulled backup and reports no error of its own (the resolved alert,
and the `/seam-code` answer); it deletes the backup code with `/access_codes/delete` and reads
it back until Seam no longer lists it.
"""

from __future__ import annotations

from collections.abc import Collection

from bot.domain.text import escape_mrkdwn, slack_date
from bot.remedies.base import (
    BaseRemedy,
    Outcome,
    Proposal,
    Request,
    SettlesWhen,
    follow_attempt,
    refusal,
)
from bot.remedies.duplicate import verify_gone
from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError, SeamNotFoundError
from bot.seam.models import AccessCode, Device


def healthy_with_backup(code: AccessCode) -> bool:
    """The code names a pulled backup code and reports no error of its own (it works again)."""
    return bool(code.pulled_backup_access_code_id) and not code.errors


class RemoveBackupCode(BaseRemedy):
    """Delete the backup code pulled for a code that is healthy again."""

    key: str = "remove_backup"
    button_label: str = "Remove backup code"
    title: str = "Remove backup code"
    label: str = "Remove backup code"
    settles_when: SettlesWhen = "gone"

    def offered_for(self, code: AccessCode, advised: Collection[str]) -> bool:
        """Offered whenever `healthy_with_backup(code)`, whatever the catalogue advises."""
        del advised
        return healthy_with_backup(code)

    def refuses(self, code: AccessCode, target: AccessCode) -> str | None:
        """The target must be the backup pulled for `code`, and `code` must work again."""
        if target.access_code_id != code.pulled_backup_access_code_id:
            return "that code is not the backup code pulled for this one."
        if code.errors:
            return (
                "the original code still reports a problem, so the guest may still need the "
                "backup code. Fix the original first."
            )
        return None

    async def prepare(self, seam: SeamClient, code: AccessCode, device: Device | None) -> Proposal:
        """Read the backup code and ask to confirm, or say why there is nothing to remove."""
        backup_id = code.pulled_backup_access_code_id
        if not healthy_with_backup(code) or not backup_id:
            return Proposal(
                form="unavailable",
                code=code,
                device=device,
                text="Nothing to remove now: either no backup code was pulled for this code, or "
                "the code still reports a problem and the guest may still need the backup.",
            )
        try:
            backup = await seam.get_access_code(backup_id)
        except SeamNotFoundError:
            return Proposal(
                form="unavailable",
                code=code,
                device=device,
                text=f"The backup code `{escape_mrkdwn(backup_id, 64)}` is already gone from "
                "Seam; nothing to remove.",
            )
        lock = escape_mrkdwn(device.name if device is not None else code.device_id, 100)
        until = f" (valid until {slack_date(backup.ends_at)})" if backup.ends_at else ""
        return Proposal(
            form="confirm",
            code=code,
            device=device,
            target=backup,
            text=f"*{escape_mrkdwn(code.name or 'This code', 100)}* works again, but the backup "
            f"code pulled for it is still on *{lock}*{until}. Remove the backup code from the "
            "lock? Its PIN stops working at once: make sure the guest uses their own code.",
            submit="Remove backup",
        )

    async def run(self, seam: SeamClient, request: Request) -> Outcome:
        """`/access_codes/delete` on the backup code once, following the action attempt."""
        what = "remove the backup code"
        try:
            attempt = await seam.delete_access_code(request.target.access_code_id)
        except SeamApiError as exc:
            return refusal(exc, what)
        return await follow_attempt(
            seam, attempt, "The backup code was removed from the lock.", what
        )

    async def verify(self, seam: SeamClient, request: Request, outcome: Outcome) -> Outcome:
        """Removed means Seam no longer lists the backup code; "pending" while it does."""
        return await verify_gone(seam, request.target.access_code_id, outcome)


REMEDY = RemoveBackupCode()
