"""What each component puts in the plan, and how configuration changes it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import versions
from components.cluster import GPU_RESOURCE
from components.jobs_namespace import COMPONENT as JOBS_NAMESPACE
from components.merge import deep_merge
from components.spark_operator import COMPONENT as SPARK_OPERATOR
from components.training_operator import COMPONENT as TRAINING_OPERATOR
from plinth.engine import kubernetes_objects
from plinth.synth import synthesize
from targets.existing.args import ExistingCluster
from tests.conftest import ROOT, SynthesizedEnvironment

Variant = Callable[[dict[str, Any]], list[dict[str, Any]]]


@pytest.fixture
def variant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Variant:
    """Synthesize the `local` environment with `changes` merged into its config."""

    def run(changes: dict[str, Any]) -> list[dict[str, Any]]:
        document = yaml.safe_load((ROOT / "environments" / "Pulumi.local.yaml").read_text())
        config = deep_merge(document["config"], changes)
        (tmp_path / "environments").mkdir(exist_ok=True)
        (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
        if not (tmp_path / "stacks").exists():
            (tmp_path / "stacks").symlink_to(ROOT / "stacks")
        target = tmp_path / "environments" / "Pulumi.variant.yaml"
        target.write_text(yaml.safe_dump({"config": config}))
        monkeypatch.setenv("PLINTH_PROJECT_DIR", str(tmp_path))
        _, entries = synthesize("variant", tmp_path / "out")
        return entries

    return run


def find(entries: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [
        o
        for o in kubernetes_objects(entries)
        if o["kind"] == kind and o["metadata"]["name"] == name
    ]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def crd_files(env: SynthesizedEnvironment, component_type: str) -> list[str]:
    component = {e["urn"] for e in env.of_type(component_type)}
    return [
        e["inputs"]["file"]
        for e in env.of_type("kubernetes:yaml/v2:ConfigFile")
        if e["parent"] in component
    ]


def test_every_environment_holds_both_operators_and_the_jobs_namespace(
    env: SynthesizedEnvironment,
) -> None:
    for type_token in (
        "plinth:ml:SparkOperator",
        "plinth:ml:TrainingOperator",
        "plinth:workloads:JobsNamespace",
    ):
        assert len(env.of_type(type_token)) == 1, type_token


def test_crds_come_from_the_pinned_releases(env: SynthesizedEnvironment) -> None:
    spark = crd_files(env, "plinth:ml:SparkOperator")
    training = crd_files(env, "plinth:ml:TrainingOperator")
    assert len(spark) == 3
    assert len(training) == 6
    assert all(f"/{versions.SPARK_OPERATOR_RELEASE}/" in url for url in spark)
    assert all(f"/{versions.TRAINING_OPERATOR_RELEASE}/" in url for url in training)


def spark_chart(entries: list[dict[str, Any]]) -> dict[str, Any]:
    (chart,) = [
        e
        for e in entries
        if e["type"] == "kubernetes:helm.sh/v4:Chart" and e["inputs"]["chart"] == "spark-operator"
    ]
    return chart


def test_spark_chart_skips_crds_and_watches_the_jobs_namespace(env: SynthesizedEnvironment) -> None:
    chart = spark_chart(env.entries)
    inputs = chart["inputs"]
    assert inputs["skipCrds"] is True
    assert inputs["version"] == versions.SPARK_OPERATOR_CHART
    assert inputs["values"]["spark"]["jobNamespaces"] == [
        env.environment.platform.args(JOBS_NAMESPACE).name
    ]
    assert inputs["values"]["webhook"]["enable"] is True
    assert inputs["values"]["prometheus"]["metrics"]["enable"] is True
    crds = {e["urn"] for e in env.of_type("kubernetes:yaml/v2:ConfigFile")}
    assert crds & set(chart["dependencies"])  # the chart waits for its CRDs


def test_spark_driver_rbac_lives_in_the_jobs_namespace(env: SynthesizedEnvironment) -> None:
    jobs = env.environment.platform.args(JOBS_NAMESPACE).name
    account = env.environment.platform.args(SPARK_OPERATOR).driver_service_account
    entries = env.entries
    assert find(entries, "ServiceAccount", account)["metadata"]["namespace"] == jobs
    role = find(entries, "Role", account)
    assert {"pods", "services", "configmaps"} <= set(role["rules"][0]["resources"])
    binding = find(entries, "RoleBinding", account)
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": account,
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": jobs}]


def test_jobs_namespace_is_fenced(env: SynthesizedEnvironment) -> None:
    jobs = env.environment.platform.args(JOBS_NAMESPACE)
    namespace = find(env.entries, "Namespace", jobs.name)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    quota = find(env.entries, "ResourceQuota", "jobs-quota")["spec"]["hard"]
    assert quota[f"requests.{GPU_RESOURCE}"] == str(jobs.quota.gpus)
    policy = find(env.entries, "NetworkPolicy", "default-deny")["spec"]
    assert policy["podSelector"] == {}
    assert policy["policyTypes"] == ["Ingress", "Egress"]


def test_examples_run_in_dev_and_never_in_prod(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    def examples(env: SynthesizedEnvironment) -> list[str]:
        return sorted(
            o["kind"]
            for o in env.objects
            # upstream CRDs are applied byte-for-byte, without labels
            if o["metadata"].get("labels", {}).get("plinth.io/example")
        )

    assert synthesized["local"].environment.platform.tier == "dev"
    # the Spark example's program comes in a ConfigMap of its own
    assert examples(synthesized["local"]) == ["ConfigMap", "PyTorchJob", "SparkApplication"]
    assert synthesized["onprem"].environment.platform.tier == "prod"
    assert examples(synthesized["onprem"]) == []


def pytorch_pod(entries: list[dict[str, Any]]) -> dict[str, Any]:
    job = find(entries, "PyTorchJob", "pytorch-smoke-test")
    spec: dict[str, Any] = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    return spec


def test_gpu_example_lands_only_on_gpu_nodes(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    local = synthesized["local"]
    cluster = local.environment.platform.cluster
    assert isinstance(cluster, ExistingCluster)
    gpu = cluster.gpu
    pod = pytorch_pod(local.entries)
    (container,) = pod["containers"]
    assert container["resources"]["limits"][GPU_RESOURCE] == "1"
    assert pod["nodeSelector"] == gpu.node_selector
    assert pod["tolerations"] == [
        {
            "key": gpu.taint_key,
            "operator": "Equal",
            "value": gpu.taint_value,
            "effect": "NoSchedule",
        }
    ]


def test_without_gpu_pool_the_example_trains_on_cpu(variant: Variant) -> None:
    entries = variant({"plinth:node_pools": {"gpu": {"accelerator": "none"}}})
    pod = pytorch_pod(entries)
    assert GPU_RESOURCE not in pod["containers"][0]["resources"]["limits"]
    assert "tolerations" not in pod
    assert "nodeSelector" not in pod


def test_components_switch_off(variant: Variant) -> None:
    entries = variant(
        {
            "plinth:spark_operator": {"enabled": False},
            "plinth:training_operator": {"enabled": False},
        }
    )
    types = {e["type"] for e in entries}
    assert "plinth:ml:SparkOperator" not in types
    assert "plinth:ml:TrainingOperator" not in types
    assert "plinth:workloads:JobsNamespace" in types


def test_values_override_merges_over_rendered_values(variant: Variant) -> None:
    override = {"controller": {"workers": 20}, "spark": {"jobNamespaces": ["ml-jobs", "team-a"]}}
    entries = variant({"plinth:spark_operator": {"values_override": override}})
    chart = spark_chart(entries)
    values = chart["inputs"]["values"]
    assert values["controller"]["workers"] == 20
    assert values["controller"]["replicas"] == 1  # rendered value kept: maps merge
    assert values["spark"]["jobNamespaces"] == ["ml-jobs", "team-a"]  # lists replace


def test_replicas_above_one_elect_a_leader(synthesized: dict[str, SynthesizedEnvironment]) -> None:
    onprem = synthesized["onprem"]
    assert onprem.environment.platform.args(TRAINING_OPERATOR).replicas == 2
    deployment = find(onprem.entries, "Deployment", "training-operator")
    assert deployment["spec"]["replicas"] == 2
    assert "--leader-elect" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    role = find(onprem.entries, "Role", "training-operator-leader-election")
    assert role["rules"][0]["resources"] == ["leases"]


def claims(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The jobs namespace's own claims (test_object_storage.py tests the S3 volumes')."""
    jobs = {e["urn"] for e in entries if e["type"] == "plinth:workloads:JobsNamespace"}
    return [
        e
        for e in entries
        if e["type"] == "kubernetes:core/v1:PersistentVolumeClaim" and e["parent"] in jobs
    ]


