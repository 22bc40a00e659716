"""`plinth preflight` for aks environments against the local fake of Resource Manager
(tests/plinth/azure_fake.py): Resource SKUs, Compute usages and AKS Kubernetes versions
of westeurope as recorded in tests/fixtures/azure/, changed per case. One valid input,
then one change per failing case."""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from plinth import environments
from plinth import preflight_azure as module
from plinth.azure_session import AzureError, RestClient
from plinth.cli import EXIT_BAD_INPUT, EXIT_FAILED, main
from plinth.cloud_report import Check, passed
from plinth.environments import available, environment_file, load_environment
from plinth.preflight_azure import (
    AksPool,
    AksPreflightInput,
    aks_input_of,
    aks_preflight_input,
    preflight_aks,
    report,
)
from stacks.config import ConfigError, load_platform_config
from tests.conftest import ROOT
from tests.plinth.azure_fake import SUBSCRIPTION, FakeAzure, FakeCredential, serving

LOCATION = "westeurope"
A100 = "Standard_NC24ads_A100_v4"  # 24 vCPUs, StandardNCADSA100v4Family
A100_X2 = "Standard_NC48ads_A100_v4"  # 48 vCPUs, same family
A10 = "Standard_NV36ads_A10_v5"  # zone 3 restricted for the subscription
H100 = "Standard_ND96isr_H100_v5"  # NotAvailableForSubscription in the region


def valid_input(**pools: AksPool) -> AksPreflightInput:
    """An aks environment that fits the recorded subscription: system, GPU and spot pools."""
    return AksPreflightInput(
        subscription_id=SUBSCRIPTION,
        location=LOCATION,
        zones=("1", "2", "3"),
        kubernetes_version="1.34",
        pools={
            "system": AksPool("Standard_D4s_v5", 3, "on-demand"),
            "gpu": AksPool(A100, 2, "on-demand"),
            "spot": AksPool(A100, 2, "spot"),
            **pools,
        },
    )


@pytest.fixture
def fake() -> Iterator[FakeAzure]:
    with serving(FakeAzure(location=LOCATION)) as running:
        yield running
    assert running.violations == []


@pytest.fixture
def arm(fake: FakeAzure) -> RestClient:
    return RestClient(FakeCredential(), endpoint=fake.url, poll_interval_s=0)


def failed(checks: list[Check]) -> list[Check]:
    return [check for check in checks if check.status == "FAIL"]


def usage(fake: FakeAzure, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        u for u in fake.usages["value"] if u["name"]["value"].lower() == name.lower()
    ]
    (only,) = found
    return only


def test_a_fitting_environment_passes_every_check(fake: FakeAzure, arm: RestClient) -> None:
    checks = preflight_aks(valid_input(), arm)

    assert failed(checks) == []
    assert [c.name for c in checks] == [
        "vm size, pool gpu",
        "vm size, pool spot",
        "vm size, pool system",
        "kubernetes version 1.34",
        "quota cores (Total Regional vCPUs)",
        "quota lowPriorityCores (Total Regional Low-priority vCPUs)",
        "quota standardDSv5Family (Standard DSv5 Family vCPUs)",
        "quota standardNCADSA100v4Family (Standard NCADS_A100_v4 Family vCPUs)",
    ]
    by_name = {c.name.split(" (")[0]: c.detail for c in checks}
    # vCPUs from the SKUs' capabilities: D4s_v5 4, NC24ads_A100_v4 24.
    assert by_name["quota cores"].startswith("need 60 vCPUs")
    assert by_name["quota lowPriorityCores"].startswith("need 48 vCPUs")
    assert by_name["quota standardNCADSA100v4Family"].startswith("need 48 vCPUs")
    # The SKU list came in two pages: the GPU sizes are on the second.
    assert len([p for m, p, _ in fake.requests if p.endswith("/Microsoft.Compute/skus")]) == 2


def test_a_size_the_region_does_not_offer_fails_naming_the_pool_field(arm: RestClient) -> None:
    checks = preflight_aks(valid_input(gpu=AksPool("Standard_ND40rs_v2", 1, "on-demand")), arm)

    (failure,) = failed(checks)
    assert failure.name == "vm size, pool gpu"
    assert "Standard_ND40rs_v2 is not offered in westeurope" in failure.detail
    assert "plinth:node_pools.gpu.vm_size" in failure.detail


