"""A rendered pod template's containers as local processes, configured as the kubelet would.

What a container runs is spread over its `command`, `args`, `env`, `envFrom` and the
ConfigMaps, Secrets and volumes they name. This module puts those pieces together the way
the kubelet does, from the rendered objects and nothing else:

- the environment is `envFrom` (in order, a later source overriding an earlier one), then
  `env` (in order, overriding `envFrom`), each `env` value with its `$(VAR)` references
  expanded against the variables defined before it;
- `command` and `args` have their `$(VAR)` references expanded against the whole
  environment (`expand`, the kubelet's rules: `$$` is a literal `$`, a reference to an
  undefined variable stays as written);
- each volume is a local directory (`emptyDir` empty, `configMap` and `secret` holding one
  file per key); a path in the container under a `volumeMount` is that directory (or, with
  `subPath`, that file), and such paths are rewritten in the container's command, args and
  environment;
- the executable is looked up on the PATH the caller gives (standing in for the image's).

What is not modelled: the image's own environment and entrypoint (the command is always
rendered here), service links, security contexts, resources and probes other than
readiness (the caller polls it).
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plinth.engine import SECRET_MARK

INIT_CONTAINER_TIMEOUT_S = 120
LOG_TAIL_CHARS = 800
# A container's command line and environment -> the same, rewritten for this machine.
Localize = Callable[[list[str], dict[str, str]], tuple[list[str], dict[str, str]]]


class PodError(Exception):
    """The pod would not start: a missing object or key, a failed init container."""


def expand(text: str, variables: Mapping[str, str]) -> str:
    """`text` with its `$(VAR)` references expanded as the kubelet expands them.

    `$(NAME)` becomes the value of NAME when it is defined and stays `$(NAME)` when not;
    `$$` is an escaped `$`; a `$` before anything else, or an unclosed `$(`, stays as is.
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        following = text[i + 1] if i + 1 < len(text) else ""
        if char != "$" or following not in ("$", "("):
            out.append(char)
            i += 1
        elif following == "$":
            out.append("$")
            i += 2
        else:
            end = text.find(")", i + 2)
            if end == -1:
                out.append(text[i:])
                break
            name = text[i + 2 : end]
            out.append(variables.get(name, text[i : end + 1]))
            i = end + 1
    return "".join(out)


@dataclass(frozen=True)
class ClusterObjects:
    """The ConfigMaps and Secrets of one namespace, by name, as a pod sees their data."""

    config_maps: Mapping[str, Mapping[str, str]]
    secrets: Mapping[str, Mapping[str, str]]

    @classmethod
    def of(cls, objects: Sequence[Mapping[str, Any]]) -> ClusterObjects:
        """ConfigMaps' `data` and Secrets' decoded `data` merged with `stringData`.

        A plan shows a secret value as `[secret]` (a whole `data` map too, when the chart
        renders it empty): such values are unknown here and left out, as if absent.
        """
        config_maps = {
            obj["metadata"]["name"]: dict(obj.get("data") or {})
            for obj in objects
            if obj.get("kind") == "ConfigMap"
        }
        secrets = {
            obj["metadata"]["name"]: {
                **_known(obj.get("data"), decode=True),
                **_known(obj.get("stringData"), decode=False),
            }
            for obj in objects
            if obj.get("kind") == "Secret"
        }
        return cls(config_maps, secrets)

    def data(self, kind: str, name: str, *, optional: bool = False) -> Mapping[str, str]:
        """The data of the ConfigMap or Secret `name`: a PodError when it is missing."""
        found = (self.config_maps if kind == "ConfigMap" else self.secrets).get(name)
        if found is None:
            if optional:
                return {}
            raise PodError(f"{kind} {name} not found: the pod would not start")
        return found

    def value(self, kind: str, reference: Mapping[str, Any]) -> str | None:
        """The value a `configMapKeyRef`/`secretKeyRef` names (None when optional and absent)."""
        optional = bool(reference.get("optional"))
        data = self.data(kind, reference["name"], optional=optional)
        if reference["key"] not in data:
            if optional:
                return None
            raise PodError(f"{kind} {reference['name']} has no key {reference['key']}")
        return data[reference["key"]]


def _known(data: Any, *, decode: bool) -> dict[str, str]:
    """A Secret's `data` or `stringData` without the values a plan hides (`[secret]`)."""
    if not isinstance(data, Mapping):
        return {}
    return {
        key: base64.b64decode(value).decode() if decode else str(value)
        for key, value in data.items()
        if value != SECRET_MARK
    }


def container_environment(container: Mapping[str, Any], cluster: ClusterObjects) -> dict[str, str]:
    """The container's environment variables: `envFrom`, then `env`, expanded in order."""
    variables: dict[str, str] = {}
    for source in container.get("envFrom") or ():
        prefix = source.get("prefix", "")
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in source:
                reference = source[key]
                optional = bool(reference.get("optional"))
                data = cluster.data(kind, reference["name"], optional=optional)
                variables.update({prefix + name: value for name, value in data.items()})
    for entry in container.get("env") or ():
        value = _env_value(entry, variables, cluster)
        if value is not None:
            variables[entry["name"]] = value
    return variables


