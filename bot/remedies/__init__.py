"""The remedies layer: each fix's Seam side, one module per remedy, registered in `registry`.

Depends only on `bot.domain` and `bot.seam`; knows nothing of Slack or storage.
"""
