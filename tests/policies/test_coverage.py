"""Every rule of the pack, shown both passing and violated through the offline runner.

`EXAMPLES` names, for every rule in `policies.registry.RULES`, a compliant and a violating
plan, built from the factories of the rule tests (tests/policies/*/test_*.py). The tests run
each through `tests.policy_harness`, i.e. `run_pack` under a tier's policy config file
plus schema defaults, exactly as `plinth check` runs the pack. A rule added without an
example fails `test_every_rule_has_an_example`; a rule that can never report (a validator
that is not called, a level that never applies) fails the violation tests, so no rule can
pass vacuously.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

import pytest

from plinth.check import Violation
from policies.framework import TIERS, Rule
from policies.registry import RULES
from tests.policies.aws import test_eks as eks_tests
from tests.policies.aws import test_iam as iam_tests
from tests.policies.aws import test_rds as rds_tests
from tests.policies.aws import test_s3 as s3_tests
from tests.policies.azure import test_aks as aks_tests
from tests.policies.azure import test_storage as storage_tests
from tests.policies.kubernetes import pods
from tests.policies.kubernetes import test_charts as charts_tests
from tests.policies.kubernetes import test_cloudnative_pg as cnpg_tests
from tests.policies.kubernetes import test_gpu as gpu_tests
from tests.policies.kubernetes import test_mlflow as mlflow_tests
from tests.policies.kubernetes import test_monitoring as monitoring_tests
from tests.policies.kubernetes import test_namespaces as namespace_tests
from tests.policies.kubernetes import test_services as service_tests
from tests.policies.mesh import test_gateway_tls as gateway_tls_tests
from tests.policies.mesh import test_mtls as mtls_tests
from tests.policies.stack import test_attribution as attribution_tests
from tests.policies.stack import test_ownership as ownership_tests
from tests.policies.stack import test_protection as protection_tests
from tests.policy_harness import entry, hits

Entries = tuple[dict[str, Any], ...]
Example = tuple[Entries, Entries]

# What a rule reports when it could not judge (an unknown value): not a real violation.
NOT_RUN_MARKERS = ("can't run policy", "can't be known during preview")

SC = pods.SC
POD_SC = pods.POD_SC
DELETE = pods.DELETE


def with_inputs(plan_entry: dict[str, Any], **inputs: Any) -> dict[str, Any]:
    """A deep copy of `plan_entry` with top-level inputs replaced (DELETE removes one)."""
    result = copy.deepcopy(plan_entry)
    for key, value in inputs.items():
        if value is DELETE:
            result["inputs"].pop(key, None)
        else:
            result["inputs"][key] = value
    return result


def with_metadata(plan_entry: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    """A deep copy of a Kubernetes `plan_entry` with metadata fields replaced or deleted."""
    meta = {**plan_entry["inputs"]["metadata"], **metadata}
    return with_inputs(plan_entry, metadata={k: v for k, v in meta.items() if v is not DELETE})


def pod_changed(path: str, value: Any) -> Example:
    """The compliant Deployment, and the same with one field of its pod spec changed."""
    return (pods.deployment(),), (pods.changed(path, value),)


def gpu_request_above_limit() -> dict[str, Any]:
    spec = gpu_tests.gpu_pod()
    spec["containers"][0]["resources"]["requests"][gpu_tests.GPU] = "2"  # limit is 1
    return gpu_tests.job(spec)


def chart_changed(**inputs: Any) -> Example:
    return (charts_tests.chart(),), (with_inputs(charts_tests.chart(), **inputs),)


def intruding_chart() -> Entries:
    """A chart installed into a namespace another component creates."""
    other = ownership_tests.component("other")
    return (*ownership_tests.one_owner(), other, ownership_tests.chart(other))


def _aws() -> dict[str, Example]:
    s3, eks, iam = s3_tests, eks_tests, iam_tests
    bucket = s3.bucket
    return {
        "s3-bucket-public-access-blocked": ((bucket(), s3.public_access_block()), (bucket(),)),
        "s3-bucket-encrypted": ((bucket(), s3.encryption()), (bucket(),)),
        "s3-bucket-versioned": (
            (bucket(), s3.versioning()),
            (bucket(), s3.versioning("Suspended")),
        ),
        "s3-bucket-tls-only": ((bucket(), s3.bucket_policy()), (bucket(),)),
        # Open to 0.0.0.0/0: refused even where the tier accepts a CIDR allow-list.
        "eks-private-endpoint": (
            (eks.eks_cluster(),),
            (eks.with_vpc(endpointPublicAccess=True),),
        ),
        "eks-secrets-encrypted": (
            (eks.eks_cluster(),),
            (eks.eks_cluster(encryptionConfig={"resources": ["secrets"], "provider": {}}),),
        ),
        "eks-control-plane-logging": (
            (eks.eks_cluster(),),
            (eks.eks_cluster(enabledClusterLogTypes=["api"]),),
        ),
        "iam-no-wildcard-permissions": (
            (iam.role(),),
            (iam.role(iam.permission(Action="*")),),
        ),
        "iam-trust-policy-scoped": (
            (iam.role(),),
            (iam.role(trust=iam.trust_with(Principal="*")),),
        ),
        **_rds(),
    }


def _rds() -> dict[str, Example]:
    instance, group = rds_tests.instance, rds_tests.parameter_group
    return {
        "rds-encrypted-with-kms": ((instance(),), (instance(kmsKeyId=None),)),
        "rds-not-public": ((instance(),), (instance(publiclyAccessible=True),)),
        "rds-deletion-protection": ((instance(),), (instance(deletionProtection=False),)),
        "rds-backups-retained": ((instance(),), (instance(backupRetentionPeriod=1),)),
        "rds-multi-az": ((instance(),), (instance(multiAz=False),)),
        "rds-ssl-enforced": ((instance(), group()), (instance(), group("0"))),
    }


def _azure() -> dict[str, Example]:
    account, cluster = storage_tests.storage_account, aks_tests.managed_cluster
    return {
        "azure-storage-no-public-blob-access": (
            (account(),),
            (account(allowBlobPublicAccess=True),),
        ),
        "azure-storage-secure-transport": (
            (account(),),
            (account(enableHttpsTrafficOnly=False),),
        ),
        "azure-storage-no-shared-key": (
            (account(),),
            (account(allowSharedKeyAccess=True),),
        ),
        "azure-storage-recoverable": (
            tuple(storage_tests.recoverable_stack()),
            tuple(storage_tests.recoverable_stack(isVersioningEnabled=False)),
        ),
        "aks-rbac-enabled": ((cluster(),), (cluster(enableRBAC=False),)),
        "aks-network-policy": ((cluster(),), (aks_tests.network_policy("none"),)),
        "aks-local-accounts-disabled": ((cluster(),), (cluster(disableLocalAccounts=None),)),
        "aks-workload-identity": ((cluster(),), (cluster(securityProfile=None),)),
        # Open to any address: refused even where the tier accepts an allow-list.
        "aks-private-api-server": (
            (aks_tests.api_server(enablePrivateCluster=True),),
            (aks_tests.api_server(enablePrivateCluster=False),),
        ),
        "aks-encryption-at-host": (
            (aks_tests.agent_pool(),),
            (aks_tests.agent_pool(enableEncryptionAtHost=False),),
        ),
        "aks-no-node-public-ip": (
            (aks_tests.inline_pool(),),
            (aks_tests.inline_pool(enableNodePublicIP=True),),
        ),
    }


def _kubernetes() -> dict[str, Example]:
    gpu, ns = gpu_tests, namespace_tests
    gateway = service_tests.service("NodePort")
    labelled = attribution_tests.labelled()
    return {
        "pss-no-privileged": pod_changed(f"{SC}.privileged", True),
        "pss-no-host-namespaces": pod_changed("hostNetwork", True),
        "pss-no-host-ports": pod_changed(
            "containers[0].ports", [{"containerPort": 80, "hostPort": 80}]
        ),
        "pss-host-path-volumes": pod_changed(
            "volumes[0]", {"name": "scratch", "hostPath": {"path": "/"}}
        ),
        "pss-baseline-kernel-options": pod_changed(f"{SC}.procMount", "Unmasked"),
        "pss-no-privilege-escalation": pod_changed(f"{SC}.allowPrivilegeEscalation", True),
        "pss-run-as-non-root": pod_changed(f"{POD_SC}.runAsUser", 0),
        "pss-drop-all-capabilities": pod_changed(f"{SC}.capabilities.add", ["SYS_ADMIN"]),
        "pss-seccomp-profile": pod_changed(f"{SC}.seccompProfile", {"type": "Unconfined"}),
        "pss-restricted-volume-types": pod_changed(
            "volumes[0]", {"name": "scratch", "nfs": {"server": "n"}}
        ),
        "container-resources": pod_changed("containers[0].resources", DELETE),
        "allowed-image-registries": pod_changed(
            "containers[0].image", f"registry.example.com/team/model:1@{pods.DIGEST}"
        ),
        "images-no-latest-tag": pod_changed("containers[0].image", "ghcr.io/example/trainer"),
        "images-pinned-by-digest": pod_changed("containers[0].image", "ghcr.io/a/b:1.2.3"),
        "containers-read-only-root-filesystem": pod_changed(f"{SC}.readOnlyRootFilesystem", False),
        "namespace-pod-security": ((ns.namespace(),), (ns.namespace(level="baseline"),)),
        "workload-namespace-fences": (tuple(ns.fenced()), (ns.namespace(),)),
        "gpu-requests-have-limits": ((gpu.job(),), (gpu_request_above_limit(),)),
        "gpu-pods-tolerate-gpu-taint": ((gpu.job(),), (gpu.changed("tolerations", DELETE),)),
        "gpu-node-pools-tainted": (
            (entry(gpu.NODE_GROUP, gpu.eks_node_group()),),
            (
                entry(
                    gpu.NODE_GROUP,
                    pods.patched(gpu.eks_node_group(), "taints", DELETE),
                ),
            ),
        ),
        "service-external-exposure": (
            (gateway,),
            (with_metadata(gateway, name="mlflow"),),
        ),
        "mesh-mtls-strict": (
            mtls_tests.mesh(mtls_tests.peer_authentication()),
            mtls_tests.mesh(mtls_tests.peer_authentication(mode="PERMISSIVE")),
        ),
        "mesh-no-mtls-downgrade": (
            (mtls_tests.peer_authentication(),),
            (mtls_tests.peer_authentication(portLevelMtls={"9090": {"mode": "DISABLE"}}),),
        ),
        "chart-version-pinned": chart_changed(version="^2.5.2"),
        "chart-repository-trusted": chart_changed(
            repositoryOpts={"repo": "http://kubeflow.github.io/spark-operator"}
        ),
        "stateful-resources-protected": (
            (protection_tests.claim(),),
            (protection_tests.claim(protect=False),),
        ),
        "namespace-single-owner": (tuple(ownership_tests.one_owner()), intruding_chart()),
        "kubernetes-required-labels": (
            (labelled,),
            (with_metadata(labelled, labels=DELETE),),
        ),
        "cloud-required-tags": (
            (attribution_tests.bucket(tags=dict(attribution_tests.OWNERSHIP_TAGS)),),
            (attribution_tests.bucket(),),
        ),
    }


def _monitoring() -> dict[str, Example]:
    tests = monitoring_tests
    return {
        "grafana-no-anonymous-admin": (
            (tests.grafana_ini(),),
            (tests.grafana_ini("true", "Admin"),),
        ),
        "grafana-no-anonymous-access": ((tests.grafana_ini(),), (tests.grafana_ini("true"),)),
        "alert-receivers-set": (
            (tests.stack_chart([tests.WEBHOOK]),),
            (tests.stack_chart([{"name": "null"}]),),
        ),
        "namespaces-scraped": (
            tests.scraped_jobs(),
            (*tests.scraped_jobs(), tests.namespace("team-a")),
        ),
    }


def _mlflow() -> dict[str, Example]:
    """MLflow's server, its database on Kubernetes, and the gateway that exposes it."""
    server, route, gateway = mlflow_tests, gateway_tls_tests.route, gateway_tls_tests.gateway
    cluster, schedule = cnpg_tests.cluster, cnpg_tests.scheduled_backup
    plain_http = gateway_tls_tests.server(gateway_tls_tests.HTTP_REDIRECT, tls=None)
    return {
        "mlflow-authentication-required": (
            (server.deployment(),),
            (server.deployment(server.mlflow_container(args=server.without_auth())),),
        ),
        "mlflow-default-permission-read": ((server.auth_ini(),), (server.auth_ini("EDIT"),)),
        "gateway-hosts-tls": ((gateway(), route()), (gateway(plain_http), route())),
        "cnpg-superuser-access-off": ((cluster(),), (cluster(enableSuperuserAccess=True),)),
        "cnpg-storage-size-set": ((cluster(),), (cluster(storage={}),)),
        "cnpg-instances-ha": ((cluster(),), (cluster(instances=1),)),
        "cnpg-backups-scheduled": ((cluster(), schedule()), (cluster(),)),
    }