def test_a_size_not_available_for_the_subscription_fails_with_the_reason(
    arm: RestClient,
) -> None:
    checks = preflight_aks(valid_input(gpu=AksPool(H100, 1, "on-demand")), arm)

    failure = failed(checks)[0]
    assert failure.name == "vm size, pool gpu"
    assert "(NotAvailableForSubscription)" in failure.detail


def test_a_size_offered_but_not_in_a_zone_of_the_cluster_fails_naming_the_zone(
    arm: RestClient,
) -> None:
    checks = preflight_aks(valid_input(gpu=AksPool(A10, 1, "on-demand")), arm)

    (failure,) = failed(checks)
    assert failure.name == "vm size, pool gpu"
    assert "not offered in zone 3 of westeurope" in failure.detail
    assert "restricted for this subscription in 3" in failure.detail
    assert "plinth:cluster.availability_zones" in failure.detail


def test_the_same_size_passes_in_zones_that_offer_it(arm: RestClient) -> None:
    inputs = dataclasses.replace(valid_input(gpu=AksPool(A10, 1, "on-demand")), zones=("1", "2"))
    assert failed(preflight_aks(inputs, arm)) == []


def test_a_spot_pool_of_a_size_that_cannot_run_as_spot_fails(
    fake: FakeAzure, arm: RestClient
) -> None:
    (a100,) = [sku for sku in fake.skus["value"] if sku["name"] == A100]
    for capability in a100["capabilities"]:
        if capability["name"] == "LowPriorityCapable":
            capability["value"] = "False"

    (failure,) = failed(preflight_aks(valid_input(), arm))
    assert failure.name == "vm size, pool spot"
    assert "does not run as spot capacity" in failure.detail
    assert "plinth:node_pools.spot.capacity" in failure.detail


def test_a_quota_too_low_for_the_pools_maximum_fails_with_the_numbers(
    arm: RestClient,
) -> None:
    checks = preflight_aks(valid_input(gpu=AksPool(A100, 5, "on-demand")), arm)

    (failure,) = failed(checks)
    assert failure.name.startswith("quota standardNCADSA100v4Family")
    assert "need 120 vCPUs [gpu: 5 x Standard_NC24ads_A100_v4 at 24]" in failure.detail
    assert "96 free (0 of 96 in use)" in failure.detail
    assert "request an increase to 120" in failure.detail


def test_usage_already_running_counts_against_the_limit(fake: FakeAzure, arm: RestClient) -> None:
    usage(fake, "standardNCADSA100v4Family")["currentValue"] = 60

    (failure,) = failed(preflight_aks(valid_input(), arm))
    assert "36 free (60 of 96 in use)" in failure.detail
    assert "request an increase to 108" in failure.detail


def test_pools_of_one_family_add_up(fake: FakeAzure, arm: RestClient) -> None:
    inputs = valid_input(train=AksPool(A100_X2, 1, "on-demand"))
    assert failed(preflight_aks(inputs, arm)) == []  # 2 x 24 + 1 x 48 = 96 of 96

    usage(fake, "standardNCADSA100v4Family")["limit"] = 95
    (failure,) = failed(preflight_aks(inputs, arm))
    assert "need 96 vCPUs" in failure.detail
    assert "train: 1 x Standard_NC48ads_A100_v4 at 48" in failure.detail


def test_spot_pools_draw_on_the_regional_spot_quota_only(fake: FakeAzure, arm: RestClient) -> None:
    usage(fake, "lowPriorityCores")["limit"] = 20

    (failure,) = failed(preflight_aks(valid_input(), arm))
    assert failure.name.startswith("quota lowPriorityCores")
    assert "need 48 vCPUs [spot: 2 x Standard_NC24ads_A100_v4 at 24]" in failure.detail
    checks = {c.name.split(" (")[0]: c for c in preflight_aks(valid_input(), arm)}
    assert "spot:" not in checks["quota standardNCADSA100v4Family"].detail


def test_the_regional_vcpu_quota_covers_every_on_demand_pool(
    fake: FakeAzure, arm: RestClient
) -> None:
    usage(fake, "cores")["limit"] = 70  # 16 in use: 54 free, 60 needed

    (failure,) = failed(preflight_aks(valid_input(), arm))
    assert failure.name.startswith("quota cores")
    assert "gpu:" in failure.detail
    assert "system:" in failure.detail
    assert "spot:" not in failure.detail


