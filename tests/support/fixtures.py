"""Pytest fixtures for the loopback fakes in `devtools/`.

Import the ones you use into a test module (or list this module in `pytest_plugins` of the
root conftest)::

    from tests.support.fixtures import fake_slack, seam_fake, seam_fake_process  # noqa: F401

`seam_fake_process` is module-scoped (one node process per test module, started in ~1 s), so
tests that use it, or `seam_fake`, must run in the module's event loop::

    pytestmark = pytest.mark.asyncio(loop_scope="module")
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from devtools.fake_slack import FakeSlack
from devtools.seam_fake import SeamFake

__all__ = ["fake_slack", "seam_fake", "seam_fake_process"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def seam_fake_process() -> AsyncIterator[SeamFake]:
    """One running Seam fake for the whole module (state carries over between tests)."""
    async with SeamFake.start(port=0) as fake:
        yield fake


@pytest_asyncio.fixture(loop_scope="module")
async def seam_fake(seam_fake_process: SeamFake) -> AsyncIterator[SeamFake]:
    """The module's Seam fake, reset before the test: seeded data restored, no injected delays
    or failures, empty call log, no simulated outage."""
    await seam_fake_process.reset()
    await seam_fake_process.restore()
    yield seam_fake_process


@pytest_asyncio.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A fresh Slack Web API fake (+ response_url sink) on a free loopback port."""
    async with FakeSlack() as slack:
        yield slack
