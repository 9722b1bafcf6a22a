"""Alert routing (`ALERT_ROUTES`): which channel gets an alert, by rules read from a TOML file.

A routes file is a list of rules; the **first rule that matches wins** and names the channel
the alert is posted to (and, for a digest, the section it is listed under). An alert no rule
matches goes to `ALERT_CHANNEL`. Every key given in a rule must match (AND); a key given a list
matches when any item does (OR). Example (see `alert-routes.example.toml`)::

    [[route]]
    name = "Harbor View front doors"      # required, unique: errors and logs name the rule
    channel = "C0HARBOR01"                # required: a channel ID (C…/G…) or "#name"
    section = "Harbor View"               # optional: the digest section (default: name)
    lock_name = ["Harbor*", "*front door*"]   # glob (fnmatch), case-insensitive
    device_id = "a1b2…"                   # exact Seam device_id(s)
    manufacturer = ["august", "yale"]     # Seam's properties.manufacturer, case-insensitive
    problem = ["failed_to_set_on_device", "*offline*"]   # error/warning codes, glob
    severity = "error"                    # the alert's worst problem: "error" or "warning"
    customer_key = "harbor-view"          # Seam's customer_key, where Seam sends it
    space_id = "…"                        # one of the device's Seam space_ids

Rule keys and Seam fields: `manufacturer` is `properties.manufacturer`, `customer_key` and
`space_ids` are the device's fields of those names (Seam API reference, devices; Seam's page
"Customer portals" for customer keys); a device without them never matches a rule asking for
them. A rule with no matcher at all is refused (unmatched alerts already go to `ALERT_CHANNEL`).

Pure apart from reading the file (`load_routes`): no Slack, no Seam calls.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.domain.alert_plan import AlertGroup
from bot.seam.models import AccessCode, Device

__all__ = [
    "MATCHERS",
    "AlertRoute",
    "AlertRoutes",
    "Route",
    "RouteSubject",
    "RoutesError",
    "load_routes",
    "parse_routes",
    "subject_for_code",
    "subject_for_group",
]

Severity = Literal["error", "warning"]

#: Rule keys that select alerts (every other key but name/channel/section is refused).
MATCHERS: tuple[str, ...] = (
    "lock_name",
    "device_id",
    "manufacturer",
    "problem",
    "severity",
    "customer_key",
    "space_id",
)
_SEVERITIES = frozenset({"error", "warning"})
#: A channel ID (`C…`, `G…`) or a `#name`, as `ALERT_CHANNEL` accepts.
_CHANNEL = re.compile(r"^(?:[CG][A-Z0-9]{2,}|#[a-z0-9][a-z0-9._-]{0,79})$")


class RoutesError(ValueError):
    """The routes file is unreadable or a rule is malformed. `str(error)` is one line naming
    the file and the rule (its `name`, else its position)."""


@dataclass(frozen=True)
class RouteSubject:
    """What routing knows of one alert. Strings are as Seam sends them.

    Attributes:
        lock_name: the lock's display name (the device id when unknown).
        device_id: the Seam device_id.
        manufacturer: `properties.manufacturer`, or None.
        problems: the Seam error/warning codes of the alert.
        severity: "error" if any of its problems is an error, else "warning".
        customer_key: the device's `customer_key`, or None.
        space_ids: the device's `space_ids` (empty when Seam sends none).
    """

    lock_name: str
    device_id: str
    manufacturer: str | None = None
    problems: frozenset[str] = frozenset()
    severity: Severity = "error"
    customer_key: str | None = None
    space_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AlertRoute:
    """One rule. Empty matchers are not checked; each given one must match.

    Attributes:
        name: the rule's name (unique in its file).
        channel: where matching alerts go.
        section: the digest section of matching alerts.
        lock_name / problem: globs (fnmatch, compared lower-case).
        device_id: exact ids. manufacturer: compared lower-case.
        severity: "error" / "warning". customer_key / space_id: exact.
    """

    name: str
    channel: str
    section: str
    lock_name: tuple[str, ...] = ()
    device_id: frozenset[str] = frozenset()
    manufacturer: frozenset[str] = frozenset()
    problem: tuple[str, ...] = ()
    severity: frozenset[str] = frozenset()
    customer_key: frozenset[str] = frozenset()
    space_id: frozenset[str] = frozenset()

    def matches(self, subject: RouteSubject) -> bool:
        """Whether every matcher of this rule accepts `subject`."""
        if self.lock_name and not _any_glob(self.lock_name, [subject.lock_name]):
            return False
        if self.device_id and subject.device_id not in self.device_id:
            return False
        if self.manufacturer and (subject.manufacturer or "").lower() not in self.manufacturer:
            return False
        if self.problem and not _any_glob(self.problem, subject.problems):
            return False
        if self.severity and subject.severity not in self.severity:
            return False
        if self.customer_key and subject.customer_key not in self.customer_key:
            return False
        return not (self.space_id and not (self.space_id & subject.space_ids))


@dataclass(frozen=True)
class Route:
    """Where one alert goes: `channel`, its digest `section`, and the `rule` that matched
    (None: no rule matched, the default channel)."""

    channel: str
    section: str | None = None
    rule: str | None = None


@dataclass(frozen=True)
class AlertRoutes:
    """The rules of one routes file, in order, and the channel of unmatched alerts."""

    rules: tuple[AlertRoute, ...]
    default_channel: str

    def route(self, subject: RouteSubject) -> Route:
        """The first matching rule's channel and section, else `default_channel`."""
        for rule in self.rules:
            if rule.matches(subject):
                return Route(channel=rule.channel, section=rule.section, rule=rule.name)
        return Route(channel=self.default_channel)

    @property
    def channels(self) -> tuple[str, ...]:
        """Every channel alerts may go to (the default first), without repeats."""
        return tuple(dict.fromkeys([self.default_channel, *(r.channel for r in self.rules)]))


