"""Recent failed Seam calls kept for Seam support (`bot.seam.failures`, `SeamClient.failures`).

The client is driven through `httpx.MockTransport` (no socket): each failure must land under
the access code and device the request named, with its `seam-request-id`, and never with a PIN.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.seam import SeamClient, SeamNotFoundError, SeamRateLimitedError, SeamUnavailableError
from bot.seam.failures import FailedCall, FailureLog, subjects_of

T0 = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)


def failed(n: int) -> FailedCall:
    return FailedCall(at=T0 + timedelta(seconds=n), path="/p", error_type="x")


def test_subjects_are_the_code_and_device_a_body_names() -> None:
    body = {"access_code_id": "ac1", "device_id": "d1", "code": "5821"}
    assert subjects_of(body) == ("access_code:ac1", "device:d1")
    assert subjects_of({"code": "5821"}) == ()
    assert subjects_of({"access_code_id": "", "device_id": 7}) == ()


def test_recent_merges_code_and_device_newest_first_each_once() -> None:
    log = FailureLog()
    both, on_code, on_device, elsewhere = failed(1), failed(2), failed(3), failed(4)
    log.record(("access_code:ac1", "device:d1"), both)
    log.record(("access_code:ac1",), on_code)
    log.record(("device:d1",), on_device)
    log.record(("device:d2",), elsewhere)
    assert log.recent(access_code_id="ac1", device_id="d1") == [on_device, on_code, both]
    assert log.recent(access_code_id="ac1") == [on_code, both]
    assert log.recent(access_code_id="ac1", device_id="d1", limit=1) == [on_device]
    assert log.recent() == []


def test_the_log_is_bounded_per_subject_and_in_subjects() -> None:
    log = FailureLog(per_subject=2, max_subjects=2)
    for n in range(5):
        log.record(("access_code:ac1",), failed(n))
    assert [c.at for c in log.recent(access_code_id="ac1")] == [failed(4).at, failed(3).at]
    log.record(("access_code:ac2",), failed(10))
    log.record(("access_code:ac1",), failed(11))  # ac1 failed again: ac2 is now the oldest
    log.record(("access_code:ac3",), failed(12))
    assert log.recent(access_code_id="ac2") == []
    assert len(log.recent(access_code_id="ac1")) == 2
    assert len(log.recent(access_code_id="ac3")) == 1


# ------------------------------------------------------------------------- through the client


def error(status: int, type_: str, rid: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"error": {"type": type_, "message": "Cannot set duplicate code 5821"}, "ok": False},
        headers={"seam-request-id": rid},
    )


def client(*responses: httpx.Response | Exception) -> SeamClient:
    queue = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    async def no_sleep(_: float) -> None:
        return None

    return SeamClient(
        "seam_test_key",
        "http://seam.test",
        transport=httpx.MockTransport(handle),
        sleep=no_sleep,
        max_read_attempts=1,
        failures=FailureLog(clock=lambda: T0),
    )


async def test_a_failed_mutation_is_kept_with_its_request_id_and_never_the_pin() -> None:
    async with client(error(429, "rate_limited", "req-9")) as seam:
        with pytest.raises(SeamRateLimitedError):
            await seam.update_access_code("ac1", code="5821")
        [call] = seam.failures.recent(access_code_id="ac1")
    assert call == FailedCall(
        at=T0,
        path="/access_codes/update",
        error_type="rate_limited",
        status_code=429,
        request_id="req-9",
    )
    assert "5821" not in repr(seam.failures.__dict__)


async def test_a_404_read_is_an_answer_not_a_failure_but_a_404_mutation_is() -> None:
    async with client(
        error(404, "access_code_not_found", "req-1"), error(404, "access_code_not_found", "req-2")
    ) as seam:
        with pytest.raises(SeamNotFoundError):
            await seam.get_access_code("ac1")
        assert seam.failures.recent(access_code_id="ac1") == []
        with pytest.raises(SeamNotFoundError):
            await seam.delete_access_code("ac1")
        assert [c.request_id for c in seam.failures.recent(access_code_id="ac1")] == ["req-2"]


async def test_a_read_that_got_no_answer_is_kept_without_a_request_id() -> None:
    async with client(httpx.ReadTimeout("slow")) as seam:
        with pytest.raises(SeamUnavailableError):
            await seam.list_access_codes("d1")
        [call] = seam.failures.recent(device_id="d1")
    assert call.error_type == "timeout" and call.request_id is None and call.status_code is None


async def test_an_action_attempt_that_fails_is_kept_under_its_code_with_the_mutation_id() -> None:
    pending = {
        "action_attempt_id": "aa-1",
        "action_type": "DELETE_ACCESS_CODE",
        "status": "pending",
    }
    errored = {**pending, "status": "error", "error": {"type": "lock_offline", "message": "m"}}
    async with client(
        httpx.Response(
            200, json={"action_attempt": pending, "ok": True}, headers={"seam-request-id": "req-d"}
        ),
        httpx.Response(200, json={"action_attempt": errored, "ok": True}),
    ) as seam:
        attempt = await seam.delete_access_code("ac1")
        assert attempt is not None and seam.failures.recent(access_code_id="ac1") == []
        final = await seam.wait_for_action_attempt(attempt, max_wait=5, poll=0)
        assert final.status == "error"
        [call] = seam.failures.recent(access_code_id="ac1")
    assert call.action_attempt_id == "aa-1" and call.request_id == "req-d"
    assert call.path == "/access_codes/delete" and call.error_type == "lock_offline"


async def test_an_action_attempt_that_succeeds_is_not_a_failure() -> None:
    done = {"action_attempt_id": "aa-2", "status": "success"}
    async with client(httpx.Response(200, json={"action_attempt": done, "ok": True})) as seam:
        attempt = await seam.update_access_code("ac1", name="x")
        assert attempt is not None
        await seam.wait_for_action_attempt(attempt, max_wait=1, poll=0)
        assert seam.failures.recent(access_code_id="ac1") == []
