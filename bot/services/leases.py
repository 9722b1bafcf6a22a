"""Who holds a lease in the store: a name that says which process on which host.

Leases (`Leadership` in the store) expire after their ttl, timed by the store's clock. A holder
named `host:pid:nonce` that is a process on this host which no longer runs can be replaced at
once (`dead_local_holder`), so a restart on the same host never waits out a killed process's
lease; on other hosts the ttl decides.
"""

from __future__ import annotations

import os
import socket
import uuid

__all__ = ["dead_local_holder", "process_holder"]


def process_holder() -> str:
    """A lease holder name for this process: `host:pid:nonce`."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def dead_local_holder(holder: str | None) -> str | None:
    """`holder` if it names a process on this host that no longer runs (killed, crashed)."""
    if not holder:
        return None
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return None
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return holder
    except PermissionError:
        return None
    return None
