"""The services layer: use cases with typed arguments, never Slack payloads.

`lookup` (one code and its device), `observing` (reading Seam into an `Observation`),
`alerting` (`AlertService`: reconcile an observation; `refresh_devices`), `scanning` (the
periodic `Scanner`), `remedy_runner` (permission, claim, run, audit) and `container`
(`Services`, the bundle the composition root builds).
"""