def test_a_quota_azure_does_not_list_is_skipped_not_failed(
    fake: FakeAzure, arm: RestClient
) -> None:
    fake.usages["value"] = [u for u in fake.usages["value"] if u["name"]["value"] != "cores"]
    checks = preflight_aks(valid_input(), arm)
    (skipped,) = [c for c in checks if c.status == "skip"]
    assert skipped.name == "quota cores"
    assert passed(checks)


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("1.36", "AKS offers it not in westeurope; generally available: 1.31, 1.32, 1.33, 1.34"),
        ("1.35", "AKS offers it only in preview in westeurope"),
        ("1.34.9", "AKS offers it not in westeurope"),
    ],
)
def test_a_kubernetes_version_aks_does_not_offer_fails(
    arm: RestClient, version: str, message: str
) -> None:
    inputs = dataclasses.replace(valid_input(), kubernetes_version=version)
    (failure,) = failed(preflight_aks(inputs, arm))
    assert failure.name == f"kubernetes version {version}"
    assert message in failure.detail
    assert "plinth:cluster.kubernetes_version" in failure.detail


@pytest.mark.parametrize("version", ["1.34.2", "1.31"])
def test_offered_versions_and_patches_pass(arm: RestClient, version: str) -> None:
    inputs = dataclasses.replace(valid_input(), kubernetes_version=version)
    checks = preflight_aks(inputs, arm)
    assert failed(checks) == []


def test_the_long_term_support_plan_is_shown(arm: RestClient) -> None:
    inputs = dataclasses.replace(valid_input(), kubernetes_version="1.31")
    (version,) = [c for c in preflight_aks(inputs, arm) if c.name.startswith("kubernetes")]
    assert "AKSLongTermSupport" in version.detail


def test_permission_denied_names_the_action_and_every_action_preflight_needs(
    fake: FakeAzure, arm: RestClient
) -> None:
    fake.denied.add("Microsoft.Compute/locations/usages/read")
    with pytest.raises(AzureError) as denied:
        preflight_aks(valid_input(), arm)
    message = str(denied.value)
    assert "Azure denied Microsoft.Compute/locations/usages/read (AuthorizationFailed)" in message
    assert all(action in message for action in module.ACTIONS)
    assert len(message.splitlines()) == 1


def test_the_module_docstring_lists_every_action_preflight_calls() -> None:
    assert module.__doc__ is not None
    assert [a for a in module.ACTIONS if a not in module.__doc__] == []


def test_the_report_has_a_header_a_line_per_check_and_a_verdict(arm: RestClient) -> None:
    good = report("aks-dev", valid_input(), preflight_aks(valid_input(), arm)).splitlines()
    too_big = valid_input(gpu=AksPool(A100, 5, "on-demand"))
    bad = report("aks-dev", too_big, preflight_aks(too_big, arm)).splitlines()

    assert good[0] == (
        f"plinth preflight aks-dev: aks in westeurope (zones 1, 2, 3), Kubernetes 1.34, "
        f"subscription {SUBSCRIPTION}"
    )
    assert good[-1] == "8 ok, 0 failed, 0 skipped: passed"
    assert bad[-1].startswith("7 ok, 1 failed, 0 skipped: FAILED")
    assert [line.split()[0] for line in bad[1:-1]].count("FAIL") == 1


@dataclasses.dataclass(frozen=True)
class ClusterSettings:
    """Stands in for H1's aks cluster model: the fields preflight reads."""

    subscription_id: str = SUBSCRIPTION
    location: str = LOCATION
    availability_zones: tuple[str, ...] = ("1", "2", "3")
    kubernetes_version: str = "1.34"


@dataclasses.dataclass(frozen=True)
class PoolSettings:
    vm_size: str | None
    max_size: int
    capacity: Any = "on-demand"
    min_size: int = 0


def test_the_adapter_reads_the_cluster_and_pools_it_is_given() -> None:
    pools = {
        "system": PoolSettings("Standard_D4s_v5", 3),
        "spot": PoolSettings(A100, 2, "spot"),
        "gpu": PoolSettings(A100, 2),
    }
    assert aks_preflight_input(ClusterSettings(), pools) == valid_input()


