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
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import pulumi
from pulumi.runtime import config as pulumi_config
from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from components.args import (
    DNS_LABEL,
    QUANTITY,
    FrozenModel,
    secret_capable_fields,
)
from components.contract import ArgsT, ClusterFacts, Component
from components.gpu_enablement import COMPONENT as GPU_ENABLEMENT
from components.jobs_namespace.args import DNS_SUBDOMAIN
from components.merge import deep_merge
from components.object_storage.args import S3_PREFIX
from components.registry import COMPONENTS
from stacks.credentials import plain_credentials
from stacks.text import is_hidden
from stacks.tiers import AKS_TIER_DEFAULTS, EKS_TIER_DEFAULTS, TIER_DEFAULTS
from targets.aks.args import AZURE_LOCATION, GUID, AksClusterArgs
from targets.aks.args import DEFAULT_STORAGE_CLASS as AKS_STORAGE_CLASS
from targets.eks.args import AWS_REGION, DEFAULT_STORAGE_CLASS, EksClusterArgs
from targets.existing.args import ExistingCluster
from targets.node_pools import (
    NodePool,
    aks_node_pool_problem,
    eks_node_pool_problem,
    existing_node_pool_problem,
)
from targets.registry import TARGETS

NAMESPACE = "plinth"
Tier = Literal["dev", "staging", "prod"]
LABEL_VALUE = r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"


class ConfigError(ValueError):
    """A configuration mistake, explained in one line."""


class Ownership(FrozenModel):
    """Who owns the environment and pays for it; set as labels on every object."""

    owner: str = Field(pattern=LABEL_VALUE, description="Owning team, e.g. ml-platform.")
    cost_centre: str = Field(pattern=LABEL_VALUE, description="Cost centre billed, e.g. cc-4711.")


# A reason is read by a reviewer in every report: it must be words, on one line, with
# nothing a terminal or a renderer would hide or act on.
REASON_MIN_WORDS = 3
_WORD = re.compile(r"[^\W\d_]{2,}")


def reason_problem(reason: str) -> str | None:
    """Why `reason` is not an acceptable waiver or exemption reason, or None when it is.

    Surrounding whitespace is ignored (a YAML block scalar ends with a newline); inside,
    control, format (zero-width, bidirectional), private-use and unassigned characters and
    line separators are refused, and at least three words of two or more letters are needed.
    """
    text = reason.strip()
    hidden = sorted({f"U+{ord(char):04X}" for char in text if is_hidden(char)})
    if hidden:
        return (
            f"contains invisible or control characters ({', '.join(hidden)}): write the "
            "reason as plain text on one line"
        )
    if len(_WORD.findall(text)) < REASON_MIN_WORDS:
        return (
            f"has fewer than {REASON_MIN_WORDS} words of two or more letters: say why, and "
            "until when, e.g. 'mirror pins digests; revisit by 2027-03'"
        )
    return None


class PolicyWaiver(FrozenModel):
    """A rule relaxed for this environment, with the reason a reviewer agreed to."""

    enforcement_level: Literal["advisory", "disabled"] = Field(
        description="'advisory' still reports the rule without blocking; 'disabled' skips it."
    )
    reason: str = Field(
        min_length=10,
        description=(
            "Why, and until when: printed in every check report. At least three words, one "
            "line, no control or invisible characters."
        ),
    )

    @field_validator("reason")
    @classmethod
    def _reason_is_words(cls, reason: str) -> str:
        problem = reason_problem(reason)
        if problem:
            raise ValueError(f"the reason {problem}")
        return reason.strip()


class PolicySettings(FrozenModel):
    """How the policy pack treats this environment, on top of its tier's config file."""

    waivers: dict[Annotated[str, StringConstraints(pattern=DNS_LABEL)], PolicyWaiver] = Field(
        default_factory=dict,
        description=(
            "Rule name -> waiver: the rule below its tier's level, with a reason. Printed in "
            "every check report; refused in prod for the rules docs/threat-model.md lists."
        ),
    )
    config: dict[Annotated[str, StringConstraints(pattern=DNS_LABEL)], dict[str, Any]] = Field(
        default_factory=dict,
        description=(
            "Rule name -> config properties (see policies/README.md for each rule); not "
            "enforcementLevel: the tier sets levels and a waiver lowers one."
        ),
    )


