"""`plinth preflight ENV` on a test eks environment.

EC2 (instance type offerings, vCPU counts) and IAM come from moto. moto 5.2.5 implements
neither EKS DescribeClusterVersions (it answers 404 "Not yet implemented") nor Service
Quotas for EC2 (GetServiceQuota knows only `vpc`; GetAWSDefaultServiceQuota raises
NotImplementedError), so those two clients are wrapped in botocore's Stubber: it checks
each request's parameters and each canned response against the real API model, and fails
the test if preflight asks for another quota code than the one expected.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from moto.core import enable_iam_authentication

from components.merge import deep_merge
from plinth import preflight as preflight_module
from plinth.aws_session import AwsError
from plinth.cli import EXIT_BAD_INPUT, EXIT_FAILED, main
from plinth.cloud_report import Check
from plinth.preflight import (
    ON_DEMAND_G_VT,
    ON_DEMAND_P,
    SPOT_G_VT,
    SPOT_P2_P3_P4,
    SPOT_P5,
    PreflightClients,
    VcpuQuota,
    governing_quota,
    preflight,
)
from stacks.config import ConfigError, PlatformConfig, load_platform_config
from tests.conftest import ROOT

REGION = "eu-west-1"
ZONES = [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
# What EKS listed in mid-2026: 1.31 and 1.32 in extended support, 1.33 and 1.34 standard.
EKS_VERSIONS = {
    "1.31": "EXTENDED_SUPPORT",
    "1.32": "EXTENDED_SUPPORT",
    "1.33": "STANDARD_SUPPORT",
    "1.34": "STANDARD_SUPPORT",
}
# The AWS default of every GPU vCPU quota ("Amazon EC2 instance type quotas"): 0.
AWS_DEFAULT = None


def valid_config() -> dict[str, Any]:
    """A minimal valid eks environment (the `plinth:` keys, without the namespace)."""
    return {
        "tier": "dev",
        "ownership": {"owner": "ml-platform", "cost_centre": "cc-1"},
        "cluster": {"target": "eks", "region": REGION, "availability_zones": ZONES},
        "node_pools": {
            "system": {"instance_types": ["m7i.large"], "min_size": 2, "max_size": 4},
            "gpu": {
                "accelerator": "nvidia",
                "instance_types": ["g5.xlarge", "g5.2xlarge"],
                "max_size": 4,
            },
        },
    }


def platform(changes: Mapping[str, Any] | None = None) -> PlatformConfig:
    return load_platform_config(deep_merge(valid_config(), dict(changes or {})), source="test")


def gpu_pool(**changes: Any) -> dict[str, Any]:
    return {"node_pools": {"gpu": changes}}


pytestmark = pytest.mark.usefixtures("fake_aws_credentials")


@contextmanager
def clients(
    quotas: Mapping[VcpuQuota, float | None],
    versions: Mapping[str, str] = EKS_VERSIONS,
) -> Iterator[PreflightClients]:
    """moto's EC2, with EKS answering `versions` and Service Quotas answering `quotas`
    (None: no applied value, so the AWS default of 0 applies), in the order preflight
    asks: by quota code."""
    eks = boto3.client("eks", region_name=REGION)
    service_quotas = boto3.client("service-quotas", region_name=REGION)
    with Stubber(eks) as eks_stub, Stubber(service_quotas) as quota_stub:
        listed = [
            {"clusterVersion": v, "clusterType": "eks", "versionStatus": s}
            for v, s in versions.items()
        ]
        eks_stub.add_response(
            "describe_cluster_versions", {"clusterVersions": listed}, {"includeAll": True}
        )
        for quota in sorted(quotas):
            asked = {"ServiceCode": "ec2", "QuotaCode": quota.code}
            value = quotas[quota]
            if value is None:
                quota_stub.add_client_error(
                    "get_service_quota", "NoSuchResourceException", expected_params=asked
                )
                quota_stub.add_response(
                    "get_aws_default_service_quota", quota_answer(quota, 0.0), asked
                )
            else:
                quota_stub.add_response("get_service_quota", quota_answer(quota, value), asked)
        yield PreflightClients(
            ec2=boto3.client("ec2", region_name=REGION), eks=eks, service_quotas=service_quotas
        )
        quota_stub.assert_no_pending_responses()


def quota_answer(quota: VcpuQuota, value: float) -> dict[str, Any]:
    return {
        "Quota": {
            "ServiceCode": "ec2",
            "QuotaCode": quota.code,
            "QuotaName": quota.name,
            "Value": value,
            "Unit": "None",
            "Adjustable": True,
            "GlobalQuota": False,
        }
    }


def by_status(checks: list[Check], status: str) -> list[Check]:
    return [check for check in checks if check.status == status]


def largest_vcpus(instance_types: list[str]) -> int:
    """The largest vCPU count among the types, as moto's EC2 reports it."""
    ec2 = boto3.client("ec2", region_name=REGION)
    described = ec2.describe_instance_types(InstanceTypes=instance_types)["InstanceTypes"]
    return max(int(info["VCpuInfo"]["DefaultVCpus"]) for info in described)


