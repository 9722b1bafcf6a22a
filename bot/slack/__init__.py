"""The Slack layer: everything that knows Bolt, Block Kit, `response_url` and `private_metadata`.

`ids` (every Slack identifier), `client` (Web API clients), `payloads` (reading what Slack
sends), `middleware` (services injection, response_url guard, permission check, Seam errors
turned into replies), `respond` (answering a user), `alert_channel` (the alert channel), `blocks`
(builders by surface) and `listeners` (parse, call one service, render, reply).
"""