EXAMPLES: Mapping[str, Example] = {
    **_kubernetes(),
    **_monitoring(),
    **_mlflow(),
    **_aws(),
    **_azure(),
}


def by_rule(rule: Rule) -> str:
    return rule.name


def example(rule: Rule) -> Example:
    if rule.name not in EXAMPLES:
        pytest.fail(f"no example for rule {rule.name}: add one to EXAMPLES")
    return EXAMPLES[rule.name]


def judged(found: list[Violation]) -> list[Violation]:
    """The violations where the rule ran and judged, not ones saying it could not run."""
    return [v for v in found if not any(marker in v.message for marker in NOT_RUN_MARKERS)]


def test_every_rule_has_an_example() -> None:
    names = {rule.name for rule in RULES}
    assert len(names) == len(RULES), "two rules share a name"
    missing, unknown = sorted(names - set(EXAMPLES)), sorted(set(EXAMPLES) - names)
    assert not missing, f"rules without a compliant/violating example in EXAMPLES: {missing}"
    assert not unknown, f"EXAMPLES names rules that do not exist: {unknown}"


@pytest.mark.parametrize("rule", RULES, ids=by_rule)
def test_the_offline_runner_reports_every_rule(rule: Rule) -> None:
    compliant, violating = example(rule)
    level = rule.levels.prod.value
    assert hits(rule.name, *compliant, tier="prod") == []
    found = hits(rule.name, *violating, tier="prod")
    assert judged(found), f"{rule.name}: its violating example is not reported: {found}"
    assert {v.level for v in found} == {level}, found


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("rule", RULES, ids=by_rule)
def test_each_tier_reports_the_rule_at_its_level(rule: Rule, tier: str) -> None:
    compliant, violating = example(rule)
    level = rule.levels.of(tier).value
    assert hits(rule.name, *compliant, tier=tier) == []
    found = hits(rule.name, *violating, tier=tier)
    if level == "disabled":
        assert found == []
    else:
        assert judged(found), f"{rule.name} in {tier}: not reported: {found}"
        assert {v.level for v in found} == {level}, found


