"""The pod extractor (policies/kubernetes/pod_specs.py): every kind that creates pods is
checked at its pod template, and Spark's fields are reported where the author writes them.
"""

from __future__ import annotations

from typing import Any

import pytest

from policies.kubernetes.pod_specs import containers, pod_specs
from tests.policies.kubernetes.pods import (
    DELETE,
    IMAGE,
    container,
    deployment,
    patched,
    pod_spec,
    restricted_context,
    spark,
    spark_application,
    workload_hits,
)
from tests.policy_harness import entry, hits, kubernetes, violations

# ---- the compliant inputs ------------------------------------------------------------


def test_compliant_deployment_passes_every_workload_rule() -> None:
    assert workload_hits(deployment()) == []


def test_compliant_spark_application_passes_every_workload_rule() -> None:
    assert workload_hits(spark()) == []


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


# ---- odd shapes ----------------------------------------------------------------------


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


def test_rules_ignore_other_resources() -> None:
    config_map = entry("kubernetes:core/v1:ConfigMap", {"data": {"image": "busybox"}})
    assert workload_hits(config_map) == []
