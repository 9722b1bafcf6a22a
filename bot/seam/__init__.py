"""Seam API access: the async client, its typed errors, tolerant models and the log of recent
failed calls (`failures`)."""

from bot.seam.client import SeamClient
from bot.seam.errors import (
    SeamApiError,
    SeamConflictError,
    SeamIncompleteListError,
    SeamInvalidInputError,
    SeamInvalidResponseError,
    SeamNotFoundError,
    SeamRateLimitedError,
    SeamUnauthorizedError,
    SeamUnavailableError,
)
from bot.seam.models import AccessCode, ActionAttempt, Device, SeamIssue

__all__ = [
    "AccessCode",
    "ActionAttempt",
    "Device",
    "SeamApiError",
    "SeamClient",
    "SeamConflictError",
    "SeamIncompleteListError",
    "SeamInvalidInputError",
    "SeamInvalidResponseError",
    "SeamIssue",
    "SeamNotFoundError",
    "SeamRateLimitedError",
    "SeamUnauthorizedError",
    "SeamUnavailableError",
]
