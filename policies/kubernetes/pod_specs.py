"""The pods inside Kubernetes resources, as policy rules see them.

`pod_specs(resource_type, props)` returns every pod a resource will create, whatever its
kind, as a `PodSpecView`: a Kubernetes pod spec plus where the author writes it. Rules
check the pod spec and name fields with `view.locate(path)`, so a message points at the
field to edit: `spec.template.spec.containers[0].securityContext.privileged` for a
Deployment, `spec.driver.coreLimit` for a SparkApplication.

Kinds understood:

- built-in: Pod, PodTemplate, ReplicationController, Deployment, StatefulSet, DaemonSet,
  ReplicaSet, Job, CronJob (`*Patch` resources are partial and are not pods);
- Kubeflow training jobs (`kubeflow.org`: TFJob, PyTorchJob, MPIJob, XGBoostJob, JAXJob,
  PaddleJob): every role of every `spec.<x>ReplicaSpecs` map;
- Spark (`sparkoperator.k8s.io`: SparkApplication, ScheduledSparkApplication): the driver
  and executor are `SparkPodSpec`s, which the operator and Spark turn into pods. They are
  mapped to the pod spec Spark builds (see `_spark_pod`).

Props may be pulumi-policy proxies: maps are `Mapping`s but lists are `Sequence`s, not
`list`s, and reading a value unknown during preview raises `UnknownValueError`, which
the analyzer reports as "can't run policy during preview". Nothing here copies a whole
object, so an unknown value stops only the rules that read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pulumi_policy import ReportViolation, ResourceValidationArgs

from policies.framework import mapping, sequence

CONTAINER_KINDS = ("containers", "initContainers", "ephemeralContainers")

# Every pod of the plan comes from one of Plinth's components: where its fields are set.
WHERE_PODS_CHANGE = (
    "Change it in the component that creates the pod; for a chart's pod, in the chart "
    "values the component renders, or through plinth:<component>.values_override in the "
    "environment file."
)


@dataclass(frozen=True)
class PodSpecView:
    """One pod of a resource: a pod spec and where its fields are written.

    `where` names the pod in messages ("spec.template.spec", "spec.driver"). `sources`
    maps pod-spec paths (and their prefixes) to the author's field where the two differ,
    as they do for Spark; `locate` applies it.
    """

    where: str
    spec: Mapping[str, Any]
    sources: Mapping[str, str] = field(default_factory=dict)

    def locate(self, path: str) -> str:
        """Where the author writes pod-spec field `path`, e.g. `containers[0].image`."""
        best = ""
        for prefix in self.sources:
            if len(prefix) > len(best) and _under(path, prefix):
                best = prefix
        if best:
            return self.sources[best] + path[len(best) :]
        return f"{self.where}.{path}" if path else self.where


class Container(NamedTuple):
    """One container of a pod spec: its list ("containers", ...), position and spec."""

    kind: str
    position: int
    spec: Mapping[str, Any]

    @property
    def path(self) -> str:
        """The container's path in the pod spec, e.g. `initContainers[0]`."""
        return f"{self.kind}[{self.position}]"

    @property
    def label(self) -> str:
        """How messages name it: `container 'trainer'`, `init container 'setup'`."""
        noun = {"initContainers": "init container", "ephemeralContainers": "ephemeral container"}
        name = self.spec.get("name")
        shown = f"'{name}'" if isinstance(name, str) and name else f"#{self.position}"
        return f"{noun.get(self.kind, 'container')} {shown}"


def containers(
    pod_spec: Mapping[str, Any], kinds: Sequence[str] = CONTAINER_KINDS
) -> Iterator[Container]:
    """Every container of `pod_spec` in `kinds` (default: regular, init and ephemeral)."""
    for kind in kinds:
        for index, container in enumerate(sequence(pod_spec.get(kind))):
            if isinstance(container, Mapping):
                yield Container(kind, index, container)


