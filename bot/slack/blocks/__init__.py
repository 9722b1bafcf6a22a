"""Block Kit builders grouped by surface: `common` (the message type, notices), `code` (the
`/seam-code` answer and buttons), `alerts` (alert messages, replies, digests), `modals` (remedy
modals), `replies` (failure answers) and `home` (the App Home tab). Pure: no I/O."""
