"""Configuration that passes field by field but cannot work is refused, in one line that
names the fields involved and the fix, in plain words."""

from __future__ import annotations

from typing import Any

import pytest

from components.jobs_namespace import COMPONENT as JOBS_NAMESPACE
from stacks.config import PlatformConfig, load_platform_config, platform_namespaces
from tests.stacks.test_config import error_of, load, valid_values

EKS_CLUSTER = {
    "target": "eks",
    "region": "eu-west-1",
    "availability_zones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
    "kubernetes_version": "1.34",
}
EKS_POOLS = {
    "system": {"instance_types": ["m7i.large"], "min_size": 2, "max_size": 4},
    "gpu": {"accelerator": "nvidia", "instance_types": ["g5.xlarge"], "max_size": 2},
}
# What the validation library says in its own words; never shown to a user.
JARGON = ("Value error", "Input should be", "type=", "errors.pydantic.dev", "For further")


def eks_values(**changes: Any) -> dict[str, Any]:
    """A valid eks environment; keyword arguments replace top-level keys."""
    return valid_values(**{"cluster": EKS_CLUSTER, "node_pools": EKS_POOLS, **changes})


def refused(values: dict[str, Any], *fields: str) -> str:
    """The one-line error of `values`, checked to name every field of `fields`."""
    message = error_of(values)
    for field in fields:
        assert field in message
    for jargon in JARGON:
        assert jargon not in message
    return message


def test_the_factories_are_valid() -> None:
    assert isinstance(load(valid_values()), PlatformConfig)
    assert isinstance(load(eks_values()), PlatformConfig)


# -- namespaces ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["kube-system", "kube-public", "kube-node-lease", "default", "kube-jobs"]
)
@pytest.mark.parametrize(
    "field", ["jobs.name", "spark_operator.namespace", "training_operator.namespace"]
)
def test_a_system_namespace_is_refused(field: str, name: str) -> None:
    key, setting = field.split(".")
    message = refused(valid_values(**{key: {setting: name}}), f"plinth:{field}", name)
    assert "choose a name" in message


def test_a_system_gpu_namespace_is_refused() -> None:
    refused(valid_values(gpu={"namespace": "kube-system"}), "plinth:gpu.namespace")


@pytest.mark.parametrize(
    ("name", "owner"),
    [
        ("spark-operator", "spark_operator.namespace"),
        ("kubeflow", "training_operator.namespace"),
        ("nvidia-gpu", "gpu.namespace"),
    ],
)
def test_jobs_in_an_operator_namespace_are_refused(name: str, owner: str) -> None:
    refused(valid_values(jobs={"name": name}), "jobs.name", owner, repr(name))


def test_jobs_may_take_the_default_namespace_of_a_disabled_operator() -> None:
    """Platform namespaces are those of the components deployed, not their defaults."""
    off = {"enabled": False, "example": False}
    config = load_platform_config(
        valid_values(jobs={"name": "kubeflow"}, training_operator=off), source="test"
    )
    assert "kubeflow" not in platform_namespaces(config)


def test_jobs_may_take_the_default_name_of_an_operator_moved_elsewhere() -> None:
    # The policy pack's platform namespaces are the ones the environment's components
    # create (plinth/exemptions.py), not the components' defaults.
    values = valid_values(jobs={"name": "spark-operator"}, spark_operator={"namespace": "spark"})
    assert load(values).args(JOBS_NAMESPACE).name == "spark-operator"


def test_two_operators_in_one_namespace_are_refused() -> None:
    values = valid_values(spark_operator={"namespace": "kubeflow"})
    refused(values, "spark_operator.namespace", "training_operator.namespace", "'kubeflow'")


