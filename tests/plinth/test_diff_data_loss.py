"""`plinth diff` on each class of change that replaces a resource or loses data.

One class per section: force-new fields of the AWS types Plinth creates, the provider's
region, deletions of stateful resources, renames that come with other changes, the old
and new values in the reports, and two environments compared. The expected actions are
the providers' (their documented force-new fields), not a copy of Plinth's tables.
"""

from __future__ import annotations

from typing import Any

import pytest

from plinth.diff import PlanDiff, diff_plans
from plinth.diff_report import diff_document, format_diff
from plinth.engine import make_urn
from tests.plinth.test_diff import STACK, claim_inputs, entry, only, paths

AWS_PROVIDER = "pulumi:providers:aws"
AWS_PROVIDER_URN = make_urn("dev", "plinth", STACK, AWS_PROVIDER, "dev-aws")
BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"


def aws_provider(region: str = "eu-west-1") -> dict[str, Any]:
    return entry("dev-aws", AWS_PROVIDER, {"region": region})


def aws(name: str, type_token: str, inputs: dict[str, Any], **options: Any) -> dict[str, Any]:
    """An AWS resource managed by the explicit provider `dev-aws`."""
    return entry(name, type_token, inputs, provider=f"{AWS_PROVIDER_URN}::dev-aws-id", **options)


def grown_claim(name: str = "dev-jobs-volume-datasets", storage: str = "5Gi") -> dict[str, Any]:
    inputs = claim_inputs(resources={"requests": {"storage": storage}})
    inputs["metadata"] = {**inputs["metadata"], "name": name.rsplit("-", 1)[-1]}
    return entry(name, inputs=inputs)


# --- force-new fields of every AWS type Plinth creates ----------------------------------


