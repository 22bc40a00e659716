"""Finding the project and reading one environment's stack file, as Pulumi would.

`environments/Pulumi.<env>.yaml` holds a `config:` map. Values are turned into what the
program sees at run time: scalars as strings, structured values as JSON text. `secure:`
values (ciphertext only the Pulumi CLI can decrypt) become marked placeholders and their
keys are reported as secret, so nothing secret is ever printed in clear.

The file is read strictly (`plinth/input_files.py`, `plinth/strict_yaml.py`): a small
UTF-8 file, no key given twice, and no key given both bare and namespaced (`tier` and
`plinth:tier` are one key to Pulumi), so no setting is silently replaced by another.
The environment's name is a Pulumi stack name, checked against Pulumi's rule. Pulumi.yaml's
`stackConfigDir: environments` is what makes stack `<env>` read (and `pulumi stack init` and
`pulumi config set` write) `environments/Pulumi.<env>.yaml`. On the command line an
environment is its name or that file's path (`environment_name`); an unknown name is
answered with the closest existing one.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from plinth.input_files import read_text_file
from plinth.strict_yaml import load_yaml, mapping_key_lines
from stacks.config import (
    NAMESPACE,
    ConfigError,
    PlatformConfig,
    load_platform_config,
    plinth_values,
)

SECRET_PLACEHOLDER = "[secret:{key}]"  # noqa: S105 (what replaces a secret)
ENVIRONMENTS_DIR = "environments"  # Pulumi.yaml's stackConfigDir
# How a stack settings file is named (Pulumi reads `.yaml` for a stack's settings).
ENVIRONMENT_FILE = re.compile(r"Pulumi\.(?P<name>.+)\.yaml")
# Pulumi's rule for stack names (pkg/backend: `^[A-Za-z0-9_.-]{1,100}$`).
STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
MAX_ENVIRONMENT_FILE_BYTES = 512 * 1024  # the largest of ours is 5 KiB


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
        for p in (root / ENVIRONMENTS_DIR).glob("Pulumi.*.yaml")
    )


def environment_file(name: str) -> str:
    """The file of environment `name`, relative to the project root, as messages show it."""
    return f"{ENVIRONMENTS_DIR}/Pulumi.{name}.yaml"


def environment_name(given: str, root: Path | None = None) -> str:
    """The environment a command-line argument names: a name (`prod`) as it is, or the path
    of its file (`environments/Pulumi.prod.yaml`, relative to the working directory), which
    must be a `Pulumi.<name>.yaml` in the project's `environments/` (the only place Pulumi
    reads a stack's settings from). ConfigError for any other path. A name is checked
    later, by `load_environment`."""
    if "\0" in given:
        raise ConfigError(f"{given}: a path cannot hold a NUL character; give a plain path")
    root = root or project_root()
    if not _is_path(given, root):
        return given
    directory = root / ENVIRONMENTS_DIR
    path = Path(given)
    try:
        # The folder is resolved, not the file: a file in environments/ that is a link
        # elsewhere is still that environment, as it is by name.
        folder, environments = path.parent.resolve(), directory.resolve()
    except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop (Python < 3.13)
        raise ConfigError(f"{given}: cannot resolve it ({error})") from None
    match = ENVIRONMENT_FILE.fullmatch(path.name)
    if match is not None and folder == environments:
        return match["name"]
    choices = ", ".join(available(root)) or "none yet"
    if match is not None:
        problem = (
            f"not in {directory}, the only folder Pulumi reads stack {match['name']}'s "
            "settings from; move it there, or give"
        )
    else:
        problem = f"not an environment file ({ENVIRONMENTS_DIR}/Pulumi.<name>.yaml); give"
    raise ConfigError(f"{given}: {problem} an environment's name or file (environments: {choices})")


def _is_path(given: str, root: Path) -> bool:
    """Whether `given` means a file: it has a folder or a YAML suffix, or it is no
    environment's name but a file or folder here (`README.md`)."""
    separators = [separator for separator in (os.sep, os.altsep) if separator]
    if any(sep in given for sep in separators) or given.endswith((".yaml", ".yml")):
        return True
    if not STACK_NAME.fullmatch(given) or set(given) == {"."}:
        return False  # load_environment says what is wrong with the name
    try:
        return not (root / environment_file(given)).exists() and Path(given).exists()
    except OSError:  # unreadable: left to load_environment, which names the file
        return False


