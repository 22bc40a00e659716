"""`plinth bootstrap aws` against moto's S3, KMS, STS and IAM: what it creates, that a
second run changes nothing, and the one-line refusals (names, ownership, credentials,
permissions)."""

from __future__ import annotations

import json
import shlex
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.stub import Stubber
from moto.core import enable_iam_authentication

from clouds.aws.policy_documents import TLS_STATEMENT_ID
from plinth import bootstrap
from plinth.aws_session import AwsError
from plinth.bootstrap import (
    DEFAULT_KMS_ALIAS,
    BootstrapClients,
    bootstrap_aws,
    bucket_name_problem,
    validate_inputs,
)
from plinth.cli import EXIT_BAD_INPUT, main
from stacks.config import ConfigError

REGION = "eu-west-1"
BUCKET = "acme-ml-pulumi-state"
OTHER_ACCOUNT = "111111111111"


pytestmark = pytest.mark.usefixtures("fake_aws_credentials")


def client(service: str, region: str = REGION) -> Any:
    return boto3.client(service, region_name=region)


def key_arn(alias: str = DEFAULT_KMS_ALIAS, region: str = REGION) -> str:
    arn: str = client("kms", region).describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
    return arn


def statuses(result: bootstrap.BootstrapResult) -> dict[str, str]:
    return {outcome.item: outcome.status for outcome in result.outcomes}


@pytest.mark.usefixtures("aws")
def test_creates_a_versioned_encrypted_private_tls_only_bucket_and_a_rotating_key() -> None:
    result = bootstrap_aws(REGION, BUCKET)

    s3 = client("s3")
    arn = key_arn()
    assert result.key_arn == arn
    assert statuses(result)[f"KMS key {DEFAULT_KMS_ALIAS}"] == "created"
    assert statuses(result)[f"S3 bucket {BUCKET}"] == "created"
    assert client("kms").get_key_rotation_status(KeyId=arn)["KeyRotationEnabled"] is True
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == REGION
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": arn,
    }
    assert rule["BucketKeyEnabled"] is True
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert [block[flag] for flag in sorted(block)] == [True] * 4
    ownership = s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    (statement,) = [s for s in policy["Statement"] if s.get("Sid") == TLS_STATEMENT_ID]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert sorted(statement["Resource"]) == [
        f"arn:aws:s3:::{BUCKET}",
        f"arn:aws:s3:::{BUCKET}/*",
    ]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.usefixtures("aws")
def test_a_second_run_finds_everything_in_place_and_changes_nothing() -> None:
    first = bootstrap_aws(REGION, BUCKET)
    second = bootstrap_aws(REGION, BUCKET)

    assert set(statuses(second).values()) == {"already correct"}
    assert [o.item for o in second.outcomes] == [o.item for o in first.outcomes]
    assert second.key_arn == first.key_arn
    assert len(client("kms").list_keys()["Keys"]) == 1
    assert "0 created, 0 updated" in second.report()


@pytest.mark.usefixtures("aws")
def test_us_east_1_bucket_is_created_without_a_location_constraint() -> None:
    bootstrap_aws("us-east-1", BUCKET)
    location = client("s3", "us-east-1").get_bucket_location(Bucket=BUCKET)
    assert location["LocationConstraint"] is None


@pytest.mark.usefixtures("aws")
def test_an_existing_bucket_is_corrected_and_its_other_policy_statements_kept() -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    reader = {
        "Sid": "CiReadsState",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/ci"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    s3.put_bucket_policy(
        Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [reader]})
    )

    result = bootstrap_aws(REGION, BUCKET)

    assert statuses(result)[f"S3 bucket {BUCKET}"] == "already correct"
    assert statuses(result)["versioning"] == "updated"
    assert statuses(result)["bucket policy"] == "updated"
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert sorted(s["Sid"] for s in policy["Statement"]) == ["CiReadsState", TLS_STATEMENT_ID]


@pytest.mark.usefixtures("aws")
def test_a_bucket_of_another_account_is_refused_before_a_key_is_created(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)
    client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    # As in AWS: HeadBucket on another account's bucket answers 403.
    monkeypatch.setenv("MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS", "false")

    code = main(["bootstrap", "aws", "--region", REGION, "--bucket", BUCKET])

    error = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert len(error.splitlines()) == 1
    assert BUCKET in error
    assert "choose another --bucket" in error
    aliases = {a["AliasName"] for a in client("kms").list_aliases()["Aliases"]}
    assert DEFAULT_KMS_ALIAS not in aliases


@pytest.mark.usefixtures("aws")
def test_a_name_taken_between_the_lookup_and_the_create_is_refused() -> None:
    s3 = client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", "404", http_status_code=404)
        stub.add_client_error("create_bucket", "BucketAlreadyExists", http_status_code=409)
        clients = BootstrapClients(sts=client("sts"), s3=s3, kms=client("kms"))
        with pytest.raises(AwsError, match=f"{BUCKET} is taken by another AWS account"):
            bootstrap_aws(REGION, BUCKET, clients=clients)


@pytest.mark.usefixtures("aws")
def test_a_bucket_in_another_region_is_refused_with_the_region_to_use() -> None:
    client("s3", "us-west-2").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    with pytest.raises(AwsError, match="--region us-west-2"):
        bootstrap_aws(REGION, BUCKET)