@pytest.mark.parametrize(
    ("type_token", "before", "after", "action"),
    [
        (
            "aws:ec2/vpc:Vpc",
            {"cidrBlock": "10.30.0.0/16"},
            {"cidrBlock": "10.40.0.0/16"},
            "replace",
        ),
        ("aws:ec2/vpc:Vpc", {"enableDnsHostnames": True}, {"enableDnsHostnames": False}, "update"),
        (
            "aws:ec2/subnet:Subnet",
            {"availabilityZone": "eu-west-1a"},
            {"availabilityZone": "eu-west-1b"},
            "replace",
        ),
        (
            "aws:ec2/subnet:Subnet",
            {"cidrBlock": "10.0.0.0/18"},
            {"cidrBlock": "10.0.64.0/18"},
            "replace",
        ),
        (
            "aws:ec2/subnet:Subnet",
            {"mapPublicIpOnLaunch": False},
            {"mapPublicIpOnLaunch": True},
            "update",
        ),
        ("aws:eks/cluster:Cluster", {"name": "plinth-dev"}, {"name": "plinth-ml"}, "replace"),
        ("aws:eks/cluster:Cluster", {"version": "1.33"}, {"version": "1.34"}, "update"),
        (
            "aws:eks/cluster:Cluster",
            {"vpcConfig": {"subnetIds": ["a", "b"]}},
            {"vpcConfig": {"subnetIds": ["a", "c"]}},
            "update",
        ),
        (
            "aws:eks/cluster:Cluster",
            {"encryptionConfig": {"resources": ["secrets"]}},
            {},
            "replace",
        ),
        (
            "aws:eks/nodeGroup:NodeGroup",
            {"instanceTypes": ["g5.xlarge"]},
            {"instanceTypes": ["g6.xlarge"]},
            "replace",
        ),
        (
            "aws:eks/nodeGroup:NodeGroup",
            {"amiType": "AL2023_x86_64_NVIDIA"},
            {"amiType": "BOTTLEROCKET_x86_64_NVIDIA"},
            "replace",
        ),
        (
            "aws:eks/nodeGroup:NodeGroup",
            {"capacityType": "SPOT"},
            {"capacityType": "ON_DEMAND"},
            "replace",
        ),
        ("aws:eks/nodeGroup:NodeGroup", {"subnetIds": ["a"]}, {"subnetIds": ["b"]}, "replace"),
        (
            "aws:eks/nodeGroup:NodeGroup",
            {"scalingConfig": {"maxSize": 2}},
            {"scalingConfig": {"maxSize": 4}},
            "update",
        ),
        (
            "aws:eks/nodeGroup:NodeGroup",
            {"launchTemplate": {"id": "lt-1", "version": "1"}},
            {"launchTemplate": {"id": "lt-1", "version": "2"}},
            "update",
        ),
        ("aws:eks/addon:Addon", {"addonName": "coredns"}, {"addonName": "vpc-cni"}, "replace"),
        ("aws:eks/addon:Addon", {"addonVersion": "v1"}, {"addonVersion": "v2"}, "update"),
        (
            "aws:eks/accessEntry:AccessEntry",
            {"principalArn": "a"},
            {"principalArn": "b"},
            "replace",
        ),
        ("aws:ec2/launchTemplate:LaunchTemplate", {"name": "a"}, {"name": "b"}, "replace"),
        ("aws:ec2/launchTemplate:LaunchTemplate", {"userData": "a"}, {"userData": "b"}, "update"),
        ("aws:ec2/natGateway:NatGateway", {"subnetId": "a"}, {"subnetId": "b"}, "replace"),
        ("aws:ec2/routeTable:RouteTable", {"vpcId": "a"}, {"vpcId": "b"}, "replace"),
        ("aws:iam/role:Role", {"name": "a"}, {"name": "b"}, "replace"),
        ("aws:iam/role:Role", {"assumeRolePolicy": "{}"}, {"assumeRolePolicy": "[]"}, "update"),
        ("aws:kms/alias:Alias", {"name": "alias/a"}, {"name": "alias/b"}, "replace"),
        ("aws:kms/alias:Alias", {"targetKeyId": "a"}, {"targetKeyId": "b"}, "update"),
        ("aws:cloudwatch/logGroup:LogGroup", {"name": "/a"}, {"name": "/b"}, "replace"),
        (
            "aws:cloudwatch/logGroup:LogGroup",
            {"retentionInDays": 30},
            {"retentionInDays": 90},
            "update",
        ),
        ("aws:s3/bucketPolicy:BucketPolicy", {"bucket": "a"}, {"bucket": "b"}, "replace"),
        ("aws:autoscaling/tag:Tag", {"tag": {"value": "a"}}, {"tag": {"value": "b"}}, "replace"),
    ],
)
def test_aws_changes_replace_where_the_provider_forces_a_new_resource(
    type_token: str, before: dict[str, Any], after: dict[str, Any], action: str
) -> None:
    change = only(diff_plans([aws("r", type_token, before)], [aws("r", type_token, after)]))
    assert change.action == action


# --- the provider's region ----------------------------------------------------------------


def regional_plan(region: str) -> list[dict[str, Any]]:
    return [
        aws_provider(region),
        aws("dev-storage-datasets", BUCKET, {"forceDestroy": False}),
        aws("dev-storage-data", KEY, {"enableKeyRotation": True}),
        aws("dev-eks-node", ROLE, {"assumeRolePolicy": "{}"}),
    ]


def test_a_new_region_replaces_every_regional_resource_and_loses_their_data() -> None:
    diff = diff_plans(regional_plan("eu-west-1"), regional_plan("eu-central-1"))
    actions = {change.type: change.action for change in diff.changes}
    assert actions == {AWS_PROVIDER: "update", BUCKET: "replace", KEY: "replace"}  # IAM is global
    assert {change.type for change in diff.data_losses} == {BUCKET, KEY}
    bucket = next(change for change in diff.changes if change.type == BUCKET)
    assert "region" in bucket.reasons[0]
    assert "eu-central-1" in bucket.reasons[0]


