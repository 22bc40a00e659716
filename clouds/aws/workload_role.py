"""An IAM role one Kubernetes service account assumes (IAM roles for service accounts).

The trust policy lets exactly `system:serviceaccount:<namespace>:<service_account>` assume
the role through the cluster's OIDC provider, for the audience `sts.amazonaws.com`; no
other service account of the cluster can. Permissions come from an inline policy (the
statements given, scoped by the caller) and, for AWS's own controllers, from AWS managed
policies. Annotate the service account with `annotations` so EKS injects the credentials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from clouds.aws.context import AwsContext, OidcIssuer
from clouds.aws.policy_documents import policy_document

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"


def trust_policy(issuer_url: str, provider_arn: str, namespace: str, service_account: str) -> str:
    """The IRSA trust policy for one service account, as JSON."""
    issuer = issuer_url.removeprefix("https://")
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{issuer}:aud": "sts.amazonaws.com",
            }
        },
    }
    return policy_document([statement])


class WorkloadRole(pulumi.ComponentResource):
    """An IAM role that only `namespace/service_account` can assume, with its permissions."""

    arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        aws_context: AwsContext,
        issuer: OidcIssuer,
        namespace: str,
        service_account: str,
        statements: pulumi.Input[Sequence[Mapping[str, Any]]] | None = None,
        managed_policy_arns: Sequence[str] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:aws:WorkloadRole", name, None, opts)
        self.namespace = namespace
        self.service_account = service_account
        assume = pulumi.Output.all(issuer.url, issuer.provider_arn).apply(
            lambda values: trust_policy(values[0], values[1], namespace, service_account)
        )
        role = aws.iam.Role(
            name,
            assume_role_policy=assume,
            description=f"IRSA role of service account {namespace}/{service_account}",
            opts=aws_context.options(self),
        )
        if statements is not None:
            aws.iam.RolePolicy(
                f"{name}-access",
                role=role.id,
                policy=pulumi.Output.from_input(statements).apply(policy_document),
                opts=aws_context.options(self),
            )
        for policy_arn in sorted(managed_policy_arns):
            short = policy_arn.rsplit("/", 1)[-1]
            aws.iam.RolePolicyAttachment(
                f"{name}-{short}",
                role=role.name,
                policy_arn=policy_arn,
                opts=aws_context.options(self),
            )
        self.arn = role.arn
        self.register_outputs({"arn": role.arn})

    @property
    def annotations(self) -> dict[str, pulumi.Output[str]]:
        """Service account annotations that make EKS inject this role's credentials."""
        return {ROLE_ARN_ANNOTATION: self.arn}