@pytest.mark.usefixtures("aws")
def test_a_valid_environment_passes_every_check() -> None:
    with clients({ON_DEMAND_G_VT: 64}) as aws:
        checks = preflight(platform(), source="test", clients=aws)

    assert by_status(checks, "FAIL") == []
    assert by_status(checks, "skip") == []
    names = [check.name for check in checks]
    assert names == [
        "instance offerings, pool gpu",
        "kubernetes version 1.34",
        f"quota {ON_DEMAND_G_VT.code} {ON_DEMAND_G_VT.name}",
    ]
    needed = 4 * largest_vcpus(["g5.xlarge", "g5.2xlarge"])
    assert f"need {needed} vCPUs" in checks[-1].detail
    assert "have 64 (applied)" in checks[-1].detail


@pytest.mark.usefixtures("aws")
def test_a_type_missing_from_a_zone_fails_naming_each_type_and_zone() -> None:
    # moto's offerings data (a snapshot of AWS): p4d.24xlarge only in eu-west-1c.
    offered = boto3.client("ec2", region_name=REGION).describe_instance_type_offerings(
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": ["p4d.24xlarge"]}],
    )["InstanceTypeOfferings"]
    assert [o["Location"] for o in offered] == [f"{REGION}c"]

    config = platform(gpu_pool(instance_types=["p4d.24xlarge"], max_size=1))
    with clients({ON_DEMAND_P: 96}) as aws:
        checks = preflight(config, source="test", clients=aws)

    (failed,) = by_status(checks, "FAIL")
    assert failed.name == "instance offerings, pool gpu"
    assert f"p4d.24xlarge in {REGION}a" in failed.detail
    assert f"p4d.24xlarge in {REGION}b" in failed.detail
    assert f"{REGION}c" not in failed.detail


@pytest.mark.usefixtures("aws")
def test_a_quota_below_the_pools_maximum_fails_with_both_numbers() -> None:
    with clients({ON_DEMAND_G_VT: AWS_DEFAULT}) as aws:
        checks = preflight(platform(), source="test", clients=aws)

    (failed,) = by_status(checks, "FAIL")
    assert failed.name.startswith(f"quota {ON_DEMAND_G_VT.code}")
    needed = 4 * largest_vcpus(["g5.xlarge", "g5.2xlarge"])
    assert f"need {needed} vCPUs" in failed.detail
    assert "have 0 (AWS default)" in failed.detail


@pytest.mark.usefixtures("aws")
def test_spot_pools_are_checked_against_the_spot_quota() -> None:
    config = platform(gpu_pool(capacity="spot", max_size=2))
    with clients({SPOT_G_VT: 8}) as aws:
        checks = preflight(config, source="test", clients=aws)

    (failed,) = by_status(checks, "FAIL")
    needed = 2 * largest_vcpus(["g5.xlarge", "g5.2xlarge"])
    assert failed.name == f"quota {SPOT_G_VT.code} {SPOT_G_VT.name}"
    assert f"need {needed} vCPUs" in failed.detail
    assert "have 8 (applied)" in failed.detail


