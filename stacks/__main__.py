"""Plinth's Pulumi program: one environment's platform, composed from its configuration.

Run by `pulumi up -s <env>` (Pulumi.yaml points here) and by `plinth synth <env>` under
Pulumi's mock engine. It only composes: each piece is a component in `components/`.
"""

import pulumi

from components.gpu_enablement import GpuEnablement
from components.jobs_namespace import JobsNamespace
from components.spark_operator import SparkOperator
from components.training_operator import TrainingOperator
from stacks.config import ConfigError, read_stack_config
from stacks.targets import build_target

try:
    config = read_stack_config()
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None

environment = pulumi.get_stack()
target = build_target(environment, config)
cluster = target.cluster
# GPU nodes take no GPU pods until the device plugin advertises their GPUs; an environment
# without GPU pools (cluster.gpu is None) has nothing to enable.
if cluster.gpu is not None and config.gpu.enabled:
    GpuEnablement(f"{environment}-gpu", config.gpu, cluster=cluster)
# Both operators run their jobs in the jobs namespace; the config loader refuses an
# operator without it.
if config.jobs.enabled:
    jobs = JobsNamespace(f"{environment}-jobs", config.jobs, cluster=cluster)
    pulumi.export("jobs_namespace", jobs.namespace_name)
    target.attach_jobs(jobs)
    if config.spark_operator.enabled:
        SparkOperator(
            f"{environment}-spark", config.spark_operator, cluster=cluster, jobs_namespace=jobs
        )
    if config.training_operator.enabled:
        TrainingOperator(
            f"{environment}-training",
            config.training_operator,
            cluster=cluster,
            jobs_namespace=jobs,
        )

pulumi.export("kubernetes_version", cluster.kubernetes_version)
