"""What "Check device" says about a lock: the state it is really in, and what to do for it.

Facts come from the device Seam returns (Seam API reference, "Devices"): `properties.online`,
the battery reading (`properties.battery_level`, `properties.battery.status`) and the device's
own `errors` and `warnings`. Seam has no "last seen online" field; what it does report is when it
raised a connectivity error (`created_at` of `device_offline`, `device_disconnected`,
`hub_disconnected`, `bridge_disconnected`, `account_disconnected`: "Date and time at which Seam
created the error"), which is shown as "offline since" only when Seam sent it. What to do comes
from the catalogue's remedy of each error and warning the lock reports; a lock offline with
none of its own gets the remedy of `device_offline`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.domain.catalogue import Catalogue
from bot.seam.models import Device

__all__ = ["CONNECTIVITY_ERRORS", "DeviceCheck", "DeviceProblem", "check_device"]

#: Device errors that mean Seam cannot reach the lock (Seam API reference, device errors).
CONNECTIVITY_ERRORS: tuple[str, ...] = (
    "device_offline",
    "device_disconnected",
    "hub_disconnected",
    "bridge_disconnected",
    "account_disconnected",
)
#: Seam's battery statuses that call for new batteries (Seam API reference, device properties).
LOW_BATTERY = ("critical", "low")

DeviceState = Literal["online", "offline", "unknown"]


@dataclass(frozen=True)
class DeviceProblem:
    """One error or warning the lock reports: Seam's `code`, the catalogue's `title` and
    `remedy` (both mrkdwn-safe), and `kind` ("error" or "warning")."""

    code: str
    kind: str
    title: str
    remedy: str


@dataclass(frozen=True)
class DeviceCheck:
    """The lock's state as Seam reports it, and what to do.

    Attributes:
        name: the lock's name (raw: escape before display).
        state: "online" / "offline" (`properties.online`), or "unknown" when Seam does not say.
        offline_since: when Seam raised its connectivity error (aware UTC), or None when Seam
            reported none with a time.
        offline_error: which error that was (e.g. "device_offline"), or None.
        battery_level: Seam's last battery reading, 0..1, or None.
        battery_low: Seam rates the battery "low" or "critical".
        problems: the lock's own errors, then its warnings.
        advice: what to do, most important first (mrkdwn-safe sentences): the remedy of each
            error, then of each warning; for an offline lock with none, `device_offline`'s
            remedy; for an unknown state with none, to check it in the lock maker's app; none
            when the lock is online and reports nothing.
    """

    name: str
    state: DeviceState
    offline_since: datetime | None
    offline_error: str | None
    battery_level: float | None
    battery_low: bool
    problems: tuple[DeviceProblem, ...]
    advice: tuple[str, ...]


def check_device(device: Device, catalogue: Catalogue) -> DeviceCheck:
    """Read `device` into a `DeviceCheck` (pure; see the module docstring for the rules)."""
    state: DeviceState = (
        "unknown" if device.online is None else ("online" if device.online else "offline")
    )
    problems = tuple(
        DeviceProblem(issue.code, issue.kind, entry.title, entry.remedy)
        for issue in device.issues
        for entry in (catalogue.lookup(issue.code, issue.kind, message=issue.message),)
    )
    timed = sorted(
        (issue.created_at, issue.code)
        for issue in device.errors
        if issue.code in CONNECTIVITY_ERRORS and issue.created_at is not None
    )
    since, since_code = timed[0] if timed else (None, None)
    ordered = [p for p in problems if p.kind == "error"] + [
        p for p in problems if p.kind != "error"
    ]
    advice = list(dict.fromkeys(p.remedy for p in ordered))
    if not advice and state == "offline":
        advice.append(catalogue.lookup("device_offline", "error").remedy)
    if not advice and state == "unknown":
        advice.append(
            "Seam does not say whether the lock is online: check it in the lock maker's app, "
            "then re-check."
        )
    return DeviceCheck(
        name=device.name,
        state=state,
        offline_since=since if state != "online" else None,
        offline_error=since_code if state != "online" else None,
        battery_level=device.battery_level,
        battery_low=device.battery_status in LOW_BATTERY,
        problems=problems,
        advice=tuple(advice),
    )
