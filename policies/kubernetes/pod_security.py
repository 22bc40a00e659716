"""Rules: the Pod Security Standards, control by control.

The `pss-*` rules are the `restricted` profile (which includes `baseline`), as Pod
Security Admission checks them in Kubernetes 1.33. They look at the pods
`policies.kubernetes.pod_specs.pod_specs` finds in a resource, so one rule covers
Deployments, Jobs, training jobs and Spark applications alike. They are mandatory in
every tier: Plinth's namespaces enforce `restricted` in dev too, so a pod that breaks them
is refused by the cluster anyway (for a Deployment or a job, silently: the controller is
admitted, its pods are not). The pack says so at preview with the field to change. System
daemons that need the node (CSI node plugins, the NVIDIA device plugin) are exempted by
name in each rule's `exemptWorkloads`, with a reason.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from policies.framework import (
    MANDATORY_EVERYWHERE,
    Rule,
    environment_key,
    mapping,
    resource_rule,
    sequence,
)
from policies.kubernetes.exemptions import (
    EXEMPT_WORKLOADS,
    HOST_PATH_EXEMPTIONS,
    matching_exemptions,
    unless_exempt,
)
from policies.kubernetes.pod_specs import (
    WHERE_PODS_CHANGE,
    Container,
    PodCheck,
    PodSpecView,
    containers,
    pod_validator,
    security_context,
)


def _pss_rule(
    name: str,
    description: str,
    check: PodCheck,
    *,
    severity: Severity,
    remediation: str,
    waivable_in_prod: bool = True,
) -> Rule:
    return resource_rule(
        name,
        description,
        pod_validator(unless_exempt(check)),
        severity=severity,
        remediation=(
            f"{remediation} {WHERE_PODS_CHANGE} A node daemon that truly needs it is "
            "exempted by name, with a reason: by the component that deploys it (its "
            f"policy_exemptions), or in {environment_key(name, 'exemptWorkloads')}."
        ),
        levels=MANDATORY_EVERYWHERE,
        config={"exemptWorkloads": EXEMPT_WORKLOADS},
        waivable_in_prod=waivable_in_prod,
    )


def _windows(view: PodSpecView) -> bool:
    """Pod Security exempts Windows pods from its Linux-only controls."""
    return mapping(view.spec.get("os")).get("name") == "windows"


def _names(items: list[Container]) -> str:
    return ", ".join(item.label for item in items)


# ---- Pod Security Standards: baseline ------------------------------------------------


def _privileged(view: PodSpecView, _args: ResourceValidationArgs) -> Iterator[str]:
    for container in containers(view.spec):
        context = security_context(container.spec)
        if context.get("privileged") is True:
            field = view.locate(f"{container.path}.securityContext.privileged")
            yield f"{container.label}: {field} is true; remove it (it means root on the node)"
        if mapping(context.get("windowsOptions")).get("hostProcess") is True:
            field = view.locate(f"{container.path}.securityContext.windowsOptions.hostProcess")
            yield f"{container.label}: {field} is true; remove it"
    if mapping(security_context(view.spec).get("windowsOptions")).get("hostProcess") is True:
        yield f"{view.locate('securityContext.windowsOptions.hostProcess')} is true; remove it"


def _host_namespaces(view: PodSpecView, _args: ResourceValidationArgs) -> Iterator[str]:
    for key, shares in (
        ("hostNetwork", "the node's network"),
        ("hostPID", "the node's processes"),
        ("hostIPC", "the node's IPC"),
    ):
        if view.spec.get(key) is True:
            yield f"{view.locate(key)} is true: the pod shares {shares}; remove it"


def _host_ports(view: PodSpecView, _args: ResourceValidationArgs) -> Iterator[str]:
    for container in containers(view.spec, ("containers", "initContainers")):
        for index, port in enumerate(sequence(container.spec.get("ports"))):
            host_port = mapping(port).get("hostPort")
            if host_port not in (None, 0):
                field = view.locate(f"{container.path}.ports[{index}].hostPort")
                yield (
                    f"{container.label}: {field} is {host_port:g}; remove it and reach the pod "
                    f"through a Service"
                    if isinstance(host_port, int | float)
                    else f"{container.label}: {field} is set; remove it and use a Service"
                )


def _host_path(view: PodSpecView, args: ResourceValidationArgs) -> Iterator[str]:
    allowed = [
        str(prefix)
        for exemption in matching_exemptions(args)
        for prefix in sequence(exemption.get("pathPrefixes"))
    ]
    for index, volume in enumerate(sequence(view.spec.get("volumes"))):
        host_path = mapping(mapping(volume).get("hostPath"))
        if not host_path:
            continue
        path = str(host_path.get("path", ""))
        if any(_below(path, prefix) for prefix in allowed):
            continue
        field = view.locate(f"volumes[{index}].hostPath")
        yield (
            f"{field} mounts the node's {path or '(no path)'}; use an emptyDir, a "
            f"PersistentVolumeClaim or a CSI volume, or allow this workload and path in "
            f"{environment_key(HOST_PATH_RULE, 'exemptWorkloads')}"
        )


HOST_PATH_RULE = "pss-host-path-volumes"


def _below(path: str, prefix: str) -> bool:
    """Whether host `path` is `prefix` or below it ("/var/lib/kubelet/.." is not)."""
    normal = posixpath.normpath(path) if path.startswith("/") else ""
    root = posixpath.normpath(prefix)
    return bool(normal) and (normal == root or normal.startswith(root.rstrip("/") + "/"))


# AppArmor, SELinux, /proc mount and sysctls: the baseline controls not covered above.
_SELINUX_TYPES = ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")
_SAFE_SYSCTLS = (
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ping_group_range",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_wmem",
)


def _kernel_options(view: PodSpecView, _args: ResourceValidationArgs) -> Iterator[str]:
    places: list[tuple[str, str, Mapping[str, Any]]] = [
        ("the pod", "securityContext", security_context(view.spec))
    ]
    places += [
        (c.label, f"{c.path}.securityContext", security_context(c.spec))
        for c in containers(view.spec)
    ]
    for who, path, context in places:
        if mapping(context.get("appArmorProfile")).get("type") == "Unconfined":
            field = view.locate(path + ".appArmorProfile.type")
            yield f"{who}: {field} is Unconfined; use RuntimeDefault"
        selinux = mapping(context.get("seLinuxOptions"))
        if selinux.get("type", "") not in _SELINUX_TYPES:
            field = view.locate(path + ".seLinuxOptions.type")
            yield f"{who}: {field} is {selinux.get('type')!r}; use container_t or leave it unset"
        for key in ("user", "role"):
            if selinux.get(key):
                yield f"{who}: {view.locate(f'{path}.seLinuxOptions.{key}')} is set; remove it"
        if context.get("procMount") not in (None, "Default"):
            field = view.locate(path + ".procMount")
            yield f"{who}: {field} is {context.get('procMount')!r}; remove it"
    for index, sysctl in enumerate(sequence(security_context(view.spec).get("sysctls"))):
        name = mapping(sysctl).get("name")
        if name not in _SAFE_SYSCTLS:
            field = view.locate(f"securityContext.sysctls[{index}]")
            yield f"{field} sets {name!r}, which is not a namespaced safe sysctl; remove it"


# ---- Pod Security Standards: restricted ----------------------------------------------


def _privilege_escalation(view: PodSpecView, _args: ResourceValidationArgs) -> Iterator[str]:
    if _windows(view):
        return
    for container in containers(view.spec):
        if security_context(container.spec).get("allowPrivilegeEscalation") is not False:
            field = view.locate(f"{container.path}.securityContext.allowPrivilegeEscalation")
            yield f"{container.label}: {field} is not false; set it to false"


def _run_as_non_root(view: PodSpecView, _args: ResourceValidationArgs) -> Iterator[str]:
    pod = security_context(view.spec)
    if pod.get("runAsNonRoot") is False:
        yield f"{view.locate('securityContext.runAsNonRoot')} is false; set it to true"
    if _is_root(pod.get("runAsUser")):
        yield f"{view.locate('securityContext.runAsUser')} is 0 (root); use a non-zero user id"
    unset = []
    for container in containers(view.spec):
        context = security_context(container.spec)
        at = f"{container.path}.securityContext"
        if context.get("runAsNonRoot") is False:
            yield f"{container.label}: {view.locate(at + '.runAsNonRoot')} is false; set it to true"
        elif context.get("runAsNonRoot") is None:
            unset.append(container)
        if _is_root(context.get("runAsUser")):
            field = view.locate(at + ".runAsUser")
            yield f"{container.label}: {field} is 0 (root); use a non-zero user id"
    if unset and pod.get("runAsNonRoot") is not True:
        yield (
            f"{_names(unset)} may run as root: set {view.locate('securityContext.runAsNonRoot')} "
            f"to true (or runAsNonRoot: true in each container's securityContext)"
        )


def _is_root(user: Any) -> bool:
    return isinstance(user, int | float) and not isinstance(user, bool) and user == 0


_ADDABLE_CAPABILITIES = ("NET_BIND_SERVICE",)


def _capabilities(view: PodSpecView, _args: ResourceValidationArgs) -> Iterator[str]:
    if _windows(view):
        return
    for container in containers(view.spec):
        capabilities = mapping(security_context(container.spec).get("capabilities"))
        at = f"{container.path}.securityContext.capabilities"
        if "ALL" not in sequence(capabilities.get("drop")):
            yield f"{container.label}: {view.locate(at + '.drop')} does not include ALL; drop ALL"
        extra = [
            str(c) for c in sequence(capabilities.get("add")) if c not in _ADDABLE_CAPABILITIES
        ]
        if extra:
            yield (
                f"{container.label}: {view.locate(at + '.add')} adds {', '.join(extra)}; "
                f"only NET_BIND_SERVICE may be added"
            )


_SECCOMP_TYPES = ("RuntimeDefault", "Localhost")


def _seccomp(view: PodSpecView, _args: ResourceValidationArgs) -> Iterator[str]:
    if _windows(view):
        return
    pod_type = mapping(security_context(view.spec).get("seccompProfile")).get("type")
    if pod_type is not None and pod_type not in _SECCOMP_TYPES:
        field = view.locate("securityContext.seccompProfile.type")
        yield f"{field} is {pod_type!r}; use RuntimeDefault"
    unset = []
    for container in containers(view.spec):
        kind = mapping(security_context(container.spec).get("seccompProfile")).get("type")
        if kind is None:
            unset.append(container)
        elif kind not in _SECCOMP_TYPES:
            field = view.locate(f"{container.path}.securityContext.seccompProfile.type")
            yield f"{container.label}: {field} is {kind!r}; use RuntimeDefault"
    if unset and pod_type not in _SECCOMP_TYPES:
        yield (
            f"{_names(unset)} run without a seccomp profile: set "
            f"{view.locate('securityContext.seccompProfile')} to {{type: RuntimeDefault}}"
        )


# Volume types `restricted` allows (image volumes since Kubernetes 1.33); hostPath has
# its own rule with exemptions.
_RESTRICTED_VOLUME_TYPES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
)


def _volume_types(view: PodSpecView, _args: ResourceValidationArgs) -> Iterator[str]:
    for index, volume in enumerate(sequence(view.spec.get("volumes"))):
        kinds = sorted(set(mapping(volume)) - {"name", "hostPath", *_RESTRICTED_VOLUME_TYPES})
        if kinds:
            yield (
                f"{view.locate(f'volumes[{index}]')} is of type {', '.join(kinds)}, which "
                f"restricted forbids inline; mount it through a PersistentVolumeClaim instead"
            )


RULES: tuple[Rule, ...] = (
    _pss_rule(
        "pss-no-privileged",
        "Containers are not privileged (and Windows pods not HostProcess).",
        _privileged,
        severity=Severity.CRITICAL,
        remediation=(
            "Remove securityContext.privileged (and windowsOptions.hostProcess); grant the "
            "one capability a container needs instead."
        ),
        waivable_in_prod=False,
    ),
    _pss_rule(
        "pss-no-host-namespaces",
        "Pods do not share the node's network, process or IPC namespaces.",
        _host_namespaces,
        severity=Severity.HIGH,
        remediation="Remove hostNetwork, hostPID and hostIPC; expose ports through a Service.",
        waivable_in_prod=False,
    ),
    _pss_rule(
        "pss-no-host-ports",
        "Containers do not bind ports on the node (hostPort).",
        _host_ports,
        severity=Severity.MEDIUM,
        remediation="Remove ports[*].hostPort and reach the pod through a Service.",
    ),
    resource_rule(
        HOST_PATH_RULE,
        "Pods mount no hostPath volume, except allowed workloads under allowed directories.",
        pod_validator(_host_path),
        severity=Severity.HIGH,
        remediation=(
            "Use an emptyDir for scratch space, a PersistentVolumeClaim or CSI volume for "
            f"data. {WHERE_PODS_CHANGE} A node daemon (CSI node plugin, NVIDIA device "
            "plugin) that must mount host directories is exempted by name, with its "
            "pathPrefixes and a reason: by the component that deploys it (its "
            f"policy_exemptions), or in {environment_key(HOST_PATH_RULE, 'exemptWorkloads')}."
        ),
        levels=MANDATORY_EVERYWHERE,
        config={"exemptWorkloads": HOST_PATH_EXEMPTIONS},
        waivable_in_prod=False,
    ),
    _pss_rule(
        "pss-baseline-kernel-options",
        "AppArmor, SELinux, /proc mount and sysctls stay within Pod Security baseline.",
        _kernel_options,
        severity=Severity.HIGH,
        remediation=(
            "Leave appArmorProfile RuntimeDefault, seLinuxOptions type container_t without "
            "user or role, procMount Default, and set only namespaced safe sysctls."
        ),
    ),
    _pss_rule(
        "pss-no-privilege-escalation",
        "Every container sets allowPrivilegeEscalation: false.",
        _privilege_escalation,
        severity=Severity.HIGH,
        remediation="Set securityContext.allowPrivilegeEscalation: false on every container.",
    ),
    _pss_rule(
        "pss-run-as-non-root",
        "Pods run as a non-root user: runAsNonRoot true, runAsUser never 0.",
        _run_as_non_root,
        severity=Severity.HIGH,
        remediation=(
            "Set securityContext.runAsNonRoot: true on the pod (or every container) and a "
            "non-zero runAsUser where the image's default user is root."
        ),
    ),
    _pss_rule(
        "pss-drop-all-capabilities",
        "Containers drop ALL capabilities and add back at most NET_BIND_SERVICE.",
        _capabilities,
        severity=Severity.HIGH,
        remediation="Set securityContext.capabilities: {drop: [ALL]} on every container.",
    ),
    _pss_rule(
        "pss-seccomp-profile",
        "Pods run under the RuntimeDefault (or a Localhost) seccomp profile.",
        _seccomp,
        severity=Severity.MEDIUM,
        remediation=(
            "Set securityContext.seccompProfile: {type: RuntimeDefault} on the pod (or on "
            "every container)."
        ),
    ),
    _pss_rule(
        "pss-restricted-volume-types",
        "Pods use only the volume types Pod Security restricted allows.",
        _volume_types,
        severity=Severity.MEDIUM,
        remediation=(
            "Mount NFS, iSCSI, cloud disks and the like through a PersistentVolumeClaim; "
            "inline, only configMap, csi, downwardAPI, emptyDir, ephemeral, image, "
            "persistentVolumeClaim, projected and secret are allowed."
        ),
    ),
)