def test_the_same_region_keeps_everything() -> None:
    before = regional_plan("eu-west-1")
    after = [aws_provider("eu-west-1") | {"inputs": {"region": "eu-west-1", "a": "b"}}]
    assert [c.type for c in diff_plans(before, after + before[1:]).changes] == [AWS_PROVIDER]


# --- replacements that carry over to what refers to the replaced resource ---------------

VPC, SUBNET = "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet"
NODE_GROUP, CLUSTER = "aws:eks/nodeGroup:NodeGroup", "aws:eks/cluster:Cluster"


def network_plan(vpc_cidr: str) -> list[dict[str, Any]]:
    """A VPC, a subnet in it, and a node group and a cluster on that subnet, each input
    holding the mock engine's id of what it refers to, as the program passes them."""
    vpc = aws("dev-network", VPC, {"cidrBlock": vpc_cidr})
    subnet = aws(
        "dev-net-a",
        SUBNET,
        {"vpcId": "dev-network-id", "availabilityZone": "eu-west-1a"},
        dependencies=[vpc["urn"]],
    )
    on_subnet = {"dependencies": [subnet["urn"]]}
    group = aws("dev-nodes", NODE_GROUP, {"subnetIds": ["dev-net-a-id"]}, **on_subnet)
    cluster = aws("dev-eks", CLUSTER, {"vpcConfig": {"subnetIds": ["dev-net-a-id"]}}, **on_subnet)
    return [aws_provider(), vpc, subnet, group, cluster]


def test_a_new_vpc_replaces_its_subnets_and_what_runs_on_them() -> None:
    diff = diff_plans(network_plan("10.10.0.0/16"), network_plan("10.20.0.0/16"))
    actions = {change.name: change.action for change in diff.changes}
    assert actions == {
        "dev-network": "replace",  # its CIDR is force-new
        "dev-net-a": "replace",  # its vpcId is force-new, and the VPC's id is new
        "dev-nodes": "replace",  # its subnetIds are force-new, and the subnet's id is new
        "dev-eks": "update",  # a cluster's subnets are changed in place
    }
    (nodes,) = (change for change in diff.changes if change.name == "dev-nodes")
    assert nodes.reasons == ("dev-net-a is replaced, which changes subnetIds[0]",)
    (cluster,) = (change for change in diff.changes if change.name == "dev-eks")
    assert cluster.notes == (
        "dev-net-a is replaced, which changes vpcConfig.subnetIds[0] (in place)",
    )


def test_a_replaced_kubernetes_object_keeps_what_refers_to_it_by_name() -> None:
    claim = entry()
    user_inputs = {"spec": {"selector": {"matchLabels": {"volume": claim["name"]}}}}
    user = entry(
        "dev-user", "kubernetes:apps/v1:Deployment", user_inputs, dependencies=[claim["urn"]]
    )
    moved = entry(inputs=claim_inputs(storageClassName="fast-ssd"))
    diff = diff_plans([claim, user], [moved, user])
    assert [change.name for change in diff.changes] == [claim["name"]]


def test_two_environments_carry_nothing_over() -> None:
    diff = diff_plans(
        network_plan("10.10.0.0/16"), network_plan("10.20.0.0/16"), between_environments=True
    )
    assert [change.name for change in diff.changes] == ["dev-network"]


# --- deleting a stateful resource ---------------------------------------------------------


def test_deleting_an_unprotected_volume_loses_its_data() -> None:
    diff = diff_plans([entry()], [])
    deleted = only(diff)
    assert deleted.action == "delete"
    assert diff.data_losses == (deleted,)
    assert "STATEFUL DELETION: dev-jobs-volume-datasets" in format_diff(diff, "dev@main", "dev")
    assert diff_document(diff, "dev@main", "dev")["data_loss"] == [deleted.urn]


