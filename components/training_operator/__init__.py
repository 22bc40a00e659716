"""The Kubeflow training operator component (`plinth:training_operator`); see README.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.args import example_problem
from components.contract import Component
from components.jobs_namespace import COMPONENT as JOBS_NAMESPACE
from components.jobs_namespace import JobsOperator, deploy_beside_jobs
from components.monitoring import COMPONENT as MONITORING
from components.training_operator.args import TrainingOperatorArgs

if TYPE_CHECKING:
    from stacks.config import PlatformConfig


def _operator() -> JobsOperator:
    from components.training_operator.component import TrainingOperator  # noqa: PLC0415 (SDK on deploy)

    return TrainingOperator


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
    deploy=deploy_beside_jobs(_operator),
    requires=(JOBS_NAMESPACE,),
    uses=(MONITORING,),
    namespaces=lambda args: {"namespace": args.namespace},
    problem=_problem,
)
