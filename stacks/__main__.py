"""Plinth's Pulumi program: one environment's platform, composed from its configuration.

Run by `pulumi up -s <env>` (Pulumi.yaml points here) and by `plinth synth <env>` under
Pulumi's mock engine. It only composes: the target builds the cluster (targets/), then
every registered component the environment enables deploys on it (components/registry.py).
"""

import pulumi

from stacks.compose import deploy_components
from stacks.config import ConfigError, read_stack_config
from targets.registry import build_cluster

try:
    config = read_stack_config()
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None

environment = pulumi.get_stack()
cluster = build_cluster(environment, config)
deploy_components(environment, config, cluster)
pulumi.export("kubernetes_version", cluster.kubernetes_version)
