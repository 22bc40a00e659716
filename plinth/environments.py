"""Finding the project and reading one environment's stack file, as Pulumi would.

`environments/Pulumi.<env>.yaml` holds a `config:` map. Values are turned into what the
program sees at run time: scalars as strings, structured values as JSON text. `secure:`
values (ciphertext only the Pulumi CLI can decrypt) become marked placeholders and their
keys are reported as secret, so nothing secret is ever printed in clear.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stacks.config import (
    NAMESPACE,
    ConfigError,
    PlatformConfig,
    load_platform_config,
    plinth_values,
)

SECRET_PLACEHOLDER = "[secret:{key}]"  # noqa: S105 (what replaces a secret)


@dataclass(frozen=True)
class Environment:
    """One environment: its name, the raw Pulumi config and the typed Plinth config."""

    name: str
    path: Path
    pulumi_config: dict[str, str]
    secret_keys: tuple[str, ...]
    platform: PlatformConfig


def project_root(start: Path | None = None) -> Path:
    """The directory holding Pulumi.yaml: $PLINTH_PROJECT_DIR, else the nearest one upward."""
    configured = os.environ.get("PLINTH_PROJECT_DIR")
    if configured:
        return Path(configured).resolve()
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    raise ConfigError(
        f"no Pulumi.yaml in {here} or above: run plinth inside the Plinth checkout "
        "or set PLINTH_PROJECT_DIR"
    )


def available(root: Path) -> list[str]:
    """Names of the environments under `environments/`, sorted."""
    return sorted(
        p.name[len("Pulumi.") : -len(".yaml")]
        for p in (root / "environments").glob("Pulumi.*.yaml")
    )


def load_environment(root: Path, name: str) -> Environment:
    """Read and validate `environments/Pulumi.<name>.yaml`; any problem is a ConfigError."""
    path = root / "environments" / f"Pulumi.{name}.yaml"
    source = f"environments/{path.name}"
    if not path.is_file():
        choices = ", ".join(available(root)) or "none"
        raise ConfigError(f"{source}: no such environment file; available environments: {choices}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ConfigError(f"{source}:{where}: {problem} (fix the YAML syntax)") from None
    config = (document or {}).get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(
            f"{source}: needs a top-level 'config:' map of settings (see environments/)"
        )
    pulumi_config: dict[str, str] = {}
    secret_keys: list[str] = []
    for raw_key, value in sorted(config.items(), key=lambda item: str(item[0])):
        # Pulumi reads a bare key as one in the project's namespace.
        key = str(raw_key) if ":" in str(raw_key) else f"{NAMESPACE}:{raw_key}"
        rendered, secret = _as_pulumi_value(value, key)
        pulumi_config[key] = rendered
        if secret:
            secret_keys.append(key)
    platform = load_platform_config(
        plinth_values(pulumi_config), source=source, secret_keys=secret_keys
    )
    return Environment(name, path, pulumi_config, tuple(secret_keys), platform)


def _as_pulumi_value(value: Any, key: str) -> tuple[str, bool]:
    replaced, secret = _replace_secure(value, key)
    if isinstance(replaced, str):
        return replaced, secret
    if isinstance(replaced, bool):
        return ("true" if replaced else "false"), secret
    if isinstance(replaced, int | float):
        return str(replaced), secret
    return json.dumps(replaced, sort_keys=True), secret


def _replace_secure(value: Any, path: str) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER.format(key=path), True
        secret = False
        result = {}
        for child_key, child in value.items():
            result[str(child_key)], child_secret = _replace_secure(child, f"{path}.{child_key}")
            secret = secret or child_secret
        return result, secret
    if isinstance(value, list):
        items = [_replace_secure(child, f"{path}[{i}]") for i, child in enumerate(value)]
        return [item for item, _ in items], any(flag for _, flag in items)
    return value, False
