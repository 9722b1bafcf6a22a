"""What one look at Seam saw: an `Observation` of devices, codes and findings, and its coverage.

A source of alerts (the periodic scan, a Re-check button, tomorrow a Seam webhook) produces an
`Observation`; the alert service reconciles it. Coverage is what makes "resolved" true: an alert
may be resolved only on a device the observation fully saw (`covers`), so a Seam outage or a
partial read never produces a false "resolved".
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import TypeVar

from pydantic import BaseModel

from bot.domain.arrivals import Arrival
from bot.domain.findings import Finding
from bot.seam.models import AccessCode, Device

__all__ = ["ARRIVALS_WINDOW", "Observation", "ScanResult", "keeps_model", "slim"]

M = TypeVar("M", bound=BaseModel)

#: Time-bound codes starting this soon after a scan keep their full model (contract (c)).
ARRIVALS_WINDOW = timedelta(hours=72)


def keeps_model(code: AccessCode, *, now: datetime, first_on_troubled_lock: bool = False) -> bool:
    """Whether an observation keeps `code`'s full model (the module's contract, (a) to (d)).

    Args:
        code: a code listed on its own device.
        now: the scan's time (aware UTC), for the arrivals window.
        first_on_troubled_lock: the code is the first listed on a lock that has its own error
            or warning (rule (d)).
    """
    if first_on_troubled_lock or code.errors or code.warnings:
        return True
    if code.pulled_backup_access_code_id:
        return True
    starts = code.starts_at
    return starts is not None and now <= starts <= now + ARRIVALS_WINDOW


@cache
def _all_fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def slim(model: M) -> M:
    """`model` made smaller in memory for keeping, in place; returns it. Values are unchanged.

    pydantic gives every instance its own set of "fields set explicitly" (~0.7-2 KB for an
    access code); a kept model shares one set naming every declared field instead (nothing in
    the bot dumps with `exclude_unset`). Its `device_id` and `workspace_id` strings are interned,
    so thousands of codes on one lock share one string.
    """
    object.__setattr__(model, "__pydantic_fields_set__", _all_fields(type(model)))
    values = model.__dict__
    for name in ("device_id", "workspace_id"):
        value = values.get(name)
        if isinstance(value, str):
            values[name] = sys.intern(value)
    return model


@dataclass(frozen=True)
class Observation:
    """What one scan (of the workspace or of some devices) saw. Times are aware UTC.

    Attributes:
        started_at / finished_at: when the scan ran.
        devices_listed: `/devices/list` was read to its last page.
        devices: every device listed, by device_id.
        codes: the codes whose full model is kept (`keeps_model`; see the module docstring),
            keyed by `(access_code_id, device_id)` with the code's *own* device_id; codes a
            list returned for another device are dropped, repeats collapse.
        seen_code_ids: the id of every code seen on its own device (kept models included).
        covered_device_ids: devices whose managed and unmanaged code lists were read fully.
        failed_device_ids: devices listed but whose codes could not be read.
        findings: one per fingerprint, for covered devices only.
        errors: one line per failure (no secrets, no PINs).
        seam_calls: Seam HTTP requests this scan made (retries included).
        dropped_codes: codes ignored because their device_id was not the device being listed.
        arrivals: compact arrivals (time-bound codes starting within 72 h, with their state)
            of the covered devices, soonest first (`bot.domain.arrivals`); the digest, the
            arrivals command and the App Home read these, never `codes`.
    """

    started_at: datetime
    finished_at: datetime
    devices_listed: bool
    devices: dict[str, Device] = field(default_factory=dict)
    codes: dict[tuple[str, str], AccessCode] = field(default_factory=dict)
    seen_code_ids: frozenset[str] = frozenset()
    covered_device_ids: frozenset[str] = frozenset()
    failed_device_ids: frozenset[str] = frozenset()
    findings: tuple[Finding, ...] = ()
    errors: tuple[str, ...] = ()
    seam_calls: int = 0
    dropped_codes: int = 0
    arrivals: tuple[Arrival, ...] = ()

    @property
    def complete(self) -> bool:
        """Every device and every code list was read."""
        return self.devices_listed and not self.failed_device_ids

    def covers(self, device_id: str) -> bool:
        """Whether this scan may conclude that a problem on `device_id` is gone.

        True when the device's codes were read fully, or when the full device list was read
        and the device is no longer in it (removed from Seam).
        """
        if device_id in self.covered_device_ids:
            return True
        return self.devices_listed and device_id not in self.devices

    def __post_init__(self) -> None:
        # A kept model is a seen code, whoever built the observation.
        kept = [code_id for code_id, _ in self.codes if code_id not in self.seen_code_ids]
        if kept:
            object.__setattr__(self, "seen_code_ids", self.seen_code_ids | frozenset(kept))

    @property
    def codes_seen(self) -> int:
        """How many codes the scan read (on their own devices), kept models or not."""
        return len(self.seen_code_ids)

    def saw_code(self, access_code_id: str) -> bool:
        """Whether the scan listed this code on its own device (its model may not be kept)."""
        return access_code_id in self.seen_code_ids

    def code(self, access_code_id: str) -> AccessCode | None:
        """The code's kept model (`keeps_model`), or None (not seen, or not kept)."""
        for (code_id, _), code in self.codes.items():
            if code_id == access_code_id:
                return code
        return None

    def codes_by_id(self) -> dict[str, AccessCode]:
        """Every kept code model, by access_code_id."""
        return {code_id: code for (code_id, _), code in self.codes.items()}


#: The name the scanner has always used for an `Observation`.
ScanResult = Observation
