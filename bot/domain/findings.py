"""Findings: one observed problem on one access code or one device, whatever reported it.

A `Finding` is the unit the alerting works on. The periodic scanner produces them today
(`source="scan"`); Seam webhooks and predictive "at risk" checks will produce the same objects
later (`source="webhook"` / `"predictive"`), so nothing here depends on how a problem was seen.

Attribution rules (`findings_for_device`):

* An issue on a code whose scope is the device or the connected account is the *device's*
  problem. Seam copies device and account errors onto every code of the lock and flags them
  `is_device_error` / `is_connected_account_error` (Seam API reference, access codes); the
  catalogue also files some legacy code-level codes as device problems. Those become one device
  finding (`device:<device_id>:<problem>`) that remembers which codes carried it, never one
  finding per code.
* Everything else on a code is a code finding (`code:<access_code_id>:<problem>`).
* The same problem reported as both an error and a warning collapses into one finding of the
  worse kind (error).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from bot.domain.catalogue import Catalogue, CatalogueEntry, Scope
from bot.domain.text import humanize_delta
from bot.seam.models import AccessCode, Device, SeamIssue

Subject = Literal["access_code", "device"]
IssueKind = Literal["error", "warning"]
Source = Literal["scan", "webhook", "predictive"]

__all__ = [
    "URGENCY_BANDS",
    "Finding",
    "IssueKind",
    "Source",
    "Subject",
    "code_alert_key",
    "device_alert_key",
    "findings_for_device",
    "issue_scope",
    "lock_reports_trouble",
    "merge_findings",
    "seconds_to_start",
    "sort_findings",
    "time_to_start_text",
    "urgency_label",
]

#: Upper bounds (seconds before `starts_at`) of the urgency bands, most urgent first. Seam tries
#: to program a scheduled code up to 9 days before its `starts_at` (Seam's access codes guide).
URGENCY_BANDS: tuple[int, ...] = (
    3600,
    2 * 3600,
    4 * 3600,
    8 * 3600,
    12 * 3600,
    24 * 3600,
    48 * 3600,
    72 * 3600,
    9 * 86400,
)


def code_alert_key(access_code_id: str) -> str:
    """The alert key of one access code's alert: `code:<access_code_id>`."""
    return f"code:{access_code_id}"


def device_alert_key(device_id: str) -> str:
    """The alert key of one device's alert: `device:<device_id>`."""
    return f"device:{device_id}"


@dataclass(frozen=True)
class Finding:
    """One problem observed on one access code or one device.

    Attributes:
        subject: "access_code" (a problem of that code) or "device" (of the lock or its
            connected account; the codes that carried it are in `carrier_code_ids`).
        access_code_id: the code, or None for device findings.
        device_id: the code's own `device_id` (device findings: the device).
        problem: Seam's `error_code` / `warning_code` (or a predictive check's own code later).
        kind: "error" or "warning".
        message: Seam's message, verbatim (escape before display).
        scope: where the problem lives (catalogue scope; Seam's flags win).
        blocking: the catalogue says the code will not (or may not) work as booked.
        source: what reported it: "scan" now; "webhook" / "predictive" later.
        observed_at: when it was observed (aware UTC).
        carrier_code_ids: device findings only: the access codes on which Seam reported it.
        explains: device findings only: the code-level problems this one causes (the
            catalogue's `explains`); only those are folded into the lock's alert.
    """

    subject: Subject
    access_code_id: str | None
    device_id: str
    problem: str
    kind: IssueKind
    message: str
    scope: Scope
    blocking: bool
    source: Source = "scan"
    observed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    carrier_code_ids: tuple[str, ...] = ()
    explains: frozenset[str] = frozenset()

    @property
    def fingerprint(self) -> str:
        """`code:<access_code_id>:<problem>` or `device:<device_id>:<problem>`."""
        if self.subject == "access_code":
            return f"code:{self.access_code_id}:{self.problem}"
        return f"device:{self.device_id}:{self.problem}"

    @property
    def alert_key(self) -> str:
        """The alert this finding belongs to by itself (`code:<id>` or `device:<id>`)."""
        if self.subject == "access_code":
            return code_alert_key(str(self.access_code_id))
        return device_alert_key(self.device_id)

    @property
    def is_parent_cause(self) -> bool:
        """A blocking device- or account-level *error* that explains code-level symptoms.

        While one is active on a device, a code alert of that device whose every problem it
        `explains` is folded into the device alert (device offline, disconnected, hub/bridge or
        account disconnected...). Device warnings (e.g. a third-party integration) and problems
        that explain nothing fold nothing.
        """
        return (
            self.subject == "device"
            and self.kind == "error"
            and self.blocking
            and self.scope is not Scope.CODE
            and bool(self.explains)
        )


def issue_scope(issue: SeamIssue, entry: CatalogueEntry) -> Scope:
    """Where a problem lives: Seam's own flags win, then the catalogue's scope.

    Seam copies device and connected-account errors onto every code of the lock and flags them
    `is_device_error` / `is_connected_account_error` (Seam API reference, access codes).
    """
    if issue.is_connected_account_error:
        return Scope.ACCOUNT
    if issue.is_device_error or issue.is_bridge_error:
        return Scope.DEVICE
    return entry.scope


