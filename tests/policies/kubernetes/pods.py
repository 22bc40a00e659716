"""The compliant pod every pod rule accepts, and the workloads around it.

One compliant pod (`pod_spec`) and one compliant Deployment and SparkApplication around
it; each failing case of the pod rule tests changes one field of them (`changed`,
`patched`).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from policies.kubernetes import images, pod_security, resources, root_filesystem
from tests.policy_harness import kubernetes, violations

DIGEST = "sha256:" + "a" * 64
IMAGE = f"ghcr.io/example/trainer:1.2.3@{DIGEST}"
POD_RULES = {
    rule.name
    for module in (pod_security, resources, images, root_filesystem)
    for rule in module.RULES
}
DELETE = object()
SC = "containers[0].securityContext"
POD_SC = "securityContext"


def patched(value: Any, path: str, new: Any) -> Any:
    """A deep copy of `value` with the field at dotted `path` (`a.b[0].c`) set to `new`.

    `new` is DELETE to remove the field.
    """
    result = copy.deepcopy(value)
    keys: list[str | int] = [
        int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", path)
    ]
    parent = result
    for key in keys[:-1]:
        parent = parent[key]
    if new is DELETE:
        del parent[keys[-1]]
    else:
        parent[keys[-1]] = new
    return result


def restricted_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container(name: str = "trainer") -> dict[str, Any]:
    return {
        "name": name,
        "image": IMAGE,
        "resources": {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "securityContext": restricted_context(),
        "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
    }


def pod_spec() -> dict[str, Any]:
    """A pod every workload rule accepts."""
    return {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 1000,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": [container("setup")],
        "containers": [container()],
        "volumes": [{"name": "scratch", "emptyDir": {}}],
    }


def deployment(spec: dict[str, Any] | None = None, **metadata: str) -> dict[str, Any]:
    pod = pod_spec() if spec is None else spec
    meta = {"name": "trainer", "namespace": "ml-jobs", **metadata}
    return kubernetes(
        "apps/v1", "Deployment", {"metadata": meta, "spec": {"template": {"spec": pod}}}
    )


def changed(path: str, value: Any) -> dict[str, Any]:
    """The compliant Deployment with one field of its pod spec changed."""
    return deployment(patched(pod_spec(), path, value))


def spark_application() -> dict[str, Any]:
    """A compliant SparkApplication, the shape of Plinth's SparkPi example."""
    role = {
        "cores": 1,
        "coreLimit": "1",
        "memory": "512m",
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 185},
        "securityContext": restricted_context(),
        "volumeMounts": [{"name": "spark-local", "mountPath": "/scratch"}],
    }
    spec = {
        "type": "Scala",
        "mode": "cluster",
        "image": f"docker.io/library/spark:4.0.1@{DIGEST}",
        "mainApplicationFile": "local:///opt/spark/examples/jars/spark-examples.jar",
        "sparkVersion": "4.0.1",
        "volumes": [{"name": "spark-local", "emptyDir": {}}],
        "driver": {**copy.deepcopy(role), "serviceAccount": "spark-driver"},
        "executor": {**copy.deepcopy(role), "instances": 2},
    }
    return {"metadata": {"name": "spark-pi", "namespace": "ml-jobs"}, "spec": spec}


def spark(obj: dict[str, Any] | None = None) -> dict[str, Any]:
    return kubernetes(
        "sparkoperator.k8s.io/v1beta2", "SparkApplication", obj or spark_application()
    )


def workload_hits(*entries: dict[str, Any], **kwargs: Any) -> list[tuple[str, str, str]]:
    """(rule, level, message) of what the pod rules report for `entries`."""
    return sorted(
        (v.rule, v.level, v.message) for v in violations(*entries, **kwargs) if v.rule in POD_RULES
    )
