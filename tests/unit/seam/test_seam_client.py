"""Seam client wire behaviour at the transport: errors, retries, pagination, tolerant models.

These use `httpx.MockTransport` for exact wire-level control (a repeated cursor, a 503 with no
body); behaviour against the official Seam fake is covered under tests/scenario/
(test_scanner.py, test_alerts_integration.py, test_drills_faults.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from bot.seam import (
    SeamClient,
    SeamIncompleteListError,
    SeamInvalidInputError,
    SeamInvalidResponseError,
    SeamNotFoundError,
    SeamRateLimitedError,
    SeamUnauthorizedError,
    SeamUnavailableError,
)

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    def __init__(self, responses: list[httpx.Response | Exception]) -> None:
        self.responses = responses
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        return item

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(self, **kw: object) -> SeamClient:
        return SeamClient(
            "seam_test_key",
            "http://seam.test",
            transport=httpx.MockTransport(self),
            sleep=self.sleep,
            **kw,  # type: ignore[arg-type]
        )


def ok(body: dict[str, object], **headers: str) -> httpx.Response:
    return httpx.Response(200, json={**body, "ok": True}, headers=headers)


def err(status: int, type_: str = "x", message: str = "m", **headers: str) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"type": type_, "message": message}, "ok": False}, headers=headers
    )


CODE = {"access_code_id": "ac1", "device_id": "d1", "code": "1234", "name": "Guest"}


async def test_get_sends_json_post_with_bearer() -> None:
    rec = Recorder([ok({"access_code": CODE})])
    async with rec.client() as seam:
        code = await seam.get_access_code("ac1")
    req = rec.requests[0]
    assert req.method == "POST" and req.url.path == "/access_codes/get"
    assert req.headers["authorization"] == "Bearer seam_test_key"
    assert json.loads(req.content) == {"access_code_id": "ac1"}
    assert code.access_code_id == "ac1" and code.code == "1234"


@pytest.mark.parametrize(
    ("response", "error_cls", "error_type"),
    [
        (err(404, "access_code_not_found"), SeamNotFoundError, "access_code_not_found"),
        (err(401, "unauthorized"), SeamUnauthorizedError, "unauthorized"),
        (err(400, "invalid_input"), SeamInvalidInputError, "invalid_input"),
    ],
)
async def test_typed_errors_not_retried(
    response: httpx.Response, error_cls: type[Exception], error_type: str
) -> None:
    response.headers["seam-request-id"] = "req-42"
    rec = Recorder([response])
    async with rec.client() as seam:
        with pytest.raises(error_cls) as info:
            await seam.get_access_code("ac1")
    assert info.value.error_type == error_type  # type: ignore[attr-defined]
    assert info.value.request_id == "req-42"  # type: ignore[attr-defined]
    assert len(rec.requests) == 1


async def test_read_retries_5xx_then_succeeds_with_backoff() -> None:
    rec = Recorder([httpx.Response(503), err(500), ok({"access_code": CODE})])
    async with rec.client() as seam:
        code = await seam.get_access_code("ac1")
    assert code.access_code_id == "ac1"
    assert len(rec.requests) == 3
    assert len(rec.sleeps) == 2 and rec.sleeps[0] < rec.sleeps[1]


async def test_read_honours_retry_after() -> None:
    rec = Recorder([err(429, "rate_limited", **{"Retry-After": "2"}), ok({"access_code": CODE})])
    async with rec.client() as seam:
        await seam.get_access_code("ac1")
    assert rec.sleeps == [2.0]


async def test_retry_after_beyond_budget_raises_rate_limited() -> None:
    rec = Recorder([err(429, **{"Retry-After": "120"})])
    async with rec.client(read_retry_budget=5) as seam:
        with pytest.raises(SeamRateLimitedError) as info:
            await seam.get_access_code("ac1")
    assert info.value.retry_after == 120
    assert len(rec.requests) == 1 and rec.sleeps == []


async def test_attempts_are_bounded() -> None:
    rec = Recorder([httpx.Response(502, content=b"<html>bad gateway</html>")])
    async with rec.client(max_read_attempts=3) as seam:
        with pytest.raises(SeamUnavailableError):
            await seam.list_devices()
    assert len(rec.requests) == 3


async def test_connection_errors_and_timeouts_are_unavailable() -> None:
    rec = Recorder([httpx.ConnectError("refused")])
    async with rec.client(max_read_attempts=2) as seam:
        with pytest.raises(SeamUnavailableError) as info:
            await seam.get_device("d1")
    assert info.value.error_type == "connection_error"
    rec = Recorder([httpx.ReadTimeout("slow")])
    async with rec.client(max_read_attempts=1) as seam:
        with pytest.raises(SeamUnavailableError) as info:
            await seam.get_device("d1")
    assert info.value.error_type == "timeout"


async def test_non_json_success_is_invalid_response_not_retried() -> None:
    rec = Recorder([httpx.Response(200, content=b"not json")])
    async with rec.client() as seam:
        with pytest.raises(SeamInvalidResponseError):
            await seam.get_access_code("ac1")
    assert len(rec.requests) == 1
    rec = Recorder([ok({"something_else": {}})])
    async with rec.client() as seam:
        with pytest.raises(SeamInvalidResponseError):
            await seam.get_access_code("ac1")


def device(i: int) -> dict[str, object]:
    return {"device_id": f"d{i}", "properties": {"name": f"Lock {i}", "online": True}}


async def test_pagination_follows_cursor_to_the_end() -> None:
    pages = [
        ok(
            {
                "devices": [device(1)],
                "pagination": {"has_next_page": True, "next_page_cursor": "c1"},
            }
        ),
        ok(
            {
                "devices": [device(2)],
                "pagination": {"has_next_page": True, "next_page_cursor": "c2"},
            }
        ),
        ok(
            {
                "devices": [device(3)],
                "pagination": {"has_next_page": False, "next_page_cursor": None},
            }
        ),
    ]
    rec = Recorder(pages)
    async with rec.client() as seam:
        devices = await seam.list_devices()
    assert [d.device_id for d in devices] == ["d1", "d2", "d3"]
    sent = [json.loads(r.content) for r in rec.requests]
    assert sent == [{}, {"page_cursor": "c1"}, {"page_cursor": "c2"}]


async def test_a_repeated_cursor_makes_the_list_unread_not_short() -> None:
    # A server that loops: reading stops at the repeat, and the list is not taken as complete
    # (a scan must not conclude that codes on unread pages are gone).
    loop = ok(
        {"devices": [device(1)], "pagination": {"has_next_page": True, "next_page_cursor": "same"}}
    )
    rec = Recorder([loop])
    async with rec.client() as seam:
        with pytest.raises(SeamIncompleteListError, match="repeated"):
            await seam.list_devices()
    assert len(rec.requests) == 2


async def test_has_next_page_without_a_cursor_is_incomplete() -> None:
    rec = Recorder([ok({"devices": [device(1)], "pagination": {"has_next_page": True}})])
    async with rec.client() as seam:
        with pytest.raises(SeamIncompleteListError, match="no cursor"):
            await seam.list_devices()


async def test_the_page_limit_is_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.seam.client.MAX_PAGES", 3)
    pages = [
        ok(
            {
                "devices": [device(i)],
                "pagination": {"has_next_page": True, "next_page_cursor": f"c{i}"},
            }
        )
        for i in range(5)
    ]
    rec = Recorder(pages)
    async with rec.client() as seam:
        with pytest.raises(SeamIncompleteListError, match="after 3"):
            await seam.list_devices()
    assert len(rec.requests) == 3


async def test_list_access_codes_drops_other_devices_and_unmanaged() -> None:
    codes = [
        CODE,
        {**CODE, "access_code_id": "ac2", "device_id": "other"},
        {**CODE, "access_code_id": "ac3", "is_managed": False},
    ]
    rec = Recorder([ok({"access_codes": codes})])
    async with rec.client() as seam:
        result = await seam.list_access_codes("d1")
    assert [c.access_code_id for c in result] == ["ac1"]


async def test_models_keep_unknown_codes_and_fields() -> None:
    raw = {
        **CODE,
        "type": "time_bound",
        "starts_at": "2026-12-01T15:00:00.000Z",
        "ends_at": "2026-12-04T11:00:00.000Z",
        "brand_new_field": {"x": 1},
        "errors": [
            {"error_code": "totally_new_error", "message": "new!", "extra": 5},
            {"error_code": "device_offline", "message": "off", "is_device_error": True},
            "garbage",
            {"message": "no code at all"},
        ],
        "warnings": [{"warning_code": "delay_in_setting_on_device", "message": "slow"}],
        "pending_mutations": [{"mutation_code": "creating"}, "junk"],
    }
    rec = Recorder([ok({"access_code": raw})])
    async with rec.client() as seam:
        code = await seam.get_access_code("ac1")
    assert [e.code for e in code.errors] == [
        "totally_new_error",
        "device_offline",
        "unknown",
        "unknown",
    ]
    assert code.errors[0].model_extra == {"extra": 5}
    assert code.errors[1].is_device_error is True
    assert code.warnings[0].kind == "warning"
    assert code.is_time_bound and code.starts_at is not None and code.starts_at.tzinfo is not None
    assert code.model_extra is not None and code.model_extra["brand_new_field"] == {"x": 1}
    assert code.pending_mutations == [{"mutation_code": "creating"}]


async def test_find_falls_back_to_unmanaged() -> None:
    rec = Recorder(
        [err(404, "access_code_not_found"), ok({"access_code": {**CODE, "is_managed": False}})]
    )
    async with rec.client() as seam:
        code = await seam.find_access_code("ac1")
    assert code.is_managed is False
    assert [r.url.path for r in rec.requests] == [
        "/access_codes/get",
        "/access_codes/unmanaged/get",
    ]


async def test_an_unreadable_list_entry_makes_the_list_unreadable() -> None:
    """Skipping it would let a scan think the code is gone and resolve its alert."""
    for bad in ({**CODE, "errors": {"not": "a list"}}, {"device_id": "d1"}):
        rec = Recorder([ok({"access_codes": [CODE, bad]})])
        async with rec.client() as seam:
            with pytest.raises(SeamInvalidResponseError):
                await seam.list_access_codes("d1")


async def test_odd_scalar_types_are_read_tolerantly() -> None:
    raw = {**CODE, "status": 42, "is_managed": "false", "code": 1234}
    rec = Recorder([ok({"access_code": raw})])
    async with rec.client() as seam:
        code = await seam.get_access_code("ac1")
    assert code.status == "42" and code.is_managed is False and code.code == "1234"
