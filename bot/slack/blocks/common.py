"""The message type every builder returns, the one render helper, and small shared messages.

Everything is built with `slack_sdk.models.blocks` and serialised with `to_dict()`, which
enforces Slack's per-element limits (Slack's reference "Blocks"); the message-level limit of 50
blocks, which the SDK does not check, is enforced by `render`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.text import plain
from bot.slack import ids

#: Slack's limit of blocks in one message (Slack's reference "Blocks").
MAX_MESSAGE_BLOCKS = 50


@dataclass(frozen=True)
class Message:
    """A Slack message: fallback `text` (notifications, screen readers) and Block Kit `blocks`."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `chat.postMessage` / `chat.update` / `respond()`."""
        return {"text": self.text, "blocks": self.blocks}

    def content_hash(self) -> str:
        """A stable SHA-256 of what Slack would show (text + blocks), to skip no-op edits."""
        raw = json.dumps(self.as_kwargs(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def message_hash(message: Message) -> str:
    """`message.content_hash()` (kept as a function for callers that hash messages)."""
    return message.content_hash()


def render(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Serialise blocks (the SDK checks each block's limits).

    Raises:
        ValueError: more than `MAX_MESSAGE_BLOCKS` blocks.
    """
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        raise ValueError(f"{len(blocks)} blocks exceed Slack's limit of {MAX_MESSAGE_BLOCKS}")
    return [block.to_dict() for block in blocks]


def message(text: str, blocks: Sequence[Block]) -> Message:
    """A message with one-line fallback `text` (at most 300 characters) and `blocks`."""
    return Message(text=plain(text, 300), blocks=render(blocks))


def notice_message(title: str, detail: str, *, emoji: str = ":warning:") -> Message:
    """A short notice: one bold line and one detail line (both mrkdwn, caller-escaped)."""
    joiner = " " if title.rstrip().endswith((".", "!", "?", ":")) else ": "
    return Message(
        text=f"{title}{joiner}{detail}"[:300],  # the notification and fallback text
        blocks=render(
            [SectionBlock(text=MarkdownTextObject(text=f"{emoji} *{title}*\n{detail}"[:3000]))]
        ),
    )


def usage_message() -> Message:
    """How to use `/seam-code`."""
    text = (
        f"*Usage:* `{ids.COMMAND} <access_code_id>`\n"
        "Shows one Seam access code: its lock, schedule and status, every error and warning in "
        "plain words, and what to do about each.\n"
        f"Example: `{ids.COMMAND} 8f4c0b2e-5d1a-4c1e-9d5f-2b7a9e0c1a23`\n"
        "Find the ID in Seam Console or in the alert this bot posted.\n"
        f"`{ids.COMMAND} open`: the open problems, most urgent first.\n"
        f"`{ids.COMMAND} arrivals [hours]`: the arrivals in the next hours (default 72, at most "
        "216), each ready, at risk or failing.\n"
        f"`{ids.COMMAND} help`: this help."
    )
    return Message(
        text=f"Usage: {ids.COMMAND} <access_code_id>",
        blocks=render([SectionBlock(text=MarkdownTextObject(text=text))]),
    )


def with_show_pin(message: Message, access_code_id: str, label: str = "Show PIN") -> Message:
    """`message` plus a Show PIN button for `access_code_id` (reveals it ephemerally to allowed
    users, audited)."""
    button = ButtonElement(
        text=plain(label, 75), action_id=ids.ACTION_SHOW_PIN, value=access_code_id
    )
    actions = ActionsBlock(elements=[button]).to_dict()
    return Message(text=message.text, blocks=[*message.blocks, actions][:MAX_MESSAGE_BLOCKS])
