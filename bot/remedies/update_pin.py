"""Update PIN: set a new PIN on a managed code (`/access_codes/update` with `code`).

The modal suggests a PIN from `/access_codes/generate_code` and says which lengths the lock
accepts; the PIN is checked (digits, length, the lock's constraints, clashes with the lock's
other PINs) before Seam is called (Seam API reference, "Access codes": update; "Access code
constraints" on the device).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from bot.domain.pins import check_digits, check_pin, supported_lengths
from bot.remedies.base import (
    BaseRemedy,
    Outcome,
    Proposal,
    ProposalForm,
    Request,
    follow_attempt,
    refusal,
)
from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError
from bot.seam.models import AccessCode, Device


async def update_pin(seam: SeamClient, code: AccessCode, new_pin: str) -> Outcome:
    """Set a new PIN on a managed code, keeping a time-bound code's schedule."""
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
    return await follow_attempt(seam, attempt, "Seam reports the new PIN is set on the lock.", what)


class UpdatePin(BaseRemedy):
    """The Update PIN remedy (a "pin" form; one change per code at a time for 120 s)."""

    key: str = "update_pin"
    button_label: str = "Update PIN"
    title: str = "Update PIN"
    label: str = "Update PIN"
    form: ProposalForm = "pin"
    managed_only: bool = True
    exclusive_seconds: float = 120.0

    def refuses(self, code: AccessCode, target: AccessCode) -> str | None:
        """Only a managed code's PIN can be changed through Seam."""
        if not target.is_managed:
            return "that code is unmanaged, so Seam cannot change its PIN."
        return None

    def check_input(self, value: str) -> str | None:
        """Digits only, 4 to 12 long (`bot.domain.pins.check_digits`)."""
        return check_digits(value)

    def check(self, request: Request) -> str | None:
        """The lock's lengths and constraints, and no clash with its other PINs."""
        return check_pin(request.value, request.device, list(request.others), current=request.code)

    async def prepare(self, seam: SeamClient, code: AccessCode, device: Device | None) -> Proposal:
        """A PIN entry with Seam's suggestion, or why an unmanaged code cannot be changed."""
        if not code.is_managed:
            return Proposal(
                form="unavailable",
                code=code,
                device=device,
                text="This code is unmanaged (created outside Seam), so Seam cannot change its "
                "PIN. Convert it to managed first.",
            )
        try:
            suggestion: str | None = await seam.generate_code(code.device_id)
        except SeamApiError:
            suggestion = None
        return Proposal(
            form="pin",
            code=code,
            device=device,
            target=code,
            suggestion=suggestion,
            lengths=tuple(supported_lengths(device)),
        )

    async def run(self, seam: SeamClient, request: Request) -> Outcome:
        """Send the new PIN once and follow the action attempt."""
        return await update_pin(seam, request.target, request.value)


REMEDY = UpdatePin()
