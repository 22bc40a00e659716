"""The Kubeflow Spark operator component (`plinth:spark_operator`); see README.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.args import example_problem
from components.contract import Component, Deployed, Placement
from components.jobs_namespace import COMPONENT as JOBS_NAMESPACE
from components.jobs_namespace import deployed_jobs_namespace
from components.spark_operator.args import SparkOperatorArgs

if TYPE_CHECKING:
    import pulumi

    from components.cluster import Cluster
    from stacks.config import PlatformConfig


def _deploy(
    args: SparkOperatorArgs,
    cluster: Cluster,
    deployed: Deployed,
    where: Placement,
) -> pulumi.ComponentResource:
    from components.spark_operator.component import SparkOperator  # noqa: PLC0415 (SDK on deploy)

    jobs = deployed_jobs_namespace(deployed)
    return SparkOperator(
        where.name, args, cluster=cluster, jobs_namespace=jobs, opts=where.options()
    )


def _problem(args: SparkOperatorArgs, config: PlatformConfig) -> str | None:
    return example_problem("spark_operator", args.example, config.tier)


COMPONENT = Component(
    key="spark_operator",
    args=SparkOperatorArgs,
    name="spark",
    summary="Kubeflow Spark operator.",
    deploy=_deploy,
    requires=(JOBS_NAMESPACE,),
    namespaces=lambda args: {"namespace": args.namespace},
    problem=_problem,
)
