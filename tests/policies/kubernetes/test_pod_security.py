"""Workload rules (policies/workloads.py) and the pod extractor (policies/pod_specs.py),
through the pack as `plinth check` runs them.

One compliant pod (`pod_spec`) and one compliant Deployment, SparkApplication and
training job around it; each failing case changes one field of them.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from policies import workloads
from policies.pod_specs import containers, pod_specs
from policies.workloads import parse_image
from tests.policy_harness import entry, hits, kubernetes, violations

DIGEST = "sha256:" + "a" * 64
IMAGE = f"ghcr.io/example/trainer:1.2.3@{DIGEST}"
WORKLOAD_RULES = {rule.name for rule in workloads.RULES}
DELETE = object()


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
    return sorted(
        (v.rule, v.level, v.message)
        for v in violations(*entries, **kwargs)
        if v.rule in WORKLOAD_RULES
    )


# ---- the compliant inputs ------------------------------------------------------------


def test_compliant_deployment_passes_every_workload_rule() -> None:
    assert workload_hits(deployment()) == []


def test_compliant_spark_application_passes_every_workload_rule() -> None:
    assert workload_hits(spark()) == []


def test_every_workload_rule_has_remediation_and_a_level_per_tier() -> None:
    for rule in workloads.RULES:
        assert rule.policy.remediation_steps, rule.name
        assert {rule.levels.of(tier).value for tier in ("dev", "staging", "prod")} <= {
            "advisory",
            "mandatory",
        }


# ---- the extractor: every pod-bearing kind -------------------------------------------

KINDS = [
    ("v1", "Pod", lambda pod: {"spec": pod}, "spec"),
    ("v1", "PodTemplate", lambda pod: {"template": {"spec": pod}}, "template.spec"),
    (
        "v1",
        "ReplicationController",
        lambda pod: {"spec": {"template": {"spec": pod}}},
        "spec.template.spec",
    ),
    (
        "apps/v1",
        "Deployment",
        lambda pod: {"spec": {"template": {"spec": pod}}},
        "spec.template.spec",
    ),
    (
        "apps/v1",
        "StatefulSet",
        lambda pod: {"spec": {"template": {"spec": pod}}},
        "spec.template.spec",
    ),
    (
        "apps/v1",
        "DaemonSet",
        lambda pod: {"spec": {"template": {"spec": pod}}},
        "spec.template.spec",
    ),
    (
        "apps/v1",
        "ReplicaSet",
        lambda pod: {"spec": {"template": {"spec": pod}}},
        "spec.template.spec",
    ),
    ("batch/v1", "Job", lambda pod: {"spec": {"template": {"spec": pod}}}, "spec.template.spec"),
    (
        "batch/v1",
        "CronJob",
        lambda pod: {"spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}}},
        "spec.jobTemplate.spec.template.spec",
    ),
]
TRAINING_JOBS = [
    ("TFJob", "tfReplicaSpecs", "Worker"),
    ("PyTorchJob", "pytorchReplicaSpecs", "Master"),
    ("MPIJob", "mpiReplicaSpecs", "Launcher"),
    ("XGBoostJob", "xgbReplicaSpecs", "Master"),
    ("JAXJob", "jaxReplicaSpecs", "Worker"),
    ("PaddleJob", "paddleReplicaSpecs", "Worker"),
]


def host_network_pod() -> dict[str, Any]:
    return {**pod_spec(), "hostNetwork": True}


@pytest.mark.parametrize(("api_version", "kind", "wrap", "where"), KINDS)
def test_built_in_kinds_are_checked_at_their_pod_template(
    api_version: str, kind: str, wrap: Any, where: str
) -> None:
    subject = kubernetes(api_version, kind, {"metadata": {"name": "x"}, **wrap(host_network_pod())})
    found = hits("pss-no-host-namespaces", subject)
    assert [v.message.split(" ")[0] for v in found] == [f"{where}.hostNetwork"]
    assert (
        workload_hits(
            kubernetes(api_version, kind, {"metadata": {"name": "x"}, **wrap(pod_spec())})
        )
        == []
    )


@pytest.mark.parametrize(("kind", "key", "role"), TRAINING_JOBS)
def test_training_jobs_are_checked_at_every_role(kind: str, key: str, role: str) -> None:
    replica_specs = {
        "Chief": {"replicas": 1, "template": {"spec": pod_spec()}},
        role: {"replicas": 2, "template": {"spec": host_network_pod()}},
    }
    subject = kubernetes(
        "kubeflow.org/v1", kind, {"metadata": {"name": "job"}, "spec": {key: replica_specs}}
    )
    found = hits("pss-no-host-namespaces", subject)
    assert [v.message.split(" ")[0] for v in found] == [
        f"spec.{key}.{role}.template.spec.hostNetwork"
    ]
    assert [view.where for view in pod_specs(subject["type"], subject["inputs"])] == sorted(
        f"spec.{key}.{name}.template.spec" for name in replica_specs
    )


def test_spark_applications_have_a_driver_and_an_executor_pod() -> None:
    subject = spark()
    views = pod_specs(subject["type"], subject["inputs"])
    assert [view.where for view in views] == ["spec.driver", "spec.executor"]
    driver = views[0].spec
    (main,) = driver["containers"]
    assert main["name"] == "spark-kubernetes-driver"
    assert main["image"] == subject["inputs"]["spec"]["image"]
    assert main["resources"] == {
        "requests": {"cpu": 1, "memory": "512m"},
        "limits": {"cpu": "1", "memory": "512m"},
    }
    assert driver["securityContext"] == {"runAsNonRoot": True, "runAsUser": 185}
    assert driver["volumes"] == [{"name": "spark-local", "emptyDir": {}}]


def test_scheduled_spark_applications_are_checked_in_their_template() -> None:
    app = patched(spark_application(), "spec.driver.hostNetwork", True)
    scheduled = {
        "metadata": app["metadata"],
        "spec": {"schedule": "@daily", "template": app["spec"]},
    }
    subject = kubernetes("sparkoperator.k8s.io/v1beta2", "ScheduledSparkApplication", scheduled)
    found = hits("pss-no-host-namespaces", subject)
    assert [v.message.split(" ")[0] for v in found] == ["spec.template.driver.hostNetwork"]


def test_resources_without_pods_are_not_pods() -> None:
    for resource_type in (
        "kubernetes:core/v1:ConfigMap",
        "kubernetes:apps/v1:DeploymentPatch",
        "kubernetes:helm.sh/v4:Chart",
        "aws:eks/nodeGroup:NodeGroup",
    ):
        assert pod_specs(resource_type, {"spec": {"template": {"spec": pod_spec()}}}) == []


def test_containers_yields_every_kind_with_its_path() -> None:
    spec = {**pod_spec(), "ephemeralContainers": [{"name": "debug", "image": IMAGE}]}
    assert [(c.path, c.spec["name"]) for c in containers(spec)] == [
        ("containers[0]", "trainer"),
        ("initContainers[0]", "setup"),
        ("ephemeralContainers[0]", "debug"),
    ]


# ---- Spark: SparkPodSpec fields are reported where the author writes them -----------


@pytest.mark.parametrize(
    ("path", "value", "rule", "field"),
    [
        ("spec.driver.coreLimit", DELETE, "container-resources", "spec.driver.coreLimit"),
        ("spec.executor.memory", DELETE, "container-resources", "spec.executor.memory"),
        (
            "spec.driver.podSecurityContext.runAsUser",
            0,
            "pss-run-as-non-root",
            "spec.driver.podSecurityContext.runAsUser",
        ),
        (
            "spec.executor.securityContext.privileged",
            True,
            "pss-no-privileged",
            "spec.executor.securityContext.privileged",
        ),
        ("spec.image", "docker.io/library/spark:4.0.1", "images-pinned-by-digest", "spec.image"),
        ("spec.driver.image", "spark", "images-no-latest-tag", "spec.driver.image"),
        (
            "spec.driver.sidecars",
            [
                {
                    **container("logs"),
                    "securityContext": {**restricted_context(), "privileged": True},
                }
            ],
            "pss-no-privileged",
            "spec.driver.sidecars[0].securityContext.privileged",
        ),
        (
            "spec.executor.initContainers",
            [{**container("fetch"), "resources": {}}],
            "container-resources",
            "set them in spec.executor.initContainers[0].resources",
        ),
        (
            "spec.driver.template",
            {"spec": {"hostPID": True}},
            "pss-no-host-namespaces",
            "spec.driver.template.spec.hostPID",
        ),
    ],
)
def test_spark_violations_name_the_spark_field(
    path: str, value: Any, rule: str, field: str
) -> None:
    found = hits(rule, spark(patched(spark_application(), path, value)))
    assert len(found) == 1, found
    assert field in found[0].message


def test_a_spark_host_path_volume_is_one_violation_for_driver_and_executor() -> None:
    app = patched(
        spark_application(),
        "spec.volumes[0]",
        {"name": "spark-local", "hostPath": {"path": "/data"}},
    )
    found = hits("pss-host-path-volumes", spark(app))
    assert [v.message.split(" ")[0] for v in found] == ["spec.volumes[0].hostPath"]


def test_a_spark_volume_no_container_mounts_is_in_no_pod() -> None:
    app = spark_application()
    app["spec"]["volumes"].append({"name": "unused", "hostPath": {"path": "/data"}})
    assert hits("pss-host-path-volumes", spark(app)) == []


# ---- Pod Security Standards ----------------------------------------------------------

SC = "containers[0].securityContext"
POD_SC = "securityContext"


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


# exemptions: system daemons named in the rule's config

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


# ---- resources -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("containers[0].resources.limits.cpu", "container 'trainer' has no limits.cpu: set "),
        (
            "containers[0].resources",
            "has no requests.cpu, requests.memory, limits.cpu, limits.memory",
        ),
        ("initContainers[0].resources.requests", "init container 'setup' has no requests.cpu"),
    ],
)
def test_containers_state_requests_and_limits(path: str, expected: str) -> None:
    found = hits("container-resources", changed(path, DELETE))
    assert len(found) == 1
    assert expected in found[0].message
    assert [v.level for v in hits("container-resources", changed(path, DELETE), tier="dev")] == [
        "advisory"
    ]


def test_required_resources_are_a_knob() -> None:
    config = {
        "container-resources": {"required": ["requests.cpu", "requests.memory", "limits.memory"]}
    }
    assert (
        hits(
            "container-resources",
            changed("containers[0].resources.limits.cpu", DELETE),
            config=config,
        )
        == []
    )


# ---- images --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "registry", "repository", "tag", "digest"),
    [
        ("busybox", "docker.io", "library/busybox", None, None),
        ("pytorch/pytorch:2.5.1", "docker.io", "pytorch/pytorch", "2.5.1", None),
        ("apache/spark:4.0.1", "docker.io", "apache/spark", "4.0.1", None),
        ("index.docker.io/library/spark:4", "docker.io", "library/spark", "4", None),
        ("localhost:5001/model", "localhost:5001", "model", None, None),
        (
            "nvcr.io/nvidia/k8s-device-plugin:v0.20.0",
            "nvcr.io",
            "nvidia/k8s-device-plugin",
            "v0.20.0",
            None,
        ),
        (f"ghcr.io/a/b:1@{DIGEST}", "ghcr.io", "a/b", "1", DIGEST),
        (f"quay.io/a/b@{DIGEST}", "quay.io", "a/b", None, DIGEST),
    ],
)
def test_parse_image(
    image: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    reference = parse_image(image)
    assert (reference.registry, reference.repository, reference.tag, reference.digest) == (
        registry,
        repository,
        tag,
        digest,
    )


@pytest.mark.parametrize(
    "image",
    [
        "pytorch/pytorch:2.5.1",
        "apache/spark:4.0.1",
        "registry.k8s.io/pause:3.10",
        "nvcr.io/nvidia/cuda:12.4.1",
    ],
)
def test_images_from_allowed_registries_pass(image: str) -> None:
    assert hits("allowed-image-registries", changed("containers[0].image", image)) == []


@pytest.mark.parametrize("image", ["registry.example.com/team/model:1", "localhost:5001/model:dev"])
def test_images_from_other_registries_fail(image: str) -> None:
    (found,) = hits("allowed-image-registries", changed("containers[0].image", image))
    assert found.level == "mandatory"
    assert f"spec.template.spec.containers[0].image is {image!r}" in found.message


def test_allowed_registries_may_be_narrowed_to_paths() -> None:
    config = {"allowed-image-registries": {"registries": ["docker.io/pytorch", "ghcr.io"]}}
    assert (
        hits(
            "allowed-image-registries",
            changed("containers[0].image", "pytorch/pytorch:2"),
            config=config,
        )
        == []
    )
    found = hits(
        "allowed-image-registries", changed("containers[0].image", "busybox:1.36"), config=config
    )
    assert len(found) == 1


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("busybox", "with no tag"),
        ("busybox:latest", "latest moves"),
        ("localhost:5001/model", "with no tag"),
    ],
)
def test_images_name_a_version_tag(image: str, expected: str) -> None:
    for tier in ("dev", "prod"):
        (found,) = hits("images-no-latest-tag", changed("containers[0].image", image), tier=tier)
        assert found.level == "mandatory"
        assert expected in found.message


def test_forbidden_tags_are_a_knob() -> None:
    subject = changed("containers[0].image", "ghcr.io/a/b:main")
    assert hits("images-no-latest-tag", subject) == []
    config = {"images-no-latest-tag": {"forbiddenTags": ["latest", "main"]}}
    assert len(hits("images-no-latest-tag", subject, config=config)) == 1


def test_a_digest_pins_an_image_without_a_tag() -> None:
    assert hits("images-no-latest-tag", changed("containers[0].image", f"busybox@{DIGEST}")) == []


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "advisory"), ("prod", "mandatory")]
)
def test_digests_are_mandatory_only_in_prod(tier: str, level: str) -> None:
    found = hits(
        "images-pinned-by-digest", changed("containers[0].image", "ghcr.io/a/b:1.2.3"), tier=tier
    )
    assert [v.level for v in found] == [level]


@pytest.mark.parametrize("image", ["ghcr.io/a/b:1@sha256:abc", "ghcr.io/a/b:1@md5:" + "a" * 32])
def test_a_malformed_digest_does_not_pin(image: str) -> None:
    assert len(hits("images-pinned-by-digest", changed("containers[0].image", image))) == 1


def test_exempt_images_may_go_by_tag() -> None:
    subject = changed("containers[0].image", "registry.example.com/mirror/spark:4.0.1")
    config = {"images-pinned-by-digest": {"exemptImages": ["registry.example.com/mirror/*"]}}
    assert hits("images-pinned-by-digest", subject, config=config) == []
    assert len(hits("images-pinned-by-digest", subject)) == 1


# ---- root filesystem -----------------------------------------------------------------


def test_read_only_root_filesystem_is_advice_everywhere() -> None:
    subject = changed(f"{SC}.readOnlyRootFilesystem", False)
    for tier in ("dev", "prod"):
        (found,) = hits("containers-read-only-root-filesystem", subject, tier=tier)
        assert found.level == "advisory"
        assert f"spec.template.spec.{SC}.readOnlyRootFilesystem is not true" in found.message


# ---- odd shapes, secrets and unknowns ------------------------------------------------

UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}


@pytest.mark.parametrize(
    "spec",
    [
        {"containers": "not a list"},
        {"containers": [None, 3, "x"]},
        {
            "containers": [
                {"name": "a", "securityContext": ["odd"], "resources": "big", "ports": {}}
            ]
        },
        {"securityContext": "odd", "volumes": [None, {"hostPath": "odd"}], "tolerations": {}},
        "not a map",
    ],
)
def test_unexpected_shapes_do_not_crash(spec: Any) -> None:
    subject = kubernetes(
        "apps/v1", "Deployment", {"metadata": {"name": "x"}, "spec": {"template": {"spec": spec}}}
    )
    for found in violations(subject):
        assert "can't run policy" not in found.message


def test_a_secret_image_is_still_checked() -> None:
    subject = changed("containers[0].image", {**SECRET_SIG, "value": "busybox:latest"})
    assert len(hits("images-no-latest-tag", subject)) == 1


def test_an_unknown_image_stops_only_the_image_rules_until_it_is_known() -> None:
    subject = changed("containers[0].image", UNKNOWN_STRING)
    found = hits("images-no-latest-tag", subject)
    assert [(v.level, "can't be known during preview" in v.message) for v in found] == [
        ("advisory", True)
    ]
    assert hits("pss-no-privileged", subject) == []


def test_rules_ignore_other_resources() -> None:
    config_map = entry("kubernetes:core/v1:ConfigMap", {"data": {"image": "busybox"}})
    assert workload_hits(config_map) == []