@pytest.mark.parametrize("rule", RULES, ids=by_rule)
def test_a_disabled_rule_reports_nothing(rule: Rule) -> None:
    """The assertions above depend on the rule running: disabled, its example passes."""
    _, violating = example(rule)
    assert hits(rule.name, *violating, tier="prod")
    assert hits(rule.name, *violating, tier="prod", config={rule.name: "disabled"}) == []


# Pulumi's vocabulary, not the platform team's: they change an environment file or a
# Plinth component, never pass resource options by hand.
PULUMI_INTERNALS = re.compile(r"ResourceOptions|\bopts\b|protect=True")
# Where a remediation sends its reader: a key of the environment file or a component.
PLINTH_TERMS = re.compile(r"plinth:[a-z_]+|\bcomponents?\b|components/")


@pytest.mark.parametrize("rule", RULES, ids=by_rule)
def test_rule_texts_speak_of_the_environment_file_and_components(rule: Rule) -> None:
    _, violating = example(rule)
    messages = [v.message for v in judged(hits(rule.name, *violating, tier="prod"))]
    remediation = str(rule.policy.remediation_steps)
    for text in (str(rule.policy.description), remediation, *messages):
        assert not PULUMI_INTERNALS.search(text), f"{rule.name}: {text}"
    assert PLINTH_TERMS.search(remediation), f"{rule.name}: {remediation}"