@pytest.mark.parametrize(
    ("options", "migrated", "note"),
    [
        ({"protect": True}, {}, "refuses to delete"),
        ({"retain_on_delete": True}, {}, "leaves it (and its data) in place"),
        ({}, {"dev-jobs-volume-datasets": "copied to s3://archive (OPS-1)"}, "OPS-1"),
    ],
    ids=["protected", "retained", "migrated"],
)
def test_deleting_a_protected_retained_or_migrated_volume_loses_nothing(
    options: dict[str, Any], migrated: dict[str, str], note: str
) -> None:
    diff = diff_plans([entry(**options)], [], migrated=migrated)
    deleted = only(diff)
    assert deleted.action == "delete"
    assert diff.data_losses == ()
    assert any(note in text for text in deleted.notes)
    assert "STATEFUL" not in format_diff(diff, "dev@main", "dev")


def test_a_migrated_replacement_loses_nothing() -> None:
    after = entry(inputs=claim_inputs(storageClassName="fast"))
    migrated = {"dev-jobs-volume-datasets": "restored from backup after the switch"}
    assert only(diff_plans([entry()], [after])).loses_data
    assert not only(diff_plans([entry()], [after], migrated=migrated)).loses_data


def test_deleting_what_holds_no_data_loses_nothing() -> None:
    service = entry("dev-svc", "kubernetes:core/v1:Service", {"spec": {"type": "ClusterIP"}})
    assert diff_plans([service], []).data_losses == ()


# --- a rename that comes with other changes -----------------------------------------------


def test_a_volume_renamed_and_grown_is_the_same_volume_replaced() -> None:
    old = grown_claim("dev-jobs-volume-datasets", "5Gi")
    new = grown_claim("dev-jobs-volume-data", "10Gi")
    diff = diff_plans([old], [new])
    change = only(diff)
    assert change.action == "replace"
    assert change.previous_urn == old["urn"]
    assert "renamed from dev-jobs-volume-datasets" in change.reasons[0]
    assert {"spec.resources.requests.storage", "metadata.name"} <= set(paths(change))
    assert diff.data_losses == (change,)


def test_renamed_volumes_pair_by_name_when_their_inputs_are_alike() -> None:
    old = [grown_claim("dev-jobs-volume-datasets"), grown_claim("dev-jobs-volume-scratch")]
    new = [grown_claim("dev-work-volume-scratch"), grown_claim("dev-work-volume-datasets")]
    pairs = {
        c.name: (c.previous_urn or "").rsplit("::", 1)[-1] for c in diff_plans(old, new).changes
    }
    assert pairs == {
        "dev-work-volume-datasets": "dev-jobs-volume-datasets",
        "dev-work-volume-scratch": "dev-jobs-volume-scratch",
    }


def test_unlike_resources_are_not_taken_for_a_rename() -> None:
    old = entry("dev-a", inputs={"spec": {"storageClassName": "a", "accessModes": ["x"]}})
    new = entry("dev-b", inputs={"spec": {"storageClassName": "b", "accessModes": ["y"]}})
    assert [c.action for c in diff_plans([old], [new]).changes] == ["create", "delete"]


# --- old and new values -------------------------------------------------------------------


def report_of(before: dict[str, Any], after: dict[str, Any]) -> tuple[PlanDiff, str]:
    diff = diff_plans([before], [after])
    return diff, format_diff(diff, "dev@main", "dev")


def test_every_changed_path_shows_its_old_and_new_value() -> None:
    inputs = claim_inputs(resources={"requests": {"storage": "10Gi"}})
    inputs["metadata"] = {**inputs["metadata"], "labels": {"plinth.io/b": "c"}}
    diff, text = report_of(entry(), entry(inputs=inputs))
    assert '~ spec.resources.requests.storage: "5Gi" -> "10Gi"' in text
    assert '+ metadata.labels["plinth.io/b"]: "c"' in text
    assert '- metadata.labels["plinth.io/a"]: "b"' in text
    (storage,) = [p for p in only(diff).paths if p.path == "spec.resources.requests.storage"]
    assert (storage.before, storage.after) == ("5Gi", "10Gi")
    document = diff_document(diff, "dev@main", "dev")
    assert {"before": "5Gi", "after": "10Gi"}.items() <= document["changes"][0]["paths"][-1].items()


