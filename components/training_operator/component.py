"""Kubeflow training operator (v1): TFJob, PyTorchJob, MPIJob, XGBoostJob, JAXJob, PaddleJob.

Installs the six CRDs from the pinned upstream release, then the operator as typed objects
rendered from upstream's `manifests/overlays/standalone` (upstream ships no Helm chart), so
every object shows in the offline plan and to policy: a namespace fenced at Pod Security
`restricted`, the service account, cluster role and binding, the Deployment, the Service
for metrics and the validating webhook, the ValidatingWebhookConfiguration and the empty
Secret the operator's built-in certificate rotation fills, plus a ConfigMap that gives the
init container the operator adds to PyTorchJob workers a restricted securityContext. The
operator watches every namespace, so jobs in the jobs namespace are reconciled. With
`replicas` above 1 the replicas elect a leader (with the Role that needs). With
`example: true` it also runs a PyTorchJob smoke test in the jobs namespace (which logs its run
to MLflow when the environment deploys MLflow), on one GPU when
the cluster has GPU nodes and on CPU otherwise.

Inputs: `TrainingOperatorArgs`, the `Cluster` and the `JobsNamespace`.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components import versions
from components.chart_component import ChartComponent, CrdRelease
from components.cluster import GPU_RESOURCE, Cluster
from components.jobs_namespace.component import JobsNamespace
from components.mlflow.jobs import env_from, with_run_logging
from components.monitoring import MonitoringStack
from components.monitoring.monitors import service_monitor
from components.pod_security import (
    RESTRICTED_CONTAINER,
    RESTRICTED_CONTAINER_ARGS,
)
from components.rbac import grant
from components.training_operator.args import TrainingOperatorArgs


def _program(script: Path) -> str:
    """The text of a Python script without its module docstring: what `python -c` runs."""
    source = script.read_text(encoding="utf-8")
    statements = ast.parse(source).body
    first_code = statements[1] if ast.get_docstring(ast.Module(statements, [])) else statements[0]
    return "".join(source.splitlines(keepends=True)[first_code.lineno - 1 :])


# The example's training loop (smoke_test.py beside this file), then its MLflow run: logged
# when the jobs namespace's `mlflow` ConfigMap gives MLFLOW_TRACKING_URI (components/mlflow/).
SMOKE_TEST = with_run_logging(
    _program(Path(__file__).with_name("smoke_test.py"))
    + 'log_example_run("plinth-examples", {"example": "pytorch", "device": str(device)}, '
    + '{"final_loss": loss.item()})\n'
)


CRD_FILES = (
    "kubeflow.org_jaxjobs.yaml",
    "kubeflow.org_mpijobs.yaml",
    "kubeflow.org_paddlejobs.yaml",
    "kubeflow.org_pytorchjobs.yaml",
    "kubeflow.org_tfjobs.yaml",
    "kubeflow.org_xgboostjobs.yaml",
)
# Object names the operator binary expects (cmd/training-operator.v1/main.go and
# pkg/cert/cert.go at the pinned release): its certificate rotation finds the Secret, the
# Service it signs for and the webhook configuration it injects the CA into by these names.
OPERATOR = "training-operator"
WEBHOOK_CONFIGURATION = "validator.training-operator.kubeflow.org"
WEBHOOK_CERT_SECRET = "training-operator-webhook-cert"  # noqa: S105 (a name, not a value)
CERT_DIR = "/tmp/k8s-webhook-server/serving-certs"  # noqa: S108 (a read-only Secret mount)
# The operator reads the PyTorch workers' init container from this file when it exists.
INIT_TEMPLATE_DIR = "/etc/config"
INIT_TEMPLATE_FILE = "initContainer.yaml"
SELECTOR = {"control-plane": "kubeflow-training-operator"}
APP_LABEL = {"app": "training-operator"}
WEBHOOK_PORT = 9443
METRICS_PORT = 8080
METRICS_PORT_NAME = "monitoring-port"
PROBE_PORT = 8081
# The example pod's only writable directory (an emptyDir).
EXAMPLE_SCRATCH_DIR = "/tmp"  # noqa: S108
# The example's user and group (the PyTorch image runs as any). From 10000 up, outside the
# range distributions give the node's login users (1000 up), so a process that escaped the
# container would own none of their files.
EXAMPLE_UID = 10000
# distroless/static runs as root unless told otherwise; 65532 is its `nonroot` user.
NONROOT_UID = 65532

ALL_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")
JOB_RESOURCES = ("jaxjobs", "mpijobs", "paddlejobs", "pytorchjobs", "tfjobs", "xgboostjobs")
# MPIJob has no validating webhook upstream; the other five do.
WEBHOOK_KINDS = ("jaxjob", "paddlejob", "pytorchjob", "tfjob", "xgboostjob")


def _rule(
    group: str, resource: str, verbs: Sequence[str], names: Sequence[str] = ()
) -> k8s.rbac.v1.PolicyRuleArgsDict:
    rule: k8s.rbac.v1.PolicyRuleArgsDict = {
        "api_groups": [group],
        "resources": [resource],
        "verbs": list(verbs),
    }
    if names:
        rule["resource_names"] = list(names)
    return rule


# Upstream's ClusterRole (manifests/base/rbac/role.yaml), rule for rule but one: upstream
# lets the operator update every validating webhook configuration in the cluster. Its
# certificate rotation (open-policy-agent/cert-controller) reads them through an informer
# (list, watch) and updates only its own, so get and update are narrowed to that name: the
# operator cannot rewrite, or switch off, other admission webhooks.
OPERATOR_RULES: list[k8s.rbac.v1.PolicyRuleArgsDict] = [
    _rule("", "configmaps", ("create", "list", "update", "watch")),
    _rule("", "events", ALL_VERBS),
    _rule("", "pods", ALL_VERBS),
    _rule("", "pods/exec", ("create",)),
    _rule("", "secrets", ("get", "list", "update", "watch")),
    _rule("", "serviceaccounts", ("create", "get", "list", "watch")),
    _rule("", "services", ("create", "delete", "get", "list", "watch")),
    _rule("admissionregistration.k8s.io", "validatingwebhookconfigurations", ("list", "watch")),
    _rule(
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        ("get", "update"),
        names=(WEBHOOK_CONFIGURATION,),
    ),
    _rule("autoscaling", "horizontalpodautoscalers", ALL_VERBS),
    *(
        rule
        for resource in JOB_RESOURCES
        for rule in (
            _rule("kubeflow.org", resource, ALL_VERBS),
            _rule("kubeflow.org", f"{resource}/finalizers", ("update",)),
            _rule("kubeflow.org", f"{resource}/status", ("get", "patch", "update")),
        )
    ),
    _rule("rbac.authorization.k8s.io", "rolebindings", ("create", "list", "update", "watch")),
    _rule("rbac.authorization.k8s.io", "roles", ("create", "list", "update", "watch")),
    _rule("scheduling.volcano.sh", "podgroups", ALL_VERBS),
    _rule("scheduling.x-k8s.io", "podgroups", ALL_VERBS),
]
# Leader election takes a Lease in the operator's namespace; upstream's ClusterRole does not
# grant that (upstream runs one replica without `--leader-elect`).
LEADER_ELECTION_RULES = [_rule("coordination.k8s.io", "leases", ALL_VERBS)]

# The init container the operator adds to PyTorchJob workers to wait for the master's DNS
# name: upstream's built-in template (pkg/controller.v1/pytorch/initcontainer.go) with a
# restricted securityContext added, since without one Pod Security `restricted` rejects
# every worker pod. The operator fills the {{.Name}} fields from its flags and the job.
PYTORCH_INIT_CONTAINER: dict[str, Any] = {
    "name": "init-pytorch",
    "image": "{{.InitContainerImage}}",
    "imagePullPolicy": "IfNotPresent",
    "resources": {
        "limits": {"cpu": "100m", "memory": "20Mi"},
        "requests": {"cpu": "50m", "memory": "10Mi"},
    },
    "securityContext": {**RESTRICTED_CONTAINER, "runAsUser": 65534},  # alpine's `nobody`
    "command": [
        "sh",
        "-c",
        "err=1;for i in $(seq {{.MaxTries}}); do if nslookup {{.MasterAddr}}; "
        "then err=0 && break; fi;echo waiting for master; sleep 2; done; exit $err",
    ],
}


class TrainingOperator(ChartComponent):
    """The training operator, its CRDs and (optionally) a PyTorchJob smoke test."""

    def __init__(
        self,
        name: str,
        args: TrainingOperatorArgs,
        *,
        cluster: Cluster,
        jobs_namespace: JobsNamespace,
        monitoring: MonitoringStack | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "plinth:ml:TrainingOperator",
            name,
            cluster=cluster,
            namespace=args.namespace,
            pod_security="restricted",
            crds=CrdRelease(versions.TRAINING_OPERATOR_CRD_BASE, CRD_FILES),
            opts=opts,
        )
        in_namespace = pulumi.ResourceOptions.merge(
            cluster.resource_options(self), pulumi.ResourceOptions(depends_on=[self.namespace])
        )
        needs = [
            *self._rbac(name, args, cluster, in_namespace),
            *self._webhook(name, args, cluster, in_namespace),
            self._init_container_template(name, args, cluster, in_namespace),
        ]
        self.controller = self._controller(
            name,
            args,
            cluster,
            pulumi.ResourceOptions.merge(
                in_namespace, pulumi.ResourceOptions(depends_on=[*self.crds, *needs])
            ),
        )
        if monitoring is not None:
            service_monitor(
                name,
                OPERATOR,
                cluster=cluster,
                monitoring=monitoring,
                namespace=args.namespace,
                service_labels=APP_LABEL,
                port=METRICS_PORT_NAME,
                parent=self,
            )
        if args.example:
            self._pytorch_example(name, cluster, jobs_namespace)
        self.register_outputs({"namespace": args.namespace})

    def _rbac(
        self,
        name: str,
        args: TrainingOperatorArgs,
        cluster: Cluster,
        opts: pulumi.ResourceOptions,
    ) -> list[pulumi.Resource]:
        ns = args.namespace
        created: list[pulumi.Resource] = [
            k8s.core.v1.ServiceAccount(
                f"{name}-controller",
                metadata=cluster.metadata(OPERATOR, ns, **APP_LABEL),
                opts=opts,
            ),
            *grant(
                f"{name}-controller",
                cluster=cluster,
                role_name=OPERATOR,
                rules=OPERATOR_RULES,
                role_namespace=None,
                account=OPERATOR,
                account_namespace=ns,
                opts=opts,
                labels=APP_LABEL,
            ),
        ]
        if leader_election(args):
            created += grant(
                f"{name}-leader-election",
                cluster=cluster,
                role_name=f"{OPERATOR}-leader-election",
                rules=LEADER_ELECTION_RULES,
                role_namespace=ns,
                account=OPERATOR,
                account_namespace=ns,
                opts=opts,
                labels=APP_LABEL,
            )
        return created

    def _webhook(
        self,
        name: str,
        args: TrainingOperatorArgs,
        cluster: Cluster,
        opts: pulumi.ResourceOptions,
    ) -> list[pulumi.Resource]:
        ns = args.namespace
        # The operator writes the CA and serving certificate into the Secret and the CA into
        # the webhook configuration; Plinth creates both and leaves those fields to it.
        cert_secret = k8s.core.v1.Secret(
            f"{name}-webhook-cert",
            metadata=cluster.metadata(WEBHOOK_CERT_SECRET, ns),
            type="Opaque",
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(ignore_changes=["data"])
            ),
        )
        service = k8s.core.v1.Service(
            f"{name}-controller",
            metadata={
                **cluster.metadata(OPERATOR, ns, **APP_LABEL),
                "annotations": {
                    "prometheus.io/path": "/metrics",
                    "prometheus.io/port": str(METRICS_PORT),
                    "prometheus.io/scrape": "true",
                },
            },
            spec={
                "ports": [
                    {"name": METRICS_PORT_NAME, "port": METRICS_PORT, "target_port": METRICS_PORT},
                    {
                        "name": "webhook-server",
                        "port": 443,
                        "protocol": "TCP",
                        "target_port": WEBHOOK_PORT,
                    },
                ],
                "selector": SELECTOR,
                "type": "ClusterIP",
            },
            opts=opts,
        )
        configuration = k8s.admissionregistration.v1.ValidatingWebhookConfiguration(
            f"{name}-webhook",
            metadata=cluster.metadata(WEBHOOK_CONFIGURATION, **SELECTOR),
            webhooks=validating_webhooks(ns),
            opts=pulumi.ResourceOptions.merge(
                opts,
                pulumi.ResourceOptions(ignore_changes=["webhooks[*].clientConfig.caBundle"]),
            ),
        )
        return [cert_secret, service, configuration]

    def _init_container_template(
        self,
        name: str,
        args: TrainingOperatorArgs,
        cluster: Cluster,
        opts: pulumi.ResourceOptions,
    ) -> pulumi.Resource:
        return k8s.core.v1.ConfigMap(
            f"{name}-pytorch-init-container",
            metadata=cluster.metadata(f"{OPERATOR}-pytorch-init-container", args.namespace),
            data={
                INIT_TEMPLATE_FILE: yaml.safe_dump(
                    [PYTORCH_INIT_CONTAINER], sort_keys=True, width=1000
                )
            },
            opts=opts,
        )

    def _controller(
        self,
        name: str,
        args: TrainingOperatorArgs,
        cluster: Cluster,
        opts: pulumi.ResourceOptions,
    ) -> k8s.apps.v1.Deployment:
        return k8s.apps.v1.Deployment(
            f"{name}-controller",
            metadata=cluster.metadata(OPERATOR, args.namespace, **SELECTOR),
            spec={
                "replicas": args.replicas,
                "selector": {"match_labels": SELECTOR},
                "template": {
                    "metadata": {
                        "labels": dict(sorted({**cluster.labels, **SELECTOR}.items())),
                        "annotations": {"sidecar.istio.io/inject": "false"},
                    },
                    "spec": controller_pod_spec(args),
                },
            },
            opts=opts,
        )

    def _pytorch_example(self, name: str, cluster: Cluster, jobs: JobsNamespace) -> None:
        example_label = {"plinth.io/example": "true"}
        k8s.apiextensions.CustomResource(
            f"{name}-example-pytorch",
            api_version="kubeflow.org/v1",
            kind="PyTorchJob",
            metadata=cluster.metadata("pytorch-smoke-test", jobs.namespace_name, **example_label),
            spec=pytorch_job_spec(cluster, {**cluster.labels, **example_label}),
            opts=pulumi.ResourceOptions.merge(
                cluster.resource_options(self),
                pulumi.ResourceOptions(depends_on=[jobs.namespace, *self.crds, self.controller]),
            ),
        )


def leader_election(args: TrainingOperatorArgs) -> bool:
    """Replicas elect a leader only when there is more than one (upstream's default is off)."""
    return args.replicas > 1


def validating_webhooks(
    namespace: str,
) -> list[k8s.admissionregistration.v1.ValidatingWebhookArgsDict]:
    """Upstream's webhooks (manifests/base/webhook), pointed at the operator's Service."""
    return [
        {
            "admission_review_versions": ["v1"],
            "client_config": {
                "service": {
                    "name": OPERATOR,
                    "namespace": namespace,
                    "path": f"/validate-kubeflow-org-v1-{kind}",
                }
            },
            "failure_policy": "Fail",
            "name": f"validator.{kind}.training-operator.kubeflow.org",
            "rules": [
                {
                    "api_groups": ["kubeflow.org"],
                    "api_versions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": [f"{kind}s"],
                }
            ],
            "side_effects": "None",
        }
        for kind in WEBHOOK_KINDS
    ]


def controller_pod_spec(args: TrainingOperatorArgs) -> k8s.core.v1.PodSpecArgsDict:
    """Upstream's pod (manifests/base/deployment.yaml), restricted and sized by `args`."""
    resources = args.resources.to_kubernetes()
    container: k8s.core.v1.ContainerArgsDict = {
        "name": OPERATOR,
        "image": versions.TRAINING_OPERATOR_IMAGE,
        "command": ["/manager"],
        "env": [
            {
                "name": "MY_POD_NAMESPACE",
                "value_from": {"field_ref": {"field_path": "metadata.namespace"}},
            },
            {"name": "MY_POD_NAME", "value_from": {"field_ref": {"field_path": "metadata.name"}}},
        ],
        "ports": [
            {"container_port": METRICS_PORT},
            {"container_port": WEBHOOK_PORT, "name": "webhook-server", "protocol": "TCP"},
        ],
        "liveness_probe": _probe("/healthz", initial_delay_s=15, period_s=20),
        "readiness_probe": _probe("/readyz", initial_delay_s=10, period_s=15),
        "resources": {"limits": resources["limits"], "requests": resources["requests"]},
        "security_context": RESTRICTED_CONTAINER_ARGS,
        # The operator writes nothing to disk: its certificate rotation writes the Secret,
        # and the kubelet projects it here, so the root filesystem stays read-only.
        "volume_mounts": [
            {"mount_path": CERT_DIR, "name": "cert", "read_only": True},
            {"mount_path": INIT_TEMPLATE_DIR, "name": "pytorch-init-container", "read_only": True},
        ],
    }
    if leader_election(args):
        container["args"] = ["--leader-elect"]
    return {
        "containers": [container],
        "security_context": {
            "run_as_group": NONROOT_UID,
            "run_as_non_root": True,
            "run_as_user": NONROOT_UID,
            "seccomp_profile": {"type": "RuntimeDefault"},
        },
        "service_account_name": OPERATOR,
        "termination_grace_period_seconds": 10,
        "volumes": [
            {"name": "cert", "secret": {"default_mode": 0o644, "secret_name": WEBHOOK_CERT_SECRET}},
            {
                "name": "pytorch-init-container",
                "config_map": {"name": f"{OPERATOR}-pytorch-init-container"},
            },
        ],
    }


def _probe(path: str, *, initial_delay_s: int, period_s: int) -> k8s.core.v1.ProbeArgsDict:
    return {
        "http_get": {"path": path, "port": PROBE_PORT},
        "initial_delay_seconds": initial_delay_s,
        "period_seconds": period_s,
        "timeout_seconds": 3,
    }


def pytorch_job_spec(cluster: Cluster, labels: dict[str, str]) -> dict[str, Any]:
    """The smoke test's PyTorchJob spec: one master, on a GPU node when the cluster has one."""
    device = "cpu" if cluster.gpu is None else "cuda"
    limits = {"cpu": "2", "memory": "4Gi"}
    if cluster.gpu is not None:
        limits[GPU_RESOURCE] = "1"
    container = {
        "name": "pytorch",  # the operator requires a container of this name
        "image": versions.PYTORCH_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-c", SMOKE_TEST],
        # The image runs as root by default; any user works. HOME points at the only
        # writable directory, for caches PyTorch and CUDA may write.
        "env": [
            {"name": "HOME", "value": EXAMPLE_SCRATCH_DIR},
            {"name": "SMOKE_TEST_DEVICE", "value": device},
        ],
        # MLflow's tracking URI and credentials, when the environment has them.
        "envFrom": env_from(),
        "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": limits},
        "securityContext": RESTRICTED_CONTAINER,
        "volumeMounts": [{"name": "tmp", "mountPath": EXAMPLE_SCRATCH_DIR}],
    }
    pod_spec: dict[str, Any] = {
        # The training loop never calls the Kubernetes API: no service account token.
        "automountServiceAccountToken": False,
        "containers": [container],
        "securityContext": {
            "runAsGroup": EXAMPLE_UID,
            "runAsNonRoot": True,
            "runAsUser": EXAMPLE_UID,
        },
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
    }
    if cluster.gpu is not None:
        pod_spec.update(cluster.gpu.pod_placement())
    master = {
        "replicas": 1,
        "restartPolicy": "OnFailure",
        "template": {"metadata": {"labels": dict(sorted(labels.items()))}, "spec": pod_spec},
    }
    return {"runPolicy": {"backoffLimit": 3}, "pytorchReplicaSpecs": {"Master": master}}
