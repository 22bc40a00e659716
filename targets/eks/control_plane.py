"""An EKS cluster: control plane, secrets encryption, logs, OIDC issuer, access entries and
managed add-ons, in the VPC of `components.aws.network`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from clouds.aws.context import AwsCloud, AwsContext, OidcIssuer
from clouds.aws.policy_documents import policy_document
from clouds.aws.workload_role import WorkloadRole
from components.cluster import GPU_NODE_LABELS, GPU_TAINT, Cluster, GpuScheduling
from components.secrets import keep_secret
from targets.eks.args import DEFAULT_STORAGE_CLASS, EksClusterArgs

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
# volume mounts with the credentials of the pod's service account
# (components/object_storage/volumes.py), so each volume's reach is that workload's role.
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
    StorageClass, and the Kubernetes provider. `EksNodeAddons` adds the add-ons that run as
    pods once the node pools exist. In prod (`aws_context.protect_stateful`) the cluster
    and its key are protected, and the cluster has EKS deletion protection on.
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
        gpu_nodes: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:aws:EksCluster", name, None, opts)
        self.prefix = name
        self.aws_context = aws_context
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
            opts=aws_context.stateful_options(self, depends_on=[log_group, control_plane_role]),
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
        for index, (admin, principal) in enumerate(sorted(args.cluster_admins.items())):
            self._cluster_admin(admin, index, keep_secret(principal, args))
        self.addons_before_nodes = [install_addon(self, addon) for addon in ADDONS_BEFORE_NODES]
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
            # Node pools with accelerator: nvidia carry Plinth's GPU taint and labels.
            gpu=GpuScheduling(taint=GPU_TAINT, node_selector=dict(GPU_NODE_LABELS))
            if gpu_nodes
            else None,
            protect_stateful=self._protect_stateful,
            labels=labels,
            aws=AwsCloud(aws_context, self.issuer),
        )
        self._default_storage_class()
        self.register_outputs({"cluster_name": self.eks.name, "oidc_issuer": issuer_url})

    def _role(self, suffix: str, service: str, managed: tuple[str, ...]) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{self.prefix}-{suffix}",
            assume_role_policy=service_trust_policy(service),
            opts=self.aws_context.options(self),
        )
        for policy in managed:
            self._attach(f"{self.prefix}-{suffix}", role, f"{AWS_POLICY}{policy}")
        return role

    def _attach(self, role_name: str, role: aws.iam.Role, policy_arn: str) -> None:
        short = policy_arn.rsplit("/", 1)[-1]
        aws.iam.RolePolicyAttachment(
            f"{role_name}-{short}",
            role=role.name,
            policy_arn=policy_arn,
            opts=self.aws_context.options(self),
        )

    def _cluster_admin(self, admin: str, index: int, principal: pulumi.Input[str]) -> None:
        """Access entry and policy of the admin named `admin`. They were named by list
        position (`admin-<index>`) before admins were keyed: the alias moves them in place."""
        name = f"{self.prefix}-admin-{admin}"
        moved = self.aws_context.options(
            self, aliases=[pulumi.Alias(name=f"{self.prefix}-admin-{index}")]
        )
        entry = aws.eks.AccessEntry(
            name,
            cluster_name=self.eks.name,
            principal_arn=principal,
            type="STANDARD",
            opts=moved,
        )
        aws.eks.AccessPolicyAssociation(
            name,
            cluster_name=self.eks.name,
            principal_arn=entry.principal_arn,
            policy_arn=CLUSTER_ADMIN_POLICY,
            access_scope={"type": "cluster"},
            opts=moved,
        )

    def _default_storage_class(self) -> None:
        cluster = self.kubernetes
        metadata = cluster.metadata(DEFAULT_STORAGE_CLASS)
        metadata["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
        k8s.storage.v1.StorageClass(
            f"{self.prefix}-{DEFAULT_STORAGE_CLASS}",
            metadata=metadata,
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true"},
            volume_binding_mode="WaitForFirstConsumer",  # in the zone of the pod's node
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=cluster.resource_options(self),
        )


class EksNodeAddons(pulumi.ComponentResource):
    """The add-ons that run as pods (CoreDNS, CSI drivers, metrics-server), created after
    the node pools, since EKS reports them degraded until nodes can run them.

    They were children of the `EksCluster` before they became their own component: each
    carries an alias to that parent, so Pulumi moves them in place.
    """

    CONFIG_KEY = "cluster"  # configured by plinth:cluster (plinth/locations.py)

    def __init__(
        self,
        name: str,
        *,
        eks: EksCluster,
        node_pools: Sequence[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("plinth:aws:EksNodeAddons", name, None, opts)
        self.addons = [
            install_addon(eks, addon, parent=self, depends_on=node_pools)
            for addon in ADDONS_AFTER_NODES
        ]
        self.register_outputs({})


def install_addon(
    eks: EksCluster,
    addon: str,
    *,
    parent: pulumi.Resource | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
) -> aws.eks.Addon:
    """The managed add-on `addon` of cluster `eks`, named `<cluster>-<addon>`, with its own
    IAM role when it needs one; a child of `parent` (default: the cluster). Every add-on
    was the cluster's child before, so under another parent it carries an alias to it."""
    owner = eks if parent is None else parent
    aliases = None if owner is eks else [pulumi.Alias(parent=eks)]
    prefix, aws_context = eks.prefix, eks.aws_context
    role_arn = None
    if addon in ADDON_SERVICE_ACCOUNTS:
        service_account, managed = ADDON_SERVICE_ACCOUNTS[addon]
        role_arn = WorkloadRole(
            f"{prefix}-{addon}",
            aws_context=aws_context,
            issuer=eks.issuer,
            namespace="kube-system",
            service_account=service_account,
            managed_policy_arns=managed,
            opts=pulumi.ResourceOptions(parent=owner, aliases=aliases),
        ).arn
    # No addon_version: EKS installs its default for the cluster's Kubernetes version
    # and `plinth preflight` checks that version exists.
    return aws.eks.Addon(
        f"{prefix}-{addon}",
        cluster_name=eks.eks.name,
        addon_name=addon,
        service_account_role_arn=role_arn,
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        opts=aws_context.options(owner, depends_on=list(depends_on), aliases=aliases),
    )
