"""The Seam client's overall deadline per request, against a real loopback server that trickles
its answer (a byte every 0.1 s, so httpx's per-read timeout never fires)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.seam.client import SeamClient
from bot.seam.errors import SeamUnavailableError

BODY = b'{"device": {"device_id": "d1"}}'


@pytest_asyncio.fixture
async def trickler() -> AsyncIterator[tuple[str, list[float]]]:
    """A server answering every request with headers at once and its body a byte per 0.1 s.
    Yields its URL and the times each connection ended (when the client gave up)."""
    closed: list[float] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
            )
            for byte in BODY:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.1)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            closed.append(time.monotonic())
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", closed


async def test_a_trickling_answer_is_cut_at_the_deadline_and_frees_its_slot(
    trickler: tuple[str, list[float]],
) -> None:
    url, _ = trickler
    # Per-read timeout 0.5 s (never reached: a byte comes every 0.1 s); the whole body would
    # take ~3 s; the deadline is 0.6 s. One slot: the second request needs the first's slot.
    async with SeamClient(
        "key", url, timeout=0.5, deadline=0.6, max_in_flight=1, max_read_attempts=1
    ) as seam:
        started = time.monotonic()
        results = await asyncio.gather(
            seam.get_device("d1"), seam.get_device("d1"), return_exceptions=True
        )
        elapsed = time.monotonic() - started
    for result in results:
        assert isinstance(result, SeamUnavailableError)
        assert result.error_type == "timeout" and "deadline" in str(result)
    # Each request held the one slot for at most its deadline, one after the other.
    assert 1.1 < elapsed < 2.0


async def test_without_a_tighter_deadline_the_timeout_is_the_deadline(
    trickler: tuple[str, list[float]],
) -> None:
    url, _ = trickler
    async with SeamClient("key", url, timeout=0.4, max_read_attempts=1) as seam:
        started = time.monotonic()
        with pytest.raises(SeamUnavailableError) as caught:
            await seam.get_device("d1")
    assert caught.value.error_type == "timeout"
    assert time.monotonic() - started < 1.0  # the body alone would take ~3 s
