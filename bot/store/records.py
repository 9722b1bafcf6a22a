"""The records the store hands out and takes in, and the `Literal` types of their state fields.

Backend-neutral: nothing here knows about SQL. Every time is an aware UTC `datetime`. A state
text read back from storage is checked against its `Literal` with `literal_value`, which raises
`StoreCorruptError` (naming table, column and value) instead of letting an unknown state leak
into the code as a plain `str`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeVar, get_args

from bot.domain.alert_plan import AlertActivity, AlertState
from bot.domain.findings import IssueKind, Source, Subject
from bot.store.errors import StoreCorruptError

__all__ = [
    "ALERT_STATES",
    "CLAIM_STATES",
    "DIGEST_STATES",
    "FINGERPRINT_STATES",
    "ISSUE_KINDS",
    "SOURCES",
    "SUBJECTS",
    "AlertIntent",
    "AlertRecord",
    "AlertState",
    "AuditEntry",
    "ClaimState",
    "DigestRecord",
    "DigestState",
    "FingerprintRecord",
    "FingerprintState",
    "IssueKind",
    "JournalEntry",
    "RemedyClaim",
    "RemedyWatch",
    "ScanRecord",
    "Source",
    "Subject",
    "WatchExpect",
    "literal_value",
    "utcnow",
]

#: `alert_fingerprints.state`: the problem is currently seen (open) or was seen cleared.
FingerprintState = Literal["open", "resolved"]
#: `alert_digests.state`: some member still unresolved (open), or all resolved.
DigestState = Literal["open", "resolved"]
#: `remedy_claims.state`: a remedy is being run (running) or has finished (done).
ClaimState = Literal["running", "done"]
# `Subject` ("access_code" | "device"), `IssueKind` ("error" | "warning") and `Source`
# ("scan" | "webhook" | "predictive") are the domain's own (bot.domain.findings), re-exported.

#: The allowed values of each `Literal`, in declaration order (for checks and tests).
ALERT_STATES: tuple[AlertState, ...] = get_args(AlertState)
FINGERPRINT_STATES: tuple[FingerprintState, ...] = get_args(FingerprintState)
DIGEST_STATES: tuple[DigestState, ...] = get_args(DigestState)
CLAIM_STATES: tuple[ClaimState, ...] = get_args(ClaimState)
SUBJECTS: tuple[Subject, ...] = get_args(Subject)
ISSUE_KINDS: tuple[IssueKind, ...] = get_args(IssueKind)
SOURCES: tuple[Source, ...] = get_args(Source)

_L = TypeVar("_L", bound=str)


def literal_value(allowed: tuple[_L, ...], value: object, *, table: str, column: str) -> _L:
    """`value` as one of `allowed` (e.g. `ALERT_STATES`), typed as that `Literal`.

    Args:
        allowed: the values of the `Literal`, e.g. `ALERT_STATES`.
        value: what was read from storage (any type; only an exact `str` match is accepted).
        table / column: where it was read from, for the error message.

    Raises:
        StoreCorruptError: `value` is not one of `allowed` (names table, column and value).
    """
    for candidate in allowed:
        if isinstance(value, str) and value == candidate:
            return candidate
    raise StoreCorruptError(table, column, value, "one of " + ", ".join(map(repr, allowed)))


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class AuditEntry:
    """One audited remedy. `at` is aware UTC. Never holds a PIN.

    Attributes:
        id: the row id (increasing: newer entries have larger ids).
        at: when it happened (aware UTC).
        user_id: the Slack user who ran it.
        action: which remedy, e.g. "update_pin".
        access_code_id / device_id / action_attempt_id: the Seam objects concerned, if any.
        outcome: free text, e.g. "success" or "error: …".
        detail: free text (at most 1000 characters), never a PIN.
    """

    id: int
    at: datetime
    user_id: str
    action: str
    access_code_id: str | None
    device_id: str | None
    action_attempt_id: str | None
    outcome: str
    detail: str


@dataclass(frozen=True)
class RemedyClaim:
    """Who claimed a remedy key, whether it is still `running` or `done`, and its outcome.

    Attributes:
        claim_key: the key claimed (one remedy on one code, exactly once).
        user_id: the Slack user holding the claim.
        state: "running" or "done".
        outcome: the outcome given to `finish_remedy` (None while running).
        claimed_at: when it was (last) claimed, aware UTC.
    """

    claim_key: str
    user_id: str
    state: ClaimState
    outcome: str | None
    claimed_at: datetime


@dataclass(frozen=True)
class AlertIntent:
    """The identity of an alert about to be posted (or listed in a digest).

    Attributes:
        alert_key: `code:<access_code_id>` or `device:<device_id>`.
        subject: "access_code" or "device".
        access_code_id: the code (None for a device alert).
        device_id: the lock.
        title / device_name: the code or lock name shown (kept for the resolved form).
    """

    alert_key: str
    subject: Subject
    access_code_id: str | None
    device_id: str
    title: str = ""
    device_name: str = ""


@dataclass(frozen=True)
class AlertRecord:
    """One alert: its state and where its Slack message is. Times are aware UTC.

    `state` is open, snoozed, acknowledged or resolved. `ts` None with `digest_id` None means
    pending: not posted yet (Slack refused, or the process stopped before posting).
    `state_by` / `state_at` say who snoozed or acknowledged it, and when. `activity` is the
    last thing someone did on it from Slack (a re-check, a remedy), shown on the message.
    """

    alert_key: str
    subject: Subject
    access_code_id: str | None
    device_id: str
    state: AlertState
    channel: str | None
    ts: str | None
    digest_id: int | None
    content_hash: str | None
    opened_at: datetime
    post_attempted_at: datetime | None
    posted_at: datetime | None
    last_reminded_at: datetime | None
    resolved_at: datetime | None
    snoozed_until: datetime | None
    state_by: str | None
    state_at: datetime | None
    title: str = ""
    device_name: str = ""
    activity: AlertActivity | None = None

    @property
    def is_pending(self) -> bool:
        """Not resolved, and neither posted nor listed in a digest."""
        return self.state != "resolved" and self.ts is None and self.digest_id is None


@dataclass(frozen=True)
class FingerprintRecord:
    """One problem fingerprint: when it was first and last seen (aware UTC), whether it is open.

    `fingerprint` is `code:<access_code_id>:<problem>` or `device:<device_id>:<problem>`;
    `alert_key` the alert it belongs to by itself; `kind` "error" or "warning"; `source` what
    reported it ("scan", "webhook" or "predictive"); `state` "open" or "resolved".
    """

    fingerprint: str
    alert_key: str
    subject: Subject
    access_code_id: str | None
    device_id: str
    problem: str
    kind: IssueKind
    message: str
    source: Source
    state: FingerprintState
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class DigestRecord:
    """One storm digest message and the alert keys it lists (in display order).

    `state` is "open" or "resolved"; `ts` None means not posted yet. Times are aware UTC.
    """

    digest_id: int
    channel: str
    ts: str | None
    state: DigestState
    content_hash: str | None
    created_at: datetime
    posted_at: datetime | None
    last_reminded_at: datetime | None
    resolved_at: datetime | None
    member_keys: tuple[str, ...]


@dataclass(frozen=True)
class ScanRecord:
    """A scan's summary as stored: times aware UTC, counts, Seam requests, errors (one text).

    `scan_id` is 0 until stored (`record_scan` assigns one); `errors` is kept to 2000
    characters.
    """

    started_at: datetime
    finished_at: datetime
    complete: bool
    devices: int
    codes: int
    findings: int
    seam_calls: int
    errors: str = ""
    scan_id: int = 0


#: What a watched remedy waits for Seam to show: the code set on the lock, gone, or managed.
WatchExpect = Literal["set", "gone", "managed"]


@dataclass(frozen=True)
class RemedyWatch:
    """A change Seam accepted but has not confirmed on the lock yet ("still working on it").

    Settled by the matching Seam event (or the next read that shows it). `channel`/`ts`: the
    alert thread to tell; `created_at` aware UTC.
    """

    access_code_id: str
    remedy: str
    label: str
    user_id: str
    expect: WatchExpect
    channel: str | None
    ts: str | None
    created_at: datetime


@dataclass(frozen=True)
class JournalEntry:
    """One remedy's write-ahead record: written before the first Seam mutation.

    `steps`: the steps done so far, in order; `secret`: the encrypted intent (never a PIN in
    clear; erased once done); `context`: JSON of where to report and which claims to release.
    """

    journal_id: int
    remedy: str
    user_id: str
    access_code_id: str
    target_id: str
    device_id: str | None
    steps: tuple[str, ...]
    state: ClaimState
    secret: str | None
    context: str
    created_at: datetime
