"""Reusable test helpers and fixtures (import fixtures from `tests.support.fixtures`)."""
