"""Free a slot: delete one of the lock's other codes when it has no room for a new one.

Seam reports `no_space_for_access_code_on_device` when a lock's code slots are full (Seam's
troubleshooting guide, "Troubleshooting access code issues"); the modal lists the lock's other
codes, expired and oldest first, and those of a guest staying now or arriving soon last
(`bot.domain.stays`), and asks to confirm the one picked, repeating that warning when it
applies.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.stays import deletion_warning, stay_of
from bot.remedies.base import (
    BaseRemedy,
    Outcome,
    Proposal,
    ProposalForm,
    Request,
    SettlesWhen,
    follow_attempt,
    refusal,
)
from bot.remedies.duplicate import delete_unmanaged, verify_gone
from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError
from bot.seam.models import AccessCode, Device


async def delete_code(seam: SeamClient, code: AccessCode) -> Outcome:
    """Delete a code (managed: `/access_codes/delete`; unmanaged: `unmanaged/delete`)."""
    if not code.is_managed:
        return await delete_unmanaged(seam, code)
    what = "delete the code"
    try:
        attempt = await seam.delete_access_code(code.access_code_id)
    except SeamApiError as exc:
        return refusal(exc, what)
    return await follow_attempt(seam, attempt, "The code was deleted and its slot freed.", what)


def slot_candidates(codes: list[AccessCode], now: datetime | None = None) -> list[AccessCode]:
    """Codes to offer for deletion to free a slot, safest first.

    Expired codes first, then the others oldest first (`created_at`, else `starts_at`), and
    last the codes of a guest arriving soon or staying now (`bot.domain.stays`), the one
    needed soonest at the very end. Codes Seam reports as not on the lock (`status` "unset")
    hold no slot there, so deleting one would free nothing: they are left out. The input is
    not reordered.
    """
    now = now or datetime.now(UTC)
    codes = [c for c in codes if c.status != "unset"]
    far = datetime.max.replace(tzinfo=UTC)

    def key(c: AccessCode) -> tuple[int, float, datetime]:
        stay = stay_of(c, now)
        if stay.at_risk:
            return (2, -max(stay.seconds_to_start or 0.0, 0.0), far)
        return (0 if stay.phase == "expired" else 1, 0.0, c.created_at or c.starts_at or far)

    return sorted(codes, key=key)


class FreeSlot(BaseRemedy):
    """Pick one of the lock's other codes ("choose" form), review it, delete it."""

    key: str = "free_slot"
    button_label: str = "Free a slot"
    title: str = "Free a slot"
    label: str = "Free a slot"
    form: ProposalForm = "choose"
    settles_when: SettlesWhen = "gone"

    def refuses(self, code: AccessCode, target: AccessCode) -> str | None:
        """The code that needs the slot is never the one deleted."""
        if target.access_code_id == code.access_code_id:
            return "that is the code that needs the slot; pick another code to delete."
        return None

    async def prepare(self, seam: SeamClient, code: AccessCode, device: Device | None) -> Proposal:
        """The lock's other codes, safest to delete first (`slot_candidates`)."""
        codes = [
            c
            for c in await seam.list_device_codes(code.device_id)
            if c.access_code_id != code.access_code_id
        ]
        if not codes:
            return Proposal(
                form="unavailable",
                code=code,
                device=device,
                text="Seam lists no other codes on this lock to delete.",
            )
        return Proposal(
            form="choose", code=code, device=device, candidates=tuple(slot_candidates(codes))
        )

    def review(self, target: AccessCode | None, now: datetime | None = None) -> tuple[str, str]:
        """Confirm the deletion of the picked code; when a guest is staying now or arrives
        soon, the question starts with that warning and the button says "Delete anyway"."""
        warning = deletion_warning(target, now or datetime.now(UTC)) if target else None
        if warning is None:
            return "Delete this code from the lock? It stops working at once.", "Delete"
        return (
            f":rotating_light: *Warning:* {warning}\n"
            "Delete it from the lock anyway? It stops working at once.",
            "Delete anyway",
        )

    async def run(self, seam: SeamClient, request: Request) -> Outcome:
        """Delete the picked code once."""
        return await delete_code(seam, request.target)

    async def verify(self, seam: SeamClient, request: Request, outcome: Outcome) -> Outcome:
        """The slot is free when Seam no longer has the picked code."""
        return await verify_gone(seam, request.target.access_code_id, outcome)


REMEDY = FreeSlot()
