"""HTTP routes that are not Slack's: Seam webhooks (`seam_webhooks`)."""
