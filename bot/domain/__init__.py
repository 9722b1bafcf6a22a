"""The domain layer: pure rules with no I/O and no Slack.

`catalogue` (what each Seam error/warning means and which remedies it advises), `findings`
(one observed problem, the scope rule, urgency), `observation` (what one look at Seam saw and
which devices it covers), `alert_plan` (grouping and folding), `pins` (PIN rules), `text`
(masking, escaping, Slack date tokens), `code_status` (Seam's code statuses in plain words),
`device_check` (a lock's state and what to do for it), `stays` (where a code is in its guest's
stay, and what deleting it would do).
"""