@pytest.mark.parametrize(
    ("path", "value", "action"),
    [
        ("image", "busybox:2", "replace"),
        ("env", [{"name": "A", "value": "2"}], "replace"),
        ("name", "renamed", "update"),
    ],
)
def test_a_bare_pods_containers_follow_the_provider(path: str, value: Any, action: str) -> None:
    pod = "kubernetes:core/v1:Pod"
    container = {"name": "main", "image": "busybox:1", "env": [{"name": "A", "value": "1"}]}
    before = entry("pod", pod, {"spec": {"containers": [container]}})
    after = entry("pod", pod, {"spec": {"containers": [{**container, path: value}]}})
    assert only(diff_plans([before], [after])).action == action


def test_numbers_print_as_numbers() -> None:
    deployment = "kubernetes:apps/v1:Deployment"
    _, text = report_of(
        entry("dep", deployment, {"spec": {"replicas": 2}}),
        entry("dep", deployment, {"spec": {"replicas": 3}}),
    )
    assert "~ spec.replicas: 2 -> 3" in text


@pytest.mark.parametrize(("old", "new"), [("[secret]", "hunter2"), ("hunter2", "[secret]")])
def test_a_value_secret_on_either_side_is_never_shown(old: str, new: str) -> None:
    kind = "kubernetes:core/v1:Secret"
    diff, text = report_of(
        entry("s", kind, {"stringData": {"password": old}}),
        entry("s", kind, {"stringData": {"password": new}}),
    )
    assert "hunter2" not in text
    assert "hunter2" not in str(diff_document(diff, "a", "b"))
    assert '~ stringData.password: "[secret]" -> "[secret]"' in text


def test_configuration_strings_are_printed_escaped() -> None:
    hostile = "ok\nSTATEFUL REPLACEMENT: fake\x1b[2J\u202eevil"
    inputs = claim_inputs()
    inputs["metadata"] = {**inputs["metadata"], "labels": {"plinth.io/a": hostile}}
    _, text = report_of(entry(), entry(inputs=inputs))
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert "\\u001b[2J" in text
    assert "\\u202e" in text
    assert not any(line.startswith("STATEFUL") for line in text.splitlines())


def test_long_values_are_cut_around_their_first_difference() -> None:
    policy = '{"Statement": [' + ", ".join(f'"s3:Action{i}"' for i in range(40)) + "]}"
    changed = policy.replace("Action20", "Delete20")
    before = entry("r", ROLE, {"policy": policy})
    _, text = report_of(before, entry("r", ROLE, {"policy": changed}))
    (line,) = [line for line in text.splitlines() if "~ policy:" in line]
    assert len(line) < len(policy)
    assert "Action20" in line
    assert "Delete20" in line
    assert f"({len(policy) + 2 + policy.count(chr(34))} chars)" in line  # the JSON-quoted length


# --- two environments ---------------------------------------------------------------------


def test_two_environments_differ_but_nothing_is_replaced_or_lost() -> None:
    other = entry(inputs=claim_inputs(storageClassName="ceph-rbd"))
    diff = diff_plans([entry()], [other], between_environments=True)
    change = only(diff)
    assert change.action == "update"
    assert paths(change) == {"spec.storageClassName": True}
    assert diff.data_losses == ()
    text = format_diff(diff, "local", "onprem")
    assert "two environments" in text
    assert "STATEFUL" not in text
    assert "(cannot change in place)" in text
    only_one_side = diff_plans(
        [entry("dev-a", protect=True)], [], between_environments=True, migrated={"dev-a": "x"}
    )
    assert only_one_side.data_losses == ()
    assert only(only_one_side).notes == ()  # nothing is deleted, so nothing to refuse
    one_side_text = format_diff(only_one_side, "local", "onprem")
    assert "dev-a (kubernetes:core/v1:PersistentVolumeClaim): 1 only in local" in one_side_text
    assert "local vs onprem: 0 only in onprem, 1 only in local, 0 different" in one_side_text
    assert "protected" not in one_side_text


