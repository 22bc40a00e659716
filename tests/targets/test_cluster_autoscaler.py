"""The Cluster Autoscaler component, built on its own under the recording mock engine."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest
from pydantic import ValidationError

from clouds.aws.context import AwsContext, OidcIssuer
from components import versions
from components.cluster import GPU_RESOURCE, Cluster, GpuScheduling, Taint
from plinth.engine import kubernetes_objects, record
from policies.aws.iam import DEFAULT_ACTIONS_ON_ANY_RESOURCE
from policies.stack.attribution import DEFAULT_LABELS, DEFAULT_TAGS
from targets.eks.args import ClusterAutoscalerArgs
from targets.eks.cluster_autoscaler import (
    READ_ACTIONS,
    SCALE_ACTIONS,
    ClusterAutoscaler,
    go_duration,
    image_for,
)
from tests.policy_harness import violations
from tests.upstream_schemas import builtin_object_errors, object_label

REGION = "eu-west-1"
ISSUER_HOST = "oidc.eks.eu-west-1.amazonaws.com/id/X"
CLUSTER_NAME = "plinth-test-eks"
ASG_ARNS = (
    "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:"
    "11111111-1111-1111-1111-111111111111:autoScalingGroupName/eks-gpu-a",
    "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:"
    "22222222-2222-2222-2222-222222222222:autoScalingGroupName/eks-system-a",
)
GPU = GpuScheduling(
    taint=Taint(GPU_RESOURCE, "true", "NoSchedule"),
    node_selector={"plinth.io/accelerator": "nvidia"},
)
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def build(
    args: ClusterAutoscalerArgs | None = None,
    *,
    kubernetes_version: str = "1.34",
    gpu: GpuScheduling | None = GPU,
    autoscaling_group_arns: Sequence[str] = ASG_ARNS,
) -> list[dict[str, Any]]:
    """The plan entries of one ClusterAutoscaler on a test EKS cluster."""

    def program() -> None:
        provider = aws.Provider(
            "aws",
            region=REGION,
            default_tags={"tags": dict.fromkeys(DEFAULT_TAGS, "test")},
        )
        ClusterAutoscaler(
            "cluster-autoscaler",
            args or ClusterAutoscalerArgs(),
            cluster=Cluster(
                name="test",
                provider=k8s.Provider("test"),
                kubernetes_version=kubernetes_version,
                default_storage_class="gp3",
                gpu=gpu,
                protect_stateful=False,
                labels=dict.fromkeys(DEFAULT_LABELS, "test"),
            ),
            aws_context=AwsContext(provider, region=REGION, protect_stateful=False),
            issuer=OidcIssuer(
                provider_arn=pulumi.Output.from_input(
                    f"arn:aws:iam::123456789012:oidc-provider/{ISSUER_HOST}"
                ),
                url=pulumi.Output.from_input(f"https://{ISSUER_HOST}"),
            ),
            cluster_name=CLUSTER_NAME,
            autoscaling_group_arns=autoscaling_group_arns,
        )

    return record(program, stack="test", config={})


@pytest.fixture(scope="module")
def entries() -> list[dict[str, Any]]:
    return build()


def objects_of(entries: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in kubernetes_objects(entries) if obj["kind"] == kind]


def only(entries: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (obj,) = objects_of(entries, kind)
    return obj


def inputs_of(entries: list[dict[str, Any]], type_token: str) -> dict[str, Any]:
    (entry,) = [entry for entry in entries if entry["type"] == type_token]
    return dict(entry["inputs"])


def container(entries: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = only(entries, "Deployment")["spec"]["template"]["spec"]["containers"]
    return dict(found)


def statements(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(inputs_of(entries, IAM_ROLE_POLICY)["policy"])[
        "Statement"
    ]
    return found


# --- AWS: who may assume the role, and what it may do ------------------------------------


def test_only_the_autoscaler_service_account_can_assume_the_role(
    entries: list[dict[str, Any]],
) -> None:
    trust = json.loads(inputs_of(entries, IAM_ROLE)["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::123456789012:oidc-provider/{ISSUER_HOST}"
    }
    assert statement["Condition"] == {
        "StringEquals": {
            f"{ISSUER_HOST}:sub": "system:serviceaccount:kube-system:cluster-autoscaler",
            f"{ISSUER_HOST}:aud": "sts.amazonaws.com",
        }
    }
    account = only(entries, "ServiceAccount")
    assert account["metadata"]["namespace"] == "kube-system"
    assert account["metadata"]["name"] == "cluster-autoscaler"
    role_arn = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role_arn.startswith("arn:aws:iam::")
    pod = only(entries, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "cluster-autoscaler"


def test_scaling_is_allowed_only_on_the_given_auto_scaling_groups(
    entries: list[dict[str, Any]],
) -> None:
    granted: dict[str, list[str]] = {}
    for statement in statements(entries):
        assert statement["Effect"] == "Allow"
        resources = statement["Resource"]
        for action in statement["Action"]:
            granted.setdefault(action, []).extend(
                [resources] if isinstance(resources, str) else resources
            )
    for action in SCALE_ACTIONS:
        assert sorted(granted[action]) == sorted(ASG_ARNS), action
    on_any = [action for action, resources in granted.items() if "*" in resources]
    assert sorted(on_any) == sorted(READ_ACTIONS)
    for action in on_any:  # the policy pack's allow-list of actions on "*" covers each
        patterns = [re.escape(p).replace(r"\*", ".*") for p in DEFAULT_ACTIONS_ON_ANY_RESOURCE]
        assert any(re.fullmatch(pattern, action) for pattern in patterns), action
    assert set(granted) == {*READ_ACTIONS, *SCALE_ACTIONS}


def test_no_auto_scaling_groups_is_an_error() -> None:
    with pytest.raises(ValueError, match="autoscaling_group_arns"):
        build(autoscaling_group_arns=())


# --- The image follows the cluster's Kubernetes minor ------------------------------------


@pytest.mark.parametrize("kubernetes_version", sorted(versions.CLUSTER_AUTOSCALER_TAGS))
def test_every_supported_version_renders_valid_objects_with_the_matching_image(
    kubernetes_version: str,
) -> None:
    entries = build(kubernetes_version=kubernetes_version)
    repository, tag = container(entries)["image"].rsplit(":", 1)
    assert repository == "registry.k8s.io/autoscaling/cluster-autoscaler"
    assert re.fullmatch(rf"v{re.escape(kubernetes_version)}\.[0-9]+", tag)
    for obj in kubernetes_objects(entries):
        errors = builtin_object_errors(obj, kubernetes_version)
        assert not errors, f"{object_label(obj)} (Kubernetes {kubernetes_version}): {errors}"


def test_an_unsupported_kubernetes_version_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'1\.30'.*1\.31, 1\.32"):
        image_for("1.30")
    with pytest.raises(ValueError, match=r"no image for Kubernetes '1\.30'"):
        build(kubernetes_version="1.30")


# --- The Deployment ----------------------------------------------------------------------


def test_flags_discover_this_clusters_node_groups(entries: list[dict[str, Any]]) -> None:
    flags = container(entries)["args"]
    assert "--cloud-provider=aws" in flags
    assert (
        "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,"
        f"k8s.io/cluster-autoscaler/{CLUSTER_NAME}"
    ) in flags
    assert "--expander=least-waste" in flags
    assert "--balance-similar-node-groups=true" in flags
    assert "--skip-nodes-with-local-storage=false" in flags
    assert "--leader-elect=true" in flags
    assert len({flag.split("=", 1)[0] for flag in flags}) == len(flags)  # each flag once
    env = {item["name"]: item["value"] for item in container(entries)["env"]}
    assert env["AWS_REGION"] == REGION


def test_settings_reach_the_flags() -> None:
    args = ClusterAutoscalerArgs(
        expander="most-pods",
        scale_down_unneeded_time=timedelta(minutes=90),
        scale_down_delay_after_add=timedelta(seconds=45),
        balance_similar_node_groups=False,
        skip_nodes_with_local_storage=True,
        skip_nodes_with_system_pods=False,
    )
    flags = container(build(args))["args"]
    for expected in (
        "--expander=most-pods",
        "--scale-down-unneeded-time=1h30m",
        "--scale-down-delay-after-add=45s",
        "--balance-similar-node-groups=false",
        "--skip-nodes-with-local-storage=true",
        "--skip-nodes-with-system-pods=false",
    ):
        assert expected in flags


@pytest.mark.parametrize(
    ("value", "expected"),
    [(timedelta(0), "0s"), (timedelta(minutes=10), "10m"), (timedelta(hours=2, seconds=5), "2h5s")],
)
def test_durations_render_as_go_durations(value: timedelta, expected: str) -> None:
    assert go_duration(value) == expected


@pytest.mark.parametrize(
    "changes",
    [
        {"expander": "price"},  # GCE only
        {"replicas": 0},
        {"scale_down_unneeded_time": timedelta(milliseconds=1500)},
        {"scale_down_delay_after_add": timedelta(seconds=-1)},
        {"unknown": True},
    ],
)
def test_invalid_settings_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ClusterAutoscalerArgs(**changes)


def test_the_pod_is_restricted_and_sized(entries: list[dict[str, Any]]) -> None:
    pod = only(entries, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container(entries)["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["readOnlyRootFilesystem"] is True
    assert context["runAsNonRoot"] is True
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    resources = container(entries)["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    assert pod["priorityClassName"] == "system-cluster-critical"


def test_the_pod_stays_off_gpu_nodes(entries: list[dict[str, Any]]) -> None:
    pod = only(entries, "Deployment")["spec"]["template"]["spec"]
    assert not pod.get("tolerations")  # so the GPU taint keeps it off GPU nodes
    assert not pod.get("nodeSelector")


def test_a_disruption_budget_only_with_more_than_one_replica(
    entries: list[dict[str, Any]],
) -> None:
    assert objects_of(entries, "PodDisruptionBudget") == []
    assert "affinity" not in only(entries, "Deployment")["spec"]["template"]["spec"]
    replicated = build(ClusterAutoscalerArgs(replicas=2))
    deployment = only(replicated, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    budget = only(replicated, "PodDisruptionBudget")
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"] == deployment["spec"]["selector"]
    assert "affinity" in deployment["spec"]["template"]["spec"]


# --- RBAC ---------------------------------------------------------------------------------


def test_leader_election_and_status_are_granted_in_kube_system_only(
    entries: list[dict[str, Any]],
) -> None:
    role = only(entries, "Role")
    assert role["metadata"]["namespace"] == "kube-system"
    leases = [r for r in role["rules"] if "leases" in r["resources"]]
    assert {verb for r in leases for verb in r["verbs"]} >= {"create", "get", "update"}
    named = [r for r in leases if "update" in r["verbs"]]
    assert all(r["resourceNames"] == ["cluster-autoscaler"] for r in named)
    cluster_role = only(entries, "ClusterRole")
    for rule in cluster_role["rules"]:
        assert "leases" not in rule["resources"]
        assert "endpoints" not in rule["resources"]
        assert "*" not in rule["verbs"]
    for binding_kind, role_kind in (("RoleBinding", "Role"), ("ClusterRoleBinding", "ClusterRole")):
        binding = only(entries, binding_kind)
        assert binding["roleRef"]["kind"] == role_kind
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "cluster-autoscaler", "namespace": "kube-system"}
        ]


def test_kube_system_is_not_created(entries: list[dict[str, Any]]) -> None:
    assert objects_of(entries, "Namespace") == []
    namespaced = [obj for obj in kubernetes_objects(entries) if "namespace" in obj["metadata"]]
    assert {obj["metadata"]["namespace"] for obj in namespaced} == {"kube-system"}


# --- Policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("replicas", [1, 2])
def test_prod_policy_finds_nothing_mandatory_but_the_image_digest(replicas: int) -> None:
    plan = build(ClusterAutoscalerArgs(replicas=replicas))
    mandatory = [v for v in violations(*plan, tier="prod") if v.level == "mandatory"]
    assert {v.rule for v in mandatory} <= {"images-pinned-by-digest"}, mandatory
