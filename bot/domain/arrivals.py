"""Arrivals first: at-risk findings before Seam reports an error, arrival states, escalation.

Pure rules, no I/O. The scanner calls `predictive_findings` for each device at the same point it
calls `findings_for_device` (`bot.services.observing`), so an at-risk problem is a `Finding` like
any other (`source="predictive"`): alerted, grouped, resolved and snoozed by the same alert
service, and explained by its own catalogue entry (codes `at_risk_…`, status "bot").

The checks (Seam tries to program a scheduled code well before its `starts_at` and records
errors on the code when it cannot: Seam's access codes guide; backup codes: Seam's guide
"Backup access codes"; the slot limit: `properties.max_active_codes_supported` and the device
warning `max_access_codes_reached` in Seam's device reference):

* `at_risk_not_set`: a managed time-bound code starting within `at_risk_hours` whose `status`
  is not `set` and that has no error yet;
* `at_risk_lock_offline`: the lock is offline or disconnected while codes on it start within
  72 h (a device finding naming them as its carriers);
* `at_risk_no_backup`: a time-bound code starting within 24 h on a lock that supports a backup
  pool (`properties.supports_backup_access_code_pool`) while Seam reports no backup available
  for it (`is_backup_access_code_available` false) and none was pulled;
* `at_risk_slots`: fewer free slots than codes still to be set in the next 72 h, only where Seam
  reports the lock's limit;
* `at_risk_low_battery` / `at_risk_flaky_connection`: Seam reports a low battery
  (`properties.battery.status` low/critical) or a connectivity warning for a lock with arrivals
  within 72 h.

`arrivals_for_device` turns the same device into compact `Arrival`s (every time-bound code
starting within 72 h, with its state OK / at risk / failing), which is what the pre-arrival
digest, `/seam-code arrivals` and the App Home show; they are kept on the `Observation` so
nothing needs the full code models afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

from bot.domain.catalogue import Catalogue, Scope
from bot.domain.findings import Finding, seconds_to_start
from bot.seam.models import AccessCode, Device

__all__ = [
    "ARRIVAL_WINDOW_SECONDS",
    "AT_RISK_PROBLEMS",
    "BACKUP_WINDOW_SECONDS",
    "DEFAULT_AT_RISK_HOURS",
    "ESCALATION_THRESHOLDS",
    "FINAL_HOUR_SECONDS",
    "Arrival",
    "ArrivalCounts",
    "ArrivalState",
    "Escalation",
    "arrivals_by_day",
    "arrivals_for_device",
    "count_arrivals",
    "digest_due",
    "due_escalation",
    "in_final_hour",
    "local_day",
    "next_digest_at",
    "predictive_findings",
]

#: Arrivals are time-bound codes starting within this many seconds (72 h).
ARRIVAL_WINDOW_SECONDS = 72 * 3600.0
#: The backup-pool check looks this far ahead (24 h).
BACKUP_WINDOW_SECONDS = 24 * 3600.0
#: Default of `AT_RISK_HOURS`: a code not yet set this close to its start is at risk.
DEFAULT_AT_RISK_HOURS = 24.0
#: A snooze never hides a code inside this many seconds of its start (T-1 h).
FINAL_HOUR_SECONDS = 3600.0

NOT_SET = "at_risk_not_set"
LOCK_OFFLINE = "at_risk_lock_offline"
NO_BACKUP = "at_risk_no_backup"
SLOTS = "at_risk_slots"
LOW_BATTERY = "at_risk_low_battery"
FLAKY = "at_risk_flaky_connection"
#: Every predictive problem code (each has a catalogue entry with status "bot").
AT_RISK_PROBLEMS = (NOT_SET, LOCK_OFFLINE, NO_BACKUP, SLOTS, LOW_BATTERY, FLAKY)

#: Seam's connectivity warnings on a device (Seam's device reference, device warnings).
FLAKY_WARNINGS = frozenset(
    {
        "device_has_flaky_connection",
        "device_communication_degraded",
        "unreliable_online_status",
        "ttlock_weak_gateway_signal",
    }
)
#: `properties.battery.status` values that count as low (Seam's device properties).
LOW_BATTERY_STATES = frozenset({"low", "critical"})
_DISCONNECTED = re.compile(r"offline|disconnected")

ArrivalState = Literal["ok", "at_risk", "failing"]


@dataclass(frozen=True)
class Arrival:
    """One time-bound code starting within the arrival window, in compact form (no PIN).

    Attributes:
        access_code_id / device_id: the code and its own lock.
        name: the code's name (raw; escape before display), or None.
        device_name: the lock's name (raw).
        starts_at / ends_at: aware UTC.
        state: "failing" (Seam reports an error on the code), "at_risk" (a predictive check or
            a blocking warning concerns it), or "ok".
        problems: problem codes concerning it (errors first), e.g. `failed_to_set_on_device`.
        is_managed: False for a code made outside Seam.
    """

    access_code_id: str
    device_id: str
    name: str | None
    device_name: str
    starts_at: datetime
    ends_at: datetime | None
    state: ArrivalState
    problems: tuple[str, ...] = ()
    is_managed: bool = True

    def starts_in(self, now: datetime) -> float:
        """Seconds until it starts (negative once the stay is under way)."""
        return (self.starts_at - now).total_seconds()


@dataclass(frozen=True)
class ArrivalCounts:
    """Headline numbers: arrivals, and how many are ready / at risk / failing."""

    total: int
    ok: int
    at_risk: int
    failing: int


def _upcoming(
    codes: Iterable[AccessCode], device_id: str, now: datetime, window: float
) -> list[AccessCode]:
    """Time-bound codes of this lock (not backup codes) starting within `window` seconds."""
    found = []
    for code in codes:
        if code.device_id != device_id or code.is_backup:
            continue
        seconds = seconds_to_start(code, now)
        if seconds is not None and 0 < seconds <= window:
            found.append(code)
    return sorted(found, key=lambda c: (c.starts_at or now, c.access_code_id))


def _names(codes: Sequence[AccessCode], limit: int = 3) -> str:
    names = [(c.name or c.access_code_id).strip() or c.access_code_id for c in codes[:limit]]
    more = len(codes) - limit
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _disconnection(device: Device, codes: Sequence[AccessCode]) -> str | None:
    """ "offline" / "disconnected" when the lock (or Seam's copy on a code) says so."""
    if device.online is False:
        return "offline"
    issues = [*device.errors, *(i for c in codes for i in c.errors if i.is_device_error)]
    for issue in issues:
        match = _DISCONNECTED.search(issue.code)
        if match:
            return match.group(0)
    return None


def _slot_use(device: Device, codes: Sequence[AccessCode]) -> tuple[int, int] | None:
    """`(active, limit)` where Seam reports the limit; None otherwise.

    `active` is Seam's own count from the `max_access_codes_reached` warning when present,
    else the codes listed on the lock with status `set` (managed and unmanaged).
    """
    limit = device.properties.get("max_active_codes_supported")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
        return None
    active: int | None = None
    for warning in device.warnings:
        if warning.code == "max_access_codes_reached":
            count = (warning.model_extra or {}).get("active_access_code_count")
            if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
                active = count
    if active is None:
        active = sum(1 for c in codes if c.device_id == device.device_id and c.status == "set")
    return active, limit


def _battery_low(device: Device) -> bool:
    battery = device.properties.get("battery")
    status = battery.get("status") if isinstance(battery, dict) else None
    return isinstance(status, str) and status.strip().lower() in LOW_BATTERY_STATES


def predictive_findings(
    device: Device,
    codes: Iterable[AccessCode],
    *,
    catalogue: Catalogue,
    now: datetime,
    at_risk_hours: float = DEFAULT_AT_RISK_HOURS,
    observed_at: datetime | None = None,
) -> list[Finding]:
    """The at-risk findings of one device and its codes (managed and unmanaged). Pure.

    Codes whose `device_id` is not this device's are ignored. Messages are the bot's own
    words and stay the same from scan to scan while the situation does (no countdowns), so an
    unchanged risk never edits its alert.

    Returns:
        Code findings (`at_risk_not_set`, `at_risk_no_backup`) then device findings (the others,
        their `carrier_code_ids` naming the arrivals concerned), all `source="predictive"`.
    """
    at = observed_at or now
    own = [c for c in codes if c.device_id == device.device_id]
    found: list[Finding] = []

    def make(
        problem: str, code: AccessCode | None, message: str, carriers: Sequence[str] = ()
    ) -> None:
        entry = catalogue.lookup(problem, "warning")
        found.append(
            Finding(
                subject="access_code" if code is not None else "device",
                access_code_id=code.access_code_id if code is not None else None,
                device_id=device.device_id,
                problem=problem,
                kind="warning",
                message=message,
                scope=Scope.CODE if code is not None else entry.scope,
                blocking=entry.blocking,
                source="predictive",
                observed_at=at,
                carrier_code_ids=tuple(carriers),
            )
        )

    soon = _upcoming(own, device.device_id, now, max(0.0, at_risk_hours) * 3600)
    for code in soon:
        if code.is_managed and code.status != "set" and not code.errors:
            make(NOT_SET, code, f"Seam shows it as “{code.status or 'unknown'}” with no error yet.")
    if device.properties.get("supports_backup_access_code_pool") is True:
        for code in _upcoming(own, device.device_id, now, BACKUP_WINDOW_SECONDS):
            if (
                code.is_managed
                and not code.is_backup_access_code_available
                and not code.pulled_backup_access_code_id
            ):
                make(NO_BACKUP, code, "The lock supports backup codes; none is available for it.")

    arrivals = _upcoming(own, device.device_id, now, ARRIVAL_WINDOW_SECONDS)
    ids = [c.access_code_id for c in arrivals]
    if arrivals:
        state = _disconnection(device, own)
        if state is not None:
            make(
                LOCK_OFFLINE,
                None,
                f"The lock is {state}; {_plural(len(arrivals), 'arrival')} within 72 h: "
                f"{_names(arrivals)}.",
                ids,
            )
    pending = [c for c in arrivals if c.is_managed and c.status != "set"]
    slots = _slot_use(device, own)
    if pending and slots is not None:
        active, limit = slots
        free = max(0, limit - active)
        if free < len(pending):
            make(
                SLOTS,
                None,
                f"{active} of {limit} slots in use; {_plural(len(pending), 'code')} still to set "
                "within 72 h.",
                [c.access_code_id for c in pending],
            )
    if arrivals and _battery_low(device):
        make(
            LOW_BATTERY,
            None,
            f"Seam reports a low battery; {_plural(len(arrivals), 'arrival')} within 72 h.",
            ids,
        )
    flaky = sorted({w.code for w in device.warnings if w.code in FLAKY_WARNINGS})
    if arrivals and flaky:
        make(
            FLAKY,
            None,
            f"Seam warns {', '.join(flaky)}; {_plural(len(arrivals), 'arrival')} within 72 h.",
            ids,
        )
    return found


def arrivals_for_device(
    device: Device,
    codes: Iterable[AccessCode],
    findings: Iterable[Finding],
    *,
    catalogue: Catalogue,
    now: datetime,
    window: float = ARRIVAL_WINDOW_SECONDS,
) -> tuple[Arrival, ...]:
    """Every time-bound code of this lock starting within `window` seconds, with its state.

    Args:
        device / codes: one device and its codes (others' codes are ignored).
        findings: this device's findings (Seam's and predictive), from which a code is "at
            risk": a predictive finding on it or naming it, or a blocking warning of its own.
        catalogue: whether a warning is blocking.
        now: aware UTC.

    Returns:
        Arrivals, soonest first. "failing" means Seam reports an error on the code itself
        (device errors Seam copied onto it included): the bot's word stays Seam's.
    """
    findings = list(findings)
    concerns: dict[str, list[str]] = {}
    for finding in findings:
        targets = (
            [finding.access_code_id] if finding.access_code_id else list(finding.carrier_code_ids)
        )
        for target in targets:
            concerns.setdefault(target, []).append(finding.problem)
    predictive = {
        target
        for f in findings
        if f.source == "predictive"
        for target in ([f.access_code_id] if f.access_code_id else f.carrier_code_ids)
    }
    out: list[Arrival] = []
    for code in _upcoming(codes, device.device_id, now, window):
        assert code.starts_at is not None  # _upcoming keeps only codes with a start
        errors = [i.code for i in code.errors]
        warnings = [i.code for i in code.warnings]
        blocking_warning = any(
            catalogue.lookup(i.code, "warning", message=i.message).blocking for i in code.warnings
        )
        state: ArrivalState
        if errors:
            state = "failing"
        elif code.access_code_id in predictive or blocking_warning:
            state = "at_risk"
        else:
            state = "ok"
        problems = list(dict.fromkeys([*errors, *warnings, *concerns.get(code.access_code_id, [])]))
        out.append(
            Arrival(
                access_code_id=code.access_code_id,
                device_id=device.device_id,
                name=code.name,
                device_name=device.name,
                starts_at=code.starts_at,
                ends_at=code.ends_at,
                state=state,
                problems=tuple(problems),
                is_managed=code.is_managed,
            )
        )
    return tuple(out)


def count_arrivals(arrivals: Iterable[Arrival]) -> ArrivalCounts:
    """How many arrivals, and how many of each state."""
    items = list(arrivals)
    return ArrivalCounts(
        total=len(items),
        ok=sum(1 for a in items if a.state == "ok"),
        at_risk=sum(1 for a in items if a.state == "at_risk"),
        failing=sum(1 for a in items if a.state == "failing"),
    )


def arrivals_by_day(
    arrivals: Iterable[Arrival], tz: tzinfo
) -> list[tuple[date, tuple[Arrival, ...]]]:
    """Arrivals grouped by their local start date in `tz` (TIMEZONE), days and arrivals in
    time order."""
    days: dict[date, list[Arrival]] = {}
    for arrival in sorted(arrivals, key=lambda a: (a.starts_at, a.access_code_id)):
        days.setdefault(arrival.starts_at.astimezone(tz).date(), []).append(arrival)
    return [(day, tuple(items)) for day, items in sorted(days.items())]


# ----------------------------------------------------------------------------- escalation


@dataclass(frozen=True)
class Escalation:
    """One escalation threshold: `seconds` before the start; `mention`: whether it names
    ESCALATION_MENTION; `label`: "T-4 h"."""

    seconds: float
    mention: bool
    label: str


#: T-24 h, T-4 h, T-1 h (soonest last); mentions at T-4 h and T-1 h.
ESCALATION_THRESHOLDS: tuple[Escalation, ...] = (
    Escalation(24 * 3600.0, False, "T-24 h"),
    Escalation(4 * 3600.0, True, "T-4 h"),
    Escalation(3600.0, True, "T-1 h"),
)


def due_escalation(
    starts_in: float | None, done: Iterable[float]
) -> tuple[Escalation | None, tuple[Escalation, ...]]:
    """Which escalation is due for an open alert whose code starts in `starts_in` seconds.

    Args:
        starts_in: seconds to the start (None or <= 0: nothing is due).
        done: thresholds (`Escalation.seconds`) already raised for this start.

    Returns:
        `(due, passed)`: the most urgent threshold crossed and not yet raised (or None), and
        every crossed threshold not raised yet (record them all, so a late scan raises one
        reply, never three).
    """
    if starts_in is None or starts_in <= 0:
        return None, ()
    raised = set(done)
    passed = tuple(
        t for t in ESCALATION_THRESHOLDS if starts_in <= t.seconds and t.seconds not in raised
    )
    return (passed[-1] if passed else None), passed


def in_final_hour(starts_in: float | None) -> bool:
    """True inside T-1 h of a code's start (a snooze no longer hides it)."""
    return starts_in is not None and 0 < starts_in <= FINAL_HOUR_SECONDS


def local_day(moment: datetime, tz: tzinfo) -> date:
    """The calendar date of `moment` in `tz`."""
    return moment.astimezone(tz).date()


def digest_due(now: datetime, tz: tzinfo, at_hour: int, at_minute: int) -> date | None:
    """The local date whose digest is due at `now`: today once DIGEST_TIME has passed, else
    None (yesterday's is never posted late)."""
    local = now.astimezone(tz)
    due = local.replace(hour=at_hour, minute=at_minute, second=0, microsecond=0)
    return local.date() if local >= due else None


def next_digest_at(now: datetime, tz: tzinfo, at_hour: int, at_minute: int) -> datetime:
    """The next DIGEST_TIME after `now` (aware, in `tz`)."""
    local = now.astimezone(tz)
    due = local.replace(hour=at_hour, minute=at_minute, second=0, microsecond=0)
    return due if due > local else due + timedelta(days=1)
