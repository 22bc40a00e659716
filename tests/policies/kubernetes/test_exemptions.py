"""Workloads a rule skips (policies/kubernetes/exemptions.py): system daemons named in the
rule's `exemptWorkloads`, and for hostPath the directories each may mount."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policies.kubernetes.pods import patched, pod_spec
from tests.policy_harness import hits, kubernetes, violations

DEVICE_PLUGIN = {
    "namespace": "gpu-operator",
    "name": "nvidia-device-plugin-*",
    "reason": "the device plugin registers GPUs with the kubelet",
}


def device_plugin(
    namespace: str = "gpu-operator", host_path: str = "/var/lib/kubelet/device-plugins"
) -> dict[str, Any]:
    spec = patched(pod_spec(), "volumes[0]", {"name": "scratch", "hostPath": {"path": host_path}})
    spec["hostNetwork"] = True
    return kubernetes(
        "apps/v1",
        "DaemonSet",
        {
            "metadata": {"name": "nvidia-device-plugin-daemonset", "namespace": namespace},
            "spec": {"template": {"spec": spec}},
        },
    )


def test_exempt_workloads_skip_a_pod_security_rule() -> None:
    config = {"pss-no-host-namespaces": {"exemptWorkloads": [DEVICE_PLUGIN]}}
    assert hits("pss-no-host-namespaces", device_plugin(), config=config) == []
    assert (
        len(hits("pss-no-host-namespaces", device_plugin(namespace="ml-jobs"), config=config)) == 1
    )
    assert len(hits("pss-no-host-namespaces", device_plugin())) == 1


@pytest.mark.parametrize(
    ("host_path", "allowed"),
    [
        ("/var/lib/kubelet/device-plugins", True),
        ("/var/lib/kubelet/device-plugins/sock", True),
        ("/var/lib/kubelet/device-plugins-other", False),
        ("/var/lib/kubelet/device-plugins/../../../../etc", False),
        ("/etc", False),
    ],
)
def test_host_path_exemptions_allow_only_their_directories(host_path: str, allowed: bool) -> None:
    exemption = {**DEVICE_PLUGIN, "pathPrefixes": ["/var/lib/kubelet/device-plugins"]}
    config = {"pss-host-path-volumes": {"exemptWorkloads": [exemption]}}
    found = hits("pss-host-path-volumes", device_plugin(host_path=host_path), config=config)
    assert (found == []) is allowed


def test_an_exemption_without_a_reason_is_refused() -> None:
    bad = {key: value for key, value in DEVICE_PLUGIN.items() if key != "reason"}
    with pytest.raises(ValueError, match="reason"):
        violations(device_plugin(), config={"pss-no-host-namespaces": {"exemptWorkloads": [bad]}})
