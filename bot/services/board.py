"""The board: what `/seam-code open`, `/seam-code arrivals` and the App Home show.

`Board.observe(observation, report)` is an `AlertService` listener: after every reconcile (a
scan, a button's refresh, a Seam webhook) it keeps the compact arrivals of the devices that
observation fully saw (`Observation.arrivals`, merged per device, so a one-lock refresh never
drops the others) and the start times of the codes with findings, then tells its subscribers
(the App Home re-publisher) when alerts changed. Open problems are read from the alert store
(what is really alerted, snoozed or acknowledged), urgent first.

Nothing here keeps full `AccessCode` models. With no observation yet (scanning off), `arrivals`
reads Seam once (`scan_workspace`) and keeps that.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.arrivals import ARRIVAL_WINDOW_SECONDS, DEFAULT_AT_RISK_HOURS, Arrival
from bot.domain.catalogue import Catalogue
from bot.domain.dashboard import OpenProblem, order_problems
from bot.domain.observation import Observation
from bot.seam.client import SeamClient
from bot.services.alerting import ReconcileReport
from bot.services.observing import scan_workspace
from bot.store import StateStore, utcnow

logger = logging.getLogger(__name__)

__all__ = ["Board", "BoardSnapshot"]


@dataclass(frozen=True)
class BoardSnapshot:
    """Everything the dashboard shows at one moment (aware UTC times)."""

    now: datetime
    problems: tuple[OpenProblem, ...]
    arrivals: tuple[Arrival, ...]
    last_scan_at: datetime | None
    last_webhook_at: datetime | None


class Board:
    """Open problems and arrivals for the dashboard and the commands. One per process.

    Args:
        store: the alert store (open alerts and their problems; last scan and webhook times).
        catalogue: unused for reading; kept so renderers can share one object.
        seam: to read Seam once when nothing was observed yet (None: never).
        at_risk_hours: AT_RISK_HOURS for that read.
        max_age: seconds after which the kept arrivals are read again from Seam when asked
            (no scanner feeding the board); None: never (the scanner keeps them fresh).
        clock: current time (aware UTC).
    """

    def __init__(
        self,
        store: StateStore,
        catalogue: Catalogue,
        *,
        seam: SeamClient | None = None,
        at_risk_hours: float = DEFAULT_AT_RISK_HOURS,
        max_age: float | None = 300.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.max_age = max_age
        self.catalogue = catalogue
        self.seam = seam
        self.at_risk_hours = at_risk_hours
        self._clock = clock
        self._arrivals: dict[str, tuple[Arrival, ...]] = {}
        self._starts: dict[str, datetime] = {}
        self._observed_at: datetime | None = None
        self.subscribers: list[Callable[[], Awaitable[None]]] = []
        """Called (in order, errors logged) when an observation changed some alert."""

    @property
    def observed_at(self) -> datetime | None:
        """When the latest observation finished (aware UTC), or None."""
        return self._observed_at

    async def observe(self, observation: Observation, report: ReconcileReport) -> None:
        """Keep what `observation` fully saw; notify subscribers if `report` changed alerts."""
        self.take(observation)
        changed = report.posted or report.updated or report.resolved or report.reopened
        if changed or report.rendered:
            for subscriber in self.subscribers:
                try:
                    await subscriber()
                except Exception:
                    logger.exception("a board subscriber failed")

    def take(self, observation: Observation) -> None:
        """Merge `observation`'s arrivals (per device it covered) and code start times."""
        by_device: dict[str, list[Arrival]] = {d: [] for d in observation.covered_device_ids}
        for arrival in observation.arrivals:
            by_device.setdefault(arrival.device_id, []).append(arrival)
        for device_id, arrivals in by_device.items():
            self._arrivals[device_id] = tuple(arrivals)
        if observation.devices_listed:
            for device_id in list(self._arrivals):
                if device_id not in observation.devices:
                    del self._arrivals[device_id]  # removed from Seam
        for finding in observation.findings:
            if finding.access_code_id:
                code = observation.code(finding.access_code_id)
                if code is not None and code.is_time_bound and code.starts_at is not None:
                    self._starts[finding.access_code_id] = code.starts_at
        for arrival in observation.arrivals:
            self._starts[arrival.access_code_id] = arrival.starts_at
        horizon = observation.finished_at - timedelta(days=10)  # stays long over are forgotten
        self._starts = {cid: at for cid, at in self._starts.items() if at >= horizon}
        self._observed_at = observation.finished_at

    async def arrivals(self, hours: float = ARRIVAL_WINDOW_SECONDS / 3600) -> list[Arrival]:
        """Arrivals starting within `hours` (at most 72 h are kept), soonest first."""
        stale = self._observed_at is None or (
            self.max_age is not None
            and (self._clock() - self._observed_at).total_seconds() > self.max_age
        )
        if stale and self.seam is not None:
            self.take(
                await scan_workspace(
                    self.seam, catalogue=self.catalogue, at_risk_hours=self.at_risk_hours
                )
            )
        now = self._clock()
        until = now + timedelta(hours=hours)
        found = [
            a
            for arrivals in self._arrivals.values()
            for a in arrivals
            if now < a.starts_at <= until
        ]
        return sorted(found, key=lambda a: (a.starts_at, a.access_code_id))

    async def open_problems(self) -> list[OpenProblem]:
        """Every unresolved alert (posted, pending or in a storm digest), urgent first."""
        now = self._clock()
        alerts = await self.store.load_alerts()
        fingerprints = await self.store.open_fingerprints()
        by_alert: dict[str, list[tuple[str, str, str]]] = {}
        for fp in fingerprints.values():
            by_alert.setdefault(fp.alert_key, []).append((fp.problem, fp.kind, fp.source))
        arrivals_by_device: dict[str, list[datetime]] = {}
        for arrivals in self._arrivals.values():
            for a in arrivals:
                arrivals_by_device.setdefault(a.device_id, []).append(a.starts_at)
        problems: list[OpenProblem] = []
        for rec in alerts.values():
            if rec.state == "resolved":
                continue
            own = by_alert.get(rec.alert_key, [])
            ordered = sorted(own, key=lambda p: (p[1] != "error", p[0]))
            if rec.subject == "access_code" and rec.access_code_id:
                starts_at = self._starts.get(rec.access_code_id)
            else:
                upcoming = [s for s in arrivals_by_device.get(rec.device_id, []) if s > now]
                starts_at = min(upcoming) if upcoming else None
            problems.append(
                OpenProblem(
                    alert_key=rec.alert_key,
                    subject=rec.subject,
                    title=rec.title or rec.alert_key,
                    device_name=rec.device_name or rec.device_id,
                    access_code_id=rec.access_code_id,
                    device_id=rec.device_id,
                    state=rec.state,
                    problems=tuple(
                        (p, "error" if k == "error" else "warning") for p, k, _ in ordered
                    ),
                    starts_at=starts_at,
                    predictive=bool(own) and all(s == "predictive" for _, _, s in own),
                )
            )
        return order_problems(problems, now)

    async def snapshot(self) -> BoardSnapshot:
        """Problems, arrivals (72 h), and when the last scan and Seam webhook happened."""
        problems = await self.open_problems()
        arrivals = await self.arrivals()
        scans = await self.store.recent_scans(limit=1)
        last_scan = scans[0].finished_at if scans else self._observed_at
        return BoardSnapshot(
            now=self._clock(),
            problems=tuple(problems),
            arrivals=tuple(arrivals),
            last_scan_at=last_scan,
            last_webhook_at=await self.store.last_event_at(),
        )