class PlatformSettings(FrozenModel):
    """Everything one environment deploys. Each field is one `plinth:<field>` config key:
    the platform's own below, then one per registered component (components/registry.py),
    added by `compose_config_model` to make `PlatformConfig`. Read a component's settings
    with `args(component)`."""

    tier: Tier = Field(description="dev, staging or prod: picks the tier defaults and policy.")
    ownership: Ownership = Field(description="Owner and cost centre, set as labels everywhere.")
    cluster: Annotated[
        ExistingCluster | EksClusterArgs | AksClusterArgs, Field(discriminator="target")
    ] = Field(description="The cluster target ('existing', 'eks' or 'aks') and its facts.")
    node_pools: dict[Annotated[str, StringConstraints(pattern=DNS_LABEL)], NodePool] = Field(
        default_factory=dict,
        description="Node pools keyed by a stable name; renaming a key replaces the pool.",
    )
    policy: PolicySettings = Field(
        default_factory=PolicySettings,
        description="Policy waivers and rule config for `plinth check` and `plinth policy-config`.",
    )

    @model_validator(mode="after")
    def _cross_field_rules(self) -> PlatformSettings:
        problem = (
            _component_problem(self)
            or _node_pool_problem(self)
            or _namespace_problem(self)
            or next(
                (
                    found
                    for component in self.deployed_components()
                    if (found := component.problem(self.args(component), self))
                ),
                None,
            )
        )
        if problem:
            raise ValueError(problem)
        return self

    def args(self, component: Component[ArgsT]) -> ArgsT:
        """The settings of `component` in this environment."""
        settings = getattr(self, component.key)
        if not isinstance(settings, component.args):  # pragma: no cover (the model's own field)
            raise TypeError(f"plinth:{component.key} is not {component.args.__name__}")
        return settings

    @property
    def facts(self) -> ClusterFacts:
        """What components may know of the cluster, from the configuration alone."""
        return ClusterFacts(
            target=self.cluster.target,
            gpu_nodes=bool(self.gpu_pools),
            cloud="aws" if self.on_eks else "azure" if self.on_aks else None,
        )

    def deployed_components(self) -> tuple[Component[Any], ...]:
        """The registered components this environment deploys, in deployment order."""
        facts = self.facts
        return tuple(c for c in COMPONENTS if c.deploys(self.args(c), facts))

    @property
    def gpu_pools(self) -> dict[str, NodePool]:
        """The node pools whose nodes carry NVIDIA GPUs, sorted by name."""
        return {n: p for n, p in sorted(self.node_pools.items()) if p.accelerator == "nvidia"}

    @property
    def on_eks(self) -> bool:
        """Whether Plinth creates the cluster on EKS (else it deploys to an existing one)."""
        return isinstance(self.cluster, EksClusterArgs)

    @property
    def on_aks(self) -> bool:
        """Whether Plinth creates the cluster on AKS."""
        return isinstance(self.cluster, AksClusterArgs)

    @property
    def gpu_operator_installs_driver(self) -> bool:
        """Whether GPU enablement runs the GPU operator with its own NVIDIA driver (then no
        other driver may be on the GPU nodes)."""
        gpu = self.args(GPU_ENABLEMENT)
        return gpu.enabled and gpu.mode == "gpu-operator" and not gpu.driver_preinstalled

    @property
    def default_storage_class(self) -> str:
        """The StorageClass a volume without its own gets on this environment's cluster."""
        if isinstance(self.cluster, EksClusterArgs):
            return DEFAULT_STORAGE_CLASS
        if isinstance(self.cluster, AksClusterArgs):
            return AKS_STORAGE_CLASS
        return self.cluster.default_storage_class