@pytest.mark.usefixtures("aws")
def test_an_alias_naming_a_disabled_key_is_refused() -> None:
    kms = client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=DEFAULT_KMS_ALIAS, TargetKeyId=key_id)
    kms.disable_key(KeyId=key_id)
    with pytest.raises(AwsError, match="in state Disabled"):
        bootstrap_aws(REGION, BUCKET)


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "Acme-state",
        "acme_state",
        "-acme-state",
        "acme-state-",
        "acme..state",
        "192.168.5.4",
        "xn--acme-state",
        "sthree-acme",
        "amzn-s3-demo-acme",
        "acme-s3alias",
        "acme--ol-s3",
        "acme.mrap",
        "acme--x-s3",
        "acme--table-s3",
    ],
)
def test_bucket_names_breaking_an_s3_rule_are_refused(name: str) -> None:
    assert bucket_name_problem(name) is not None
    with pytest.raises(ConfigError, match="--bucket"):
        validate_inputs(REGION, name, DEFAULT_KMS_ALIAS)


@pytest.mark.parametrize("name", ["abc", BUCKET, "acme.ml.state", "a" * 63, "123-state"])
def test_bucket_names_following_the_rules_are_accepted(name: str) -> None:
    assert bucket_name_problem(name) is None


@pytest.mark.parametrize(
    "alias", ["plinth-pulumi-secrets", "alias/", "alias/aws/s3", "alias/with space", "arn:x"]
)
def test_kms_aliases_that_kms_would_refuse_are_refused(alias: str) -> None:
    with pytest.raises(ConfigError, match="--kms-alias"):
        validate_inputs(REGION, BUCKET, alias)


def test_bad_names_exit_2_before_any_aws_call(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without credentials an AWS call would fail on those first: the error names the flag.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    for flags, culprit in (
        (["--bucket", "Bad_Name"], "--bucket"),
        (["--bucket", BUCKET, "--kms-alias", "alias/aws/ebs"], "--kms-alias"),
        (["--bucket", BUCKET, "--region", "europe"], "--region"),
    ):
        code = main(["bootstrap", "aws", "--region", REGION, *flags])
        error = capsys.readouterr().err
        assert code == EXIT_BAD_INPUT
        assert error.startswith(f"plinth: error: {culprit} ")
        assert len(error.splitlines()) == 1


def test_no_credentials_exit_2_saying_how_to_provide_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code = main(["bootstrap", "aws", "--region", REGION, "--bucket", BUCKET])
    error = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert len(error.splitlines()) == 1
    assert "no AWS credentials" in error
    assert "AWS_PROFILE" in error


@pytest.mark.usefixtures("aws")
def test_the_cli_reports_each_item_and_prints_the_pulumi_commands_to_run_next(
    capsys: pytest.CaptureFixture[str],
) -> None:
    alias = "alias/team-a/pulumi"
    args = ["bootstrap", "aws", "--region", REGION, "--bucket", BUCKET, "--kms-alias", alias]
    assert main(args) == 0
    first = capsys.readouterr().out.splitlines()
    assert main(args) == 0
    second = capsys.readouterr().out.splitlines()

    commands = [shlex.split(line) for line in first if line.strip().startswith("pulumi ")]
    assert [argv[:2] for argv in commands] == [["pulumi", "login"], ["pulumi", "stack"]]
    login = urlsplit(commands[0][2])
    assert (login.scheme, login.netloc) == ("s3", BUCKET)
    assert parse_qs(login.query) == {"region": [REGION]}
    stack_init = commands[1]
    secrets = urlsplit(stack_init[stack_init.index("--secrets-provider") + 1])
    assert secrets.scheme == "awskms"
    assert f"{secrets.netloc}{secrets.path}" == alias
    assert parse_qs(secrets.query) == {"region": [REGION]}
    items = [line for line in second if line.startswith("  ") and "pulumi " not in line]
    assert len(items) == len([line for line in first if line.startswith(("  created", "  upd"))])
    assert all(line.split()[:2] == ["already", "correct"] for line in items)


@pytest.mark.usefixtures("aws")
def test_a_missing_permission_exits_2_naming_the_iam_action(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = client("iam")
    iam.create_user(UserName="bootstrapper")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:*", "kms:*", "sts:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:PutBucketPolicy", "Resource": "*"},
        ],
    }
    iam.put_user_policy(
        UserName="bootstrapper", PolicyName="almost", PolicyDocument=json.dumps(policy)
    )
    key = iam.create_access_key(UserName="bootstrapper")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])

    with enable_iam_authentication():
        code = main(["bootstrap", "aws", "--region", REGION, "--bucket", BUCKET])

    error = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert len(error.splitlines()) == 1
    assert "AWS denied s3:PutBucketPolicy" in error
    assert all(action in error for action in bootstrap.IAM_ACTIONS.values())


def test_the_module_docstring_lists_every_iam_action_bootstrap_calls() -> None:
    assert bootstrap.__doc__ is not None
    missing = [a for a in bootstrap.IAM_ACTIONS.values() if a not in bootstrap.__doc__]
    assert missing == []
