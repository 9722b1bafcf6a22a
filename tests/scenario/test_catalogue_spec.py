"""Catalogue coverage against Seam's own code lists.

* The official OpenAPI document of the pinned npm ``@seamapi/types`` (installed by the fixture if
  needed; never skipped): every error / warning code it enumerates for access codes and devices
  must have an entry of that kind. When Seam adds a code and the pin moves, the failure names it.
* Seam's troubleshooting guide table (13 codes; hard-coded, never skipped).
* ``tests/data/seam-codes.json``, a copy of the team's ``seam-codes.json`` (current and legacy
  codes with the object flags Seam sets).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.domain.catalogue import Catalogue, Kind, Scope, default_catalogue
from tests.support.seam_spec import (
    REPO_ROOT,
    enumerated_codes,
    installed_version,
    load_openapi,
    pinned_version,
)

#: A copy of the team's code inventory (`../shared/reference/seam-codes.json`), kept in the repo so
#: the test never depends on files outside it.
SEAM_CODES_JSON = REPO_ROOT / "tests" / "data" / "seam-codes.json"

TROUBLESHOOTING_TABLE = (
    "failed_to_set_on_device",
    "failed_to_remove_from_device",
    "code_modified_external_to_seam",
    "august_device_programming_delay",
    "august_device_slots_full",
    "august_lock_bad_access_code_format",
    "august_lock_temporarily_offline",
    "duplicate_code_on_device",
    "salto_site_user_not_subscribed",
    "smartthings_failed_to_set_after_multiple_retries",
    "smartthings_no_free_slots_available",
    "kwikset_unable_to_confirm_code",
    "kwikset_unable_to_confirm_deletion",
)

# (schema, field, kind, object the entry must apply to, minimum codes the walker must find)
SPEC_LISTS = [
    ("access_code", "errors", Kind.ERROR, "access_code", 20),
    ("access_code", "warnings", Kind.WARNING, "access_code", 8),
    ("unmanaged_access_code", "errors", Kind.ERROR, "access_code", 20),
    ("unmanaged_access_code", "warnings", Kind.WARNING, "access_code", 8),
    ("device", "errors", Kind.ERROR, "device", 10),
    ("device", "warnings", Kind.WARNING, "device", 20),
    ("unmanaged_device", "errors", Kind.ERROR, "device", 10),
    ("unmanaged_device", "warnings", Kind.WARNING, "device", 20),
]


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return load_openapi()


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return default_catalogue()


def test_seam_types_is_pinned_exactly_and_installed(openapi: dict[str, Any]) -> None:
    pin = pinned_version()  # raises unless package.json pins an exact version
    assert re.fullmatch(r"\d+\.\d+\.\d+", pin)
    assert installed_version() == pin
    assert openapi["openapi"].startswith("3.")


@pytest.mark.parametrize(
    ("schema", "field", "kind", "applies", "minimum"),
    SPEC_LISTS,
    ids=[f"{s}.{f}" for s, f, *_ in SPEC_LISTS],
)
def test_every_spec_code_has_an_entry(
    openapi: dict[str, Any],
    catalogue: Catalogue,
    schema: str,
    field: str,
    kind: Kind,
    applies: str,
    minimum: int,
) -> None:
    codes = enumerated_codes(openapi, schema, field)  # type: ignore[arg-type]
    assert len(codes) > minimum, f"walker found only {sorted(codes)} in {schema}.{field}"

    missing = sorted(c for c in codes if catalogue.get(c, kind) is None)
    assert not missing, (
        f"@seamapi/types {pinned_version()} enumerates {schema}.{field} codes with no "
        f"{kind.value} entry in bot/catalogue.toml: {', '.join(missing)}"
    )
    wrong_object = sorted(c for c in codes if applies not in catalogue.lookup(c, kind).applies_to)
    assert not wrong_object, f"entries should list applies_to {applies!r}: {wrong_object}"


def test_the_bots_own_codes_are_not_seams(openapi: dict[str, Any], catalogue: Catalogue) -> None:
    """The predictive checks' codes (status "bot", `at_risk_…`) are the bot's own: no Seam
    list in the spec or in seam-codes.json has them, so they can never shadow a Seam code."""
    bot = {e.code for e in catalogue.entries() if e.is_bot_check}
    assert len(bot) >= 5
    in_spec = set().union(*(enumerated_codes(openapi, s, f) for s, f, *_ in SPEC_LISTS))  # type: ignore[arg-type]
    assert not bot & in_spec
    data = json.loads(SEAM_CODES_JSON.read_text(encoding="utf-8"))
    seam = {item["code"] for name in LISTS for item in data[name]}
    assert not bot & seam
    assert all(code.startswith("at_risk_") for code in bot)


def test_spec_walker_follows_compositions_and_refs() -> None:
    spec: dict[str, Any] = {
        "components": {
            "schemas": {
                "thing": {
                    "allOf": [
                        {"$ref": "#/components/schemas/base"},
                        {
                            "properties": {
                                "errors": {
                                    "type": "array",
                                    "items": {
                                        "oneOf": [
                                            {"properties": {"error_code": {"enum": ["a", "b"]}}},
                                            {"$ref": "#/components/schemas/err_c"},
                                            {
                                                "anyOf": [
                                                    {"properties": {"error_code": {"const": "d"}}}
                                                ]
                                            },
                                        ]
                                    },
                                }
                            }
                        },
                    ]
                },
                "base": {
                    "properties": {
                        "warnings": {"items": {"properties": {"warning_code": {"enum": ["w1"]}}}},
                        "self": {"$ref": "#/components/schemas/base"},
                    }
                },
                "err_c": {"properties": {"error_code": {"type": "string", "enum": ["c"]}}},
            }
        }
    }
    assert enumerated_codes(spec, "thing", "errors") == {"a", "b", "c", "d"}
    assert enumerated_codes(spec, "thing", "warnings") == {"w1"}
    with pytest.raises(KeyError, match="nope"):
        enumerated_codes(spec, "nope", "errors")


def test_troubleshooting_guide_codes_have_error_entries(catalogue: Catalogue) -> None:
    missing = [c for c in TROUBLESHOOTING_TABLE if catalogue.get(c, Kind.ERROR) is None]
    assert not missing, f"troubleshooting-guide codes without an error entry: {missing}"
    legacy = {c for c in TROUBLESHOOTING_TABLE if catalogue.lookup(c, "error").status == "legacy"}
    assert legacy == set(TROUBLESHOOTING_TABLE) - {
        "failed_to_set_on_device",
        "failed_to_remove_from_device",
        "duplicate_code_on_device",
    }


# --- seam-codes.json (vendored in tests/data) ---------------------------------------------------

LISTS = {
    "access_code_errors": (Kind.ERROR, "access_code"),
    "access_code_warnings": (Kind.WARNING, "access_code"),
    "device_errors": (Kind.ERROR, "device"),
    "device_warnings": (Kind.WARNING, "device"),
}


@pytest.fixture(scope="module")
def seam_codes() -> dict[str, Any]:
    if not SEAM_CODES_JSON.is_file():
        pytest.skip(f"{SEAM_CODES_JSON} not found (the shared reference sits beside the repo)")
    data: dict[str, Any] = json.loads(Path(SEAM_CODES_JSON).read_text(encoding="utf-8"))
    return data


def test_every_code_in_seam_codes_json_has_a_matching_entry(
    seam_codes: dict[str, Any], catalogue: Catalogue
) -> None:
    missing: list[str] = []
    wrong: list[str] = []
    current: set[tuple[str, Kind]] = set()
    seen: set[tuple[str, Kind]] = set()
    for list_name, (kind, applies) in LISTS.items():
        for item in seam_codes[list_name]:
            key = (item["code"], kind)
            seen.add(key)
            if item["status"] == "current":
                current.add(key)
            entry = catalogue.get(*key)
            if entry is None:
                missing.append(f"{list_name}:{item['code']}")
            elif applies not in entry.applies_to:
                wrong.append(f"{list_name}:{item['code']} lacks applies_to {applies}")
    assert len(current) > 60, "seam-codes.json looks truncated"
    assert not missing, f"codes in seam-codes.json without an entry: {missing}"
    assert not wrong, wrong
    expected = {key: "current" if key in current else "legacy" for key in seen}
    status_mismatch = sorted(
        f"{code}/{kind.value}"
        for (code, kind), status in expected.items()
        if catalogue.lookup(code, kind).status != status
    )
    assert not status_mismatch, f"status disagrees with seam-codes.json: {status_mismatch}"


def test_spec_flags_agree_with_scope(seam_codes: dict[str, Any], catalogue: Catalogue) -> None:
    """Seam flags copied errors is_device_error / is_connected_account_error: those are parents."""
    wrong: list[str] = []
    for item in seam_codes["access_code_errors"]:
        entry = catalogue.lookup(item["code"], Kind.ERROR)
        flag = item.get("kind")
        if flag == "connected_account" and entry.scope is not Scope.ACCOUNT:
            wrong.append(f"{item['code']}: connected-account error but scope {entry.scope}")
        if flag in ("device", "connected_account_or_bridge") and not entry.is_parent_cause:
            wrong.append(f"{item['code']}: device/bridge error but scope {entry.scope}")
    assert not wrong, wrong


def test_device_list_codes_are_parent_causes(
    seam_codes: dict[str, Any], catalogue: Catalogue
) -> None:
    # provider_issue is CODE scope on purpose (see the note at the top of bot/catalogue.toml).
    exceptions = {"provider_issue"}
    not_parent = sorted(
        item["code"]
        for list_name in ("device_errors", "device_warnings")
        for item in seam_codes[list_name]
        if item["code"] not in exceptions
        and not catalogue.lookup(item["code"], LISTS[list_name][0]).is_parent_cause
    )
    assert not not_parent, f"device errors/warnings that are not device/account scope: {not_parent}"