def compose_config_model() -> type[PlatformSettings]:
    """PlatformSettings with one field per registered component, defaults from its Args."""
    fields: dict[str, Any] = {
        component.key: (
            component.args,
            Field(default_factory=component.args, description=component.summary),
        )
        for component in COMPONENTS
    }
    return create_model(
        "PlatformConfig", __base__=PlatformSettings, __doc__=PlatformSettings.__doc__, **fields
    )


# The configuration model. Type checkers see the base, whose `args(component)` reads a
# component's settings with their type; at run time it has every component's field.
if TYPE_CHECKING:
    PlatformConfig = PlatformSettings
else:
    PlatformConfig = compose_config_model()


def _component_problem(config: PlatformConfig) -> str | None:
    """A component set on a target it cannot run on, or enabled without one it requires, or
    with one it conflicts with: one line naming both, with the fix."""
    facts = config.facts
    for component in COMPONENTS:
        key = component.key
        if (
            component.targets
            and facts.target not in component.targets
            and (key in config.model_fields_set)
        ):
            return (
                f"{key} is set but cluster.target is {facts.target!r}: {key} needs the "
                f"{' or '.join(component.targets)} target; remove plinth:{key}"
            )
        if not config.args(component).enabled:
            continue
        for required in component.requires if component.applies(facts) else ():
            if not config.args(required).enabled:
                return (
                    f"{required.key}.enabled is false but {key} requires it: set "
                    f"plinth:{required.key}.enabled to true or plinth:{key}.enabled to false"
                )
            if not required.applies(facts):
                return (
                    f"{key} requires {required.key}, which does not deploy on this cluster "
                    f"(target {facts.target!r}): set plinth:{key}.enabled to false"
                )
        for other in component.conflicts:
            if config.args(other).enabled:
                return (
                    f"{key} and {other.key} are both enabled but cannot run together: set "
                    f"plinth:{key}.enabled or plinth:{other.key}.enabled to false"
                )
    return None


def _node_pool_problem(config: PlatformConfig) -> str | None:
    if config.on_eks:
        return eks_node_pool_problem(config.node_pools)
    if config.on_aks:
        return aks_node_pool_problem(
            config.node_pools, operator_installs_driver=config.gpu_operator_installs_driver
        )
    return existing_node_pool_problem(config.node_pools)


def created_namespaces(config: PlatformConfig) -> list[tuple[str, str, bool]]:
    """(setting, namespace, whether it is a platform namespace) of every namespace the
    environment's components create, in deployment order."""
    created: list[tuple[str, str, bool]] = []
    for component in config.deployed_components():
        settings = config.args(component)
        for platform, declared in (
            (True, component.namespaces(settings)),
            (False, component.workload_namespaces(settings)),
        ):
            created.extend(
                (f"{component.key}.{field}", namespace, platform)
                for field, namespace in declared.items()
            )
    return created


def platform_namespaces(config: PlatformConfig) -> tuple[str, ...]:
    """The namespaces the environment's components create for their controllers, in
    deployment order."""
    return tuple(dict.fromkeys(ns for _, ns, platform in created_namespaces(config) if platform))


def _namespace_problem(config: PlatformConfig) -> str | None:
    """Two components in one namespace, with the fix; or None."""
    owner_of: dict[str, str] = {}
    for field, namespace, _ in created_namespaces(config):
        if namespace in owner_of:
            return (
                f"{owner_of[namespace]} and {field} are both {namespace!r}: each component "
                "creates its namespace and deletes it on destroy, with everything in it; "
                "give them different names"
            )
        owner_of[namespace] = field
    return None


CLUSTER_TARGETS = tuple(TARGETS)


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
    """The configuration of the running stack (`pulumi up`, or `plinth synth` under mocks).

    Warns (once per key, through the engine) about plain values that look like credentials.
    """
    config = {**pulumi_config.get_config_env(), **pulumi_config.CONFIG.get()}
    secret_keys = stack_secret_keys(config)
    platform = load_platform_config(
        plinth_values(config), source=f"stack {pulumi.get_stack()}", secret_keys=secret_keys
    )
    parsed = {key: parse_config_value(str(value)) for key, value in config.items()}
    for path, kind in plain_credentials(parsed, secret_keys):
        pulumi.log.warn(credential_warning(path, kind))
    return platform


