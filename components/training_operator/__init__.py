"""The Kubeflow training operator component (`plinth:training_operator`); see README.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.args import example_problem
from components.contract import Component, Deployed, Placement
from components.jobs_namespace import COMPONENT as JOBS_NAMESPACE
from components.jobs_namespace import deployed_jobs_namespace
from components.training_operator.args import TrainingOperatorArgs

if TYPE_CHECKING:
    import pulumi

    from components.cluster import Cluster
    from stacks.config import PlatformConfig


def _deploy(
    args: TrainingOperatorArgs,
    cluster: Cluster,
    deployed: Deployed,
    where: Placement,
) -> pulumi.ComponentResource:
    from components.training_operator.component import TrainingOperator  # noqa: PLC0415 (SDK on deploy)

    jobs = deployed_jobs_namespace(deployed)
    return TrainingOperator(
        where.name, args, cluster=cluster, jobs_namespace=jobs, opts=where.options()
    )


def _problem(args: TrainingOperatorArgs, config: PlatformConfig) -> str | None:
    """An example in prod, or a GPU example in a namespace whose quota forbids GPUs."""
    jobs = config.args(JOBS_NAMESPACE)
    if args.example and config.gpu_pools and jobs.quota.gpus == 0:
        return (
            "jobs.quota.gpus is 0 but the training example asks for a GPU on pool "
            f"{next(iter(config.gpu_pools))!r}: raise plinth:jobs.quota.gpus or set "
            "plinth:training_operator.example to false"
        )
    return example_problem("training_operator", args.example, config.tier)


COMPONENT = Component(
    key="training_operator",
    args=TrainingOperatorArgs,
    name="training",
    summary="Kubeflow training operator.",
    deploy=_deploy,
    requires=(JOBS_NAMESPACE,),
    namespaces=lambda args: {"namespace": args.namespace},
    problem=_problem,
)
