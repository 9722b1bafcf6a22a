"""HTTP routes that are not Slack's: Seam webhooks (`seam_webhooks`); and the start-up line
naming the URL served (`serving`)."""
