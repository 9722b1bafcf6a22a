"""Shared helpers for the benchmarks: machine facts, percentiles, tables, targets, processes.

Everything listens on and talks to 127.0.0.1 only. Times are in seconds unless a name says ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.app import build_slack_client
from bot.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BOT_TOKEN = "xoxb-bench-token"
SIGNING_SECRET = "bench-signing-secret"
CHANNEL = "CBENCH"


# ----------------------------------------------------------------------------- facts


def machine_facts() -> dict[str, str]:
    """nproc, CPU model, RAM, OS, Python and Node versions, and the UTC date (for the record)."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    node = "missing"
    if shutil.which("node"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            node = subprocess.run(
                ["node", "--version"], capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "node": node,
    }


# ----------------------------------------------------------------------------- numbers


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by the nearest-rank method; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    """The median (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass(frozen=True)
class Target:
    """One target of the issue: what was measured against what was asked, met or not."""

    name: str
    measured: str
    goal: str
    met: bool


def print_table(title: str, rows: Sequence[tuple[str, object]]) -> None:
    """A two-column table with a title line."""
    print(f"\n{title}")
    width = max((len(k) for k, _ in rows), default=0)
    print("-" * (width + 30))
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")


def print_targets(targets: Sequence[Target]) -> bool:
    """One PASS/MISS line per target; True when every target is met."""
    print("\nTargets")
    for t in targets:
        print(f"  {'PASS' if t.met else 'MISS'}  {t.name}: {t.measured} (target {t.goal})")
    return all(t.met for t in targets)


def write_json(path: str | None, name: str, payload: Mapping[str, Any]) -> None:
    """Write `{"bench", "machine", ...payload}` to `path` (no-op when `path` is None)."""
    if not path:
        return
    data = {"bench": name, "machine": machine_facts(), **payload}
    if "targets" in data:
        data["targets"] = [asdict(t) if isinstance(t, Target) else t for t in data["targets"]]
    Path(path).write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------- wiring


def bench_settings(seam_url: str, seam_key: str, slack_api_url: str, **extra: Any) -> Settings:
    """Settings pointing at the fakes (no scanning unless asked)."""
    return load_settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        seam_api_key=seam_key,
        seam_endpoint=seam_url,
        slack_api_url=slack_api_url,
        scan_interval_seconds=extra.pop("scan_interval_seconds", 0),
        **extra,
    )


def slack_client(slack_api_url: str) -> AsyncWebClient:
    """The production Slack client (`build_slack_client`: 429 and connection retries)."""
    return build_slack_client(
        bench_settings("http://127.0.0.1:9", "seam_unused", slack_api_url)  # Seam unused here
    )


def bot_env(**values: str) -> dict[str, str]:
    """The environment for a bot subprocess: this one without proxies or bot settings, plus
    `values` (upper-case names)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy")
        and not k.startswith(("SLACK_", "SEAM_", "ALERT_", "SCAN_", "DATABASE_", "REMEDY_"))
    }
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(values)
    return env


async def python_module_json(module: str, *args: str, what: str) -> dict[str, Any]:
    """Run `python -m module args...` (this repository, `bot_env()`) to its end and decode the
    JSON object it prints (at most 600 s). Raises RuntimeError (with its stderr tail) when it
    exits non-zero."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        module,
        *args,
        cwd=str(REPO_ROOT),
        env=bot_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(out)
    return result


class ServedBot:
    """`python -m bench._serve` as a child process: the bot's web app on 127.0.0.1 (or another
    module that prints `PORT <n>` the same way, e.g. `bench._minimal_bolt --served`).

    `port` is valid after `start()`. Its stderr is kept (last 200 lines) for failure reports.
    """

    def __init__(self, env: Mapping[str, str], module: Sequence[str] = ("bench._serve",)) -> None:
        self._env = dict(env)
        self._module = list(module)
        self._proc: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None
        self.stderr: deque[str] = deque(maxlen=200)
        self.port = 0

    async def start(self, wait: float = 30.0) -> ServedBot:
        """Start the child and wait (≤ `wait` s) for its `PORT <n>` line."""
        self._proc = await asyncio.create_subprocess_exec(
            PYTHON,
            "-m",
            *self._module,
            cwd=str(REPO_ROOT),
            env=self._env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._drain = asyncio.create_task(self._keep(self._proc.stderr))
        try:
            async with asyncio.timeout(wait):
                while True:
                    line = (await self._proc.stdout.readline()).decode().strip()
                    if not line:
                        raise RuntimeError("the bot exited:\n" + "\n".join(self.stderr))
                    if line.startswith("PORT "):
                        self.port = int(line.split()[1])
                        return self
        except BaseException:
            await self.stop()
            raise

    async def _keep(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr.append(line.decode("utf-8", "replace").rstrip())

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self._proc is not None
        return self._proc.pid

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._drain is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drain, 2)
