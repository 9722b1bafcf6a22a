"""The long-lived services, bundled once by the composition root (`bot.app`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.catalogue import Catalogue
from bot.seam.client import SeamClient
from bot.services.admission import WorkGate
from bot.services.alerting import AlertService, Annotation, ReconcileReport
from bot.services.board import Board
from bot.services.digest import PreArrivalDigest
from bot.services.events import EventService, WebhookHealth
from bot.services.remedy_runner import RemedyRunner
from bot.settings import Settings
from bot.store import StateStore


@dataclass
class Services:
    """Settings, the one Seam client, the catalogue, the store and the use-case services.

    `alerts` is the AlertService for `ALERT_CHANNEL` (None when alerts are off): the one way
    anything refreshes an alert (`alerts.refresh_devices`). `remedies` runs every remedy
    (built from settings, Seam and the store unless a `runner` is given).
    """

    settings: Settings
    seam: SeamClient
    catalogue: Catalogue
    store: StateStore
    alerts: AlertService | None = None
    remedies: RemedyRunner = field(init=False)
    runner: RemedyRunner | None = None
    events: EventService | None = None
    #: Bounds the background work acked Slack requests start (`REQUESTS_PER_USER`/`_IN_FLIGHT`).
    work: WorkGate = field(init=False)

    def __post_init__(self) -> None:
        self.remedies = self.runner or RemedyRunner(self.settings, self.seam, self.store)
        self.work = WorkGate(
            per_user=self.settings.requests_per_user, total=self.settings.requests_in_flight
        )

    async def refresh_devices(
        self, device_ids: list[str], *, annotation: Annotation | None = None
    ) -> ReconcileReport | None:
        """Refresh the alerts of these devices now, if alerts are on (`AlertService`).

        Returns the report (None when alerts are off or there is nothing to read).
        """
        if self.alerts is None or not device_ids:
            return None
        return await self.alerts.refresh_devices(device_ids, annotation=annotation)

    webhook_health: WebhookHealth | None = None
    digest: PreArrivalDigest | None = None
    """The pre-arrival digest (ALERT_CHANNEL set); its daily schedule runs with the scanner."""
    board: Board | None = None
    """Open problems and arrivals for `/seam-code open|arrivals` and the App Home."""

    def webhook_warning(self) -> str | None:
        """The current "webhooks look silent" warning, if any (`WebhookHealth`)."""
        return self.webhook_health.warning if self.webhook_health is not None else None

    async def drain(self, grace: float = 10.0) -> None:
        """Wait up to `grace` seconds for remedies in flight (at shutdown)."""
        await self.remedies.drain(grace)