# -- object storage -----------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["*", "scr*/", "scratch/?/", "data/*/"])
def test_a_wildcard_in_a_volume_prefix_is_refused(prefix: str) -> None:
    volumes = {"scratch": {"bucket": "datasets", "prefix": prefix, "access": "read-write"}}
    message = refused(
        eks_values(object_storage={"volumes": volumes}),
        "plinth:object_storage.volumes.scratch.prefix",
    )
    assert "wildcard" in message


# -- volumes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "storage_class"),
    [
        (eks_values(jobs={"volumes": {"data": {"size_gib": 10}}}), "gp3"),
        (
            eks_values(jobs={"volumes": {"data": {"size_gib": 10, "storage_class": "gp2"}}}),
            "gp2",
        ),
        (valid_values(jobs={"volumes": {"data": {"size_gib": 10}}}), "standard"),
        (
            valid_values(
                cluster={**valid_values()["cluster"], "default_storage_class": "local-path"},
                jobs={"volumes": {"data": {"size_gib": 10, "access_mode": "ReadOnlyMany"}}},
            ),
            "local-path",
        ),
    ],
    ids=["eks-default", "eks-gp2", "kind-standard", "k3d-read-only-many"],
)
def test_a_multi_node_claim_on_a_single_node_class_is_refused(
    values: dict[str, Any], storage_class: str
) -> None:
    message = refused(values, "jobs.volumes.data.access_mode", repr(storage_class))
    assert "ReadWriteOnce" in message


@pytest.mark.parametrize(
    "values",
    [
        eks_values(jobs={"volumes": {"data": {"size_gib": 10, "access_mode": "ReadWriteOnce"}}}),
        eks_values(jobs={"volumes": {"data": {"size_gib": 10, "storage_class": "efs-sc"}}}),
        valid_values(jobs={"volumes": {"data": {"size_gib": 10, "storage_class": "cephfs"}}}),
    ],
    ids=["eks-rwo", "eks-efs", "existing-cephfs"],
)
def test_a_claim_its_class_can_bind_loads(values: dict[str, Any]) -> None:
    assert "data" in load(values).args(JOBS_NAMESPACE).volumes


def test_a_jobs_volume_named_like_an_s3_claim_is_refused() -> None:
    volume = {"size_gib": 10, "access_mode": "ReadWriteOnce"}
    values = eks_values(jobs={"volumes": {"s3-datasets": volume}})
    refused(values, "jobs.volumes.s3-datasets", "object_storage.volumes.datasets")


def test_a_driver_service_account_named_like_an_s3_volume_is_refused() -> None:
    values = eks_values(spark_operator={"driver_service_account": "s3-scratch"})
    refused(values, "spark_operator.driver_service_account", "object_storage.volumes.scratch")


# -- node pools ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("instance_types", ["g5.xlarge"]),
        ("capacity", "spot"),
        ("disk_size_gib", 200),
        ("local_nvme_scratch", True),
        ("node_image", "bottlerocket"),
        ("labels", {"team": "vision"}),
        ("gpus_per_node", 4),
        ("desired_size", 1),
    ],
)
def test_eks_only_pool_settings_are_refused_on_an_existing_cluster(field: str, value: Any) -> None:
    pool = {"accelerator": "nvidia", "instance_types": ["g5.xlarge"], "max_size": 2}
    assert load(eks_values(node_pools={**EKS_POOLS, "gpu": {**pool, field: value}}))
    existing_pool = {"accelerator": "nvidia", "min_size": 0, "max_size": 2, field: value}
    message = refused(
        valid_values(node_pools={"gpu": existing_pool}), f"node_pools.gpu.{field}", "existing"
    )
    assert "remove" in message


# -- wording ------------------------------------------------------------------------------


def test_an_unquoted_version_says_quote_it() -> None:
    cluster = {"target": "existing", "kubernetes_version": 1.3}
    message = refused(valid_values(cluster=cluster), "plinth:cluster.kubernetes_version")
    assert "got 1.3 (a number" in message
    assert 'write it as a quoted string, e.g. "1.30"' in message
    assert "quote it" in message


