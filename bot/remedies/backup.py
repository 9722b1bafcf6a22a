"""Use a backup code: pull one from the lock's pool to stand in for a failing time-bound code.

Seam pulls backup codes only for managed time-bound codes created with the lock's backup pool
while one is available (Seam's guide "Backup access codes"; `pull_backup_access_code`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from bot.domain.text import escape_mrkdwn, slack_date
from bot.remedies.base import BaseRemedy, Outcome, Proposal, Request, refusal
from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError
from bot.seam.models import AccessCode, Device


def can_pull_backup(code: AccessCode) -> bool:
    """Seam pulls backup codes only for managed time-bound codes with one available; once one
    is pulled (Seam names it in `pulled_backup_access_code_id`) there is nothing more to pull:
    *Show backup PIN* shows it again."""
    return (
        code.is_managed
        and code.is_time_bound
        and code.is_backup_access_code_available
        and not code.pulled_backup_access_code_id
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


class UseBackupCode(BaseRemedy):
    """Pull a backup code; its PIN is shown only to the person who pulled it."""

    key: str = "pull_backup"
    button_label: str = "Use backup code"
    title: str = "Use a backup code"
    label: str = "Use backup code"

    def offered_for(self, code: AccessCode, advised: Collection[str]) -> bool:
        """Advised, and Seam can pull one for this code (`can_pull_backup`)."""
        return self.key in advised and can_pull_backup(code)

    def refuses(self, code: AccessCode, target: AccessCode) -> str | None:
        """The target must be able to have a backup pulled."""
        if not can_pull_backup(target):
            return "backup codes work only for time-bound codes with a backup available."
        return None

    async def prepare(self, seam: SeamClient, code: AccessCode, device: Device | None) -> Proposal:
        """Confirm, or say why no backup can be pulled."""
        del seam
        if not can_pull_backup(code):
            return Proposal(
                form="unavailable",
                code=code,
                device=device,
                text="No backup code can be pulled for this code: backup codes work only for "
                "time-bound codes created with the lock's backup pool, and Seam reports none "
                "available.",
            )
        return Proposal(
            form="confirm",
            code=code,
            device=device,
            target=code,
            text="Pull a backup code from the lock's pool to stand in for this code? Its PIN is "
            "shown only to you; give it to the guest.",
            submit="Pull backup",
        )

    async def run(self, seam: SeamClient, request: Request) -> Outcome:
        """Pull once; the PIN goes into the outcome's private note for the requester only."""
        outcome, backup = await pull_backup(seam, request.target)
        if backup is None:
            return outcome
        lock = request.device.name if request.device is not None else request.target.device_id
        return _with_pin(outcome, request.target, backup, lock)

    def intent(self, request: Request) -> dict[str, Any]:
        """The lock's name, to say where the backup code works if a recovery shows its PIN."""
        return {"lock": request.device.name if request.device is not None else ""}

    async def recover(
        self, seam: SeamClient, target_id: str, steps: tuple[str, ...], intent: dict[str, Any]
    ) -> Outcome:
        """After a stop: Seam names the pulled backup on the code (`pulled_backup_access_code_id`)
        if the pull went through; then its PIN is shown to the requester as after a pull."""
        del steps
        try:
            original = await seam.get_access_code(target_id)
            backup_id = original.pulled_backup_access_code_id
            backup = await seam.get_access_code(backup_id) if backup_id else None
        except SeamApiError as exc:
            return refusal(exc, "read the code back", sent=True)
        if backup is None:
            return Outcome(
                "unknown",
                "The bot was interrupted while pulling a backup code, and Seam names none for "
                "this code. Re-check, then pull one again if needed.",
                changed=True,
            )
        pulled = Outcome(
            "success",
            "A backup code from the lock's pool now stands in for this code (confirmed by "
            "reading it back).",
            changed=True,
            detail={"backup_access_code_id": backup.access_code_id},
        )
        return _with_pin(pulled, original, backup, str(intent.get("lock") or original.device_id))


def _with_pin(outcome: Outcome, original: AccessCode, backup: AccessCode, lock: str) -> Outcome:
    """`outcome` with the backup PIN as a private note: which code it stands in for, on which
    lock, valid when (the requester gives it to the guest)."""
    starts = backup.starts_at or original.starts_at
    ends = backup.ends_at or original.ends_at
    valid = f"{slack_date(starts)} → {slack_date(ends)}" if starts and ends else "ongoing"
    note = (
        f"Give the guest this PIN: `{escape_mrkdwn(backup.code or 'not assigned yet', 20)}`\n"
        f"It stands in for *{escape_mrkdwn(original.name or 'the failing code', 100)}* on "
        f"*{escape_mrkdwn(lock, 100)}*, valid {valid} (backup code "
        f"`{escape_mrkdwn(backup.access_code_id, 64)}`). Only you can see this message; "
        "*Show backup PIN* shows it again."
    )
    return Outcome(
        outcome.status,
        outcome.summary,
        changed=outcome.changed,
        detail=outcome.detail,
        private_note=note,
        private_title="Backup code pulled",
    )


REMEDY = UseBackupCode()
