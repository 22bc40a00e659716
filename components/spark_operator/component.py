"""Kubeflow Spark operator: runs `SparkApplication`s in the shared jobs namespace.

Installs the three CRDs (SparkApplication, ScheduledSparkApplication, SparkConnect) from
the pinned upstream release, then the `spark-operator` chart with CRDs skipped, the
mutating/validating webhook and Prometheus metrics on. In the jobs namespace it creates
the service account Spark drivers run as and the Role that lets a driver manage its
executors. With `example: true` it also submits a PySpark `SparkApplication` estimating
pi, which logs its run to MLflow when the environment deploys MLflow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.chart_component import ChartComponent, ChartRelease, CrdRelease, release_values
from components.cluster import Cluster
from components.jobs_namespace.component import JobsNamespace
from components.mlflow.jobs import env_from, script_body, with_run_logging
from components.monitoring import MonitoringStack
from components.pod_security import RESTRICTED_CONTAINER
from components.rbac import grant
from components.spark_operator.args import SparkOperatorArgs

CRD_FILES = (
    "sparkoperator.k8s.io_sparkapplications.yaml",
    "sparkoperator.k8s.io_scheduledsparkapplications.yaml",
    "sparkoperator.k8s.io_sparkconnects.yaml",
)
# What a Spark driver does in its namespace: start, watch and clean up its executors, the
# headless service they reach it by, their config maps and on-demand volume claims.
# The example's PySpark program (spark_pi.py beside this file), logging its run to MLflow
# when the environment deploys MLflow; the driver mounts it from a ConfigMap.
SPARK_PI_PROGRAM = with_run_logging(script_body(Path(__file__).with_name("spark_pi.py")))
SPARK_PI_DIR = "/opt/plinth"
SPARK_PI_FILE = "spark_pi.py"
DRIVER_RULES: list[k8s.rbac.v1.PolicyRuleArgsDict] = [
    {
        "api_groups": [""],
        "resources": ["pods", "services", "configmaps", "persistentvolumeclaims"],
        "verbs": [
            "create",
            "get",
            "list",
            "watch",
            "update",
            "patch",
            "delete",
            "deletecollection",
        ],
    }
]


class SparkOperator(ChartComponent):
    """The Spark operator, its CRDs, and what Spark drivers need in the jobs namespace."""

    def __init__(
        self,
        name: str,
        args: SparkOperatorArgs,
        *,
        cluster: Cluster,
        jobs_namespace: JobsNamespace,
        monitoring: MonitoringStack | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # The chart's controller and webhook run restricted (see chart_values), so their
        # namespace enforces it like the training operator's.
        super().__init__(
            "plinth:ml:SparkOperator",
            name,
            cluster=cluster,
            namespace=args.namespace,
            pod_security="restricted",
            crds=CrdRelease(versions.SPARK_OPERATOR_CRD_BASE, CRD_FILES),
            opts=opts,
        )
        driver_account = self._driver_rbac(name, args, cluster, jobs_namespace)
        [self.chart] = self.install_charts(
            [
                ChartRelease(
                    name,
                    "spark-operator",
                    versions.SPARK_OPERATOR_CHART,
                    versions.SPARK_OPERATOR_CHART_REPO,
                    chart_values(
                        args,
                        cluster,
                        jobs_namespace.namespace_name,
                        pod_monitor=monitoring is not None and args.metrics,
                    ),
                )
            ],
            # The chart's PodMonitor needs the prometheus-operator CRDs.
            depends_on=monitoring.crds if monitoring else (),
        )
        if args.example:
            self._spark_pi(name, args, cluster, jobs_namespace.namespace_name, [driver_account])
        self.register_outputs({"namespace": args.namespace})

    def _driver_rbac(
        self, name: str, args: SparkOperatorArgs, cluster: Cluster, jobs: JobsNamespace
    ) -> pulumi.Resource:
        opts = pulumi.ResourceOptions.merge(
            cluster.resource_options(self), pulumi.ResourceOptions(depends_on=[jobs.namespace])
        )
        ns = jobs.namespace_name
        account = args.driver_service_account
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-driver", metadata=cluster.metadata(account, ns), opts=opts
        )
        grant(
            f"{name}-driver",
            cluster=cluster,
            role_name=account,
            rules=DRIVER_RULES,
            account=account,
            account_namespace=ns,
            role_namespace=ns,
            opts=opts,
        )
        return service_account

    def _spark_pi(
        self,
        name: str,
        args: SparkOperatorArgs,
        cluster: Cluster,
        namespace: str,
        needs: list[pulumi.Resource],
    ) -> None:
        # Spark writes shuffle and spill files under the local dir: an emptyDir keeps the
        # root filesystem read-only.
        local_dir = {"name": "spark-local", "mountPath": "/tmp"}  # noqa: S108 (an emptyDir)
        pod_security = {
            "securityContext": RESTRICTED_CONTAINER,
            "podSecurityContext": {"runAsUser": 185, "runAsGroup": 185, "fsGroup": 185},
            "volumeMounts": [local_dir],
            "labels": dict(sorted(cluster.labels.items())),
        }
        program = k8s.core.v1.ConfigMap(
            f"{name}-example-spark-pi-program",
            metadata=cluster.metadata("spark-pi", namespace, **{"plinth.io/example": "true"}),
            data={SPARK_PI_FILE: SPARK_PI_PROGRAM},
            opts=pulumi.ResourceOptions.merge(
                cluster.resource_options(self), pulumi.ResourceOptions(depends_on=needs)
            ),
        )
        needs = [*needs, program]
        program_mount = {"name": "spark-pi-program", "mountPath": SPARK_PI_DIR, "readOnly": True}
        k8s.apiextensions.CustomResource(
            f"{name}-example-spark-pi",
            api_version="sparkoperator.k8s.io/v1beta2",
            kind="SparkApplication",
            metadata=cluster.metadata("spark-pi", namespace, **{"plinth.io/example": "true"}),
            spec={
                "type": "Python",
                "pythonVersion": "3",
                "mode": "cluster",
                "image": versions.SPARK_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "mainApplicationFile": f"local://{SPARK_PI_DIR}/{SPARK_PI_FILE}",
                "sparkVersion": versions.SPARK_IMAGE.rsplit(":", 1)[1],
                "restartPolicy": {"type": "Never"},
                "volumes": [
                    {"name": "spark-local", "emptyDir": {"sizeLimit": "2Gi"}},
                    {"name": "spark-pi-program", "configMap": {"name": "spark-pi"}},
                ],
                "driver": {
                    "cores": 1,
                    "coreLimit": "1",
                    "memory": "512m",
                    "serviceAccount": args.driver_service_account,
                    # MLflow's tracking URI and credentials, when the environment has them
                    # (components/mlflow/jobs.py): the program logs its run there.
                    "envFrom": env_from(),
                    **pod_security,
                    "volumeMounts": [local_dir, program_mount],
                },
                "executor": {
                    "instances": 1,
                    "cores": 1,
                    "coreLimit": "1",
                    "memory": "512m",
                    **pod_security,
                },
            },
            opts=pulumi.ResourceOptions.merge(
                cluster.resource_options(self),
                pulumi.ResourceOptions(depends_on=[self.chart, *self.crds, *needs]),
            ),
        )


def chart_values(
    args: SparkOperatorArgs, cluster: Cluster, jobs_namespace: str, *, pod_monitor: bool = False
) -> dict[str, Any]:
    """The chart values Plinth renders from the typed options, with `values_override` on top;
    `pod_monitor` when the environment deploys monitoring (the chart's PodMonitor)."""
    restricted = {"securityContext": RESTRICTED_CONTAINER}
    rendered: dict[str, Any] = {
        # Object names that do not depend on the release (spark-operator-controller, ...).
        "fullnameOverride": "spark-operator",
        "commonLabels": dict(sorted(cluster.labels.items())),
        "controller": {
            "replicas": args.controller_replicas,
            "leaderElection": {"enable": True},
            "resources": args.controller_resources.to_kubernetes(),
            **restricted,
        },
        "webhook": {
            "enable": True,
            "replicas": args.webhook_replicas,
            "leaderElection": {"enable": True},
            "resources": args.webhook_resources.to_kubernetes(),
            **restricted,
        },
        # Plinth owns the drivers' service account and RBAC (see DRIVER_RULES), so the
        # chart only watches the jobs namespace.
        "spark": {
            "jobNamespaces": [jobs_namespace],
            "serviceAccount": {"create": False, "name": args.driver_service_account},
            "rbac": {"create": False},
        },
        "prometheus": {
            "metrics": {"enable": args.metrics},
            "podMonitor": {"create": pod_monitor},
        },
    }
    return release_values(rendered, args.values_override, args)
