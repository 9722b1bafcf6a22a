"""Seam access-code doctor for Slack: finds access codes Seam could not program and fixes them."""

__version__ = "0.1.0"
