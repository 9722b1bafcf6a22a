"""Python handle on `devtools/fake_seam.mjs`: the official Seam fake, seeded, behind a shim.

Usage::

    async with SeamFake.start(port=0) as fake:
        seam = SeamClient(api_key=fake.api_key, endpoint=fake.url)
        failing = fake.ids["codes"]["failed_to_set"]
        await fake.fail(503, paths=["/access_codes/get"], count=1)
        ...
        assert len(await fake.calls("/access_codes/update")) == 1

`fake = await SeamFake.start()` also works (call `await fake.stop()` yourself then).

The node process is started with `--exit-on-stdin-close`, so it dies with the test runner even if
`stop()` never runs. Every helper talks to the process over loopback HTTP with one
`httpx.AsyncClient`; all times are in seconds.

The seeded scenario ("Harbor View Rentals"; ids are stable UUIDs, times relative to start-up):

devices (`ids["devices"]`):
    front_door          August  "Unit 2B Front Door"  online, lengths 4-8, max 30, backup pool
    back_door           Schlage "Unit 2B Back Door"   cannot_start_with_12,
                                                      no_triple_consecutive_ints, name_length ≤ 20
    side_gate           Kwikset "Side Gate"           device_type kwikset_lock, name_length ≤ 14
    garage              SmartThings "Garage Entry"    warning third_party_integration_detected
    lobby               Schlage "Lobby Keypad"        max 4, device warning max_access_codes_reached
    unit_3a_front_door  August  "Unit 3A Front Door"  OFFLINE: online false + device error
                                                      device_offline
managed codes (`ids["codes"]`; `ids["issues"][key]` names the error/warning code):
    failed_to_set                 front_door  failed_to_set_on_device; "Guest: Jane Doe", PIN
                                  4827, time_bound starting in ~5 h, backup code available,
                                  pending_mutations [creating]
    august_slots_full             front_door  legacy august_device_slots_full (time_bound, +2 days)
    healthy_cleaner               front_door  healthy, ongoing "Cleaner" 1470
    duplicate                     back_door   duplicate_code_on_device, PIN 2580, error carries
                                  unmanaged_access_code_id = owner_code
    constraints_violated          back_door   code_constraints_violated ("Dog walker", PIN 1234)
    healthy_guest                 back_door   healthy, time_bound active now
    kwikset_unconfirmed           side_gate   legacy kwikset_unable_to_confirm_code
    external_modification         garage      conflicting_external_modification, change_type
                                  "modified", modified_fields [{code: 7391 -> 7390}]
    delay_warning                 garage      warning only: delay_in_setting_on_device
    unknown_error                 garage      totally_new_error_code (unknown to any catalogue)
    no_space                      lobby       no_space_for_access_code_on_device
    legacy_external_modification  lobby       legacy code_modified_external_to_seam
    offline_guest                 unit_3a     copied device_offline (is_device_error), backup
                                  available, time_bound starting in ~8 h
    offline_housekeeping          unit_3a     copied device_offline (is_device_error), ongoing
    healthy_arrival               back_door   healthy, "Guest: Noah Kim", set, time_bound
                                  starting in ~36 h (an arrival that is ready)
predictive ("at risk") findings the seed produces: at_risk_not_set on delay_warning (status
setting, no error, starts in ~20 h), at_risk_lock_offline and at_risk_low_battery (battery
status low) on unit_3a, at_risk_slots on lobby (4 of 4 slots used, no_space still to set).
unmanaged codes (`ids["unmanaged"]`, is_managed false, status set):
    owner_code     back_door   "Owner's code", PIN 2580 (the duplicate's twin)
    landlord_code  front_door  "Landlord", PIN 8642
`ids["foreign"]`: a code in the fake's seeded workspace (key `seam_apikey1_token`) that the
fake's buggy `/access_codes/list` leaks into every workspace's results.

The large scenario (benchmarks: `SeamFake.start(scenario="large", devices=1000,
codes_per_device=10, failing_ratio=0.05)`) seeds N devices with M managed codes each, a fraction
failing with code-level errors, in about a second; `ids` is then `{"workspace_id", "scenario":
"large", "counts": {"devices", "codes", "failing"}}`, and `bulk_update()` changes many codes or
devices in one call (see `devtools/fake_seam.mjs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections import deque
from collections.abc import Generator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx

__all__ = ["REPO_ROOT", "SeamFake", "SeamFakeError"]

#: The repository root (this file lives in `<root>/devtools/`).
REPO_ROOT = Path(__file__).resolve().parent.parent
_SCRIPT = REPO_ROOT / "devtools" / "fake_seam.mjs"
_FAKE_PACKAGE = REPO_ROOT / "node_modules" / "@seamapi" / "fake-seam-connect" / "package.json"


class SeamFakeError(RuntimeError):
    """The fake process failed to start, died, or a control call was rejected."""


class SeamFake:
    """A running `fake_seam.mjs` process and helpers to steer it.

    Attributes (valid once started):
        url: "http://127.0.0.1:PORT" — use as the Seam endpoint.
        port: the public loopback port.
        api_key: the scenario workspace's API key (Bearer token).
        workspace_id: the scenario workspace id.
        ids: the scenario ids map::

            {"workspace_id": str,
             "connected_accounts": {"august"|"schlage"|"kwikset"|"smartthings": id},
             "devices": {"front_door"|"back_door"|"side_gate"|"garage"|"lobby"
                         |"unit_3a_front_door": device_id},
             "codes": {<key>: access_code_id},        # managed codes
             "unmanaged": {"owner_code"|"landlord_code": access_code_id},
             "issues": {<code key>: error_code | warning_code | "healthy" | "unmanaged"},
             "foreign": {"workspace_id", "api_key", "device_id", "access_code_id"}}

    Args:
        port: public port for the fake (0 = any free port).
        ready_timeout: seconds to wait for the process to report ready.
        node: the node executable (default: `node` on PATH).
        scenario: "default" (Harbor View Rentals) or "large" (benchmark workspace).
        devices / codes_per_device / failing_ratio: the large scenario's size (ignored for
            "default"): devices, managed codes per device, fraction of codes failing.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        ready_timeout: float = 20.0,
        node: str | None = None,
        scenario: Literal["default", "large"] = "default",
        devices: int = 1000,
        codes_per_device: int = 10,
        failing_ratio: float = 0.05,
    ) -> None:
        self._requested_port = port
        self._ready_timeout = ready_timeout
        self._node = node
        self._scenario_args: list[str] = (
            [
                "--scenario",
                "large",
                "--devices",
                str(devices),
                "--codes-per-device",
                str(codes_per_device),
                "--failing-ratio",
                repr(float(failing_ratio)),
            ]
            if scenario == "large"
            else []
        )
        self._process: asyncio.subprocess.Process | None = None
        self._client: httpx.AsyncClient | None = None
        self._drains: list[asyncio.Task[None]] = []
        self._stderr: deque[str] = deque(maxlen=400)
        self.url = ""
        self.port = 0
        self.api_key = ""
        self.workspace_id = ""
        self.ids: dict[str, Any] = {}

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def start(
        cls,
        port: int = 0,
        *,
        ready_timeout: float = 20.0,
        node: str | None = None,
        scenario: Literal["default", "large"] = "default",
        devices: int = 1000,
        codes_per_device: int = 10,
        failing_ratio: float = 0.05,
    ) -> SeamFake:
        """An unstarted handle: use `async with SeamFake.start() as fake:` or `await`."""
        return cls(
            port,
            ready_timeout=ready_timeout,
            node=node,
            scenario=scenario,
            devices=devices,
            codes_per_device=codes_per_device,
            failing_ratio=failing_ratio,
        )

    def __await__(self) -> Generator[Any, None, SeamFake]:
        return self.launch().__await__()

    async def __aenter__(self) -> SeamFake:
        return await self.launch()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def launch(self) -> SeamFake:
        """Start the node process and wait (≤ `ready_timeout` s) for its ready line.

        Raises:
            RuntimeError: node or the npm package is missing (run `npm ci`).
            SeamFakeError: the process exited or did not become ready in time (with its stderr).
        """
        if self._process is not None:
            return self
        if not _FAKE_PACKAGE.is_file():
            raise RuntimeError(
                f"@seamapi/fake-seam-connect is not installed under {REPO_ROOT / 'node_modules'}; "
                f"run `npm ci` in {REPO_ROOT}"
            )
        node = self._node or shutil.which("node")
        if node is None:
            raise RuntimeError("node is not on PATH; install Node.js 20+ to run the Seam fake")
        self._process = await asyncio.create_subprocess_exec(
            node,
            str(_SCRIPT),
            "--port",
            str(self._requested_port),
            "--exit-on-stdin-close",
            *self._scenario_args,
            cwd=str(REPO_ROOT),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self._process.stderr is not None
        self._drains.append(asyncio.create_task(self._drain(self._process.stderr)))
        try:
            ready = await asyncio.wait_for(self._read_ready(), self._ready_timeout)
        except TimeoutError:
            await self.stop()
            raise SeamFakeError(
                f"fake_seam.mjs not ready after {self._ready_timeout} s; stderr:\n"
                + self.stderr_text
            ) from None
        except BaseException:
            await self.stop()
            raise
        assert self._process.stdout is not None
        self._drains.append(asyncio.create_task(self._drain(self._process.stdout)))
        self.port = int(ready["port"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = str(ready["api_key"])
        self.workspace_id = str(ready["workspace_id"])
        self.ids = dict(ready["ids"])
        self._client = httpx.AsyncClient(base_url=self.url, timeout=10.0, trust_env=False)
        return self

    async def _read_ready(self) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        while True:
            line = await self._process.stdout.readline()
            if not line:
                # EOF: the process is exiting; give stderr a moment to arrive.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._process.wait(), 2.0)
                await asyncio.sleep(0.05)
                raise SeamFakeError(
                    f"fake_seam.mjs exited (code {self._process.returncode}) before ready; "
                    f"stderr:\n{self.stderr_text}"
                )
            text = line.decode("utf-8", "replace").strip()
            try:
                data = json.loads(text)
            except ValueError:
                self._stderr.append(f"[stdout] {text}")
                continue
            if isinstance(data, dict) and data.get("ready") is True:
                return data

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while True:
            line = await stream.readline()
            if not line:
                return
            self._stderr.append(line.decode("utf-8", "replace").rstrip("\n"))

    async def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after 5 s) and close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        proc, self._process = self._process, None
        if proc is not None:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 5.0)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
            if proc.stdin is not None:
                proc.stdin.close()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    await proc.stdin.wait_closed()
        drains, self._drains = self._drains, []
        for task in drains:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 2.0)

    @property
    def stderr_text(self) -> str:
        """The last ~400 lines the process wrote to stderr (and stray stdout)."""
        return "\n".join(self._stderr)

    @property
    def returncode(self) -> int | None:
        """The process exit code, or None while it runs (or before start / after stop)."""
        return None if self._process is None else self._process.returncode

    # ------------------------------------------------------------------ control helpers

    @property
    def http(self) -> httpx.AsyncClient:
        """The shared client (base_url = `url`, no auth header)."""
        if self._client is None:
            raise SeamFakeError("SeamFake is not running")
        return self._client

    async def _control(
        self, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        resp = await self.http.request(method, path, json=payload)
        if resp.status_code != 200:
            raise SeamFakeError(f"{method} {path} -> {resp.status_code}: {resp.text}")
        data: dict[str, Any] = resp.json()
        return data

    async def delay(
        self,
        seconds: float,
        paths: Sequence[str] | None = None,
        *,
        phase: Literal["after", "before", "drop"] = "after",
    ) -> None:
        """Slow matching Seam API responses by `seconds` (0 clears every delay).

        `paths`: exact paths ("/access_codes/get") or prefixes ending in "*"; None = all.
        `phase="after"` (default): the fake handles the request at once and the *response* is
        held back, so a client that times out has still changed state. `phase="before"`: the
        request reaches the fake only after the delay (it is still processed if the client left).
        `phase="drop"`: held the same way, but never processed if the client goes away meanwhile
        (a request lost on its way: Seam never saw it).
        The latest matching delay wins.
        """
        await self._control(
            "POST",
            "/_shim/delay",
            {"seconds": seconds, "paths": _paths(paths), "phase": phase},
        )

    async def paginate(
        self, page_size: int, paths: Sequence[str] | None = None, *, loop: bool = False
    ) -> None:
        """Split list answers (`devices`, `access_codes`) into pages of `page_size`.

        Page cursors are "p1", "p2"...; with `loop` every page after the first names "p1"
        again (a server whose cursor repeats). `page_size=0` clears it; `reset()` too.
        """
        await self._control(
            "POST",
            "/_shim/paginate",
            {"page_size": page_size, "paths": _paths(paths), "loop": loop},
        )

    async def fail(
        self,
        status: int,
        paths: Sequence[str] | None = None,
        count: int | None = None,
        retry_after: float | None = None,
        body: str | None = None,
        *,
        methods: Sequence[str] | None = None,
    ) -> None:
        """Answer matching Seam API requests with HTTP `status` instead of reaching the fake.

        Args:
            status: HTTP status (e.g. 429, 503). `0` clears every failure rule.
            paths: exact paths or "prefix*" patterns; None = every Seam route.
            count: how many requests to fail; None = until cleared by `reset()`/`fail(0)`.
            retry_after: seconds for a `Retry-After` header (any status); None = no header.
            body: None = empty body (no content-type); "json" = Seam-style
                `{"error": {"type", "message"}, "ok": false}`; any other string = that text.
            methods: only fail these HTTP methods (e.g. ["POST"]); None = any.

        Rules are checked in the order they were added; the request is still logged in calls.
        """
        await self._control(
            "POST",
            "/_shim/fail",
            {
                "status": status,
                "paths": _paths(paths),
                "count": count,
                "retry_after": retry_after,
                "body": body,
                "methods": list(methods) if methods is not None else None,
            },
        )

    async def reset(self) -> None:
        """Clear delays, failures, the call log and the scenario workspace's simulated outage."""
        await self._control("POST", "/_shim/reset", {})

    async def restore(self) -> None:
        """Put the database back to the seeded scenario (undo deletes, conversions, patches)."""
        await self._control("POST", "/_shim/restore", {})

    async def calls(
        self, path: str | None = None, *, method: str | None = None
    ) -> list[dict[str, Any]]:
        """Seam API requests received since the last reset, oldest first.

        Each is `{"method", "path", "query": {..}, "body": parsed JSON | None | raw str,
        "at": epoch seconds (float), "status": HTTP status sent | None, "injected": bool}`.
        `/_shim/*` and `/_fake/*` requests are not logged.
        """
        data = await self._control("GET", "/_shim/calls")
        calls: list[dict[str, Any]] = data["calls"]
        return [
            c
            for c in calls
            if (path is None or c["path"] == path) and (method is None or c["method"] == method)
        ]

    async def update_access_code(self, access_code_id: str, **patch: Any) -> dict[str, Any]:
        """Shallow-patch an access code in the database (e.g. `errors=[]`); returns the code."""
        data = await self._control(
            "POST", "/_shim/update_access_code", {"access_code_id": access_code_id, **patch}
        )
        code: dict[str, Any] = data["access_code"]
        return code

    async def update_device(self, device_id: str, **patch: Any) -> dict[str, Any]:
        """Patch a device (`properties` is merged one level deep); returns the device."""
        data = await self._control(
            "POST", "/_shim/update_device", {"device_id": device_id, **patch}
        )
        device: dict[str, Any] = data["device"]
        return device

    async def add_access_code(self, **fields: Any) -> dict[str, Any]:
        """Add an access code (`device_id` required; defaults: managed, ongoing, "set", no errors).

        Any field may be given (`is_managed=False`, `errors=[...]`, `starts_at`/`ends_at`, ...).
        """
        data = await self._control("POST", "/_shim/add_access_code", fields)
        code: dict[str, Any] = data["access_code"]
        return code

    async def bulk_update(
        self,
        kind: Literal["access_codes", "devices"],
        patch: dict[str, Any],
        *,
        limit: int | None = None,
        only: Literal["healthy", "failing"] | None = None,
        device_ids: Sequence[str] | None = None,
    ) -> list[str]:
        """Patch many codes or devices of the scenario workspace at once; returns their ids.

        Rows are taken in seeded order (large scenario: codes interleaved over the devices, so
        the first N codes are on N different devices when N ≤ devices), filtered by `only`
        ("healthy" = no errors, "failing" = some errors) and `device_ids`, at most `limit`.
        `patch` is applied as in `update_access_code` / `update_device`.
        """
        data = await self._control(
            "POST",
            "/_shim/bulk_update",
            {
                "kind": kind,
                "patch": patch,
                "limit": limit,
                "only": only,
                "device_ids": list(device_ids) if device_ids is not None else None,
            },
        )
        changed: list[str] = data["ids"]
        return changed

    async def simulate_outage(
        self, routes: Sequence[str], *, workspace_id: str | None = None
    ) -> None:
        """Make `routes` answer 503 with an empty body for the workspace (`[]` ends the outage).

        This is the fake's own `/_fake/simulate_workspace_outage` (exact paths, query ignored).
        """
        await self._control(
            "POST",
            "/_fake/simulate_workspace_outage",
            {"workspace_id": workspace_id or self.workspace_id, "routes": list(routes)},
        )

    async def force_action_attempt_error(
        self,
        action_attempt_id: str,
        type: str = "failed_to_perform_action",
        message: str = "Action attempt failed",
    ) -> None:
        """Make `/action_attempts/get` report `status: "error"` with `{type, message}`."""
        await self._control(
            "POST",
            "/_fake/update_action_attempt",
            {
                "action_attempt_id": action_attempt_id,
                "status": "error",
                "error": {"type": type, "message": message},
            },
        )

    async def api(
        self, path: str, payload: dict[str, Any] | None = None, *, api_key: str | None = None
    ) -> httpx.Response:
        """POST `payload` to a Seam API route as the scenario workspace (for test assertions).

        The request shows up in `calls()` like any other.
        """
        return await self.http.post(
            path,
            json=payload or {},
            headers={"Authorization": f"Bearer {api_key or self.api_key}"},
        )

    async def get_access_code(self, access_code_id: str) -> dict[str, Any] | None:
        """The code as `/access_codes/get` returns it, or None on 404."""
        resp = await self.api("/access_codes/get", {"access_code_id": access_code_id})
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        code: dict[str, Any] = resp.json()["access_code"]
        return code

    async def list_access_codes(self, device_id: str) -> list[dict[str, Any]]:
        """The managed codes on `device_id` as `/access_codes/list` returns them (filtered
        here: the pinned fake ignores `device_id`)."""
        resp = await self.api("/access_codes/list", {"device_id": device_id})
        resp.raise_for_status()
        codes: list[dict[str, Any]] = resp.json()["access_codes"]
        return [c for c in codes if c.get("device_id") == device_id]


def _paths(paths: Sequence[str] | str | None) -> list[str] | None:
    if paths is None:
        return None
    if isinstance(paths, str):
        return [paths]
    return list(paths)