def seconds_to_start(code: AccessCode | None, now: datetime) -> float | None:
    """Seconds until a time-bound code starts (negative: the stay is under way).

    None for ongoing codes, codes without `starts_at`, and codes that already ended.
    """
    if code is None or not code.is_time_bound or code.starts_at is None:
        return None
    if code.ends_at is not None and code.ends_at <= now:
        return None
    return (code.starts_at - now).total_seconds()


def urgency_label(seconds: float | None) -> str | None:
    """ "starts within 8 h" (the band's upper bound), "stay in progress", or None (far/ongoing).

    The label is an upper bound that stays true as time passes, so a message that shows it is
    edited only when the code crosses into a more urgent band (`URGENCY_BANDS`).
    """
    if seconds is None:
        return None
    if seconds <= 0:
        return "stay in progress"
    for bound in URGENCY_BANDS:
        if seconds <= bound:
            return f"starts within {humanize_delta(bound)}"
    return None


def time_to_start_text(seconds: float | None) -> str | None:
    """Exact wording: "starts in 5 h", "stay in progress" (seconds <= 0), or None (unknown).

    `urgency_label` is the banded form alerts show; this is the exact one for one-off answers.
    """
    if seconds is None:
        return None
    if seconds <= 0:
        return "stay in progress"
    return f"starts in {humanize_delta(seconds)}"


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors before warnings, blocking before not, then by problem code (display order)."""
    return sorted(findings, key=lambda f: (f.kind != "error", not f.blocking, f.problem))


def _worse(a: Finding, b: Finding) -> Finding:
    """Merge two findings with the same fingerprint: the error wins; carriers are united."""
    keep, other = (b, a) if (b.kind == "error" and a.kind != "error") else (a, b)
    carriers = tuple(dict.fromkeys((*keep.carrier_code_ids, *other.carrier_code_ids)))
    return replace(
        keep,
        blocking=keep.blocking or other.blocking,
        message=keep.message or other.message,
        carrier_code_ids=carriers,
        explains=keep.explains | other.explains,
    )


def merge_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Collapse findings that share a fingerprint (first occurrence keeps its position)."""
    merged: dict[str, Finding] = {}
    for finding in findings:
        existing = merged.get(finding.fingerprint)
        merged[finding.fingerprint] = finding if existing is None else _worse(existing, finding)
    return list(merged.values())


def lock_reports_trouble(device: Device, catalogue: Catalogue) -> bool:
    """Whether the lock itself says it is in trouble: offline, or a device- or account-level
    error of its own (disconnected, hub offline...). False when it reports online and clean."""
    if device.online is False:
        return True
    return any(
        issue.kind == "error"
        and issue_scope(issue, catalogue.lookup(issue.code, issue.kind)) is not Scope.CODE
        for issue in device.errors
    )


def findings_for_device(
    device: Device,
    codes: Iterable[AccessCode],
    *,
    catalogue: Catalogue,
    observed_at: datetime | None = None,
    source: Source = "scan",
) -> list[Finding]:
    """Turn one device and its codes (managed and unmanaged) into findings. Pure.

    Codes whose own `device_id` is not `device.device_id` are ignored (a list endpoint that
    leaks other devices' codes cannot attribute problems to the wrong lock). A code-level
    issue that the catalogue files as a lock problem (legacy codes such as
    `august_lock_temporarily_offline`) but Seam did not flag `is_device_error` stays the code's
    own problem while the lock reports online with no error of its own: it only looks like a
    lock problem, and hiding the code's other problems under it would be untrue.

    Returns:
        Device findings first, then code findings in code order; one per fingerprint.
    """
    at = observed_at or datetime.now(UTC)
    trouble = lock_reports_trouble(device, catalogue)
    found: list[Finding] = []
    for issue in device.issues:
        entry = catalogue.lookup(issue.code, issue.kind, message=issue.message)
        found.append(
            Finding(
                subject="device",
                access_code_id=None,
                device_id=device.device_id,
                problem=issue.code,
                kind=issue.kind,
                message=issue.message,
                scope=issue_scope(issue, entry),
                blocking=entry.blocking,
                source=source,
                observed_at=at,
                explains=frozenset(entry.explains),
            )
        )
    for code in codes:
        if code.device_id != device.device_id:
            continue
        for issue in code.issues:
            entry = catalogue.lookup(issue.code, issue.kind, message=issue.message)
            scope = issue_scope(issue, entry)
            flagged = (
                issue.is_device_error or issue.is_connected_account_error or issue.is_bridge_error
            )
            on_device = scope is not Scope.CODE and (flagged or trouble or device.online is None)
            found.append(
                Finding(
                    subject="device" if on_device else "access_code",
                    access_code_id=None if on_device else code.access_code_id,
                    device_id=device.device_id,
                    problem=issue.code,
                    kind=issue.kind,
                    message=issue.message,
                    scope=scope if on_device else Scope.CODE,
                    blocking=entry.blocking,
                    source=source,
                    observed_at=at,
                    carrier_code_ids=(code.access_code_id,) if on_device else (),
                    explains=frozenset(entry.explains) if on_device else frozenset(),
                )
            )
    return merge_findings(found)