def _env_value(
    entry: Mapping[str, Any], defined: Mapping[str, str], cluster: ClusterObjects
) -> str | None:
    if "valueFrom" not in entry:
        return expand(str(entry.get("value", "")), defined)
    source = entry["valueFrom"]
    if "secretKeyRef" in source:
        return cluster.value("Secret", source["secretKeyRef"])
    if "configMapKeyRef" in source:
        return cluster.value("ConfigMap", source["configMapKeyRef"])
    raise PodError(f"env {entry['name']}: only secretKeyRef and configMapKeyRef are modelled")


@dataclass
class LocalPod:
    """One pod template, its volumes as directories under `root`."""

    spec: Mapping[str, Any]
    cluster: ClusterObjects
    root: Path
    volumes: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for volume in self.spec.get("volumes") or ():
            directory = self.root / "volumes" / volume["name"]
            directory.mkdir(parents=True)
            self.volumes[volume["name"]] = directory
            for kind, key, name_key in (
                ("ConfigMap", "configMap", "name"),
                ("Secret", "secret", "secretName"),
            ):
                if key in volume:
                    source = volume[key]
                    data = self.cluster.data(
                        kind, source[name_key], optional=bool(source.get("optional"))
                    )
                    for file_name, content in data.items():
                        (directory / file_name).write_text(content)

    def container(self, name: str) -> Mapping[str, Any]:
        """The container (or init container) `name`."""
        for container in [*(self.spec.get("initContainers") or ()), *self.spec["containers"]]:
            if container["name"] == name:
                return container  # type: ignore[no-any-return]
        raise PodError(f"no container {name} in the pod")

    def local_path(self, container: Mapping[str, Any], text: str) -> str:
        """`text` with each path under one of the container's mounts made a local path.

        One pass, the longest mount path first, so that a local path is never rewritten
        again (a mount at /tmp would otherwise catch the local paths under /tmp).
        """
        local = {
            mount["mountPath"].rstrip("/"): str(
                self.volumes[mount["name"]] / mount.get("subPath", "")
            ).rstrip("/")
            for mount in container.get("volumeMounts") or ()
        }
        if not local:
            return text
        alternatives = "|".join(re.escape(path) for path in sorted(local, key=len, reverse=True))
        pattern = rf"(?<![\w.-])({alternatives})(?=/|[^\w.-]|$)"
        return re.sub(pattern, lambda match: local[match.group(1)], text)

    def argv_and_environment(
        self, container: Mapping[str, Any]
    ) -> tuple[list[str], dict[str, str]]:
        """The container's command line and environment, expanded, with local paths."""
        variables = container_environment(container, self.cluster)
        argv = [
            self.local_path(container, expand(str(word), variables))
            for word in [*(container.get("command") or ()), *(container.get("args") or ())]
        ]
        if not container.get("command"):
            raise PodError(f"container {container['name']}: no command (the image's entrypoint)")
        environment = {name: self.local_path(container, value) for name, value in variables.items()}
        return argv, environment

    def run_init_containers(
        self, base_environment: Mapping[str, str], localize: Localize, *, doomed: str = ""
    ) -> None:
        """Each init container in order, to completion: a PodError when one fails.

        `localize` rewrites each one's command line and environment (after expansion) for
        this machine, as the caller's mapping of in-cluster addresses says. `doomed`: a
        text the programs print when they retry what failed (MLflow retries its database
        connection for 100 s); when the caller's servers are up from the start, a retry can
        only fail again, so the container is stopped there and reported as failed.
        """
        for container in self.spec.get("initContainers") or ():
            argv, environment = localize(*self.argv_and_environment(container))
            environment = {**base_environment, **environment}
            log_path = self.root / f"{container['name']}.log"
            with log_path.open("w") as log:
                process = subprocess.Popen(
                    [executable(argv[0], environment), *argv[1:]],
                    env=environment,
                    cwd=self.root,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            returncode = _wait(process, log_path, doomed)
            if returncode != 0:
                raise PodError(
                    f"init container {container['name']} exited {returncode}: "
                    f"{log_path.read_text().strip()[-LOG_TAIL_CHARS:]}"
                )


def _wait(process: subprocess.Popen[bytes], log_path: Path, doomed: str) -> int:
    """The process's exit code; -9 when it was stopped for printing `doomed`."""
    deadline = time.monotonic() + INIT_CONTAINER_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return process.returncode
        if doomed and doomed in log_path.read_text():
            process.kill()
            process.wait()
            return process.returncode
        time.sleep(0.2)
    process.kill()
    process.wait()
    raise PodError(f"{log_path.stem} still running after {INIT_CONTAINER_TIMEOUT_S} s")


def executable(name: str, environment: Mapping[str, str]) -> str:
    """The program `name` on the environment's PATH, standing in for the image's."""
    found = shutil.which(name, path=environment.get("PATH"))
    if found is None:
        raise PodError(f"{name} not found on PATH {environment.get('PATH')}")
    return found
