"""What callers may ask of the store, as small `typing.Protocol`s, one per area.

Callers should depend on the narrowest protocol they need (`AuditLog`, `ClaimStore`,
`AlertStore`, `ScanLog`, `Leadership`), or on `StateStore` for all of them. `bot.store.Store`
(SQLite) satisfies every one structurally; a PostgreSQL implementation only has to provide the
same methods. Opening a store is backend-specific and deliberately not part of any protocol.

Conventions shared by every method: times are aware UTC `datetime`s; keys are plain strings
(`code:<access_code_id>`, `device:<device_id>`, fingerprints `<alert_key>:<problem>`); state
fields of the records are `Literal` types (see `bot.store.records`). A stored value the code
cannot read back raises `StoreCorruptError`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.alert_plan import AlertActivity
from bot.domain.findings import Finding
from bot.store.arrivals import ArrivalStore
from bot.store.records import (
    AlertIntent,
    AlertRecord,
    AlertState,
    AuditEntry,
    DigestRecord,
    FingerprintRecord,
    JournalEntry,
    RemedyClaim,
    RemedyWatch,
    ScanRecord,
)

__all__ = ["AlertStore", "AuditLog", "ClaimStore", "Leadership", "ScanLog", "StateStore"]


class AuditLog(Protocol):
    """The append-only audit trail of remedies (who, when, which code, outcome)."""

    async def record_audit(
        self,
        *,
        user_id: str,
        action: str,
        outcome: str,
        access_code_id: str | None = None,
        device_id: str | None = None,
        action_attempt_id: str | None = None,
        detail: str = "",
        at: datetime | None = None,
    ) -> int:
        """Append one audit row (who, when in UTC, which code, which action, outcome).

        `detail` must never contain a PIN. Returns the row id.
        """
        ...

    async def audit_entries(
        self, *, access_code_id: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Newest-first audit rows, optionally for one access code."""
        ...


class ClaimStore(Protocol):
    """Exactly-once claims on remedies (one claim key per remedy on one code)."""

    async def claim_remedy(
        self, claim_key: str, *, user_id: str, stale_after: float = 600, note: str = ""
    ) -> bool:
        """Claim the right to run one remedy exactly once.

        Returns True if this caller now owns `claim_key` (nobody had it, or a `running` claim is
        older than `stale_after` seconds, i.e. its process died); False if it is running or done.
        """
        ...

    async def finish_remedy(self, claim_key: str, outcome: str) -> None:
        """Mark a claimed remedy done with its outcome (e.g. "success", "error: …")."""
        ...

    async def release_remedy(self, claim_key: str) -> None:
        """Drop a claim so the remedy may be tried again (after a failure nothing changed)."""
        ...

    async def remedy_claim(self, claim_key: str) -> RemedyClaim | None:
        """The current claim on `claim_key`, if any."""
        ...


class ScanLog(Protocol):
    """Scan summaries, recorded together with the problem fingerprints each scan observed."""

    async def record_scan(
        self,
        scan: ScanRecord,
        *,
        seen: Sequence[Finding] = (),
        resolved: Sequence[str] = (),
        retention_days: float = 90.0,
    ) -> int:
        """Record one scan and what it observed, in one transaction. Returns the scan id.

        Args:
            scan: the scan's summary (`scan_id` is ignored; a new one is assigned).
            seen: findings observed by this scan: new fingerprints are inserted (first_seen =
                `observed_at`); known ones are rewritten only when their kind, message or alert
                changed (a quiet scan writes nothing but its scan row); resolved ones reopen
                with a new first_seen.
            resolved: fingerprints that this scan saw cleared (only for devices it fully saw).
            retention_days: resolved fingerprints, alerts and digests, and scan rows, older than
                this are deleted.
        """
        ...

    async def recent_scans(self, limit: int = 20) -> list[ScanRecord]:
        """The newest scans first."""
        ...


