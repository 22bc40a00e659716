"""Rules: workloads. Pod Security Standards, container resources, images, root filesystem.

Every rule looks at the pods `policies.pod_specs.pod_specs` finds in a resource, so one
rule covers Deployments, Jobs, training jobs and Spark applications alike.

The `pss-*` rules are the Pod Security Standards `restricted` profile (which includes
`baseline`), control by control, as Pod Security Admission checks them in Kubernetes
1.33. They are mandatory in every tier: Plinth's namespaces enforce `restricted` in dev
too, so a pod that breaks them is refused by the cluster anyway (for a Deployment or a
job, silently: the controller is admitted, its pods are not). The pack says so at preview
with the field to change. System daemons that need the node (CSI node plugins, the NVIDIA
device plugin) are exempted by name in each rule's `exemptWorkloads`, with a reason.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from policies.framework import (
    ADVISORY_EVERYWHERE,
    ADVISORY_IN_DEV,
    MANDATORY_EVERYWHERE,
    MANDATORY_IN_PROD,
    Rule,
    mapping,
    resource_rule,
    sequence,
)
from policies.pod_specs import (
    Container,
    PodCheck,
    PodSpecView,
    containers,
    pod_validator,
)

# ---- exemptions ----------------------------------------------------------------------

_EXEMPTION_PROPERTIES: dict[str, Any] = {
    "namespace": {"type": "string", "minLength": 1, "description": "Namespace (glob)."},
    "name": {"type": "string", "minLength": 1, "description": "Workload name (glob)."},
    "reason": {"type": "string", "minLength": 10, "description": "Why it needs the node."},
}
EXEMPT_WORKLOADS: dict[str, Any] = {
    "type": "array",
    "default": [],
    "description": (
        "Workloads this rule skips: {namespace, name, reason}, namespace and name as glob "
        "patterns matched against metadata.namespace ('default' when unset) and "
        "metadata.name (the Pulumi resource name when unset)."
    ),
    "items": {
        "type": "object",
        "properties": _EXEMPTION_PROPERTIES,
        "required": ["namespace", "name", "reason"],
        "additionalProperties": False,
    },
}
HOST_PATH_EXEMPTIONS: dict[str, Any] = {
    **EXEMPT_WORKLOADS,
    "description": (
        "Workloads allowed hostPath volumes, and under which host directories: "
        "{namespace, name, pathPrefixes, reason}; namespace and name as in exemptWorkloads."
    ),
    "items": {
        "type": "object",
        "properties": {
            **_EXEMPTION_PROPERTIES,
            "pathPrefixes": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "pattern": "^/"},
                "description": "Host directories the workload may mount, at or below.",
            },
        },
        "required": ["namespace", "name", "pathPrefixes", "reason"],
        "additionalProperties": False,
    },
}


def workload_identity(props: Mapping[str, Any], resource_name: str) -> tuple[str, str]:
    """The (namespace, name) that `exemptWorkloads` entries are matched against."""
    metadata = mapping(props.get("metadata"))
    return str(metadata.get("namespace") or "default"), str(metadata.get("name") or resource_name)


def exemption_matches(entry: Mapping[str, Any], namespace: str, name: str) -> bool:
    """Whether one `exemptWorkloads` entry (namespace and name globs) covers a workload."""
    return fnmatchcase(namespace, str(entry.get("namespace"))) and fnmatchcase(
        name, str(entry.get("name"))
    )


def _exemptions(args: ResourceValidationArgs) -> list[Mapping[str, Any]]:
    """The `exemptWorkloads` entries of this rule's config that match this resource."""
    entries = [
        e for e in sequence(args.get_config().get("exemptWorkloads")) if isinstance(e, Mapping)
    ]
    if not entries:
        return []
    namespace, name = workload_identity(args.props, args.name)
    return [entry for entry in entries if exemption_matches(entry, namespace, name)]


