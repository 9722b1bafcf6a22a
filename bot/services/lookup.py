"""Reading one access code and its device from Seam, as the `/seam-code` answer needs them."""

from __future__ import annotations

import logging

from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError, SeamNotFoundError
from bot.seam.models import AccessCode, Device

logger = logging.getLogger(__name__)


async def fetch_code_and_device(
    seam: SeamClient, access_code_id: str
) -> tuple[AccessCode, Device | None]:
    """Fetch a managed or unmanaged access code and, best effort, its device.

    Returns:
        `(code, device)`; `device` is None when the device read failed (logged), since the code
        alone is still worth showing.

    Raises:
        SeamApiError subclasses when the code itself cannot be read; SeamNotFoundError also
        when its device is unknown to this workspace (so no caller shows or changes it).
    """
    code = await seam.find_access_code(access_code_id)
    try:
        device = await seam.get_device(code.device_id)
    except SeamNotFoundError:
        # Seam scopes devices to the API key's workspace: a code whose device we cannot see is
        # not ours (a misbehaving server could leak another workspace's codes). Never act on it.
        logger.warning("code %s refers to a device outside this workspace", code.access_code_id)
        raise SeamNotFoundError(
            "the access code's device is not in this workspace",
            error_type="access_code_not_found",
            status_code=404,
            path="/devices/get",
        ) from None
    except SeamApiError as exc:
        logger.warning(
            "could not read device %s for code %s: %s", code.device_id, code.access_code_id, exc
        )
        device = None
    return code, device
