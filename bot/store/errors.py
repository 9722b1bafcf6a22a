"""Errors raised by the store, whatever the backend (SQLite today, PostgreSQL later)."""

from __future__ import annotations

__all__ = ["StoreCorruptError", "StoreError", "StoreSchemaError"]


class StoreError(Exception):
    """Base class of the errors the store raises on purpose (never a driver error)."""


class StoreSchemaError(StoreError):
    """The database's schema cannot be used by this code.

    Raised at start-up (`Store.open`) when the database records a schema version newer than
    the newest migration this code knows (it was written by a newer release), or when a
    migration fails. The message is one line, fit for a log or a crash report.
    """


class StoreCorruptError(StoreError, ValueError):
    """A stored value is not one the code can read back.

    E.g. a state column holding a text that is not one of its `Literal` values, or a time
    column that is not ISO 8601. The message names the table, the column and the value.
    """

    def __init__(self, table: str, column: str, value: object, expected: str) -> None:
        """Describe the bad value: `table.column` holds `value`; `expected` says what fits."""
        self.table = table
        self.column = column
        self.value = value
        super().__init__(f"{table}.{column} holds {value!r}, expected {expected}")
