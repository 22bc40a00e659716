"""tests/local_pod.py puts a container's configuration together as the kubelet does."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from tests.local_pod import ClusterObjects, LocalPod, PodError, container_environment, expand

VARIABLES = {"USER": "mlflow", "PASSWORD": "s3cret", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("postgresql://$(USER):$(PASSWORD)@db", "postgresql://mlflow:s3cret@db"),
        ("$(UNDEFINED) stays", "$(UNDEFINED) stays"),
        ("$$(USER) is escaped", "$(USER) is escaped"),
        ("$$$(USER)", "$mlflow"),
        ("cost: $5 and $", "cost: $5 and $"),
        ("unclosed $(USER", "unclosed $(USER"),
        ("[$(EMPTY)]", "[]"),
        ("s/\\$(ADMIN_PLACEHOLDER)/x/", "s/\\$(ADMIN_PLACEHOLDER)/x/"),
    ],
)
def test_expand_follows_the_kubelet(text: str, expanded: str) -> None:
    assert expand(text, VARIABLES) == expanded


def _secret(name: str, data: dict[str, str]) -> dict[str, Any]:
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    return {"kind": "Secret", "metadata": {"name": name}, "data": encoded}


CLUSTER = ClusterObjects.of(
    [
        {"kind": "ConfigMap", "metadata": {"name": "env"}, "data": {"HOST": "db", "MODE": "a"}},
        _secret("creds", {"user": "mlflow", "MODE": "b"}),
        {"kind": "Secret", "metadata": {"name": "masked"}, "data": "[secret]"},
    ]
)


def test_env_overrides_env_from_and_expands_only_what_came_before() -> None:
    container = {
        "envFrom": [{"configMapRef": {"name": "env"}}, {"secretRef": {"name": "creds"}}],
        "env": [
            {"name": "URI", "value": "pg://$(USER)@$(HOST)"},
            {"name": "USER", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "user"}}},
            {"name": "AFTER", "value": "$(USER)"},
            {"name": "HOST", "value": "override"},
        ],
    }
    environment = container_environment(container, CLUSTER)
    assert environment["URI"] == "pg://$(USER)@db"  # USER was defined after URI
    assert environment["AFTER"] == "mlflow"
    assert environment["HOST"] == "override"  # env overrides envFrom
    assert environment["MODE"] == "b"  # a later envFrom source overrides an earlier one


def test_a_missing_secret_or_key_stops_the_pod() -> None:
    missing_secret = {
        "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "no", "key": "k"}}}]
    }
    missing_key = {
        "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k"}}}]
    }
    with pytest.raises(PodError, match="Secret no not found"):
        container_environment(missing_secret, CLUSTER)
    with pytest.raises(PodError, match="Secret creds has no key k"):
        container_environment(missing_key, CLUSTER)


def test_optional_references_and_masked_secrets_contribute_nothing() -> None:
    container = {
        "envFrom": [
            {"secretRef": {"name": "absent", "optional": True}},
            {"secretRef": {"name": "masked"}},
        ],
        "env": [
            {
                "name": "X",
                "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k", "optional": True}},
            }
        ],
    }
    assert container_environment(container, CLUSTER) == {}


def test_mounted_paths_become_local_paths_in_one_pass(tmp_path: Path) -> None:
    spec = {
        "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "ini", "emptyDir": {}}],
        "containers": [],
    }
    pod = LocalPod(spec, CLUSTER, tmp_path)
    container = {
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 (a path in the container)
            {"name": "ini", "mountPath": "/etc/auth/basic_auth.ini", "subPath": "result.ini"},
        ]
    }
    ini = str(tmp_path / "volumes/ini/result.ini")
    assert pod.local_path(container, "/etc/auth/basic_auth.ini") == ini
    assert pod.local_path(container, "--dir=/tmp/x") == f"--dir={tmp_path}/volumes/tmp/x"
    unrelated = "/tmpfoo and /var/tmp"  # noqa: S108 (paths in the container, not mounted)
    assert pod.local_path(container, unrelated) == unrelated


def test_config_map_volumes_hold_one_file_per_key(tmp_path: Path) -> None:
    spec = {"volumes": [{"name": "conf", "configMap": {"name": "env"}}], "containers": []}
    pod = LocalPod(spec, CLUSTER, tmp_path)
    assert (pod.volumes["conf"] / "HOST").read_text() == "db"