def closest_environment(root: Path, name: str) -> str | None:
    """The existing environment whose name is closest to `name` (case aside), if any is."""
    names = {candidate.casefold(): candidate for candidate in available(root)}
    close = difflib.get_close_matches(name.casefold(), list(names), n=1)
    return names[close[0]] if close else None


def check_environment_name(name: str) -> None:
    """ConfigError unless `name` is a name Pulumi accepts for a stack (and not `.` or `..`,
    which would name a directory above out/)."""
    if not STACK_NAME.fullmatch(name) or set(name) == {"."}:
        raise ConfigError(
            f"environment {json.dumps(name)}: not a Pulumi stack name; use 1 to 100 letters, "
            "digits, '-', '_' or '.' (not only dots), as in environments/Pulumi.<name>.yaml"
        )


def load_environment(root: Path, name: str) -> Environment:
    """Read and validate `environments/Pulumi.<name>.yaml`; any problem is a ConfigError."""
    check_environment_name(name)
    source = environment_file(name)
    path = root / source
    if not _exists(path, source):
        raise ConfigError(f"{source}: no such environment file; {_unknown_hint(root, name)}")
    text = read_text_file(path, source, max_bytes=MAX_ENVIRONMENT_FILE_BYTES)
    document, node = load_yaml(text, source)
    config = (document or {}).get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(
            f"{source}: needs a top-level 'config:' map of settings (see environments/)"
        )
    _no_key_twice_in_the_namespace(node, source)
    pulumi_config: dict[str, str] = {}
    secret_keys: list[str] = []
    for raw_key, value in sorted(config.items(), key=lambda item: str(item[0])):
        key = _namespaced(str(raw_key))
        rendered, secret = _as_pulumi_value(value, key)
        pulumi_config[key] = rendered
        if secret:
            secret_keys.append(key)
    platform = load_platform_config(
        plinth_values(pulumi_config), source=source, secret_keys=secret_keys
    )
    return Environment(name, path, pulumi_config, tuple(secret_keys), platform)


def _unknown_hint(root: Path, name: str) -> str:
    choices = ", ".join(available(root))
    if not choices:
        return f"there are none yet: create {environment_file(name)} (see README.md)"
    closest = closest_environment(root, name)
    if closest is None:
        return f"give one of {choices}, or create the file to add {name!r}"
    return f"did you mean {closest!r}? (environments: {choices})"


def _exists(path: Path, source: str) -> bool:
    try:
        return path.exists()
    except OSError as error:  # e.g. environments/ may not be read
        raise ConfigError(f"{source}: cannot read it ({error.strerror or error})") from None


def _namespaced(key: str) -> str:
    # Pulumi reads a bare key as one in the project's namespace.
    return key if ":" in key else f"{NAMESPACE}:{key}"


def _no_key_twice_in_the_namespace(root: yaml.Node | None, source: str) -> None:
    """ConfigError when `config:` sets one key both bare and namespaced (`tier` and
    `plinth:tier`): Pulumi would keep one of them, and which is not obvious."""
    if not isinstance(root, yaml.MappingNode):
        return
    config = next((value for key, value in root.value if key.value == "config"), None)
    if config is None:
        return
    first_lines: dict[str, tuple[str, int]] = {}
    for written, line in mapping_key_lines(config):
        key = _namespaced(written)
        if key in first_lines:
            earlier, earlier_line = first_lines[key]
            raise ConfigError(
                f"{source}: line {line}: {written!r} and {earlier!r} (line {earlier_line}) "
                f"are the same key {key}; keep one"
            )
        first_lines[key] = (written, line)


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
