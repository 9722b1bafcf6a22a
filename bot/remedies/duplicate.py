"""Convert or delete the unmanaged duplicate behind `duplicate_code_on_device`.

Seam refuses to set a code whose PIN another code on the lock already uses; when that other code
is unmanaged (created outside Seam), Seam's troubleshooting guide ("Troubleshooting access code
issues") says to bring it under management or remove it. Endpoints: Seam API reference,
"Unmanaged access codes" (`convert_to_managed`, `delete`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.domain.text import escape_mrkdwn
from bot.remedies.base import (
    BaseRemedy,
    Outcome,
    Proposal,
    Request,
    SettlesWhen,
    follow_attempt,
    read_back,
    refusal,
)
from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError
from bot.seam.models import AccessCode, Device


def duplicates_of(code: AccessCode, device_codes: Sequence[AccessCode]) -> list[AccessCode]:
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
    return await follow_attempt(
        seam, attempt, "The unmanaged code was removed from the lock.", what
    )


async def verify_gone(seam: SeamClient, access_code_id: str, outcome: Outcome) -> Outcome:
    """A delete is verified when Seam no longer has the code; "pending" while it still does."""
    if outcome.status == "error":  # Seam (or the lock) said no: that stands
        return outcome

    def check(code: AccessCode | None) -> Outcome | None:
        if code is None:
            return replace(outcome, status="success", summary="Verified: the code is gone.")
        return None

    settled = await read_back(seam, access_code_id, check)
    if settled is not None:
        return settled
    return replace(
        outcome,
        status="pending",
        summary="Seam accepted the delete; the code is still listed while the lock removes it "
        "(watching).",
    )


class _Duplicate(BaseRemedy):
    """Shared by both: the proposal names the first unmanaged duplicate on the lock."""

    verb: str = ""
    submit: str = ""

    def refuses(self, code: AccessCode, target: AccessCode) -> str | None:
        """The target must be an unmanaged duplicate of `code` (same PIN, or named by Seam)."""
        if target.is_managed:
            return "that code is managed by Seam, not an unmanaged duplicate."
        if not duplicates_of(code, [target]):
            return "that code is not a duplicate of this one (its PIN differs)."
        return None

    async def prepare(self, seam: SeamClient, code: AccessCode, device: Device | None) -> Proposal:
        """List the lock's unmanaged codes and propose the first duplicate of `code`."""
        dupes = duplicates_of(code, await seam.list_unmanaged_access_codes(code.device_id))
        if not dupes:
            return Proposal(
                form="unavailable",
                code=code,
                device=device,
                text="No unmanaged code with the same PIN is on this lock now; it may already "
                "be gone. Use *Re-check now* on the message.",
            )
        more = f"\n_{len(dupes) - 1} more duplicate(s) will remain._" if len(dupes) > 1 else ""
        return Proposal(
            form="confirm",
            code=code,
            device=device,
            target=dupes[0],
            text=f"This unmanaged code has the same PIN as "
            f"*{escape_mrkdwn(code.name or code.access_code_id, 150)}*. Do you want to "
            f"{self.verb}?{more}",
            submit=self.submit,
        )


class ConvertDuplicate(_Duplicate):
    """Convert the unmanaged duplicate to a managed code (offered on managed codes only)."""

    key: str = "convert_unmanaged"
    button_label: str = "Convert duplicate to managed"
    title: str = "Convert to managed"
    label: str = "Convert duplicate to managed"
    managed_only: bool = True
    verb: str = "convert it to a managed code"
    submit: str = "Convert"
    settles_when: SettlesWhen = "managed"

    async def run(self, seam: SeamClient, request: Request) -> Outcome:
        """`unmanaged/convert_to_managed` once."""
        return await convert_unmanaged(seam, request.target)

    async def verify(self, seam: SeamClient, request: Request, outcome: Outcome) -> Outcome:
        """Converted means Seam now lists the code as managed (a 200 alone is not enough)."""
        if outcome.status == "error":  # Seam (or the lock) said no: that stands
            return outcome

        def check(code: AccessCode | None) -> Outcome | None:
            if code is not None and code.is_managed:
                return replace(
                    outcome,
                    status="success",
                    summary="Verified: Seam now manages the former duplicate.",
                )
            return None

        settled = await read_back(seam, request.target.access_code_id, check)
        if settled is not None:
            return settled
        return replace(
            outcome,
            status="unknown",
            summary="Seam accepted the conversion, but the code still shows as unmanaged; "
            "re-check before trying again.",
        )


class DeleteDuplicate(_Duplicate):
    """Delete the unmanaged duplicate from the lock."""

    key: str = "delete_unmanaged"
    button_label: str = "Delete duplicate"
    title: str = "Delete duplicate"
    label: str = "Delete unmanaged duplicate"
    verb: str = "delete it from the lock"
    submit: str = "Delete"
    settles_when: SettlesWhen = "gone"

    async def run(self, seam: SeamClient, request: Request) -> Outcome:
        """`unmanaged/delete` once, following the action attempt."""
        return await delete_unmanaged(seam, request.target)

    async def verify(self, seam: SeamClient, request: Request, outcome: Outcome) -> Outcome:
        """Deleted means Seam no longer has the code."""
        return await verify_gone(seam, request.target.access_code_id, outcome)


CONVERT = ConvertDuplicate()
DELETE = DeleteDuplicate()
