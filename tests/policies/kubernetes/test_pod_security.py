"""The Pod Security rules (policies/kubernetes/pod_security.py), through the pack as
`plinth check` runs them: each failing case changes one field of the compliant pod.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.policies.kubernetes.pods import (
    DELETE,
    POD_SC,
    SC,
    changed,
    container,
    deployment,
    patched,
    pod_spec,
    restricted_context,
)
from tests.policy_harness import hits


@pytest.mark.parametrize(
    ("rule", "path", "value", "field"),
    [
        ("pss-no-privileged", f"{SC}.privileged", True, f"{SC}.privileged"),
        (
            "pss-no-privileged",
            "initContainers[0].securityContext.privileged",
            True,
            "initContainers[0]",
        ),
        (
            "pss-no-privileged",
            f"{POD_SC}.windowsOptions",
            {"hostProcess": True},
            f"{POD_SC}.windowsOptions.hostProcess",
        ),
        ("pss-no-host-namespaces", "hostNetwork", True, "hostNetwork"),
        ("pss-no-host-namespaces", "hostPID", True, "hostPID"),
        ("pss-no-host-namespaces", "hostIPC", True, "hostIPC"),
        (
            "pss-no-host-ports",
            "containers[0].ports",
            [{"containerPort": 80, "hostPort": 80}],
            "hostPort",
        ),
        (
            "pss-host-path-volumes",
            "volumes[0]",
            {"name": "scratch", "hostPath": {"path": "/"}},
            "volumes[0]",
        ),
        (
            "pss-restricted-volume-types",
            "volumes[0]",
            {"name": "scratch", "nfs": {"server": "n"}},
            "nfs",
        ),
        ("pss-baseline-kernel-options", f"{SC}.procMount", "Unmasked", f"{SC}.procMount"),
        (
            "pss-baseline-kernel-options",
            f"{SC}.appArmorProfile",
            {"type": "Unconfined"},
            "appArmor",
        ),
        (
            "pss-baseline-kernel-options",
            f"{POD_SC}.seLinuxOptions",
            {"user": "root"},
            "seLinuxOptions.user",
        ),
        ("pss-baseline-kernel-options", f"{SC}.seLinuxOptions", {"type": "spc_t"}, "spc_t"),
        (
            "pss-baseline-kernel-options",
            f"{POD_SC}.sysctls",
            [{"name": "kernel.msgmax", "value": "1"}],
            "kernel.msgmax",
        ),
        (
            "pss-no-privilege-escalation",
            f"{SC}.allowPrivilegeEscalation",
            True,
            f"{SC}.allowPrivilegeEscalation",
        ),
        ("pss-no-privilege-escalation", f"{SC}.allowPrivilegeEscalation", DELETE, "is not false"),
        ("pss-run-as-non-root", f"{SC}.runAsNonRoot", False, f"{SC}.runAsNonRoot is false"),
        ("pss-run-as-non-root", f"{POD_SC}.runAsNonRoot", False, f"{POD_SC}.runAsNonRoot is false"),
        ("pss-run-as-non-root", f"{POD_SC}.runAsUser", 0, "runAsUser is 0"),
        ("pss-run-as-non-root", f"{SC}.runAsUser", 0, f"{SC}.runAsUser is 0"),
        ("pss-drop-all-capabilities", f"{SC}.capabilities", {}, "does not include ALL"),
        ("pss-drop-all-capabilities", f"{SC}.capabilities.add", ["SYS_ADMIN"], "adds SYS_ADMIN"),
        ("pss-seccomp-profile", f"{SC}.seccompProfile", {"type": "Unconfined"}, "'Unconfined'"),
        (
            "pss-seccomp-profile",
            f"{POD_SC}.seccompProfile",
            {"type": "Unconfined"},
            f"{POD_SC}.seccomp",
        ),
    ],
)
def test_pod_security_violations(rule: str, path: str, value: Any, field: str) -> None:
    found = hits(rule, changed(path, value))
    assert len(found) == 1, found
    assert found[0].level == "mandatory"
    assert field in found[0].message


def test_run_as_non_root_unset_everywhere_is_one_violation_naming_the_pod_field() -> None:
    spec = patched(pod_spec(), f"{POD_SC}.runAsNonRoot", DELETE)
    for item in (*spec["containers"], *spec["initContainers"]):
        del item["securityContext"]["runAsNonRoot"]
    (found,) = hits("pss-run-as-non-root", deployment(spec))
    assert "container 'trainer', init container 'setup' may run as root" in found.message
    assert "spec.template.spec.securityContext.runAsNonRoot" in found.message


def test_run_as_non_root_on_every_container_is_enough() -> None:
    assert hits("pss-run-as-non-root", changed(f"{POD_SC}.runAsNonRoot", DELETE)) == []


def test_seccomp_on_the_pod_or_on_every_container_is_enough() -> None:
    assert hits("pss-seccomp-profile", changed(f"{POD_SC}.seccompProfile", DELETE)) == []
    spec = pod_spec()
    for item in (*spec["containers"], *spec["initContainers"]):
        del item["securityContext"]["seccompProfile"]
    assert hits("pss-seccomp-profile", deployment(spec)) == []
    del spec["securityContext"]["seccompProfile"]
    (found,) = hits("pss-seccomp-profile", deployment(spec))
    assert "run without a seccomp profile" in found.message


def test_net_bind_service_may_be_added() -> None:
    assert (
        hits("pss-drop-all-capabilities", changed(f"{SC}.capabilities.add", ["NET_BIND_SERVICE"]))
        == []
    )


def test_windows_pods_are_exempt_from_linux_only_controls() -> None:
    spec = patched(pod_spec(), "os", {"name": "windows"})
    for item in (*spec["containers"], *spec["initContainers"]):
        item["securityContext"] = {"runAsNonRoot": True}
    subject = deployment(spec)
    for rule in ("pss-no-privilege-escalation", "pss-drop-all-capabilities", "pss-seccomp-profile"):
        assert hits(rule, subject) == [], rule


def test_ephemeral_containers_are_held_to_pod_security() -> None:
    debug = {**container("debug"), "securityContext": {**restricted_context(), "privileged": True}}
    found = hits("pss-no-privileged", changed("ephemeralContainers", [debug]))
    assert [v.message.split(":")[0] for v in found] == ["ephemeral container 'debug'"]
