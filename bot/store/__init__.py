"""Persistent state behind small protocols (alerts, claims, audit, scans, leases).

* `bot.store.records`: the records handed out and taken in, and the `Literal` types of their
  state fields (`AlertState`, `FingerprintState`, `DigestState`, `ClaimState`, `Subject`,
  `IssueKind`, `Source`). Times are aware UTC datetimes.
* `bot.store.protocols`: `AlertStore`, `ClaimStore`, `AuditLog`, `ScanLog`, `Leadership`, and
  `StateStore` (all of them plus `close()`). Depend on these, not on a backend.
* `bot.store.sqlite`: `Store` (alias `SqliteStore`), the SQLite implementation.
* `bot.store.migrations`: the versioned schema, applied by `Store.open`.
* `bot.store.errors`: `StoreError`, `StoreSchemaError` (schema too new / migration failed),
  `StoreCorruptError` (a stored value that cannot be read back; also a `ValueError`).

This package imports only the stdlib, aiosqlite and `bot.domain`: never services, Slack,
remedies or the app.
"""

from bot.store.arrivals import ArrivalDigestRecord, ArrivalStore
from bot.store.errors import StoreCorruptError, StoreError, StoreSchemaError
from bot.store.migrations import SCHEMA_VERSION
from bot.store.protocols import (
    AlertStore,
    AuditLog,
    ClaimStore,
    EventLog,
    JournalStore,
    Leadership,
    ScanLog,
    StateStore,
    WatchStore,
)
from bot.store.records import (
    AlertIntent,
    AlertRecord,
    AlertState,
    AuditEntry,
    ClaimState,
    DigestRecord,
    DigestState,
    FingerprintRecord,
    FingerprintState,
    IssueKind,
    JournalEntry,
    RemedyClaim,
    RemedyWatch,
    ScanRecord,
    Source,
    Subject,
    utcnow,
)
from bot.store.sqlite import SqliteStore, Store

__all__ = [
    "SCHEMA_VERSION",
    "AlertIntent",
    "AlertRecord",
    "AlertState",
    "AlertStore",
    "ArrivalDigestRecord",
    "ArrivalStore",
    "AuditEntry",
    "AuditLog",
    "ClaimState",
    "ClaimStore",
    "DigestRecord",
    "DigestState",
    "EventLog",
    "FingerprintRecord",
    "FingerprintState",
    "IssueKind",
    "JournalEntry",
    "JournalStore",
    "Leadership",
    "RemedyClaim",
    "RemedyWatch",
    "ScanLog",
    "ScanRecord",
    "Source",
    "SqliteStore",
    "StateStore",
    "Store",
    "StoreCorruptError",
    "StoreError",
    "StoreSchemaError",
    "Subject",
    "WatchStore",
    "utcnow",
]
