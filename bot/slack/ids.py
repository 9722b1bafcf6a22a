"""Every Slack identifier the bot uses: the command, action_ids, callback_ids and block_ids.

Builders and `register(app)` calls both import these, so a renamed id cannot orphan a handler.
"""

from __future__ import annotations

#: The slash command (must match `manifest.yml`).
COMMAND = "/seam-code"

#: Prefix of every remedy button's action_id: `remedy:<RemedyAction value>`.
REMEDY_ACTION_PREFIX = "remedy:"

#: Block ids.
BLOCK_REMEDIES = "remedies"
BLOCK_SUMMARY = "summary"


def remedy_action_id(action: str) -> str:
    """The action_id of the button for a catalogue `RemedyAction` value."""
    return f"{REMEDY_ACTION_PREFIX}{action}"


#: "Show PIN" button: reveals the full PIN ephemerally to allowed users.
ACTION_SHOW_PIN = "show_pin"

#: Alert controls: Acknowledge / Unacknowledge / Unsnooze (buttons, value = alert_key) and
#: Snooze (a labelled menu, each option's value = "<choice>|<alert_key>", choice one of
#: `SNOOZE_CHOICES`; "pick" opens a modal with a date-and-time picker).
ACTION_ALERT_ACK = "alert_ack"
ACTION_ALERT_UNACK = "alert_unack"
ACTION_ALERT_UNSNOOZE = "alert_unsnooze"
ACTION_ALERT_SNOOZE = "alert_snooze"
BLOCK_ALERT_CONTROLS = "alert_controls"
SNOOZE_CHOICES = {
    "1h": "Snooze 1 hour",
    "24h": "Snooze 24 hours",
    "end": "Snooze until it ends",
    "pick": "Snooze until a date and time…",
}
#: The "snooze until" modal: its callback_id and its date-and-time input.
CALLBACK_SNOOZE_UNTIL = "alert_snooze_until"
BLOCK_SNOOZE_UNTIL = "snooze_until"
ACTION_SNOOZE_UNTIL = "snooze_until_value"

#: Modal callback_ids: a PIN entry, a confirmation (and every message-only modal), a choice.
CALLBACK_UPDATE_PIN = "remedy_update_pin"
CALLBACK_CONFIRM = "remedy_confirm"
CALLBACK_FREE_SLOT = "remedy_free_slot"
#: Block and action ids inside modals.
BLOCK_PIN = "new_pin"
ACTION_PIN = "pin_value"
BLOCK_PICK = "pick_code"
ACTION_PICK = "picked_code"

#: App Home dashboard: "Details" on an open problem or arrival (value = access_code_id) opens a
#: modal with the code's `/seam-code` answer (the Home tab has no response_url).
ACTION_HOME_SHOW_CODE = "home_show_code"
