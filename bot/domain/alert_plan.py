"""Alert planning, pure: which alert each finding belongs to, what folds into what, "is it worse".

An alert is one access code (`code:<access_code_id>`, listing all of its current problems) or one
lock (`device:<device_id>`, for device- and account-level problems, listing the codes affected).
A blocking device- or account-level error (a *parent cause*: offline, disconnected, hub or account
disconnected) makes one device alert; a code alert of that lock is folded into it only when every
problem of the code is one the parent explains (the catalogue's `explains`: failed to set,
programming delay, failed to remove...). A code with a problem of its own cause (a duplicate PIN,
a bad format, slots full...) keeps its own alert and its buttons.
`AlertStatus` and `DigestItem` are the plain data the renderers show. No I/O, no Slack.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.domain.findings import (
    Finding,
    Subject,
    code_alert_key,
    device_alert_key,
    seconds_to_start,
)
from bot.seam.models import AccessCode

__all__ = [
    "AlertActivity",
    "AlertGroup",
    "AlertState",
    "AlertStatus",
    "DigestItem",
    "SeenProblem",
    "is_worse",
    "plan_alerts",
]

#: The states an alert can be in (the store's `alerts.state`).
AlertState = Literal["open", "snoozed", "acknowledged", "resolved"]


class SeenProblem(Protocol):
    """What `is_worse` needs to know of a problem seen before: its kind ("error"/"warning")."""

    @property
    def kind(self) -> str: ...


@dataclass(frozen=True)
class AlertActivity:
    """The last thing someone did on an alert from Slack, shown on the alert itself.

    Attributes:
        verb: what was done ("Re-checked", or a remedy's label such as "Update PIN").
        by: the Slack user id who did it.
        at: when (aware UTC).
        outcome: what came of it, in a few words ("unchanged", "resolved", "changed", or a
            remedy's outcome such as "done" / "failed").
        hidden_actions: remedy keys whose buttons this outcome replaces (a remedy that went
            through is not offered again on the same alert).
        replaced_by: the new access_code_id of a code that was deleted and re-created.
    """

    verb: str
    by: str
    at: datetime
    outcome: str = ""
    hidden_actions: tuple[str, ...] = ()
    replaced_by: str | None = None

    def dumps(self) -> str:
        """JSON for storage (times as ISO 8601 UTC)."""
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str | None) -> AlertActivity | None:
        """Parse `dumps` output; None for empty or unreadable text (never raises)."""
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return cls(
                verb=str(data["verb"]),
                by=str(data["by"]),
                at=datetime.fromisoformat(str(data["at"])),
                outcome=str(data.get("outcome") or ""),
                hidden_actions=tuple(str(a) for a in data.get("hidden_actions") or ()),
                replaced_by=str(data["replaced_by"]) if data.get("replaced_by") else None,
            )
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class AlertStatus:
    """What the alert's state line says. Times are aware UTC.

    Attributes:
        state: "open", "snoozed", "acknowledged" or "resolved".
        first_seen: when the oldest of its current problems was first seen.
        snoozed_until: end of a snooze (state "snoozed").
        by: Slack user id who snoozed or acknowledged it.
        activity: the last thing someone did on it from Slack (shown as a line; its outcome
            replaces the buttons it names).
    """

    state: AlertState = "open"
    first_seen: datetime | None = None
    snoozed_until: datetime | None = None
    by: str | None = None
    activity: AlertActivity | None = None


@dataclass(frozen=True)
class DigestItem:
    """One line of a digest: a code (or lock) alert in short form."""

    alert_key: str
    title: str
    device_name: str
    problem_titles: tuple[str, ...]
    worst_kind: Literal["error", "warning"]
    starts_in: float | None
    starts_at: datetime | None
    access_code_id: str | None
    open: bool = True


@dataclass(frozen=True)
class AlertGroup:
    """What one alert should show now, from one scan. Pure data.

    Attributes:
        key: `code:<access_code_id>` or `device:<device_id>`.
        subject: "access_code" or "device".
        device_id / access_code_id: the subject (access_code_id None for device alerts).
        findings: the alert's own findings (code-level for a code alert; device- and
            account-level for a device alert).
        affected: device alerts: `(access_code_id, its code-level findings folded in here)` for
            each affected code, most urgent first.
        folded_into: code alerts: the device alert that stands in for it while a parent-cause
            problem is active on its lock (it is then not posted on its own).
        starts_in: seconds to the soonest `starts_at` concerned (negative: stay in progress;
            None: ongoing codes or nothing scheduled within reach).
    """

    key: str
    subject: Subject
    device_id: str
    access_code_id: str | None
    findings: tuple[Finding, ...]
    affected: tuple[tuple[str, tuple[Finding, ...]], ...] = ()
    folded_into: str | None = None
    starts_in: float | None = None

    @property
    def all_findings(self) -> tuple[Finding, ...]:
        """Own findings plus the code-level findings folded into a device alert."""
        return self.findings + tuple(f for _, own in self.affected for f in own)

    @property
    def worst_kind(self) -> Literal["error", "warning"]:
        """ "error" if any finding (folded ones included) is an error."""
        return "error" if any(f.kind == "error" for f in self.all_findings) else "warning"

    def urgency_key(self) -> tuple[bool, float, bool, str]:
        """Sort key: soonest check-in first (stays in progress first), then errors first."""
        return (
            self.starts_in is None,
            self.starts_in if self.starts_in is not None else 0.0,
            self.worst_kind != "error",
            self.key,
        )


def plan_alerts(
    findings: Iterable[Finding], codes: Mapping[str, AccessCode], now: datetime
) -> dict[str, AlertGroup]:
    """Group findings into alerts and decide which code alerts are folded into device alerts.

    Args:
        findings: one per fingerprint (e.g. `ScanResult.findings`).
        codes: code snapshots by access_code_id (for urgency and ordering).
        now: aware UTC.

    Returns:
        Alert groups by key, in input order (code alerts first, then device alerts).
    """
    code_findings: dict[str, list[Finding]] = {}
    device_findings: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.subject == "access_code" and finding.access_code_id:
            code_findings.setdefault(finding.access_code_id, []).append(finding)
        elif finding.subject == "device":
            device_findings.setdefault(finding.device_id, []).append(finding)
    explained: dict[str, frozenset[str]] = {
        d: frozenset().union(*(f.explains for f in fs if f.is_parent_cause))
        for d, fs in device_findings.items()
    }

    def folds(access_code_id: str, own: list[Finding]) -> bool:
        """Every problem of the code is one its lock's active parent problem explains."""
        causes = explained.get(own[0].device_id, frozenset())
        return bool(causes) and all(f.problem in causes for f in own)

    folded = {cid for cid, own in code_findings.items() if folds(cid, own)}

    def starts_in(access_code_id: str) -> float | None:
        return seconds_to_start(codes.get(access_code_id), now)

    def code_order(access_code_id: str) -> tuple[bool, float, str]:
        s = starts_in(access_code_id)
        code = codes.get(access_code_id)
        return (s is None, s if s is not None else 0.0, (code.name if code else None) or "")

    groups: dict[str, AlertGroup] = {}
    for access_code_id, own in code_findings.items():
        device_id = own[0].device_id
        groups[code_alert_key(access_code_id)] = AlertGroup(
            key=code_alert_key(access_code_id),
            subject="access_code",
            device_id=device_id,
            access_code_id=access_code_id,
            findings=tuple(own),
            folded_into=device_alert_key(device_id) if access_code_id in folded else None,
            starts_in=starts_in(access_code_id),
        )
    for device_id, own in device_findings.items():
        members: dict[str, None] = {}
        for finding in own:
            members.update(dict.fromkeys(finding.carrier_code_ids))
        for access_code_id, fs in code_findings.items():
            if access_code_id in folded and fs[0].device_id == device_id:
                members[access_code_id] = None
        ordered = sorted(members, key=code_order)
        affected = tuple(
            (cid, tuple(code_findings.get(cid, ())) if cid in folded else ()) for cid in ordered
        )
        soonest = [s for s in (starts_in(cid) for cid in ordered) if s is not None]
        groups[device_alert_key(device_id)] = AlertGroup(
            key=device_alert_key(device_id),
            subject="device",
            device_id=device_id,
            access_code_id=None,
            findings=tuple(own),
            affected=affected,
            starts_in=min(soonest) if soonest else None,
        )
    return groups


def is_worse(group: AlertGroup, before: Mapping[str, SeenProblem]) -> list[Finding]:
    """The findings that make `group` worse than the open fingerprints `before`.

    Worse = an error that was not open before, or a fingerprint that was a warning and is now an
    error. Folded code-level findings count for a device alert.
    """
    worse: list[Finding] = []
    for finding in group.all_findings:
        if finding.kind != "error":
            continue
        previous = before.get(finding.fingerprint)
        if previous is None or previous.kind != "error":
            worse.append(finding)
    return worse