@pytest.mark.usefixtures("aws")
def test_pools_drawing_on_one_quota_add_up() -> None:
    values = valid_config()
    values["node_pools"] = {
        "system": values["node_pools"]["system"],
        "train": {"accelerator": "nvidia", "instance_types": ["g5.xlarge"], "max_size": 3},
        "serve": {"accelerator": "nvidia", "instance_types": ["g5.2xlarge"], "max_size": 2},
    }
    needed = 3 * largest_vcpus(["g5.xlarge"]) + 2 * largest_vcpus(["g5.2xlarge"])
    with clients({ON_DEMAND_G_VT: needed}) as aws:
        checks = preflight(load_platform_config(values, source="test"), source="test", clients=aws)

    assert by_status(checks, "FAIL") == []
    assert f"need {needed} vCPUs" in checks[-1].detail


@pytest.mark.usefixtures("aws")
def test_a_kubernetes_version_eks_does_not_offer_fails_listing_those_it_does() -> None:
    config = platform({"cluster": {"kubernetes_version": "1.35"}})
    with clients({ON_DEMAND_G_VT: 64}) as aws:
        checks = preflight(config, source="test", clients=aws)

    (failed,) = by_status(checks, "FAIL")
    assert failed.name == "kubernetes version 1.35"
    assert "offered: 1.31, 1.32, 1.33, 1.34" in failed.detail


@pytest.mark.usefixtures("aws")
def test_a_kubernetes_version_out_of_support_fails() -> None:
    versions = {**EKS_VERSIONS, "1.31": "UNSUPPORTED"}
    config = platform({"cluster": {"kubernetes_version": "1.31"}})
    with clients({ON_DEMAND_G_VT: 64}, versions) as aws:
        checks = preflight(config, source="test", clients=aws)

    (failed,) = by_status(checks, "FAIL")
    assert "UNSUPPORTED" in failed.detail


@pytest.mark.usefixtures("aws")
def test_a_type_whose_quota_plinth_does_not_know_is_skipped_not_failed() -> None:
    config = platform(
        gpu_pool(instance_types=["p6-b200.48xlarge"], gpus_per_node=8, capacity="spot")
    )
    with clients({}) as aws:
        checks = preflight(config, source="test", clients=aws)

    (skipped,) = by_status(checks, "skip")
    assert "p6-b200.48xlarge (spot)" in skipped.detail
    assert not any(check.name.startswith("quota ") for check in checks)


@pytest.mark.parametrize(
    ("instance_type", "capacity", "quota"),
    [
        ("g5.xlarge", "on-demand", ON_DEMAND_G_VT),
        ("g6e.12xlarge", "spot", SPOT_G_VT),
        ("gr6.4xlarge", "on-demand", ON_DEMAND_G_VT),
        ("p4d.24xlarge", "on-demand", ON_DEMAND_P),
        ("p5.48xlarge", "on-demand", ON_DEMAND_P),
        ("p3dn.24xlarge", "spot", SPOT_P2_P3_P4),
        ("p4de.24xlarge", "spot", SPOT_P2_P3_P4),
        ("p5en.48xlarge", "spot", SPOT_P5),
        ("m7i.large", "on-demand", None),
    ],
)
def test_each_gpu_family_draws_on_its_documented_quota(
    instance_type: str, capacity: Literal["on-demand", "spot"], quota: VcpuQuota | None
) -> None:
    assert governing_quota(instance_type, capacity) == quota


def existing_cluster_config() -> dict[str, Any]:
    # An existing cluster's pools state only what they are: machine settings are EKS's.
    pools = {"system": {"max_size": 4}, "gpu": {"accelerator": "nvidia", "max_size": 4}}
    cluster = {"target": "existing", "kubernetes_version": "1.33"}
    return {**valid_config(), "cluster": cluster, "node_pools": pools}


