"""Reading Seam into an `Observation`: the whole workspace, or only some devices.

`scan_workspace` is one pass: `/devices/list` (every page), then for each device its managed and
unmanaged codes (`/access_codes/list`, `/access_codes/unmanaged/list`, every page) with at most
`concurrency` devices in flight. Seam tries to program a scheduled code up to 9 days before its
`starts_at` and records errors and warnings on the code well before activation (Seam's access
codes guide), so a scan every few minutes finds a failing guest code days before the guest
arrives.

Codes are streamed: each device's lists are turned into findings as soon as they are read, and
only the codes the `Observation` contract names keep their model (`keeps_model`); every other
code is remembered by its id alone, so a scan's memory grows with its findings, not its codes.

A scan that fails partway (Seam 5xx, 429 after retries, timeouts) is *incomplete*: it says which
devices it did not fully see, and the alerting leaves their alerts alone, so a Seam outage never
produces a false "resolved".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from datetime import UTC, datetime

from bot.domain.arrivals import (
    DEFAULT_AT_RISK_HOURS,
    Arrival,
    arrivals_for_device,
    predictive_findings,
)
from bot.domain.catalogue import Catalogue
from bot.domain.findings import Finding, findings_for_device
from bot.domain.observation import Observation, keeps_model, slim
from bot.seam.client import SeamClient
from bot.seam.errors import SeamApiError
from bot.seam.models import AccessCode, Device

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_CONCURRENCY", "scan_workspace"]

#: Devices whose codes are listed at the same time.
DEFAULT_CONCURRENCY = 8


async def scan_workspace(
    seam: SeamClient,
    *,
    catalogue: Catalogue,
    concurrency: int = DEFAULT_CONCURRENCY,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    device_ids: Collection[str] | None = None,
    at_risk_hours: float = DEFAULT_AT_RISK_HOURS,
) -> Observation:
    """Scan every device and code of the workspace once. Never raises for Seam failures.

    Args:
        seam: the Seam client (its `calls` counter gives `seam_calls`).
        catalogue: to classify each error and warning (scope, blocking).
        concurrency: devices whose codes are listed at the same time (asyncio.Semaphore).
        clock: current time (aware UTC).
        device_ids: scan only these devices (read with `/devices/get`), e.g. for a Re-check
            button. Such a scan is never `complete` and `covers` only those devices, so
            reconciling it leaves every other alert alone.
        at_risk_hours: AT_RISK_HOURS, for the predictive "not set yet" check
            (`bot.domain.arrivals.predictive_findings`, added per device beside Seam's own).

    Returns:
        A `Observation`; `complete` is False when anything could not be read.
    """
    started = clock()
    calls_before = seam.calls
    try:
        if device_ids is None:
            devices_list = await seam.list_devices()
        else:
            devices_list = [await seam.get_device(device_id) for device_id in device_ids]
    except SeamApiError as exc:
        logger.warning("scan: could not list devices: %s", exc)
        return Observation(
            started_at=started,
            finished_at=clock(),
            devices_listed=False,
            errors=(f"/devices/list: {exc}",),
            seam_calls=seam.calls - calls_before,
        )
    devices: dict[str, Device] = {}
    for device in devices_list:
        devices.setdefault(device.device_id, slim(device))

    semaphore = asyncio.Semaphore(max(1, concurrency))
    codes: dict[tuple[str, str], AccessCode] = {}
    seen: set[str] = set()
    covered: set[str] = set()
    failed: set[str] = set()
    errors: list[str] = []
    findings: list[Finding] = []
    arrivals: list[Arrival] = []
    dropped = 0

    async def one(device: Device) -> None:
        nonlocal dropped
        async with semaphore:
            try:
                managed = await seam.list_access_codes(device.device_id)
                unmanaged = await seam.list_unmanaged_access_codes(device.device_id)
            except SeamApiError as exc:
                failed.add(device.device_id)
                errors.append(f"device {device.device_id}: {exc}")
                logger.warning("scan: could not list codes of device %s: %s", device.device_id, exc)
                return
            except Exception as exc:  # a bug or an unexpected payload: this device is unseen
                failed.add(device.device_id)
                errors.append(f"device {device.device_id}: {type(exc).__name__}")
                logger.exception("scan: listing codes of device %s failed", device.device_id)
                return
        own: dict[tuple[str, str], AccessCode] = {}
        for code in [*managed, *unmanaged]:
            if code.device_id != device.device_id:
                dropped += 1
                continue
            own.setdefault((code.access_code_id, code.device_id), code)
        now = clock()
        covered.add(device.device_id)
        mine = findings_for_device(device, own.values(), catalogue=catalogue, observed_at=now)
        findings.extend(mine)
        findings.extend(
            _arrivals_first(device, own.values(), mine, catalogue, now, at_risk_hours, arrivals)
        )
        troubled = bool(device.errors or device.warnings)
        for i, (key, code) in enumerate(own.items()):
            seen.add(key[0])
            if keeps_model(code, now=now, first_on_troubled_lock=troubled and i == 0):
                codes[key] = slim(code)

    await asyncio.gather(*(one(d) for d in devices.values()))
    order = {device_id: i for i, device_id in enumerate(devices)}
    findings.sort(key=lambda f: order.get(f.device_id, 0))
    return Observation(
        started_at=started,
        finished_at=clock(),
        devices_listed=device_ids is None,
        devices=devices,
        codes=codes,
        seen_code_ids=frozenset(seen),
        covered_device_ids=frozenset(covered),
        failed_device_ids=frozenset(failed),
        findings=tuple(findings),
        errors=tuple(errors),
        seam_calls=seam.calls - calls_before,
        dropped_codes=dropped,
        arrivals=tuple(sorted(arrivals, key=lambda a: (a.starts_at, a.access_code_id))),
    )


def _arrivals_first(
    device: Device,
    codes: Collection[AccessCode],
    findings: list[Finding],
    catalogue: Catalogue,
    now: datetime,
    at_risk_hours: float,
    arrivals: list[Arrival],
) -> list[Finding]:
    """Arrivals first: this device's predictive findings (returned) and its compact arrivals
    (appended to `arrivals`), from the codes just listed and the device's `findings` so far."""
    found = [f for f in findings if f.device_id == device.device_id]
    predicted = predictive_findings(
        device, codes, catalogue=catalogue, now=now, at_risk_hours=at_risk_hours
    )
    arrivals.extend(
        arrivals_for_device(device, codes, [*found, *predicted], catalogue=catalogue, now=now)
    )
    return predicted