def stack_secret_keys(config: Mapping[str, Any]) -> frozenset[str]:
    """The keys of `config` the Pulumi CLI (or the offline engine) marked secret."""
    from_env = set(pulumi_config.get_config_secret_keys_env())
    return frozenset(k for k in config if pulumi_config.is_config_secret(k) or k in from_env)


def credential_warning(path: str, kind: str) -> str:
    """The warning for plain value `path` (a Pulumi config path) that looks like `kind`."""
    key = path.split(".", 1)[0].split("[", 1)[0]
    how = (
        f"pulumi config set --secret {key} <value>"
        if path == key
        else f"pulumi config set --secret --path '{path}' <value>"
    )
    return (
        f"{path} looks like {kind} but is plain configuration, which Pulumi stores and shows "
        f"in clear: set it with `{how}`"
    )


def load_platform_config(
    plinth_values: Mapping[str, Any], *, source: str, secret_keys: Collection[str] = ()
) -> PlatformConfig:
    """Validate the `plinth:` keys of one environment (key without namespace -> value).

    `source` names where the values came from (a file, the stack) for error messages;
    `secret_keys` are the Pulumi config keys (`plinth:cluster`) set with --secret.
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
    cluster = plinth_values.get("cluster")
    defaults = tier_defaults(tier, cluster.get("target") if isinstance(cluster, Mapping) else None)
    prefix = f"{NAMESPACE}:"
    secret = sorted(k.removeprefix(prefix) for k in secret_keys if k.startswith(prefix))
    _refuse_unkeepable_secrets(secret, source)
    layered = with_component_defaults(PlatformConfig, deep_merge(defaults, plinth_values))
    try:
        config = PlatformConfig.model_validate(layered)
    except ValidationError as error:
        raise ConfigError(_one_line(error, source)) from None
    return _keep_secrets(config, secret)


def with_component_defaults(model: type[BaseModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with the component's own defaults under every setting it gives in part.

    A setting whose default is a settings object the component chose (the Spark controller's
    `ContainerResources(memory_request="300Mi", ...)`) keeps what the component chose for
    the keys the file leaves out: maps merge with the component defaults too, not only with
    the tier's.
    """
    merged = dict(values)
    for name, field in model.model_fields.items():
        given = merged.get(name)
        if not isinstance(given, Mapping):
            continue
        default = field.get_default(call_default_factory=True)
        nested = _model_class(field.annotation, given)
        if isinstance(default, BaseModel):
            given = deep_merge(default.model_dump(exclude_unset=True), given)
        merged[name] = with_component_defaults(nested, given) if nested else dict(given)
    return merged


def _model_class(annotation: Any, given: Mapping[str, Any]) -> type[BaseModel] | None:
    """The settings model `annotation` names for `given`: the model itself, or the member
    of a union of models whose `target` is the one `given` names (plinth:cluster)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for member in get_args(annotation):
        model = _model_class(member, given)
        target = model.model_fields.get("target") if model else None
        if target is not None and given.get("target") in get_args(target.annotation):
            return model
    return None


def tier_defaults(tier: str, target: object) -> dict[str, Any]:
    """The layer tier `tier` puts under the stack file of an environment whose cluster target
    is `target`: what the loader merges, and what docs/configuration.md shows (one place)."""
    defaults = TIER_DEFAULTS[tier]
    if target == "eks":
        defaults = deep_merge(defaults, {"cluster": EKS_TIER_DEFAULTS[tier]})
    if target == "aks":
        defaults = deep_merge(defaults, {"cluster": AKS_TIER_DEFAULTS[tier]})
    return defaults


# How the offline loader (plinth/environments.py) shows a `secure:` value it cannot decrypt.
SECRET_PLACEHOLDER_START = "[secret:"  # noqa: S105 (a marker, not a secret)
# Keys that reach no resource (they configure the policy pack): secret or not, nothing leaks.
REACH_NO_RESOURCE = ("policy",)


def _refuse_unkeepable_secrets(secret: Sequence[str], source: str) -> None:
    """A secret key with nothing that can stay secret is refused rather than leaked."""
    for key in secret:
        field = PlatformConfig.model_fields.get(key)
        if key in REACH_NO_RESOURCE or field is None:
            continue
        if not any(secret_capable_fields(model) for model in _models_in(field.annotation)):
            raise ConfigError(
                f"{source}: plinth:{key} is set with --secret, but it holds names, labels, "
                "sizes and choices that the resources show to anyone who can read them, so "
                f"it cannot stay secret: set it without --secret (secrets go in "
                f"{', '.join(secret_capable_settings())})"
            )


def _keep_secrets(config: PlatformConfig, secret: Sequence[str]) -> PlatformConfig:
    """`config` with each secret key's model marked, so components keep it secret."""
    marked = {
        key: section.marked_secret()
        for key in secret
        if isinstance(section := getattr(config, key, None), FrozenModel)
        and key not in REACH_NO_RESOURCE
    }
    return config.model_copy(update=marked) if marked else config


