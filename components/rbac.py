"""Granting a service account a set of rules: a Role (or ClusterRole) and its binding."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.cluster import Cluster

RBAC_GROUP = "rbac.authorization.k8s.io"


def grant(
    resource_name: str,
    *,
    cluster: Cluster,
    role_name: str,
    rules: Sequence[k8s.rbac.v1.PolicyRuleArgsDict],
    account: str,
    account_namespace: str,
    role_namespace: str | None,
    opts: pulumi.ResourceOptions,
    labels: dict[str, str] | None = None,
) -> list[pulumi.Resource]:
    """`rules` for the service account `account_namespace/account`, both objects named
    `role_name`: a Role and RoleBinding in `role_namespace`, or cluster-wide when it is None.
    The Pulumi name of both is `resource_name`."""
    metadata = cluster.metadata(role_name, role_namespace, **(labels or {}))
    kind = "Role" if role_namespace is not None else "ClusterRole"
    subject: k8s.rbac.v1.SubjectArgsDict = {
        "kind": "ServiceAccount",
        "name": account,
        "namespace": account_namespace,
    }
    role_ref: k8s.rbac.v1.RoleRefArgsDict = {
        "api_group": RBAC_GROUP,
        "kind": kind,
        "name": role_name,
    }
    if role_namespace is None:
        return [
            k8s.rbac.v1.ClusterRole(resource_name, metadata=metadata, rules=rules, opts=opts),
            k8s.rbac.v1.ClusterRoleBinding(
                resource_name, metadata=metadata, role_ref=role_ref, subjects=[subject], opts=opts
            ),
        ]
    return [
        k8s.rbac.v1.Role(resource_name, metadata=metadata, rules=rules, opts=opts),
        k8s.rbac.v1.RoleBinding(
            resource_name, metadata=metadata, role_ref=role_ref, subjects=[subject], opts=opts
        ),
    ]