def _unless_exempt(check: PodCheck) -> PodCheck:
    def exempt_or_check(view: PodSpecView, args: ResourceValidationArgs) -> list[str]:
        return [] if _exemptions(args) else list(check(view, args))

    return exempt_or_check


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
        pod_validator(_unless_exempt(check)),
        severity=severity,
        remediation=remediation,
        levels=MANDATORY_EVERYWHERE,
        config={"exemptWorkloads": EXEMPT_WORKLOADS},
        waivable_in_prod=waivable_in_prod,
    )


def _security_context(item: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(item.get("securityContext"))


def _windows(view: PodSpecView) -> bool:
    """Pod Security exempts Windows pods from its Linux-only controls."""
    return mapping(view.spec.get("os")).get("name") == "windows"


def _names(items: list[Container]) -> str:
    return ", ".join(item.label for item in items)


# ---- Pod Security Standards: baseline ------------------------------------------------


def _privileged(view: PodSpecView, _args: ResourceValidationArgs) -> Iterator[str]:
    for container in containers(view.spec):
        context = _security_context(container.spec)
        if context.get("privileged") is True:
            field = view.locate(f"{container.path}.securityContext.privileged")
            yield f"{container.label}: {field} is true; remove it (it means root on the node)"
        if mapping(context.get("windowsOptions")).get("hostProcess") is True:
            field = view.locate(f"{container.path}.securityContext.windowsOptions.hostProcess")
            yield f"{container.label}: {field} is true; remove it"
    if mapping(_security_context(view.spec).get("windowsOptions")).get("hostProcess") is True:
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
        for exemption in _exemptions(args)
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
            f"pss-host-path-volumes' exemptWorkloads"
        )


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
        ("the pod", "securityContext", _security_context(view.spec))
    ]
    places += [
        (c.label, f"{c.path}.securityContext", _security_context(c.spec))
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
    for index, sysctl in enumerate(sequence(_security_context(view.spec).get("sysctls"))):
        name = mapping(sysctl).get("name")
        if name not in _SAFE_SYSCTLS:
            field = view.locate(f"securityContext.sysctls[{index}]")
            yield f"{field} sets {name!r}, which is not a namespaced safe sysctl; remove it"


# ---- Pod Security Standards: restricted ----------------------------------------------


def _privilege_escalation(view: PodSpecView, _args: ResourceValidationArgs) -> Iterator[str]:
    if _windows(view):
        return
    for container in containers(view.spec):
        if _security_context(container.spec).get("allowPrivilegeEscalation") is not False:
            field = view.locate(f"{container.path}.securityContext.allowPrivilegeEscalation")
            yield f"{container.label}: {field} is not false; set it to false"


def _run_as_non_root(view: PodSpecView, _args: ResourceValidationArgs) -> Iterator[str]:
    pod = _security_context(view.spec)
    if pod.get("runAsNonRoot") is False:
        yield f"{view.locate('securityContext.runAsNonRoot')} is false; set it to true"
    if _is_root(pod.get("runAsUser")):
        yield f"{view.locate('securityContext.runAsUser')} is 0 (root); use a non-zero user id"
    unset = []
    for container in containers(view.spec):
        context = _security_context(container.spec)
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
        capabilities = mapping(_security_context(container.spec).get("capabilities"))
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
    pod_type = mapping(_security_context(view.spec).get("seccompProfile")).get("type")
    if pod_type is not None and pod_type not in _SECCOMP_TYPES:
        field = view.locate("securityContext.seccompProfile.type")
        yield f"{field} is {pod_type!r}; use RuntimeDefault"
    unset = []
    for container in containers(view.spec):
        kind = mapping(_security_context(container.spec).get("seccompProfile")).get("type")
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


PSS_RULES: tuple[Rule, ...] = (
    _pss_rule(
        "pss-no-privileged",
        "Containers are not privileged (and Windows pods not HostProcess).",
        _privileged,
        severity=Severity.CRITICAL,
        remediation=(
            "Remove securityContext.privileged (and windowsOptions.hostProcess). Grant the "
            "one capability a container needs instead; a system daemon that really needs "
            "the node goes in exemptWorkloads with a reason."
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
        "pss-host-path-volumes",
        "Pods mount no hostPath volume, except allowed workloads under allowed directories.",
        pod_validator(_host_path),
        severity=Severity.HIGH,
        remediation=(
            "Use an emptyDir for scratch space, a PersistentVolumeClaim or CSI volume for "
            "data. A node daemon (CSI node plugin, NVIDIA device plugin) that must mount "
            "host directories goes in exemptWorkloads with its pathPrefixes and a reason."
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


# ---- resources -----------------------------------------------------------------------

RESOURCE_KEYS = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")


def _resources(view: PodSpecView, args: ResourceValidationArgs) -> Iterator[str]:
    required = [str(key) for key in sequence(args.get_config().get("required"))]
    # Ephemeral containers may not set resources: only regular and init containers.
    for container in containers(view.spec, ("containers", "initContainers")):
        resources = mapping(container.spec.get("resources"))
        missing = [
            key
            for key in required
            if mapping(resources.get(key.split(".")[0])).get(key.split(".")[1]) in (None, "")
        ]
        if not missing:
            continue
        fields = [view.locate(f"{container.path}.resources.{key}") for key in missing]
        block = view.locate(f"{container.path}.resources")
        if all(f == f"{block}.{key}" for f, key in zip(fields, missing, strict=True)):
            yield f"{container.label} has no {', '.join(missing)}: set them in {block}"
        else:  # Spark: each size has its own field
            yield f"{container.label} has no {', '.join(missing)}: set {', '.join(fields)}"


# ---- images --------------------------------------------------------------------------

DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$")


@dataclass(frozen=True)
class ImageReference:
    """A container image reference, normalized as the container runtime reads it."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """`registry/repository`, e.g. `docker.io/pytorch/pytorch`."""
        return f"{self.registry}/{self.repository}"


def parse_image(image: str) -> ImageReference:
    """`pytorch/pytorch:2.5.1` -> docker.io, pytorch/pytorch, 2.5.1, no digest."""
    name, _, digest = image.partition("@")
    tag = None
    if name.rfind(":") > name.rfind("/"):
        name, _, tag = name.rpartition(":")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first.lower(), rest
    else:
        registry, repository = DOCKER_HUB, name
    if registry in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    return ImageReference(registry, repository, tag or None, digest or None)


def _images(view: PodSpecView) -> Iterator[tuple[str, str]]:
    """(subject, image) for every container with an image, the subject naming the field.

    The subject names the container too when the image is written in the container; a
    Spark image written once in `spec.image` serves driver and executor, and is one
    problem with one message.
    """
    for container in containers(view.spec):
        image = container.spec.get("image")
        if isinstance(image, str) and image:
            field = view.locate(f"{container.path}.image")
            own = field.startswith(view.locate(container.path) + ".")
            yield (f"{container.label}: {field}" if own else field), image


def _under_prefix(reference: ImageReference, entry: str) -> bool:
    """Whether `entry` (a registry, or registry/path) covers the image."""
    entry = entry.strip().rstrip("/")
    if "/" not in entry:
        return reference.registry == entry.lower()
    return reference.name == entry or reference.name.startswith(f"{entry}/")


def _registries(view: PodSpecView, args: ResourceValidationArgs) -> Iterator[str]:
    allowed = [str(entry) for entry in sequence(args.get_config().get("registries"))]
    for subject, image in _images(view):
        reference = parse_image(image)
        if not any(_under_prefix(reference, entry) for entry in allowed):
            yield (
                f"{subject} is {image!r}, from {reference.registry}, which is "
                f"not an allowed registry; mirror it to one of {', '.join(allowed)} or add "
                f"the registry to allowed-image-registries' registries"
            )


def _tags(view: PodSpecView, args: ResourceValidationArgs) -> Iterator[str]:
    forbidden = [str(tag) for tag in sequence(args.get_config().get("forbiddenTags"))]
    for subject, image in _images(view):
        reference = parse_image(image)
        if reference.digest:
            continue
        if reference.tag is None:
            yield f"{subject} is {image!r}, with no tag (latest); name a version"
        elif reference.tag in forbidden:
            yield f"{subject} is {image!r}; {reference.tag} moves: name a version"


def _digests(view: PodSpecView, args: ResourceValidationArgs) -> Iterator[str]:
    exempt = [str(pattern) for pattern in sequence(args.get_config().get("exemptImages"))]
    for subject, image in _images(view):
        reference = parse_image(image)
        if reference.digest is not None and _DIGEST.match(reference.digest):
            continue
        if any(fnmatchcase(reference.name, pattern) for pattern in exempt):
            continue
        yield (
            f"{subject} is {image!r}, not pinned by digest; append "
            f"@sha256:<digest> (the tag may stay for readers)"
        )


# ---- root filesystem -----------------------------------------------------------------


def _read_only_root(view: PodSpecView, _args: ResourceValidationArgs) -> Iterator[str]:
    for container in containers(view.spec, ("containers", "initContainers")):
        if _security_context(container.spec).get("readOnlyRootFilesystem") is not True:
            field = view.locate(f"{container.path}.securityContext.readOnlyRootFilesystem")
            yield (
                f"{container.label}: {field} is not true; set it to true and mount an "
                f"emptyDir where the process writes"
            )


# The registries Plinth's components and the charts it plans to install pull from.
DEFAULT_REGISTRIES = (
    "docker.io",
    "ghcr.io",
    "mcr.microsoft.com",
    "nvcr.io",
    "public.ecr.aws",
    "quay.io",
    "registry.k8s.io",
)

OTHER_RULES: tuple[Rule, ...] = (
    resource_rule(
        "container-resources",
        "Every container states its CPU and memory requests and limits.",
        pod_validator(_resources),
        severity=Severity.MEDIUM,
        remediation=(
            "Set resources.requests and resources.limits for cpu and memory on every "
            "container and init container (for Spark: cores, coreLimit and memory)."
        ),
        levels=ADVISORY_IN_DEV,
        config={
            "required": {
                "type": "array",
                "items": {"enum": list(RESOURCE_KEYS)},
                "uniqueItems": True,
                "default": list(RESOURCE_KEYS),
                "description": "Which of requests/limits x cpu/memory every container sets.",
            }
        },
    ),
    resource_rule(
        "allowed-image-registries",
        "Images come from an allowed registry.",
        pod_validator(_registries),
        severity=Severity.HIGH,
        remediation=(
            "Pull the image from an allowed registry (mirror it there), or add its "
            "registry to this rule's registries."
        ),
        levels=ADVISORY_IN_DEV,
        config={
            "registries": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": list(DEFAULT_REGISTRIES),
                "description": (
                    "Allowed registries ('quay.io') or registry paths ('docker.io/pytorch'). "
                    "Docker Hub short names ('pytorch/pytorch', 'busybox') are docker.io."
                ),
            }
        },
    ),
    resource_rule(
        "images-no-latest-tag",
        "Every image names a version tag (or a digest), never latest or no tag.",
        pod_validator(_tags),
        severity=Severity.MEDIUM,
        remediation="Name the image with a version tag (repo:1.2.3) or a digest (repo@sha256:...).",
        levels=MANDATORY_EVERYWHERE,
        config={
            "forbiddenTags": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": ["latest"],
                "description": "Tags that move and so pin nothing.",
            }
        },
    ),
    resource_rule(
        "images-pinned-by-digest",
        "Every image is pinned by digest (@sha256:...).",
        pod_validator(_digests),
        severity=Severity.MEDIUM,
        remediation=(
            "Append the digest to the image (repo:1.2.3@sha256:...); `crane digest` or "
            "`docker buildx imagetools inspect` prints it."
        ),
        levels=MANDATORY_IN_PROD,
        config={
            "exemptImages": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": [],
                "description": (
                    "Repositories that may go by tag alone: globs on registry/repository, "
                    "e.g. 'registry.example.com/mirror/*'."
                ),
            }
        },
    ),
    resource_rule(
        "containers-read-only-root-filesystem",
        "Containers run with a read-only root filesystem.",
        pod_validator(_read_only_root),
        severity=Severity.LOW,
        remediation=(
            "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where "
            "the process writes (/tmp, caches)."
        ),
        levels=ADVISORY_EVERYWHERE,
    ),
)

RULES: tuple[Rule, ...] = (*PSS_RULES, *OTHER_RULES)
