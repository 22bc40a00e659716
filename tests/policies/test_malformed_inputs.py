"""Rules that read objects field by field, on malformed inputs: they never crash.

The namespace, Service, chart and stack rules read inputs by hand; random shapes of the
types they read must give verdicts, not exceptions. (The pod rules' own malformed-input
tests are in kubernetes/test_pod_specs.py.)
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plinth.check import run_pack
from plinth.policy_config import resolve_policy_config
from policies.aws import rds
from policies.kubernetes import charts, cloudnative_pg, mlflow, namespaces, services
from policies.mesh import gateway_tls
from policies.stack import attribution, ownership, protection
from tests.policy_harness import entry

_OURS = (
    *namespaces.RULES,
    *services.RULES,
    *charts.RULES,
    *protection.RULES,
    *ownership.RULES,
    *attribution.RULES,
)
_KEYS = st.sampled_from(
    [
        *("metadata", "name", "namespace", "labels", "apiVersion", "kind", "spec", "type"),
        *("podSelector", "policyTypes", "ingress", "egress", "from", "to", "ports"),
        *("ipBlock", "cidr", "namespaceSelector", "matchLabels", "hard"),
        *("chart", "version", "repositoryOpts", "repo", "plainHttp", "tags", "defaultTags"),
        *("key", "value", "pod-security.kubernetes.io/enforce", "plinth.io/owner"),
    ]
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "{", "0.0.0.0/0"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_KEYS, children, max_size=4),
    max_leaves=15,
)
_TYPES = st.sampled_from(
    [
        *("kubernetes:core/v1:Namespace", "kubernetes:core/v1:ResourceQuota"),
        *("kubernetes:networking.k8s.io/v1:NetworkPolicy", "kubernetes:core/v1:Service"),
        *("kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release"),
        *("kubernetes:helm.sh/v3:Chart", "kubernetes:core/v1:PersistentVolumeClaim"),
        *(
            "aws:s3/bucket:Bucket",
            "aws:autoscaling/group:Group",
            "azure-native:storage:StorageAccount",
        ),
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    resources=st.lists(st.tuples(_TYPES, st.dictionaries(_KEYS, _JSON, max_size=5)), max_size=4),
    provider_inputs=st.dictionaries(_KEYS, _JSON, max_size=3),
)
def test_rules_never_crash_on_unexpected_shapes(
    resources: list[tuple[str, dict[str, Any]]], provider_inputs: dict[str, Any]
) -> None:
    provider = entry("pulumi:providers:aws", provider_inputs, name="aws")
    entries = [
        entry(kind, inputs, name=f"r{index}", provider=f"{provider['urn']}::aws-id")
        for index, (kind, inputs) in enumerate(resources)
    ]
    config = {rule.name: rule.config_for("prod") for rule in _OURS}
    run_pack([provider, *entries], resolve_policy_config(config, "fuzz", _OURS), _OURS)


_MLFLOW_RULES = (*mlflow.RULES, *gateway_tls.RULES, *cloudnative_pg.RULES, *rds.RULES)
_MLFLOW_KEYS = st.sampled_from(
    [
        *("metadata", "name", "namespace", "spec", "template", "containers", "command", "args"),
        *("image", "env", "value", "data", "stringData", "servers", "hosts", "gateways", "tls"),
        *("mode", "credentialName", "httpsRedirect", "port", "number", "instances", "storage"),
        *("size", "backup", "plugins", "cluster", "method", "pluginConfiguration", "suspend"),
        *("enableSuperuserAccess", "publiclyAccessible", "multiAz", "parameters", "engineMode"),
        *("backupRetentionPeriod", "kmsKeyId", "storageEncrypted", "clusterIdentifier"),
        *("dbClusterInstanceClass", "parameterGroupName", "replicateSourceDb"),
    ]
)
_MLFLOW_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        ["", "mlflow", "server", "sh", "-c", "[mlflow]\ndefault_permission = X", "*"]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(_MLFLOW_KEYS, children, max_size=4)
    ),
    max_leaves=15,
)
_MLFLOW_TYPES = st.sampled_from(
    [
        *("kubernetes:apps/v1:Deployment", "kubernetes:core/v1:ConfigMap"),
        *("kubernetes:core/v1:Secret", "kubernetes:networking.istio.io/v1:Gateway"),
        *("kubernetes:networking.istio.io/v1:VirtualService", cloudnative_pg.CLUSTER),
        *(cloudnative_pg.SCHEDULED_BACKUP, rds.INSTANCE, rds.CLUSTER, rds.CLUSTER_INSTANCE),
        rds.PARAMETER_GROUP,
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    resources=st.lists(
        st.tuples(_MLFLOW_TYPES, st.dictionaries(_MLFLOW_KEYS, _MLFLOW_JSON, max_size=5)),
        max_size=4,
    )
)
def test_mlflow_and_database_rules_never_crash_on_unexpected_shapes(
    resources: list[tuple[str, dict[str, Any]]],
) -> None:
    entries = [entry(kind, inputs, name=f"r{i}") for i, (kind, inputs) in enumerate(resources)]
    config = {rule.name: rule.config_for("prod") for rule in _MLFLOW_RULES}
    run_pack(entries, resolve_policy_config(config, "fuzz", _MLFLOW_RULES), _MLFLOW_RULES)
