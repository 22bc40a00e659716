"""The Kubeflow Spark operator component (`plinth:spark_operator`); see README.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.args import example_problem
from components.contract import Component
from components.jobs_namespace import COMPONENT as JOBS_NAMESPACE
from components.jobs_namespace import JobsOperator, deploy_beside_jobs
from components.monitoring import COMPONENT as MONITORING
from components.spark_operator.args import SparkOperatorArgs

if TYPE_CHECKING:
    from stacks.config import PlatformConfig


def _operator() -> JobsOperator:
    from components.spark_operator.component import SparkOperator  # noqa: PLC0415 (SDK on deploy)

    return SparkOperator


def _problem(args: SparkOperatorArgs, config: PlatformConfig) -> str | None:
    return example_problem("spark_operator", args.example, config.tier)


COMPONENT = Component(
    key="spark_operator",
    args=SparkOperatorArgs,
    name="spark",
    summary="Kubeflow Spark operator.",
    deploy=deploy_beside_jobs(_operator),
    requires=(JOBS_NAMESPACE,),
    uses=(MONITORING,),
    namespaces=lambda args: {"namespace": args.namespace},
    problem=_problem,
)