class AlertStore(Protocol):
    """Proactive alerts: problem fingerprints, one alert per code or lock, storm digests."""

    # ------------------------------------------------------------ fingerprints

    async def open_fingerprints(self) -> dict[str, FingerprintRecord]:
        """Every open fingerprint, by fingerprint.

        An unchanged open problem is not rewritten by each scan (a quiet scan writes only its
        scan row), so its `last_seen` is the later of its stored time and the latest scan's.
        """
        ...

    async def fingerprints_for(
        self, alert_key: str, *, include_resolved: bool = False
    ) -> list[FingerprintRecord]:
        """The fingerprints whose own alert is `alert_key` (open only, unless asked)."""
        ...

    # ------------------------------------------------------------------ alerts

    async def load_alerts(
        self, *, resolved_since: datetime | None = None
    ) -> dict[str, AlertRecord]:
        """Alerts not resolved, plus those resolved at or after `resolved_since`, by key."""
        ...

    async def alert(self, alert_key: str) -> AlertRecord | None:
        """One alert by key (`code:<access_code_id>` or `device:<device_id>`), any state."""
        ...

    async def alert_for_code(self, access_code_id: str) -> AlertRecord | None:
        """The access code's own alert (`code:<access_code_id>`), any state, or None.

        A code whose problems are folded into a device alert has no alert of its own; look
        the device alert up with `alert("device:<device_id>")`.
        """
        ...

    async def begin_alert(self, intent: AlertIntent, *, channel: str, at: datetime) -> None:
        """Write the intent to post a new alert (state open, no ts yet) before posting it.

        A row left from an earlier occurrence (resolved, or never posted) is reset.
        """
        ...

    async def note_post_attempt(self, alert_key: str, *, channel: str, at: datetime) -> None:
        """Record another attempt to post a pending alert (its intent row already exists)."""
        ...

    async def set_alert_posted(
        self, alert_key: str, *, channel: str, ts: str, content_hash: str, at: datetime
    ) -> None:
        """Record the Slack message of an alert, right after posting it."""
        ...

    async def set_alert_labels(self, alert_key: str, *, title: str, device_name: str) -> None:
        """Remember the code or lock name shown, for the resolved form when it is gone."""
        ...

    async def clear_alert_message(self, alert_key: str) -> None:
        """Forget an alert's Slack message (it was deleted), so it is posted again."""
        ...

    async def set_alert_rendered(self, alert_key: str, content_hash: str) -> None:
        """Record what the alert's message shows now (after a successful chat.update)."""
        ...

    async def resolve_alert(
        self, alert_key: str, *, at: datetime, content_hash: str | None = None
    ) -> None:
        """Mark an alert resolved (after its message shows the resolved form, if it has one)."""
        ...

    async def resolve_alerts(self, alert_keys: Sequence[str], *, at: datetime) -> None:
        """Mark alerts that have no message of their own resolved, in one transaction (the
        members of a digest that cleared together)."""
        ...

    async def reopen_alert(self, alert_key: str, *, content_hash: str, at: datetime) -> None:
        """A recently resolved alert is back: open again, same message (edited back)."""
        ...

    async def mark_alert_reminded(self, alert_key: str, at: datetime) -> None:
        """Record that a reminder was posted in the alert's thread."""
        ...

    async def wake_alert(self, alert_key: str, at: datetime) -> bool:
        """End a snooze (it expired or the alert got worse). True if it was snoozed."""
        ...

    async def snooze(self, alert_key: str, until: datetime, user_id: str) -> bool:
        """Snooze an open or acknowledged alert until `until` (UTC): no reminders meanwhile.

        It wakes up early if it gets worse (a new error, or a warning becoming an error).
        Returns False if there is no such unresolved alert.
        """
        ...

    async def acknowledge(self, alert_key: str, user_id: str) -> bool:
        """Acknowledge an open or snoozed alert (someone is on it): no more reminders.

        Returns False if there is no such unresolved alert.
        """
        ...

    async def set_alert_activity(self, alert_key: str, activity: AlertActivity | None) -> None:
        """Record the last thing someone did on an alert from Slack (None clears it)."""
        ...

    async def reopen_state(
        self, alert_key: str, user_id: str, *, expected: AlertState | None = None
    ) -> bool:
        """Undo a snooze or an acknowledgement (only `expected`, when given). False if
        nothing was undone."""
        ...

    # ----------------------------------------------------------------- digests

    async def begin_digest(
        self, members: Sequence[AlertIntent], *, channel: str, at: datetime
    ) -> int:
        """Write the intent to post one digest standing in for `members` (in display order).

        In one transaction: the digest row (no ts yet) and each member's alert row, marked as
        listed in the digest so it is never posted on its own. Returns the digest id.
        """
        ...

    async def digests(self, *, include_resolved: bool = False) -> list[DigestRecord]:
        """Digests (open ones unless asked), oldest first, with their member keys in order."""
        ...

    async def set_digest_posted(
        self, digest_id: int, *, channel: str, ts: str, content_hash: str, at: datetime
    ) -> None:
        """Record the Slack message of a digest, right after posting it."""
        ...

    async def set_digest_rendered(self, digest_id: int, content_hash: str) -> None:
        """Record what the digest message shows now."""
        ...

    async def resolve_digest(self, digest_id: int, *, content_hash: str, at: datetime) -> None:
        """Mark a digest resolved (every member resolved and the message says so)."""
        ...

    async def mark_digest_reminded(self, digest_id: int, at: datetime) -> None:
        """Record that a reminder was posted in the digest's thread."""
        ...


