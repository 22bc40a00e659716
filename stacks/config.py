"""The typed configuration of one environment, and its loader.

Configuration lives in `environments/Pulumi.<env>.yaml` under the `plinth` namespace, one
structured value per top-level key (`plinth:cluster`, `plinth:spark_operator`, ...). It is
parsed once into the frozen `PlatformConfig`, from three layers with one merge rule
(maps merge recursively, lists replace):

1. component defaults: the defaults of each model below;
2. tier defaults: `stacks/tiers.py`, chosen by `plinth:tier` (dev, staging, prod);
3. the stack file.

Any error becomes a `ConfigError` whose message is one line naming the key path, the value
received, what is allowed and how to fix it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import pulumi
from pulumi.runtime import config as pulumi_config
from pydantic import Field, StringConstraints, ValidationError, model_validator

from components.args import DNS_LABEL, FrozenModel
from components.aws.eks_cluster import EksClusterArgs
from components.aws.object_storage import ObjectStorageArgs
from components.gpu_enablement import GpuEnablementArgs
from components.jobs_namespace import JobsNamespaceArgs
from components.merge import deep_merge
from components.node_pools import NodePool, eks_node_pool_problem
from components.spark_operator import SparkOperatorArgs
from components.training_operator import TrainingOperatorArgs
from stacks.tiers import EKS_TIER_DEFAULTS, TIER_DEFAULTS

NAMESPACE = "plinth"
Tier = Literal["dev", "staging", "prod"]
LABEL_VALUE = r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
SUPPORTED_KUBERNETES = tuple(f"1.{minor}" for minor in range(30, 38))


class ConfigError(ValueError):
    """A configuration mistake, explained in one line."""


class Ownership(FrozenModel):
    """Who owns the environment and pays for it; set as labels on every object."""

    owner: str = Field(pattern=LABEL_VALUE, description="Owning team, e.g. ml-platform.")
    cost_centre: str = Field(pattern=LABEL_VALUE, description="Cost centre billed, e.g. cc-4711.")


class GpuNodeConventions(FrozenModel):
    """How the existing cluster marks its GPU nodes (Plinth's own convention by default)."""

    node_selector: dict[str, str] = Field(
        default_factory=lambda: {"plinth.io/accelerator": "nvidia"},
        description="Labels every GPU node carries; GPU pods select nodes by them.",
    )
    taint_key: str = Field("nvidia.com/gpu", description="Key of the taint on GPU nodes.")
    taint_value: str = Field("true", description="Value of that taint.")


class ExistingCluster(FrozenModel):
    """A cluster Plinth does not create: on-prem, kind, k3d, minikube. Reached through a
    kubeconfig context; its version and GPU conventions are stated here."""

    target: Literal["existing"] = Field(description="Which target builds the cluster.")
    context: str | None = Field(
        None, description="kubeconfig context to deploy to; unset uses the current context."
    )
    kubeconfig: str | None = Field(
        None, description="Path of the kubeconfig file; unset uses $KUBECONFIG or ~/.kube/config."
    )
    kubernetes_version: Literal[SUPPORTED_KUBERNETES] = Field(  # type: ignore[valid-type]
        description="Minor version the cluster runs, e.g. '1.33'; objects are validated against it."
    )
    default_storage_class: str = Field(
        "standard",
        description="StorageClass for volumes ('standard' on kind, 'local-path' on k3d).",
    )
    gpu: GpuNodeConventions = Field(
        default_factory=GpuNodeConventions, description="How GPU nodes are labelled and tainted."
    )


class PolicyWaiver(FrozenModel):
    """A rule relaxed for this environment, with the reason a reviewer agreed to."""

    enforcement_level: Literal["advisory", "disabled"] = Field(
        description="'advisory' still reports the rule without blocking; 'disabled' skips it."
    )
    reason: str = Field(
        min_length=10, description="Why, and until when: printed in every check report."
    )


class PolicySettings(FrozenModel):
    """How the policy pack treats this environment, on top of its tier's config file."""

    waivers: dict[Annotated[str, StringConstraints(pattern=DNS_LABEL)], PolicyWaiver] = Field(
        default_factory=dict, description="Rule name -> waiver; every waiver needs a reason."
    )
    config: dict[Annotated[str, StringConstraints(pattern=DNS_LABEL)], dict[str, Any]] = Field(
        default_factory=dict,
        description="Rule name -> config properties (see policies/README.md for each rule).",
    )


class PlatformConfig(FrozenModel):
    """Everything one environment deploys. Each field is one `plinth:<field>` config key."""

    tier: Tier = Field(description="dev, staging or prod: picks the tier defaults and policy.")
    ownership: Ownership = Field(description="Owner and cost centre, set as labels everywhere.")
    cluster: Annotated[ExistingCluster | EksClusterArgs, Field(discriminator="target")] = Field(
        description="The cluster target ('existing' or 'eks') and its facts."
    )
    node_pools: dict[Annotated[str, StringConstraints(pattern=DNS_LABEL)], NodePool] = Field(
        default_factory=dict,
        description="Node pools keyed by a stable name; renaming a key replaces the pool.",
    )
    jobs: JobsNamespaceArgs = Field(
        default_factory=JobsNamespaceArgs, description="The shared namespace jobs run in."
    )
    spark_operator: SparkOperatorArgs = Field(
        default_factory=SparkOperatorArgs, description="Kubeflow Spark operator."
    )
    training_operator: TrainingOperatorArgs = Field(
        default_factory=TrainingOperatorArgs, description="Kubeflow training operator."
    )
    gpu: GpuEnablementArgs = Field(
        default_factory=GpuEnablementArgs,
        description=(
            "NVIDIA GPU enablement (device plugin and DCGM exporter, or the GPU operator) on "
            "the GPU nodes. Deployed only when node_pools has a pool with accelerator: "
            "nvidia; an environment without one gets no GPU enablement, whatever is set here."
        ),
    )

    object_storage: ObjectStorageArgs = Field(
        default_factory=ObjectStorageArgs,
        description="S3 buckets and the Mountpoint volumes jobs mount (eks target only).",
    )

    policy: PolicySettings = Field(
        default_factory=PolicySettings,
        description="Policy waivers and rule config for `plinth check` and `plinth policy-config`.",
    )

    @model_validator(mode="after")
    def _cross_field_rules(self) -> PlatformConfig:
        for key in ("spark_operator", "training_operator"):
            if getattr(self, key).enabled and not self.jobs.enabled:
                raise ValueError(
                    f"jobs.enabled is false but {key} runs its jobs there: set "
                    f"plinth:jobs.enabled to true or plinth:{key}.enabled to false"
                )
        if self.tier == "prod":
            for key in ("spark_operator", "training_operator"):
                if getattr(self, key).example:
                    raise ValueError(
                        f"{key}.example is true in a prod environment: examples are smoke "
                        f"tests for dev and staging; set plinth:{key}.example to false"
                    )
        if isinstance(self.cluster, EksClusterArgs):
            problem = eks_node_pool_problem(self.node_pools)
            if problem:
                raise ValueError(problem)
        elif "object_storage" in self.model_fields_set:
            raise ValueError(
                "object_storage is set but cluster.target is "
                f"{self.cluster.target!r}: S3 buckets and volumes need the eks target; "
                "remove plinth:object_storage (use plinth:jobs.volumes for cluster storage)"
            )
        if self.jobs.quota.gpus == 0 and self.gpu_pools and self.training_operator.example:
            raise ValueError(
                "jobs.quota.gpus is 0 but the training example asks for a GPU on pool "
                f"{next(iter(self.gpu_pools))!r}: raise plinth:jobs.quota.gpus or set "
                "plinth:training_operator.example to false"
            )
        return self

    @property
    def gpu_pools(self) -> dict[str, NodePool]:
        """The node pools whose nodes carry NVIDIA GPUs, sorted by name."""
        return {n: p for n, p in sorted(self.node_pools.items()) if p.accelerator == "nvidia"}


CLUSTER_TARGETS = ("existing", "eks")


def parse_config_value(raw: str) -> Any:
    """A Pulumi config value as the program sees it: structured values arrive as JSON text."""
    stripped = raw.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return raw
    return raw


def plinth_values(config: Mapping[str, str]) -> dict[str, Any]:
    """The `plinth:` keys of a Pulumi config map, without the namespace, values parsed."""
    prefix = f"{NAMESPACE}:"
    return {
        key.removeprefix(prefix): parse_config_value(value)
        for key, value in sorted(config.items())
        if key.startswith(prefix)
    }


def read_stack_config() -> PlatformConfig:
    """The configuration of the running stack (`pulumi up`, or `plinth synth` under mocks)."""
    config = {**pulumi_config.get_config_env(), **pulumi_config.CONFIG.get()}
    return load_platform_config(plinth_values(config), source=f"stack {pulumi.get_stack()}")


def load_platform_config(plinth_values: Mapping[str, Any], *, source: str) -> PlatformConfig:
    """Validate the `plinth:` keys of one environment (key without namespace -> value).

    `source` names where the values came from (a file, the stack) for error messages.
    """
    allowed = sorted(PlatformConfig.model_fields)
    unknown = sorted(set(plinth_values) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{source}: plinth:{_key_text(unknown[0])}: unknown setting; "
            f"allowed: {', '.join(allowed)} "
            "(fix the spelling or remove it)"
        )
    tier = plinth_values.get("tier")
    if not isinstance(tier, str) or tier not in TIER_DEFAULTS:
        raise ConfigError(
            f"{source}: plinth:tier: got {tier!r}; must be one of dev, staging, prod "
            "(set plinth:tier in the stack file)"
        )
    defaults = TIER_DEFAULTS[tier]
    cluster = plinth_values.get("cluster")
    if isinstance(cluster, Mapping) and cluster.get("target") == "eks":
        defaults = deep_merge(defaults, {"cluster": EKS_TIER_DEFAULTS[tier]})
    layered = deep_merge(defaults, plinth_values)
    try:
        return PlatformConfig.model_validate(layered)
    except ValidationError as error:
        raise ConfigError(_one_line(error, source)) from None


def _one_line(error: ValidationError, source: str) -> str:
    first = error.errors(include_url=False)[0]
    loc = list(first["loc"])
    if len(loc) > 1 and loc[0] == "cluster" and loc[1] in CLUSTER_TARGETS:
        del loc[1]  # the union's tag, not a key of the file
    location = ".".join(_key_text(part) for part in loc)
    key = f"plinth:{location}" if location else "plinth"
    message = first["msg"].removeprefix("Value error, ")
    received = json.dumps(first.get("input"), sort_keys=True, default=str)
    if len(received) > 80:
        received = received[:77] + "..."
    hint = _HINTS.get(first["type"], "")
    more = error.error_count() - 1
    suffix = f" (+{more} more)" if more else ""
    return f"{source}: {key}: {message}; got {received}{hint}{suffix}"


def _key_text(part: str | int) -> str:
    """A key path element as written in the file; quoted when it is not a plain name."""
    text = str(part)
    return text if re.fullmatch(r"[A-Za-z0-9_./-]+", text) else json.dumps(text)


_HINTS = {
    "extra_forbidden": " (unknown key: fix the spelling or remove it; see docs/configuration.md)",
    "missing": " (add this key to the stack file; see docs/configuration.md)",
    "literal_error": " (use one of the allowed values)",
    "string_pattern_mismatch": " (change the value to match the pattern)",
}