def test_an_environment_on_another_target_is_refused() -> None:
    existing = load_platform_config(existing_cluster_config(), source="test")
    with pytest.raises(ConfigError, match="target is 'existing'"):
        preflight(existing, source="environments/Pulumi.laptop.yaml")


@pytest.mark.usefixtures("aws")
def test_a_missing_permission_is_named_with_every_action_preflight_needs() -> None:
    aws_keys = restricted_user(denied="ec2:DescribeInstanceTypes")
    with (
        enable_iam_authentication(),
        clients({}) as stubbed,
    ):
        ec2 = boto3.client("ec2", region_name=REGION, **aws_keys)
        aws = PreflightClients(ec2, stubbed.eks, stubbed.service_quotas)
        with pytest.raises(AwsError) as denied:
            preflight(platform(), source="test", clients=aws)

    message = str(denied.value)
    assert "AWS denied ec2:DescribeInstanceTypes " in message
    assert all(action in message for action in preflight_module.IAM_ACTIONS.values())


def restricted_user(denied: str) -> dict[str, str]:
    """Keys of an IAM user allowed every action preflight needs but `denied`."""
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="preflight")
    allowed = sorted(set(preflight_module.IAM_ACTIONS.values()) - {denied})
    iam.put_user_policy(
        UserName="preflight",
        PolicyName="read-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": allowed, "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="preflight")["AccessKey"]
    return {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def test_the_module_docstring_lists_every_iam_action_preflight_calls() -> None:
    assert preflight_module.__doc__ is not None
    documented = preflight_module.__doc__
    assert [a for a in preflight_module.IAM_ACTIONS.values() if a not in documented] == []


# The command line, on a project directory holding one environment file.


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "environments").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "stacks").symlink_to(ROOT / "stacks")
    monkeypatch.setenv("PLINTH_PROJECT_DIR", str(tmp_path))
    return tmp_path


def write_environment(project: Path, name: str, values: Mapping[str, Any]) -> None:
    config = {f"plinth:{key}": value for key, value in values.items()}
    path = project / "environments" / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}))


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("quota", "exit_code"), [(64.0, 0), (AWS_DEFAULT, EXIT_FAILED)], ids=["enough", "too-low"]
)
def test_cli_prints_one_line_per_check_and_exits_1_on_a_failure(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    quota: float | None,
    exit_code: int,
) -> None:
    write_environment(project, "aws-dev", valid_config())
    with clients({ON_DEMAND_G_VT: quota}) as aws:

        def connect(region: str) -> PreflightClients:
            assert region == REGION  # the cluster's region, from the environment file
            return aws

        monkeypatch.setattr(PreflightClients, "connect", connect)
        code = main(["preflight", "aws-dev"])

    lines = capsys.readouterr().out.splitlines()
    assert code == exit_code
    assert lines[0].startswith(f"plinth preflight aws-dev: eks in {REGION}")
    checks = lines[1:-1]
    assert len(checks) == 3
    assert all(line.split()[0] in ("ok", "FAIL") for line in checks)
    failed = [line for line in checks if line.startswith("FAIL")]
    assert bool(failed) == (exit_code == EXIT_FAILED)
    assert lines[-1].startswith(f"{3 - len(failed)} ok, {len(failed)} failed")


@pytest.mark.usefixtures("aws")
def test_cli_missing_permission_exits_2_with_one_line(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_environment(project, "aws-dev", valid_config())
    keys = restricted_user(denied="ec2:DescribeInstanceTypeOfferings")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["aws_secret_access_key"])

    with enable_iam_authentication():
        code = main(["preflight", "aws-dev"])

    error = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert len(error.splitlines()) == 1
    assert "AWS denied ec2:DescribeInstanceTypeOfferings " in error


def test_cli_refuses_an_environment_that_is_not_eks(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_environment(project, "laptop", existing_cluster_config())
    code = main(["preflight", "laptop"])
    error = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert len(error.splitlines()) == 1
    assert "environments/Pulumi.laptop.yaml" in error
    assert "target is 'existing'" in error
