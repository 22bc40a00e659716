"""The import floor: a Python process that only imports what Plinth's offline commands
cannot do without, and exits. `make bench` measures every command against it.

No command can start faster than its SDKs import, and how fast they import depends on
the machine and on how busy it is; so each figure of the benchmark is a ratio to this
floor, measured in the same run, each command paired with a run of the floor just before
it. The modules are the SDKs' packages the platform uses (the Kubernetes API groups and
the AWS services its components create, tests/bench/test_bench.py keeps the list complete),
the Helm engine, the policy SDK, and the libraries configuration is read with.

    .venv/bin/python bench/import_floor.py
"""

from __future__ import annotations

import importlib

KUBERNETES_GROUPS = (
    "admissionregistration.v1",
    "apps.v1",
    "core.v1",
    "helm.v4",
    "meta.v1",
    "networking.v1",
    "policy.v1",
    "rbac.v1",
    "storage.v1",
    "yaml.v2",
)
AWS_SERVICES = ("autoscaling", "cloudwatch", "ec2", "eks", "iam", "kms", "rds", "s3")
MODULES = (
    "pulumi",
    "pulumi.runtime.mocks",
    *(f"pulumi_kubernetes.{group}" for group in KUBERNETES_GROUPS),
    *(f"pulumi_aws.{service}" for service in AWS_SERVICES),
    "pulumi_policy",
    "helm_python",
    "pydantic",
    "yaml",
    "jsonschema",
)
# The SDKs load their subpackages lazily, on first attribute access: ask each one for an
# attribute it does not have, which loads it whole, as a program's first use does.
_LOAD = "__plinth_import_floor__"


def import_floor() -> None:
    """Import every module of the floor, each loaded whole."""
    for name in MODULES:
        hasattr(importlib.import_module(name), _LOAD)


if __name__ == "__main__":
    import_floor()