# --- force-new fields of the azure-native types Plinth creates (Blob storage) ------------

ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
CONTAINER_SCOPE = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts"


@pytest.mark.parametrize(
    ("type_token", "before", "after", "action"),
    [
        (ACCOUNT, {"accountName": "plinthdev1"}, {"accountName": "plinthdev2"}, "replace"),
        (ACCOUNT, {"kind": "StorageV2"}, {"kind": "BlockBlobStorage"}, "replace"),
        (ACCOUNT, {"location": "westeurope"}, {"location": "northeurope"}, "replace"),
        (ACCOUNT, {"isHnsEnabled": False}, {"isHnsEnabled": True}, "replace"),
        (ACCOUNT, {"minimumTlsVersion": "TLS1_2"}, {"minimumTlsVersion": "TLS1_3"}, "update"),
        (ACCOUNT, {"sku": {"name": "Standard_LRS"}}, {"sku": {"name": "Standard_ZRS"}}, "update"),
        (CONTAINER, {"containerName": "datasets"}, {"containerName": "data"}, "replace"),
        (CONTAINER, {"metadata": {"a": "b"}}, {"metadata": {"a": "c"}}, "update"),
        (
            "azure-native:storage:BlobServiceProperties",
            {"isVersioningEnabled": True},
            {"isVersioningEnabled": False},
            "update",
        ),
        (
            "azure-native:managedidentity:UserAssignedIdentity",
            {"resourceName": "a"},
            {"resourceName": "b"},
            "replace",
        ),
        (
            "azure-native:managedidentity:FederatedIdentityCredential",
            {"subject": "system:serviceaccount:jobs:a"},
            {"subject": "system:serviceaccount:jobs:b"},
            "update",
        ),
        (
            ROLE_ASSIGNMENT,
            {"scope": f"{CONTAINER_SCOPE}/a/blobServices/default/containers/x"},
            {"scope": f"{CONTAINER_SCOPE}/a/blobServices/default/containers/y"},
            "replace",
        ),
        (ROLE_ASSIGNMENT, {"principalId": "p1"}, {"principalId": "p2"}, "replace"),
        (ROLE_ASSIGNMENT, {"roleDefinitionId": "r1"}, {"roleDefinitionId": "r2"}, "replace"),
        (
            "azure-native:authorization:ManagementLockByScope",
            {"level": "CanNotDelete", "scope": "a"},
            {"level": "CanNotDelete", "scope": "b"},
            "replace",
        ),
    ],
)
def test_azure_changes_replace_where_the_provider_forces_a_new_resource(
    type_token: str, before: dict[str, Any], after: dict[str, Any], action: str
) -> None:
    change = only(diff_plans([entry("r", type_token, before)], [entry("r", type_token, after)]))
    assert change.action == action


@pytest.mark.parametrize(
    ("type_token", "before", "after"),
    [
        (ACCOUNT, {"accountName": "plinthdev1"}, {"accountName": "plinthdev2"}),
        (ACCOUNT, {"kind": "StorageV2"}, {"kind": "BlobStorage"}),
        (CONTAINER, {"containerName": "datasets"}, {"containerName": "data"}),
    ],
)
def test_replacing_the_storage_account_or_a_container_loses_data(
    type_token: str, before: dict[str, Any], after: dict[str, Any]
) -> None:
    diff = diff_plans([entry("r", type_token, before)], [entry("r", type_token, after)])
    assert [change.type for change in diff.data_losses] == [type_token]


def test_deleting_a_container_loses_data_but_not_its_role_assignment() -> None:
    container = entry("c", CONTAINER, {"containerName": "datasets"})
    assignment = entry("a", ROLE_ASSIGNMENT, {"principalId": "p"})
    diff = diff_plans([container, assignment], [])
    assert [change.type for change in diff.data_losses] == [CONTAINER]
