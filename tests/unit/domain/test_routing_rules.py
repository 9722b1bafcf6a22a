"""The rules of `bot.domain.routing` (`ALERT_ROUTES`): one test per matcher, first match wins,
unmatched alerts to the default channel, and a bad file refused with one line naming the rule.

The end-to-end scenario (two locks' alerts in two channels) is in
tests/scenario/test_alert_routes.py.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.domain.alert_plan import plan_alerts
from bot.domain.routing import (
    AlertRoutes,
    RoutesError,
    RouteSubject,
    load_routes,
    parse_routes,
    subject_for_code,
    subject_for_group,
)
from bot.seam.models import AccessCode, Device
from tests.unit.domain.test_alert_plan_rules import NOW, on_code

ROOT = Path(__file__).resolve().parents[3]
DEFAULT = "CDEFAULT"


def routes(*rules: dict[str, Any]) -> AlertRoutes:
    return parse_routes({"route": list(rules)}, DEFAULT)


def rule(**matchers: Any) -> dict[str, Any]:
    return {"name": "r", "channel": "CROUTED", **matchers}


def subject(**fields: Any) -> RouteSubject:
    base: dict[str, Any] = {"lock_name": "Harbor View 2B Front Door", "device_id": "dev-1"}
    return RouteSubject(**{**base, **fields})


def channel_of(table: AlertRoutes, s: RouteSubject) -> str:
    return table.route(s).channel


# ------------------------------------------------------------------ one test per matcher


def test_lock_name_glob_is_case_insensitive() -> None:
    table = routes(rule(lock_name="harbor view*"))
    assert channel_of(table, subject()) == "CROUTED"
    assert channel_of(table, subject(lock_name="Bayside 1 Back Door")) == DEFAULT
    table = routes(rule(lock_name=["*back door", "*garage*"]))
    assert channel_of(table, subject(lock_name="Bayside 1 Back Door")) == "CROUTED"
    assert channel_of(table, subject()) == DEFAULT


def test_device_id_is_exact() -> None:
    table = routes(rule(device_id=["dev-1", "dev-9"]))
    assert channel_of(table, subject(device_id="dev-1")) == "CROUTED"
    assert channel_of(table, subject(device_id="dev-10")) == DEFAULT


def test_manufacturer_ignores_case_and_a_missing_one_never_matches() -> None:
    table = routes(rule(manufacturer="August"))
    assert channel_of(table, subject(manufacturer="august")) == "CROUTED"
    assert channel_of(table, subject(manufacturer="yale")) == DEFAULT
    assert channel_of(table, subject(manufacturer=None)) == DEFAULT


def test_problem_matches_any_of_the_alerts_problems_by_glob() -> None:
    table = routes(rule(problem=["duplicate_code_*"]))
    hit = subject(problems=frozenset({"failed_to_set_on_device", "duplicate_code_on_device"}))
    assert channel_of(table, hit) == "CROUTED"
    assert channel_of(table, subject(problems=frozenset({"device_offline"}))) == DEFAULT
    assert channel_of(table, subject(problems=frozenset())) == DEFAULT


def test_severity_is_the_alerts_worst_kind() -> None:
    table = routes(rule(severity="warning"))
    assert channel_of(table, subject(severity="warning")) == "CROUTED"
    assert channel_of(table, subject(severity="error")) == DEFAULT


def test_customer_key_matches_only_where_seam_sent_one() -> None:
    table = routes(rule(customer_key="harbor-view"))
    assert channel_of(table, subject(customer_key="harbor-view")) == "CROUTED"
    assert channel_of(table, subject(customer_key="bayside")) == DEFAULT
    assert channel_of(table, subject(customer_key=None)) == DEFAULT


def test_space_id_matches_any_of_the_devices_spaces() -> None:
    table = routes(rule(space_id="space-b"))
    assert channel_of(table, subject(space_ids=frozenset({"space-a", "space-b"}))) == "CROUTED"
    assert channel_of(table, subject(space_ids=frozenset({"space-a"}))) == DEFAULT
    assert channel_of(table, subject()) == DEFAULT


# ------------------------------------------------------------------ combining rules


def test_every_matcher_of_a_rule_must_match() -> None:
    table = routes(rule(lock_name="harbor*", severity="error"))
    assert channel_of(table, subject(severity="error")) == "CROUTED"
    assert channel_of(table, subject(severity="warning")) == DEFAULT


def test_first_match_wins_and_names_its_section() -> None:
    table = routes(
        {"name": "urgent", "channel": "CURGENT", "severity": "error", "section": "Urgent"},
        {"name": "harbor", "channel": "CHARBOR", "lock_name": "harbor*"},
    )
    first = table.route(subject(severity="error"))
    assert (first.channel, first.section, first.rule) == ("CURGENT", "Urgent", "urgent")
    second = table.route(subject(severity="warning"))
    assert (second.channel, second.section, second.rule) == ("CHARBOR", "harbor", "harbor")
    unmatched = table.route(subject(lock_name="Bayside", severity="warning"))
    assert (unmatched.channel, unmatched.section, unmatched.rule) == (DEFAULT, None, None)
    assert table.channels == (DEFAULT, "CURGENT", "CHARBOR")


def test_subject_of_a_planned_alert_reads_the_lock() -> None:
    finding = on_code("ac-1", "failed_to_set_on_device", "warning", device_id="dev-1")
    [group] = plan_alerts([finding], {}, NOW).values()
    device = Device.model_validate(
        {
            "device_id": "dev-1",
            "display_name": "Harbor 2B",
            "properties": {"manufacturer": "schlage"},
            "customer_key": "harbor-view",
            "space_ids": ["space-a"],
        }
    )
    s = subject_for_group(group, device)
    assert s == RouteSubject(
        lock_name="Harbor 2B",
        device_id="dev-1",
        manufacturer="schlage",
        problems=frozenset({"failed_to_set_on_device"}),
        severity="warning",
        customer_key="harbor-view",
        space_ids=frozenset({"space-a"}),
    )
    bare = subject_for_group(group, None)
    assert (bare.lock_name, bare.manufacturer, bare.customer_key) == ("dev-1", None, None)
    code = AccessCode.model_validate(
        {"access_code_id": "ac-1", "device_id": "dev-1", "errors": [{"error_code": "x_y"}]}
    )
    door = subject_for_code(code, device)
    assert door.problems == {"x_y"} and door.severity == "error" and door.lock_name == "Harbor 2B"


# ------------------------------------------------------------------ bad files


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([{"name": "a", "channel": "C0A"}], r"rule 'a' \(#1\): matches nothing in particular"),
        ([{"channel": "C0A", "severity": "error"}], r"rule #1: name is required"),
        ([{"name": "a", "severity": "error"}], r"rule 'a' \(#1\): channel is required"),
        (
            [{"name": "a", "channel": "alerts", "severity": "error"}],
            r"rule 'a' \(#1\): channel 'alerts' is not a channel ID",
        ),
        (
            [{"name": "a", "channel": "C0A", "severity": "critical"}],
            r"rule 'a' \(#1\): severity must be 'error' or 'warning'",
        ),
        (
            [{"name": "a", "channel": "C0A", "lock": "x"}],
            r"rule 'a' \(#1\): unknown key\(s\) lock",
        ),
        (
            [{"name": "a", "channel": "C0A", "lock_name": []}],
            r"rule 'a' \(#1\): lock_name must be a non-empty string or a list",
        ),
        (
            [{"name": "a", "channel": "C0A", "problem": "*"}],
            r"rule 'a' \(#1\): problem '\*' matches everything",
        ),
        (
            [
                {"name": "a", "channel": "C0A", "severity": "error"},
                {"name": "a", "channel": "C0B", "severity": "warning"},
            ],
            r"rule 'a' \(#2\): the name is used by an earlier rule",
        ),
        ([], r"no \[\[route\]\] rules"),
    ],
)
def test_a_bad_rule_is_refused_with_one_line_naming_it(
    rules: list[dict[str, Any]], expected: str
) -> None:
    with pytest.raises(RoutesError, match=expected) as info:
        parse_routes({"route": rules}, DEFAULT, source="routes.toml")
    assert "\n" not in str(info.value) and str(info.value).startswith("routes.toml: ")


def test_unknown_top_level_keys_are_refused() -> None:
    with pytest.raises(RoutesError, match="unknown top-level key"):
        parse_routes({"routes": [rule(severity="error")]}, DEFAULT)


def test_load_routes_reads_toml_and_names_unreadable_or_broken_files(tmp_path: Path) -> None:
    good = tmp_path / "routes.toml"
    good.write_text('[[route]]\nname = "w"\nchannel = "C0W"\nseverity = "warning"\n')
    assert channel_of(load_routes(good, DEFAULT), subject(severity="warning")) == "C0W"
    broken = tmp_path / "broken.toml"
    broken.write_text('[[route]]\nname = "w\n')
    with pytest.raises(RoutesError, match=r"broken\.toml: not valid TOML"):
        load_routes(broken, DEFAULT)
    with pytest.raises(RoutesError, match=r"missing\.toml: cannot be read"):
        load_routes(tmp_path / "missing.toml", DEFAULT)


def test_the_example_file_is_valid() -> None:
    path = ROOT / "alert-routes.example.toml"
    table = load_routes(path, DEFAULT)
    assert len(table.rules) == len(tomllib.loads(path.read_text())["route"]) >= 2