class Leadership(Protocol):
    """Named leases, so one process at a time does a job (e.g. scanning and posting alerts)."""

    async def acquire_lease(
        self, name: str, holder: str, ttl_seconds: float, *, dead_holder: str | None = None
    ) -> bool:
        """Take or renew the named lease for `ttl_seconds`; False while someone else holds it.

        Lets one scanner post at a time when several processes share the database (a lease
        left by a crashed process expires after its ttl, or at once when the caller names it as
        `dead_holder`, e.g. a process on this host that no longer exists).
        """
        ...

    async def lease_holder(self, name: str) -> str | None:
        """Who holds the named lease now (expired or not), or None."""
        ...

    async def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up (only if `holder` has it)."""
        ...


class JournalStore(Protocol):
    """The remedy journal: intent written before the first mutation, for crash recovery."""

    async def journal_begin(
        self,
        *,
        remedy: str,
        user_id: str,
        access_code_id: str,
        target_id: str,
        device_id: str | None,
        secret: str | None,
        context: str,
    ) -> int:
        """Record a remedy's intent before its first mutation. Returns its id."""
        ...

    async def journal_step(self, journal_id: int, step: str) -> None:
        """Mark one step done."""
        ...

    async def journal_finish(self, journal_id: int) -> None:
        """Done; the secret is erased."""
        ...

    async def journal_unfinished(self, *, idle_for: float = 0.0) -> list[JournalEntry]:
        """Every remedy still recorded as running with no sign of life for `idle_for`
        seconds, oldest first."""
        ...

    async def journal_take(self, journal_id: int, *, idle_for: float) -> bool:
        """Take an idle running entry over for recovery (True for exactly one caller)."""
        ...

    async def remedy_heartbeat(
        self, journal_ids: Collection[int], claim_keys: Collection[str]
    ) -> None:
        """Touch this process's running journal entries and claims (a sign of life)."""
        ...

    async def release_idle_claims(self, *, idle_for: float, keep: Collection[str] = ()) -> int:
        """Drop running claims idle for `idle_for` seconds, except `keep`. Returns how many."""
        ...


class WatchStore(Protocol):
    """Remedies Seam accepted but has not confirmed yet, settled by Seam events."""

    async def watch_remedy(self, watch: RemedyWatch) -> None:
        """Remember a change to confirm later (one per code; a newer one replaces it)."""
        ...

    async def remedy_watch(self, access_code_id: str) -> RemedyWatch | None:
        """The change waiting on this code, if any."""
        ...

    async def end_watch(self, access_code_id: str) -> bool:
        """Forget the watch on this code. True if there was one."""
        ...


class EventLog(Protocol):
    """Incoming Seam webhook and Slack event ids, so a redelivery does nothing twice."""

    async def record_event(
        self, event_key: str, event_type: str, *, at: datetime, payload: str = ""
    ) -> bool:
        """True the first time `event_key` is seen; False for a redelivery."""
        ...

    async def unfinished_events(self, *, since: datetime, prefix: str = "seam:") -> list[str]:
        """Payloads of events recorded since `since` but never handled, oldest first."""
        ...

    async def finish_event(self, event_key: str, outcome: str, *, at: datetime) -> None:
        """Mark an event handled, with a short outcome."""
        ...

    async def last_event_at(self, prefix: str = "seam:") -> datetime | None:
        """When the newest event with this key prefix arrived (aware UTC), or None."""
        ...


class StateStore(
    AlertStore,
    ClaimStore,
    AuditLog,
    ScanLog,
    Leadership,
    EventLog,
    WatchStore,
    JournalStore,
    ArrivalStore,
    Protocol,
):
    """All of the bot's persistent state: every area above, plus `close()`."""

    async def close(self) -> None:
        """Close the store's connections (idempotent)."""
        ...

    async def check_writable(self) -> None:
        """Prove the store can write now. Raises StoreError when it cannot."""
        ...
