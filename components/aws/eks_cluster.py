"""An EKS cluster: control plane, secrets encryption, logs, OIDC issuer, access entries and
managed add-ons, in the VPC of `components.aws.network`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from typing import Literal

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import Field, field_validator, model_validator

from components.args import SECRET_CAPABLE, FrozenModel
from components.aws.cluster_autoscaler import ClusterAutoscalerArgs
from components.aws.context import AwsContext, OidcIssuer
from components.aws.policy_documents import policy_document
from components.aws.workload_role import WorkloadRole
from components.cluster import GPU_NODE_LABELS, GPU_TAINT, Cluster, GpuScheduling
from components.secrets import keep_secret

AWS_REGION = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$"
IAM_PRINCIPAL_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$"
# Versions EKS offers (standard or extended support) that Plinth validates objects against.
EKS_KUBERNETES_VERSIONS = ("1.31", "1.32", "1.33", "1.34", "1.35")
LogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]
ALL_LOG_TYPES: tuple[LogType, ...] = (
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
)


def ipv4_network(what: str, value: str) -> ipaddress.IPv4Network:
    """`value` as an IPv4 network; a ValueError naming `what` and the fix otherwise."""
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(
            f"{what} {value!r} is not an IPv4 CIDR ({error}): write the network address and "
            "prefix length, e.g. 10.0.0.0/16"
        ) from None


class EksClusterArgs(FrozenModel):
    """An EKS cluster Plinth creates, with its VPC, in one region across three zones."""

    target: Literal["eks"] = Field(description="Which target builds the cluster.")
    region: str = Field(pattern=AWS_REGION, description="AWS region, e.g. eu-west-1.")
    availability_zones: tuple[str, str, str] = Field(
        description=(
            "The three zones of `region` the VPC spans, e.g. [eu-west-1a, eu-west-1b, "
            "eu-west-1c]; `plinth preflight` checks every GPU type is offered in each."
        )
    )
    kubernetes_version: Literal[EKS_KUBERNETES_VERSIONS] = Field(  # type: ignore[valid-type]
        "1.34",
        description=(
            "Pinned control-plane minor version; raising it upgrades the cluster in place "
            "(one minor at a time), lowering it is refused by EKS."
        ),
    )
    vpc_cidr: str = Field(
        "10.0.0.0/16",
        description=(
            "IPv4 range of the VPC, /16 to /20; split into three private (nodes, pods) and "
            "three public (load balancers) subnets. Changing it replaces the VPC and cluster."
        ),
    )
    nat_gateways: Literal["single", "per-zone"] = Field(
        "single",
        description=(
            "'single': one NAT gateway for the three zones (cheaper; a zone outage cuts "
            "egress). 'per-zone': one per zone, the prod default."
        ),
    )
    endpoint_public_access: bool = Field(
        True,
        description=(
            "Whether the API server also has a public endpoint (it always has a private "
            "one). The prod tier turns it off."
        ),
    )
    public_access_cidrs: tuple[str, ...] = Field(
        (),
        description=(
            "IPv4 CIDRs allowed on the public endpoint; empty allows any address (EKS's "
            "default). Only with endpoint_public_access true. Stay secret when plinth:cluster "
            "is set with --secret."
        ),
        json_schema_extra=SECRET_CAPABLE,
    )
    log_types: tuple[LogType, ...] = Field(
        ALL_LOG_TYPES, description="Control-plane logs sent to CloudWatch Logs."
    )
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731] = (
        Field(90, description="Days CloudWatch keeps the control-plane logs.")
    )
    autoscaler: ClusterAutoscalerArgs = Field(
        default_factory=ClusterAutoscalerArgs,
        description="cluster-autoscaler, which resizes the node pools (scale from zero included).",
    )
    cluster_admins: tuple[str, ...] = Field(
        (),
        description=(
            "IAM role or user ARNs given cluster-admin through EKS access entries (the "
            "identity running `pulumi up` always is). Stay secret when plinth:cluster is set "
            "with --secret."
        ),
        json_schema_extra=SECRET_CAPABLE,
    )

    @field_validator("availability_zones", mode="before")
    @classmethod
    def _three_zones(cls, value: object) -> object:
        if isinstance(value, list | tuple) and len(value) != 3:
            raise ValueError(
                f"availability_zones lists {len(value)} zones: list exactly three zones of "
                "the region, e.g. [eu-west-1a, eu-west-1b, eu-west-1c]"
            )
        return value

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr_size(cls, value: str) -> str:
        network = ipv4_network("vpc_cidr", value)
        if not 16 <= network.prefixlen <= 20:
            raise ValueError(f"vpc_cidr {value} is a /{network.prefixlen}; use a /16 to /20")
        return value

    @field_validator("public_access_cidrs")
    @classmethod
    def _cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            ipv4_network("public_access_cidrs entry", cidr)
        return value

    @field_validator("cluster_admins")
    @classmethod
    def _admins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for arn in value:
            if not re.fullmatch(IAM_PRINCIPAL_ARN, arn):
                raise ValueError(
                    f"cluster_admins entry {arn!r} is not an IAM role or user ARN "
                    "(arn:aws:iam::<12-digit account>:role/<name>)"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EksClusterArgs:
        outside = [z for z in self.availability_zones if not z.startswith(self.region)]
        if outside or len(set(self.availability_zones)) != 3:
            raise ValueError(
                f"availability_zones {list(self.availability_zones)} must be three distinct "
                f"zones of region {self.region} (e.g. {self.region}a, {self.region}b, "
                f"{self.region}c)"
            )
        if self.public_access_cidrs and not self.endpoint_public_access:
            raise ValueError(
                "public_access_cidrs is set but endpoint_public_access is false: set "
                "endpoint_public_access to true to open the public endpoint to those CIDRs, "
                "or remove public_access_cidrs"
            )
        return self


# Managed add-ons: those nodes need to become Ready come first; the rest need nodes to run.
ADDONS_BEFORE_NODES = ("kube-proxy", "vpc-cni")
ADDONS_AFTER_NODES = (
    "aws-ebs-csi-driver",
    "aws-mountpoint-s3-csi-driver",
    "coredns",
    "metrics-server",
)
AWS_POLICY = "arn:aws:iam::aws:policy/"
# Add-ons that call AWS APIs: the service account EKS runs them as, and AWS's managed
# policy for them. The Mountpoint driver's own role holds no S3 permission: every S3
# volume mounts with the credentials of the pod's service account (components/aws/
# object_storage.py), so each volume's reach is that workload's role.
ADDON_SERVICE_ACCOUNTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "vpc-cni": ("aws-node", (f"{AWS_POLICY}AmazonEKS_CNI_Policy",)),
    "aws-ebs-csi-driver": (
        "ebs-csi-controller-sa",
        (f"{AWS_POLICY}service-role/AmazonEBSCSIDriverPolicy",),
    ),
    "aws-mountpoint-s3-csi-driver": ("s3-csi-driver-sa", ()),
}
NODE_POLICIES = (
    f"{AWS_POLICY}AmazonEC2ContainerRegistryPullOnly",
    f"{AWS_POLICY}AmazonEKSWorkerNodePolicy",
)
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
DEFAULT_STORAGE_CLASS = "gp3"


def service_trust_policy(service: str) -> str:
    """A trust policy letting one AWS service principal assume the role, as JSON."""
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
    return policy_document([statement])


def kubeconfig(cluster_name: str, endpoint: str, certificate_authority: str, region: str) -> str:
    """A kubeconfig that authenticates with `aws eks get-token` as whoever runs Pulumi."""
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region],
        }
    }
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": {
                    "server": endpoint,
                    "certificate-authority-data": certificate_authority,
                },
            }
        ],
        "contexts": [
            {"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}
        ],
        "current-context": cluster_name,
        "users": [{"name": cluster_name, "user": user}],
    }
    return json.dumps(document, sort_keys=True)


class EksCluster(pulumi.ComponentResource):
    """An EKS control plane ready for node pools, and the `Cluster` handle to deploy to it.

    Creates the KMS key that envelope-encrypts Kubernetes secrets, the control-plane log
    group, the cluster (API authentication through access entries, never the aws-auth
    ConfigMap), its IAM OIDC provider for workload roles, the node role, access entries
    for `cluster_admins`, the managed add-ons nodes need to become Ready, a default `gp3`
    StorageClass, and the Kubernetes provider. Call `install_node_addons` once the node
    pools exist. In prod (`aws_context.protect_stateful`) the cluster and its key are
    protected, and the cluster has EKS deletion protection on.
    """

    def __init__(
        self,
        name: str,
        args: EksClusterArgs,
        *,
        aws_context: AwsContext,
        cluster_name: str,
        private_subnet_ids: Sequence[pulumi.Input[str]],
        labels: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:aws:EksCluster", name, None, opts)
        self._prefix = name
        self._context = aws_context
        self._protect_stateful = aws_context.protect_stateful
        self.cluster_name = cluster_name
        secrets_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of Kubernetes secrets in EKS cluster {cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=aws_context.stateful_options(self),
        )
        aws.kms.Alias(
            f"{name}-secrets",
            name=f"alias/{cluster_name}-secrets",
            target_key_id=secrets_key.key_id,
            opts=aws_context.options(self),
        )
        # EKS would create this group itself, keeping logs forever; created first, it
        # carries the retention and tags.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=f"/aws/eks/{cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            opts=aws_context.options(self),
        )
        control_plane_role = self._role(
            "control-plane", "eks.amazonaws.com", ("AmazonEKSClusterPolicy",)
        )
        vpc_config: aws.eks.ClusterVpcConfigArgsDict = {
            "subnet_ids": list(private_subnet_ids),
            "endpoint_private_access": True,
            "endpoint_public_access": args.endpoint_public_access,
        }
        if args.public_access_cidrs:
            vpc_config["public_access_cidrs"] = keep_secret(list(args.public_access_cidrs), args)
        self.eks = aws.eks.Cluster(
            name,
            name=cluster_name,
            version=args.kubernetes_version,
            role_arn=control_plane_role.arn,
            vpc_config=vpc_config,
            encryption_config={"resources": ["secrets"], "provider": {"key_arn": secrets_key.arn}},
            enabled_cluster_log_types=list(args.log_types),
            access_config={
                "authentication_mode": "API",
                # The identity running `pulumi up` must reach the API to deploy the platform.
                "bootstrap_cluster_creator_admin_permissions": True,
            },
            # vpc-cni, kube-proxy and CoreDNS come as managed add-ons below, so that
            # Pulumi owns their versions and settings.
            bootstrap_self_managed_addons=False,
            # Standard support only: extended support is billed per hour.
            upgrade_policy={"support_type": "STANDARD"},
            deletion_protection=self._protect_stateful,
            opts=aws_context.options(
                self, protect=self._protect_stateful, depends_on=[log_group, control_plane_role]
            ),
        )
        issuer_url = self.eks.identities.apply(lambda ids: ids[0]["oidcs"][0]["issuer"])
        oidc = aws.iam.OpenIdConnectProvider(
            name,
            url=issuer_url,
            client_id_lists=["sts.amazonaws.com"],
            opts=aws_context.options(self),
        )
        self.issuer = OidcIssuer(provider_arn=oidc.arn, url=issuer_url)
        self.node_role = self._role("node", "ec2.amazonaws.com", ())
        for policy_arn in NODE_POLICIES:
            self._attach(f"{name}-node", self.node_role, policy_arn)
        for index, principal in enumerate(args.cluster_admins):
            self._cluster_admin(index, keep_secret(principal, args))
        self.addons_before_nodes = [self._addon(addon) for addon in ADDONS_BEFORE_NODES]
        provider = k8s.Provider(
            name,
            kubeconfig=pulumi.Output.all(self.eks.endpoint, self.eks.certificate_authority).apply(
                lambda values: kubeconfig(cluster_name, values[0], values[1]["data"], args.region)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.kubernetes = Cluster(
            name=name,
            provider=provider,
            kubernetes_version=args.kubernetes_version,
            default_storage_class=DEFAULT_STORAGE_CLASS,
            gpu=GpuScheduling(taint=GPU_TAINT, node_selector=dict(GPU_NODE_LABELS)),
            protect_stateful=self._protect_stateful,
            labels=labels,
        )
        self._default_storage_class()
        self.register_outputs({"cluster_name": self.eks.name, "oidc_issuer": issuer_url})

    def install_node_addons(self, node_pools: Sequence[pulumi.Resource]) -> list[aws.eks.Addon]:
        """The add-ons that run as pods (CoreDNS, CSI drivers, metrics-server): created
        after the node pools, since EKS reports them degraded until nodes can run them."""
        return [self._addon(addon, depends_on=node_pools) for addon in ADDONS_AFTER_NODES]

    def _role(self, suffix: str, service: str, managed: tuple[str, ...]) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{self._prefix}-{suffix}",
            assume_role_policy=service_trust_policy(service),
            opts=self._context.options(self),
        )
        for policy in managed:
            self._attach(f"{self._prefix}-{suffix}", role, f"{AWS_POLICY}{policy}")
        return role

    def _attach(self, role_name: str, role: aws.iam.Role, policy_arn: str) -> None:
        short = policy_arn.rsplit("/", 1)[-1]
        aws.iam.RolePolicyAttachment(
            f"{role_name}-{short}",
            role=role.name,
            policy_arn=policy_arn,
            opts=self._context.options(self),
        )

    def _cluster_admin(self, index: int, principal: pulumi.Input[str]) -> None:
        name = f"{self._prefix}-admin-{index}"
        entry = aws.eks.AccessEntry(
            name,
            cluster_name=self.eks.name,
            principal_arn=principal,
            type="STANDARD",
            opts=self._context.options(self),
        )
        aws.eks.AccessPolicyAssociation(
            name,
            cluster_name=self.eks.name,
            principal_arn=entry.principal_arn,
            policy_arn=CLUSTER_ADMIN_POLICY,
            access_scope={"type": "cluster"},
            opts=self._context.options(self),
        )

    def _addon(self, addon: str, depends_on: Sequence[pulumi.Resource] = ()) -> aws.eks.Addon:
        role_arn = None
        if addon in ADDON_SERVICE_ACCOUNTS:
            service_account, managed = ADDON_SERVICE_ACCOUNTS[addon]
            role_arn = WorkloadRole(
                f"{self._prefix}-{addon}",
                aws_context=self._context,
                issuer=self.issuer,
                namespace="kube-system",
                service_account=service_account,
                managed_policy_arns=managed,
                opts=pulumi.ResourceOptions(parent=self),
            ).arn
        # No addon_version: EKS installs its default for the cluster's Kubernetes version
        # and `plinth preflight` checks that version exists.
        return aws.eks.Addon(
            f"{self._prefix}-{addon}",
            cluster_name=self.eks.name,
            addon_name=addon,
            service_account_role_arn=role_arn,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=self._context.options(self, depends_on=list(depends_on)),
        )

    def _default_storage_class(self) -> None:
        cluster = self.kubernetes
        metadata = cluster.metadata(DEFAULT_STORAGE_CLASS)
        metadata["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
        k8s.storage.v1.StorageClass(
            f"{self._prefix}-{DEFAULT_STORAGE_CLASS}",
            metadata=metadata,
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true"},
            volume_binding_mode="WaitForFirstConsumer",  # in the zone of the pod's node
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=cluster.resource_options(self),
        )