def _any_glob(patterns: Iterable[str], values: Iterable[str]) -> bool:
    lowered = [v.lower() for v in values]
    return any(fnmatch.fnmatchcase(v, p) for p in patterns for v in lowered)


# ============================================================================ subjects


def _device_fields(device: Device | None) -> tuple[str | None, frozenset[str]]:
    """The device's `customer_key` and `space_ids` (kept as extra fields by the tolerant
    model), when Seam sent them."""
    extra = (device.model_extra or {}) if device is not None else {}
    key = extra.get("customer_key")
    spaces = extra.get("space_ids")
    space_ids = frozenset(str(s) for s in spaces) if isinstance(spaces, list) else frozenset()
    return (key if isinstance(key, str) and key else None), space_ids


def subject_for_group(group: AlertGroup, device: Device | None) -> RouteSubject:
    """The routing subject of one planned alert (its lock as the scan saw it, or None)."""
    problems = frozenset(f.problem for f in group.all_findings)
    return _subject(group.device_id, device, problems, group.worst_kind)


def subject_for_code(code: AccessCode, device: Device | None) -> RouteSubject:
    """The routing subject of a message about one code outside a scan (someone refused at
    the door): the code's current problems, severity "error"."""
    return _subject(code.device_id, device, frozenset(i.code for i in code.issues), "error")


def _subject(
    device_id: str, device: Device | None, problems: frozenset[str], severity: Severity
) -> RouteSubject:
    customer_key, space_ids = _device_fields(device)
    return RouteSubject(
        lock_name=device.name if device is not None else device_id,
        device_id=device_id,
        manufacturer=device.manufacturer if device is not None else None,
        problems=problems,
        severity=severity,
        customer_key=customer_key,
        space_ids=space_ids,
    )


# ============================================================================ parsing


def load_routes(path: Path, default_channel: str) -> AlertRoutes:
    """Read and check a routes file (`ALERT_ROUTES`).

    Raises:
        RoutesError: the file cannot be read, is not TOML, or a rule is malformed; one line
            naming the file and the rule.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RoutesError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RoutesError(f"{path}: not valid TOML ({exc})") from None
    return parse_routes(data, default_channel, source=str(path))


def parse_routes(
    data: Mapping[str, Any], default_channel: str, *, source: str = "ALERT_ROUTES"
) -> AlertRoutes:
    """Check parsed TOML (`{"route": [{...}, ...]}`) and build the rules, in file order.

    Raises:
        RoutesError: one line `"<source>: rule '<name>' (#n): <what is wrong>"`.
    """
    unknown = sorted(set(data) - {"route"})
    if unknown:
        raise RoutesError(f"{source}: unknown top-level key(s) {', '.join(unknown)}; use [[route]]")
    raw_rules = data.get("route", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RoutesError(f"{source}: no [[route]] rules")
    rules: list[AlertRoute] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_rules, start=1):
        label = f"rule #{index}"
        if isinstance(raw, dict) and isinstance(raw.get("name"), str) and raw["name"].strip():
            label = f"rule {raw['name'].strip()!r} (#{index})"
        try:
            rule = _rule(raw)
        except ValueError as exc:
            raise RoutesError(f"{source}: {label}: {exc}") from None
        if rule.name in seen:
            raise RoutesError(f"{source}: {label}: the name is used by an earlier rule")
        seen.add(rule.name)
        rules.append(rule)
    return AlertRoutes(rules=tuple(rules), default_channel=default_channel)


def _rule(raw: Any) -> AlertRoute:
    if not isinstance(raw, dict):
        raise ValueError("must be a table")
    allowed = {"name", "channel", "section", *MATCHERS}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
        )
    name = _text(raw, "name")
    channel = _text(raw, "channel")
    if not _CHANNEL.match(channel):
        raise ValueError(f"channel {channel!r} is not a channel ID (C0123…) or #name")
    section = _text(raw, "section") if "section" in raw else name
    values = {key: _strings(raw, key) for key in MATCHERS if key in raw}
    if not values:
        raise ValueError(f"matches nothing in particular: give one of {', '.join(MATCHERS)}")
    severity = frozenset(v.lower() for v in values.get("severity", ()))
    if severity - _SEVERITIES:
        raise ValueError(f"severity must be 'error' or 'warning', not {sorted(severity)}")
    for key in ("lock_name", "problem"):
        for pattern in values.get(key, ()):
            if not pattern.strip("*?"):
                raise ValueError(f"{key} {pattern!r} matches everything")
    return AlertRoute(
        name=name,
        channel=channel,
        section=section,
        lock_name=tuple(v.lower() for v in values.get("lock_name", ())),
        device_id=frozenset(values.get("device_id", ())),
        manufacturer=frozenset(v.lower() for v in values.get("manufacturer", ())),
        problem=tuple(v.lower() for v in values.get("problem", ())),
        severity=severity,
        customer_key=frozenset(values.get("customer_key", ())),
        space_id=frozenset(values.get("space_id", ())),
    )


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} is required and must be a non-empty string")
    return value.strip()


def _strings(raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = raw[key]
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(v, str) and v.strip() for v in items)
    ):
        raise ValueError(f"{key} must be a non-empty string or a list of them")
    return tuple(v.strip() for v in items)
