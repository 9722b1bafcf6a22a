"""Load Seam's official OpenAPI document from the pinned npm package ``@seamapi/types``.

The package ships the document as a JS default export (``lib/seam/connect/openapi.js``), not as
JSON, so Node imports it and prints it as JSON. The version is pinned exactly in the repo's
``package.json``; if ``node_modules`` is missing or holds another version, :func:`ensure_installed`
runs ``npm ci`` (or ``npm install`` without a lockfile) in the repo root first.

:func:`enumerated_codes` walks a schema for the ``error_code`` / ``warning_code`` values Seam
enumerates (``oneOf`` / ``anyOf`` / ``allOf`` and local ``$ref`` are followed), so a new code in a
future pin shows up by name in the catalogue coverage test.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "@seamapi/types"
OPENAPI_MODULE = "lib/seam/connect/openapi.js"
DISCRIMINATORS = {"errors": "error_code", "warnings": "warning_code"}
_EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_COMPOSITIONS = ("allOf", "oneOf", "anyOf")

Field = Literal["errors", "warnings"]


class SpecUnavailableError(RuntimeError):
    """Node / npm are missing, or installing or importing the package failed."""


def pinned_version(repo_root: Path = REPO_ROOT) -> str:
    """The ``@seamapi/types`` version pinned in ``package.json``; must be exact (1.977.0)."""
    manifest = json.loads((repo_root / "package.json").read_text(encoding="utf-8"))
    version = manifest.get("dependencies", {}).get(PACKAGE) or manifest.get(
        "devDependencies", {}
    ).get(PACKAGE)
    if not isinstance(version, str) or not _EXACT_VERSION.match(version):
        raise SpecUnavailableError(f"package.json must pin {PACKAGE} exactly, found {version!r}")
    return version


def installed_version(repo_root: Path = REPO_ROOT) -> str | None:
    """The version present in ``node_modules``, or None if the package is not installed."""
    manifest = repo_root / "node_modules" / PACKAGE / "package.json"
    if not manifest.is_file():
        return None
    version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    return version if isinstance(version, str) else None


def _run(cmd: list[str], cwd: Path, timeout: float) -> str:
    try:
        done = subprocess.run(
            cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SpecUnavailableError(f"{' '.join(cmd)} failed: {exc}") from exc
    if done.returncode != 0:
        raise SpecUnavailableError(
            f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()[-2000:]}"
        )
    return done.stdout


def ensure_installed(repo_root: Path = REPO_ROOT) -> Path:
    """Install the pinned package if needed; return the absolute path of the OpenAPI module."""
    pin = pinned_version(repo_root)
    if installed_version(repo_root) != pin:
        npm = shutil.which("npm")
        if npm is None:
            raise SpecUnavailableError("npm is not on PATH; it is needed to install " + PACKAGE)
        has_lock = (repo_root / "package-lock.json").is_file()
        cmd = [npm, "ci" if has_lock else "install", "--no-audit", "--no-fund"]
        _run(cmd, repo_root, timeout=600)
        if installed_version(repo_root) != pin:
            raise SpecUnavailableError(
                f"after npm, {PACKAGE} is {installed_version(repo_root)!r}, expected {pin}"
            )
    module = repo_root / "node_modules" / PACKAGE / OPENAPI_MODULE
    if not module.is_file():
        raise SpecUnavailableError(f"{module} is missing from {PACKAGE} {pin}")
    return module


@functools.cache
def load_openapi(repo_root: Path = REPO_ROOT) -> dict[str, Any]:
    """The OpenAPI document of the pinned ``@seamapi/types`` as a dict (cached per process)."""
    module = ensure_installed(repo_root)
    node = shutil.which("node")
    if node is None:
        raise SpecUnavailableError("node is not on PATH; it is needed to read the Seam spec")
    script = (
        f"import spec from {json.dumps(module.as_uri())};"
        " process.stdout.write(JSON.stringify(spec))"
    )
    out = _run([node, "--input-type=module", "-e", script], repo_root, timeout=120)
    spec = json.loads(out)
    if not isinstance(spec, dict) or "components" not in spec:
        raise SpecUnavailableError(f"{module} did not export an OpenAPI document")
    return spec


def _deref(node: Any, spec: dict[str, Any], seen: frozenset[str]) -> tuple[Any, frozenset[str]]:
    """Follow local ``$ref`` chains (``#/...``); cycles stop at an already seen ref."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            return None, seen
        seen = seen | {ref}
        target: Any = spec
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        node = target
    return node, seen


def _find_property(
    schema: Any, name: str, spec: dict[str, Any], seen: frozenset[str] = frozenset()
) -> Iterator[Any]:
    """Yield every definition of property ``name`` on ``schema`` or its compositions."""
    schema, seen = _deref(schema, spec, seen)
    if not isinstance(schema, dict):
        return
    props = schema.get("properties")
    if isinstance(props, dict) and name in props:
        yield props[name]
    for keyword in _COMPOSITIONS:
        for part in schema.get(keyword) or []:
            yield from _find_property(part, name, spec, seen)


def discriminator_values(
    node: Any, key: str, spec: dict[str, Any], seen: frozenset[str] = frozenset()
) -> set[str]:
    """Every string that ``properties[key]`` may take (``enum`` / ``const``) anywhere under node."""
    node, seen = _deref(node, spec, seen)
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= discriminator_values(item, key, spec, seen)
    elif isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            prop, _ = _deref(props.get(key), spec, seen)
            if isinstance(prop, dict):
                values = list(prop.get("enum") or [])
                if "const" in prop:
                    values.append(prop["const"])
                found |= {v for v in values if isinstance(v, str)}
        for value in node.values():
            found |= discriminator_values(value, key, spec, seen)
    return found


def enumerated_codes(spec: dict[str, Any], schema_name: str, field: Field) -> set[str]:
    """Codes enumerated for ``components.schemas[schema_name].<field>`` (errors or warnings)."""
    schema = spec.get("components", {}).get("schemas", {}).get(schema_name)
    if schema is None:
        raise KeyError(f"schema {schema_name!r} is not in the OpenAPI document")
    key = DISCRIMINATORS[field]
    found: set[str] = set()
    for definition in _find_property(schema, field, spec):
        found |= discriminator_values(definition, key, spec)
    return found