def secret_capable_settings() -> list[str]:
    """The settings that stay secret when their key is set with --secret, sorted."""
    settings: set[str] = set()
    for key, field in PlatformConfig.model_fields.items():
        for model in _models_in(field.annotation):
            settings.update(f"{key}.{name}" for name in secret_capable_fields(model))
    return sorted(settings)


def _models_in(annotation: Any) -> list[type[FrozenModel]]:
    if isinstance(annotation, type) and issubclass(annotation, FrozenModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def _one_line(error: ValidationError, source: str) -> str:
    first = error.errors(include_url=False)[0]
    loc = list(first["loc"])
    if len(loc) > 1 and loc[0] == "cluster" and loc[1] in CLUSTER_TARGETS:
        del loc[1]  # the union's tag, not a key of the file
    is_key_name = bool(loc) and loc[-1] == "[key]"
    if is_key_name:
        del loc[-1]  # a map key failed its pattern: the location is the key itself
    location = ".".join(_key_text(part) for part in loc)
    key = f"plinth:{location}" if location else "plinth"
    problem = plain_problem(first)
    if is_key_name:
        problem = problem.replace("got ", "the name ", 1).replace("; it must be", " must be", 1)
    more = error.error_count() - 1
    suffix = f" (+{more} more)" if more else ""
    return f"{source}: {key}: {problem}{suffix}"


def plain_problem(error: ErrorDetails) -> str:
    """One validation error in plain words: what was received, what is allowed, the fix.
    Never the validation library's own wording."""
    kind, ctx, received = error["type"], error.get("ctx", {}), error.get("input")
    if kind in ("value_error", "assertion_error"):
        # Plinth's own rules: their message names the fields and values involved.
        return str(ctx.get("error", error["msg"]))
    if isinstance(received, str) and received.startswith(SECRET_PLACEHOLDER_START):
        return (
            "is set with --secret, but it decides what is built and cannot stay secret (nor "
            "be decrypted offline): set it without --secret"
        )
    if kind == "missing":
        return "missing: add this key to the stack file (see docs/configuration.md)"
    if kind == "extra_forbidden":
        return (
            f"unknown key (got {_shown(received)}): fix the spelling or remove it "
            "(see docs/configuration.md)"
        )
    if kind == "string_type" and isinstance(received, bool):
        text = json.dumps(received)
        return f'got {text} (a boolean); quote it: write it as a quoted string, e.g. "{text}"'
    if _is_number(received) and (kind == "string_type" or _quoted_choices(error)):
        return _quote_it(received, _quoted_choices(error))
    if kind == "literal_error":
        return f"got {_shown(received)}; use one of {ctx['expected']}"
    if kind == "string_pattern_mismatch":
        allowed = PATTERN_WORDS.get(ctx["pattern"], f"match the pattern {ctx['pattern']}")
        return f"got {_shown(received)}; it must be {allowed}"
    targets = ", ".join(CLUSTER_TARGETS)
    if kind == "union_tag_invalid":
        return f"got target {_shown(ctx.get('tag'))}; set target to one of {targets}"
    if kind == "union_tag_not_found":
        return f"target is missing; set target to one of {targets}"
    words = PLAIN_WORDS.get(kind)
    if words is not None:
        return f"got {_shown(received)}; {words.format(**ctx)}"
    return f"got {_shown(received)}; {_without_jargon(error['msg'])}"


# Patterns of the models, in words.
PATTERN_WORDS = {
    DNS_LABEL: (
        "lowercase letters, digits and '-', at most 63 characters, starting and ending with "
        "a letter or digit"
    ),
    LABEL_VALUE: (
        "letters, digits, '-', '_' and '.', at most 63 characters, starting and ending with "
        "a letter or digit (e.g. ml-platform)"
    ),
    QUANTITY: "a Kubernetes quantity such as 500m, 4 or 64Gi, quoted",
    DNS_SUBDOMAIN: (
        "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
    ),
    S3_PREFIX: "a key prefix ending in '/', e.g. scratch/, or '' for the whole bucket",
    AWS_REGION: "an AWS region such as eu-west-1",
    AZURE_LOCATION: "an Azure region such as westeurope (lowercase, no spaces)",
    GUID: "a GUID such as 00000000-0000-0000-0000-000000000000",
}
# Other errors in words; `{name}` fields come from the error's context.
PLAIN_WORDS = {
    "string_type": "write a string",
    "string_too_short": "it must have at least {min_length} characters",
    "int_type": "write a whole number",
    "int_parsing": "write a whole number",
    "int_from_float": "write a whole number",
    "float_type": "write a number",
    "float_parsing": "write a number",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "greater_than_equal": "it must be at least {ge}",
    "greater_than": "it must be above {gt}",
    "less_than_equal": "it must be at most {le}",
    "less_than": "it must be below {lt}",
    "too_short": "it needs at least {min_length} items",
    "too_long": "it takes at most {max_length} items",
    "dict_type": "write a map of settings (key: value)",
    "model_type": "write a map of settings (key: value)",
    "model_attributes_type": "write a map of settings (key: value)",
    "list_type": "write a list, e.g. [a, b]",
    "tuple_type": "write a list, e.g. [a, b]",
    "time_delta_type": "write a duration in seconds (600) or ISO 8601 (PT10M)",
    "time_delta_parsing": "write a duration in seconds (600) or ISO 8601 (PT10M)",
}
# The validation library's phrasing, should an error not listed above ever surface.
JARGON = (("Value error, ", ""), ("Assertion failed, ", ""), ("Input should be", "it must be"))


def _without_jargon(message: str) -> str:
    for jargon, plain in JARGON:
        message = message.replace(jargon, plain)
    return message


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _quoted_choices(error: ErrorDetails) -> list[str]:
    """The allowed strings of a choice of strings (e.g. kubernetes_version), else []."""
    if error["type"] != "literal_error":
        return []
    return re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))


def _quote_it(number: float, choices: Sequence[str]) -> str:
    """YAML read an unquoted 1.30 as the number 1.3: say so, and what to write instead."""
    meant = [choice for choice in choices if _same_number(choice, number)]
    if choices and not meant:
        allowed = ", ".join(f'"{choice}"' for choice in choices)
        return f"got {number} (a number); quote it: write one of {allowed}"
    example = meant[0] if meant else str(number)
    yaml_read = f": YAML reads an unquoted {example} as {number}" if example != str(number) else ""
    return (
        f"got {number} (a number{yaml_read}); quote it: write it as a quoted string, "
        f'e.g. "{example}"'
    )


def _same_number(text: str, number: float) -> bool:
    try:
        return float(text) == number
    except ValueError:
        return False


def _shown(value: Any) -> str:
    received = json.dumps(value, sort_keys=True, default=str)
    return received if len(received) <= 80 else received[:77] + "..."


def _key_text(part: str | int) -> str:
    """A key path element as written in the file; quoted when it is not a plain name."""
    text = str(part)
    return text if re.fullmatch(r"[A-Za-z0-9_./-]+", text) else json.dumps(text)