def test_an_unquoted_eks_version_says_quote_it() -> None:
    message = refused(
        eks_values(cluster={**EKS_CLUSTER, "kubernetes_version": 1.31}),
        "plinth:cluster.kubernetes_version",
    )
    assert 'e.g. "1.31"' in message


def test_a_number_for_a_quantity_says_quote_it() -> None:
    message = refused(valid_values(jobs={"quota": {"cpu": 32}}), "plinth:jobs.quota.cpu")
    assert 'quote it: write it as a quoted string, e.g. "32"' in message


def test_a_boolean_for_a_label_value_says_quote_it() -> None:
    cluster = {**valid_values()["cluster"], "gpu": {"node_selector": {"gpu.present": True}}}
    message = refused(valid_values(cluster=cluster), "plinth:cluster.gpu.node_selector")
    assert 'quote it: write it as a quoted string, e.g. "true"' in message


def test_a_cross_field_error_names_only_its_fields() -> None:
    pool = {"accelerator": "nvidia", "min_size": 3, "max_size": 1}
    message = refused(valid_values(node_pools={"gpu": pool}), "min_size 3", "max_size 1")
    assert "accelerator" not in message  # the object is not printed whole
    assert "{" not in message


def test_a_cross_field_error_of_the_cluster_names_only_its_fields() -> None:
    cluster = {**EKS_CLUSTER, "availability_zones": ["us-east-1a", "eu-west-1b", "eu-west-1c"]}
    message = refused(eks_values(cluster=cluster), "availability_zones", "region eu-west-1")
    assert "kubernetes_version" not in message
    assert "{" not in message


@pytest.mark.parametrize(
    "values",
    [
        valid_values(tier="dev", ownership={"owner": "a b", "cost_centre": "cc-1"}),
        valid_values(ownership="me"),
        valid_values(cluster={"target": "gke"}),
        valid_values(cluster={"kubernetes_version": "1.33"}),
        valid_values(cluster={"target": "existing", "kubernetes_version": "1.12"}),
        valid_values(node_pools={"GPU": {"accelerator": "nvidia"}}),
        valid_values(node_pools={"gpu": {"accelerator": "tpu"}}),
        valid_values(node_pools={"gpu": {"max_size": 0}}),
        valid_values(node_pools={"gpu": {"max_size": "many"}}),
        valid_values(node_pools={"gpu": {"min_size": 1.5}}),
        valid_values(spark_operator={"example": "yes please"}),
        valid_values(spark_operator={"controller_replicas": 9}),
        valid_values(jobs={"volumes": {"data": {}}}),
        valid_values(jobs={"volumes": {"data": {"size_gib": 1, "storage_class": "Fast!"}}}),
        valid_values(jobs={"quota": {"cpu": "lots"}}),
        valid_values(jobs=["ml-jobs"]),
        eks_values(cluster={**EKS_CLUSTER, "availability_zones": ["eu-west-1a"]}),
        eks_values(cluster={**EKS_CLUSTER, "vpc_cidr": "10.0.0.0/33"}),
        eks_values(cluster={**EKS_CLUSTER, "public_access_cidrs": ["office"]}),
        eks_values(cluster={**EKS_CLUSTER, "autoscaler": {"scale_down_unneeded_time": "soon"}}),
        eks_values(cluster={**EKS_CLUSTER, "region": "Ireland"}),
        eks_values(object_storage={"volumes": {"x": {"bucket": "datasets", "prefix": "a"}}}),
    ],
)
def test_errors_are_in_plain_words(values: dict[str, Any]) -> None:
    message = refused(values)
    assert message.count("plinth:") >= 1


def test_the_jobs_namespace_declared_a_platform_namespace_is_refused() -> None:
    rule = {"workload-namespace-fences": {"platformNamespaces": ["kube-system", "ml-jobs"]}}
    refused(valid_values(policy={"config": rule}), "jobs.name", "platformNamespaces")