def test_each_shared_volume_is_a_claim_in_the_jobs_namespace(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    with_volumes = [
        env for env in synthesized.values() if env.environment.platform.args(JOBS_NAMESPACE).volumes
    ]
    # The existing-cluster environments share data through claims; EKS ones through S3.
    assert {env.environment.name for env in with_volumes} >= {"local", "onprem"}
    for env in with_volumes:
        check_claims(env)


def check_claims(env: SynthesizedEnvironment) -> None:
    platform = env.environment.platform
    assert isinstance(platform.cluster, ExistingCluster)
    for key, volume in platform.args(JOBS_NAMESPACE).volumes.items():
        claim = find(env.entries, "PersistentVolumeClaim", key)
        assert claim["metadata"]["namespace"] == platform.args(JOBS_NAMESPACE).name
        assert claim["spec"]["accessModes"] == [volume.access_mode]
        storage_class = volume.storage_class or platform.cluster.default_storage_class
        assert claim["spec"]["storageClassName"] == storage_class
        assert claim["spec"]["resources"]["requests"]["storage"] == f"{volume.size_gib}Gi"


def test_a_volume_without_storage_class_uses_the_cluster_default(variant: Variant) -> None:
    # kind's default class is node-local: a ReadWriteMany claim there is refused.
    volume = {"size_gib": 1, "access_mode": "ReadWriteOnce"}
    entries = variant({"plinth:jobs": {"volumes": {"scratch": volume}}})
    claim = find(entries, "PersistentVolumeClaim", "scratch")
    local = yaml.safe_load((ROOT / "environments" / "Pulumi.local.yaml").read_text())
    default_storage_class = local["config"]["plinth:cluster"]["default_storage_class"]
    assert claim["spec"]["storageClassName"] == default_storage_class
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_volumes_are_protected_and_retained_in_prod_only(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    tiers = set()
    for env in synthesized.values():
        if not env.environment.platform.args(JOBS_NAMESPACE).volumes:
            continue
        prod = env.environment.platform.tier == "prod"
        tiers.add(prod)
        assert claims(env.entries)
        for claim in claims(env.entries):
            assert claim["protect"] is prod, claim["urn"]
            assert claim["retain_on_delete"] is prod, claim["urn"]
    assert tiers == {True, False}, "needs a prod and a non-prod environment"


def test_a_prod_variant_of_local_protects_its_volumes(variant: Variant) -> None:
    entries = variant(
        {
            "plinth:tier": "prod",
            "plinth:spark_operator": {"example": False},
            "plinth:training_operator": {"example": False},
        }
    )
    (claim,) = claims(entries)
    assert claim["protect"] is True
    assert claim["retain_on_delete"] is True