def test_a_pool_without_a_vm_size_is_refused_naming_the_field() -> None:
    pools = {"system": PoolSettings("Standard_D4s_v5", 3), "gpu": PoolSettings(None, 2)}
    with pytest.raises(ConfigError, match=r"plinth:node_pools\.gpu\.vm_size is missing"):
        aks_preflight_input(ClusterSettings(), pools)


def test_an_environment_on_another_target_is_refused() -> None:
    existing = load_platform_config(
        {
            "tier": "dev",
            "ownership": {"owner": "ml-platform", "cost_centre": "cc-1"},
            "cluster": {"target": "existing", "kubernetes_version": "1.33"},
            "node_pools": {"system": {"max_size": 4}},
        },
        source="test",
    )
    with pytest.raises(ConfigError, match=r"target is 'existing'.*target: aks"):
        aks_input_of(existing, "environments/Pulumi.laptop.yaml")


# The command line, on an environment whose cluster targets aks (H1's configuration model
# is stood in for by the dataclasses above until it lands).


@dataclasses.dataclass(frozen=True)
class AksCluster(ClusterSettings):
    target: str = "aks"


@dataclasses.dataclass(frozen=True)
class StandInEnvironment:
    name: str
    path: Path
    platform: Any


@pytest.fixture
def aks_dev(fake: FakeAzure, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> StandInEnvironment:
    pools = {"system": PoolSettings("Standard_D4s_v5", 3), "gpu": PoolSettings(A100, 2)}
    platform = types.SimpleNamespace(cluster=AksCluster(), node_pools=pools)
    environment = StandInEnvironment("aks-dev", tmp_path / "Pulumi.aks-dev.yaml", platform)
    monkeypatch.setattr(environments, "load_environment", lambda *_: environment)
    monkeypatch.setattr(module, "default_credential", FakeCredential)
    local = functools.partial(RestClient, endpoint=fake.url, poll_interval_s=0)
    monkeypatch.setattr(module, "RestClient", local)
    return environment


@pytest.mark.parametrize(("limit", "exit_code"), [(96, 0), (40, EXIT_FAILED)], ids=["ok", "low"])
def test_cli_prints_one_line_per_check_and_exits_1_on_a_failure(
    fake: FakeAzure,
    aks_dev: StandInEnvironment,
    capsys: pytest.CaptureFixture[str],
    limit: int,
    exit_code: int,
) -> None:
    usage(fake, "standardNCADSA100v4Family")["limit"] = limit
    code = main(["preflight", aks_dev.name])
    lines = capsys.readouterr().out.splitlines()
    assert code == exit_code
    assert lines[0].startswith("plinth preflight aks-dev: aks in westeurope")
    assert all(line.split()[0] in ("ok", "FAIL") for line in lines[1:-1])
    assert lines[-1].endswith("passed") == (exit_code == 0)


@pytest.mark.usefixtures("aks_dev")
def test_cli_permission_denied_exits_2_with_one_line(
    fake: FakeAzure, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.denied.add("Microsoft.Compute/skus/read")
    assert main(["preflight", "aks-dev"]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert len(error.splitlines()) == 1
    assert error.startswith(
        "plinth: error: plinth preflight: Azure denied Microsoft.Compute/skus/read"
    )


def _aks_environments() -> list[str]:
    """The project's environments whose cluster targets aks (read from the files)."""
    names = []
    for name in available(ROOT):
        config = yaml.safe_load((ROOT / environment_file(name)).read_text()).get("config", {})
        if (config.get("plinth:cluster") or {}).get("target") == "aks":
            names.append(name)
    return names


@pytest.mark.parametrize("name", _aks_environments())
def test_each_aks_environment_of_the_project_is_checked_pool_by_pool(
    arm: RestClient, name: str
) -> None:
    environment = load_environment(ROOT, name)
    inputs = aks_input_of(environment.platform, name)
    # The fake answers for its own subscription; the file's is a placeholder.
    checks = preflight_aks(dataclasses.replace(inputs, subscription_id=SUBSCRIPTION), arm)
    pool_checks = [c for c in checks if c.name.startswith("vm size, pool ")]
    assert sorted(c.name.removeprefix("vm size, pool ") for c in pool_checks) == sorted(
        environment.platform.node_pools
    )
    # Every size of the environment is one the recorded SKUs know.
    assert not [c for c in pool_checks if "is not offered in" in c.detail]
    assert any(c.name == f"kubernetes version {inputs.kubernetes_version}" for c in checks)