def security_context(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The `securityContext` of a pod spec or a container, empty when unset or malformed."""
    return mapping(item.get("securityContext"))


def pod_specs(resource_type: str, props: Mapping[str, Any]) -> list[PodSpecView]:
    """Every pod `props` (a resource of `resource_type`) creates; [] if it creates none."""
    group, kind = _group_kind(resource_type)
    extract = EXTRACTORS.get((group, kind)) or GROUP_EXTRACTORS.get(group)
    return extract(props) if extract is not None else []


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((f"{prefix}.", f"{prefix}["))


def _group_kind(resource_type: str) -> tuple[str, str]:
    # "kubernetes:apps/v1:Deployment" -> ("apps", "Deployment")
    parts = resource_type.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes":
        return "", ""
    return parts[1].rsplit("/", 1)[0], parts[2]


# ---- built-in kinds ------------------------------------------------------------------


def _at(*path: str) -> Callable[[Mapping[str, Any]], list[PodSpecView]]:
    def extract(props: Mapping[str, Any]) -> list[PodSpecView]:
        spec: Any = props
        for key in path:
            spec = mapping(spec).get(key)
        return [PodSpecView(".".join(path), spec)] if isinstance(spec, Mapping) else []

    return extract


_TEMPLATE = ("spec", "template", "spec")


# ---- Kubeflow training jobs ----------------------------------------------------------


def _replica_specs(props: Mapping[str, Any]) -> list[PodSpecView]:
    """Each role of each `spec.<x>ReplicaSpecs` (pytorchReplicaSpecs, mpiReplicaSpecs...)."""
    spec = mapping(props.get("spec"))
    views = []
    for key in sorted(k for k in spec if k.endswith("ReplicaSpecs")):
        roles = mapping(spec[key])
        for role in sorted(roles):
            pod = mapping(mapping(roles[role]).get("template")).get("spec")
            if isinstance(pod, Mapping):
                views.append(PodSpecView(f"spec.{key}.{role}.template.spec", pod))
    return views


# ---- Spark ---------------------------------------------------------------------------

# Spark's own names for the container it runs the driver or executor in.
SPARK_CONTAINER_NAMES = {
    "driver": "spark-kubernetes-driver",
    "executor": "spark-kubernetes-executor",
}


def _spark_application(props: Mapping[str, Any]) -> list[PodSpecView]:
    return _spark_pods(mapping(props.get("spec")), "spec")


def _scheduled_spark_application(props: Mapping[str, Any]) -> list[PodSpecView]:
    return _spark_pods(mapping(mapping(props.get("spec")).get("template")), "spec.template")


def _spark_pods(app: Mapping[str, Any], where: str) -> list[PodSpecView]:
    views = []
    for role in ("driver", "executor"):
        pod = app.get(role)
        if isinstance(pod, Mapping):
            views.append(_spark_pod(app, where, role, pod))
    return views


def _spark_pod(
    app: Mapping[str, Any], app_at: str, role: str, pod: Mapping[str, Any]
) -> PodSpecView:
    """The pod Spark builds for `role` (driver or executor), as a pod spec.

    Spark starts from the role's pod `template` (if any) and the operator and Spark lay
    the SparkPodSpec over it: `podSecurityContext` is the pod's securityContext;
    `hostNetwork`, `nodeSelector` (the role's, else the application's), `tolerations`,
    `initContainers` and `sidecars` (extra containers) are the pod's; the volumes of
    `spec.volumes` that the role's containers mount are added. The Spark container is the
    template's first container (or a new one) with `image` (the role's, else
    `spec.image`), `securityContext`, `volumeMounts`, `ports`, and resources:
    requests.cpu = `coreRequest` or `cores`, limits.cpu = `coreLimit`, requests.memory =
    limits.memory = `memory` (plus overhead; `memoryLimit` overrides the limit), and
    limits[`gpu.name`] = `gpu.quantity`. Spark falls back to 1 core and 1g of memory when
    they are unset; the view holds only what the application states, so rules ask for
    sizes to be stated.
    """
    at = f"{app_at}.{role}"
    template = mapping(mapping(pod.get("template")).get("spec"))
    spec: dict[str, Any] = dict(template)
    sources = {key: f"{at}.template.spec.{key}" for key in template}

    def overlay(key: str, value: Any, source: str) -> None:
        if value is not None:
            spec[key] = value
            sources[key] = source

    sources.setdefault("securityContext", f"{at}.podSecurityContext")
    overlay("securityContext", pod.get("podSecurityContext"), f"{at}.podSecurityContext")
    overlay("hostNetwork", pod.get("hostNetwork"), f"{at}.hostNetwork")
    if pod.get("nodeSelector") is not None:
        overlay("nodeSelector", pod.get("nodeSelector"), f"{at}.nodeSelector")
    else:
        overlay("nodeSelector", app.get("nodeSelector"), f"{app_at}.nodeSelector")
    _append(spec, sources, "tolerations", pod.get("tolerations"), f"{at}.tolerations")
    _append(spec, sources, "initContainers", pod.get("initContainers"), f"{at}.initContainers")

    template_containers = [
        c for c in sequence(template.get("containers")) if isinstance(c, Mapping)
    ]
    main = _spark_container(
        app=app,
        app_at=app_at,
        role=role,
        pod=pod,
        template_main=template_containers[:1],
        sources=sources,
    )
    spec["containers"] = [main, *template_containers[1:]]
    _append(spec, sources, "containers", pod.get("sidecars"), f"{at}.sidecars")

    mounted = {
        mount.get("name")
        for container in containers(spec, ("containers", "initContainers"))
        for mount in sequence(container.spec.get("volumeMounts"))
        if isinstance(mount, Mapping)
    }
    app_volumes = [
        (index, volume)
        for index, volume in enumerate(sequence(app.get("volumes")))
        if isinstance(volume, Mapping) and volume.get("name") in mounted
    ]
    offset = len(sequence(spec.get("volumes")))
    spec["volumes"] = [*sequence(spec.get("volumes")), *(volume for _, volume in app_volumes)]
    for position, (index, _) in enumerate(app_volumes):
        sources[f"volumes[{offset + position}]"] = f"{app_at}.volumes[{index}]"
    return PodSpecView(at, spec, sources)


def _spark_container(
    *,
    app: Mapping[str, Any],
    app_at: str,
    role: str,
    pod: Mapping[str, Any],
    template_main: list[Mapping[str, Any]],
    sources: dict[str, str],
) -> dict[str, Any]:
    at = f"{app_at}.{role}"
    main: dict[str, Any] = dict(template_main[0]) if template_main else {}
    main.setdefault("name", SPARK_CONTAINER_NAMES[role])
    sources["containers[0]"] = at
    for key in ("securityContext", "volumeMounts", "ports"):
        if pod.get(key) is not None:
            main[key] = pod[key]
    image_at = f"{at}.image" if pod.get("image") is not None else f"{app_at}.image"
    image = pod.get("image") if pod.get("image") is not None else app.get("image")
    if image is not None:
        main["image"] = image
    sources["containers[0].image"] = image_at

    base = mapping(main.get("resources"))
    requests = dict(mapping(base.get("requests")))
    limits = dict(mapping(base.get("limits")))
    cpu_request = "coreRequest" if pod.get("coreRequest") is not None else "cores"
    if pod.get(cpu_request) is not None:
        requests["cpu"] = pod[cpu_request]
    if pod.get("coreLimit") is not None:
        limits["cpu"] = pod["coreLimit"]
    if pod.get("memory") is not None:
        requests["memory"] = limits["memory"] = pod["memory"]
    memory_limit = "memoryLimit" if pod.get("memoryLimit") is not None else "memory"
    if pod.get("memoryLimit") is not None:
        limits["memory"] = pod["memoryLimit"]
    gpu = mapping(pod.get("gpu"))
    if isinstance(gpu.get("name"), str) and gpu.get("quantity") is not None:
        limits[gpu["name"]] = gpu["quantity"]
        sources[f"containers[0].resources.limits.{gpu['name']}"] = f"{at}.gpu"
    main["resources"] = {"requests": requests, "limits": limits}
    sources["containers[0].resources.requests.cpu"] = f"{at}.{cpu_request}"
    sources["containers[0].resources.limits.cpu"] = f"{at}.coreLimit"
    sources["containers[0].resources.requests.memory"] = f"{at}.memory"
    sources["containers[0].resources.limits.memory"] = f"{at}.{memory_limit}"
    return main


def _append(spec: dict[str, Any], sources: dict[str, str], key: str, extra: Any, at: str) -> None:
    """Append the list `extra` (written at `at`) to `spec[key]`, recording where each is."""
    items = sequence(extra)
    if not items:
        return
    before = list(sequence(spec.get(key)))
    spec[key] = [*before, *items]
    for index in range(len(items)):
        sources[f"{key}[{len(before) + index}]"] = f"{at}[{index}]"


# ---- the table -----------------------------------------------------------------------

Extractor = Callable[[Mapping[str, Any]], list[PodSpecView]]

# (API group, kind) -> the pods of such a resource. Serving resources join here when
# Plinth deploys them, each mapped like Spark to the pod spec its controller builds:
# KServe (`serving.kserve.io` InferenceService: spec.predictor/transformer/explainer are
# pod specs plus a `model` container) and Seldon (`machinelearning.seldon.io`
# SeldonDeployment: spec.predictors[*].componentSpecs[*].spec).
EXTRACTORS: dict[tuple[str, str], Extractor] = {
    ("core", "Pod"): _at("spec"),
    ("core", "PodTemplate"): _at("template", "spec"),
    ("core", "ReplicationController"): _at(*_TEMPLATE),
    ("apps", "Deployment"): _at(*_TEMPLATE),
    ("apps", "StatefulSet"): _at(*_TEMPLATE),
    ("apps", "DaemonSet"): _at(*_TEMPLATE),
    ("apps", "ReplicaSet"): _at(*_TEMPLATE),
    ("batch", "Job"): _at(*_TEMPLATE),
    ("batch", "CronJob"): _at("spec", "jobTemplate", *_TEMPLATE),
    ("sparkoperator.k8s.io", "SparkApplication"): _spark_application,
    ("sparkoperator.k8s.io", "ScheduledSparkApplication"): _scheduled_spark_application,
}
# API group -> the pods of any kind in it.
GROUP_EXTRACTORS: dict[str, Extractor] = {
    "kubeflow.org": _replica_specs,
}


# ---- rules over pods -----------------------------------------------------------------

# A check of one pod: the messages of its violations (one per problem).
PodCheck = Callable[[PodSpecView, ResourceValidationArgs], Iterable[str]]


def pod_validator(check: PodCheck) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """A validator that runs `check` on every pod of a resource, each message once.

    A message is reported once even when several pods produce it (a Spark volume both
    the driver and the executor mount), so `pulumi preview` and `plinth check` agree.
    """

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        messages: dict[str, None] = {}
        for view in pod_specs(args.resource_type, args.props):
            messages.update(dict.fromkeys(check(view, args)))
        for message in messages:
            report_violation(message, None)

    return validate
