"""`plinth diff`: the pure comparison of plans, and the command on environments and revisions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.jobs_namespace import COMPONENT as JOBS_NAMESPACE
from plinth.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_STATEFUL_REPLACEMENT
from plinth.diff import PlanDiff, ResourceChange, align_environment, diff_plans
from plinth.diff_report import diff_document, format_diff
from plinth.engine import make_urn
from plinth.environments import load_environment
from plinth.replacement import format_path, parse_path
from stacks.config import PlatformConfig
from targets.existing.args import ExistingCluster
from tests.conftest import ROOT

PVC = "kubernetes:core/v1:PersistentVolumeClaim"
SERVICE = "kubernetes:core/v1:Service"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
COMPONENT = "plinth:workloads:JobsNamespace"
PROVIDER = "pulumi:providers:kubernetes"
STACK = "urn:pulumi:dev::plinth::pulumi:pulumi:Stack::plinth-dev"
PROVIDER_URN = make_urn("dev", "plinth", STACK, PROVIDER, "dev-existing")


def claim_inputs(**spec: Any) -> dict[str, Any]:
    """A claim's inputs as the plan records them (camelCase, as sent to the engine)."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "datasets", "namespace": "ml-jobs", "labels": {"plinth.io/a": "b"}},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "5Gi"}},
            "storageClassName": "standard",
            **spec,
        },
    }


def entry(
    name: str = "dev-jobs-volume-datasets",
    type_token: str = PVC,
    inputs: dict[str, Any] | None = None,
    parent: str = STACK,
    **options: Any,
) -> dict[str, Any]:
    """One plan entry: the valid default is a claim; keyword arguments change options."""
    kubernetes = type_token.startswith("kubernetes:")
    return {
        "urn": make_urn("dev", "plinth", parent, type_token, name),
        "type": type_token,
        "name": name,
        "parent": parent,
        "custom": True,
        "remote": False,
        "provider": f"{PROVIDER_URN}::dev-existing-id" if kubernetes else "",
        "providers": {},
        "dependencies": [],
        "protect": False,
        "retain_on_delete": False,
        "delete_before_replace": False,
        "ignore_changes": [],
        "replace_on_changes": [],
        "aliases": [],
        "inputs": claim_inputs() if inputs is None else inputs,
        **options,
    }


def provider(**inputs: Any) -> dict[str, Any]:
    return entry("dev-existing", PROVIDER, {"context": "kind-plinth", **inputs})


def only(diff: PlanDiff) -> ResourceChange:
    assert len(diff.changes) == 1, diff.changes
    return diff.changes[0]


def paths(change: ResourceChange) -> dict[str, bool]:
    """Changed path -> whether it forces replacement."""
    return {path.path: path.replaces for path in change.paths}


# --- the pure comparison ---------------------------------------------------------------


def test_identical_plans_have_no_changes() -> None:
    assert diff_plans([provider(), entry()], [provider(), entry()]).changes == ()


def test_added_and_removed_resources() -> None:
    old, new = entry("dev-a"), entry("dev-b", SERVICE, {"spec": {"type": "ClusterIP"}})
    diff = diff_plans([old], [new])
    assert [(c.action, c.urn) for c in diff.changes] == [
        ("create", new["urn"]),
        ("delete", old["urn"]),
    ]
    deleted = diff.of("delete")[0]
    assert deleted.stateful
    assert diff.stateful_replacements == ()  # a deletion is not a replacement...
    assert diff.data_losses == (deleted,)  # ...but it deletes the claim's data


def test_expanding_a_claim_is_an_update_in_place() -> None:
    before = entry()
    after = entry(inputs=claim_inputs(resources={"requests": {"storage": "10Gi"}}))
    change = only(diff_plans([before], [after]))
    assert change.action == "update"
    assert paths(change) == {"spec.resources.requests.storage": False}
    assert any("expanded in place" in note for note in change.notes)
    assert not change.loses_data


def test_changing_a_claims_storage_class_replaces_it_and_loses_its_data() -> None:
    after = entry(inputs=claim_inputs(storageClassName="ceph-rbd"))
    diff = diff_plans([entry()], [after])
    change = only(diff)
    assert change.action == "replace"
    assert paths(change) == {"spec.storageClassName": True}
    assert change.delete_first  # same name and namespace: the old claim goes first
    assert diff.stateful_replacements == (change,)


@pytest.mark.parametrize(
    "spec",
    [{"accessModes": ["ReadWriteMany"]}, {"volumeName": "pv-1"}, {"selector": {}}],
    ids=["access-mode", "volume-name", "selector"],
)
def test_immutable_claim_fields_replace(spec: dict[str, Any]) -> None:
    change = only(diff_plans([entry()], [entry(inputs=claim_inputs(**spec))]))
    assert change.action == "replace"


def test_moving_an_object_to_another_namespace_replaces_it_created_first() -> None:
    inputs = claim_inputs()
    inputs["metadata"] = {**inputs["metadata"], "namespace": "other"}
    change = only(diff_plans([entry()], [entry(inputs=inputs)]))
    assert paths(change) == {"metadata.namespace": True}
    assert change.action == "replace"
    assert not change.delete_first


def test_a_label_change_is_an_update_with_a_quoted_path() -> None:
    inputs = claim_inputs()
    inputs["metadata"] = {**inputs["metadata"], "labels": {"plinth.io/a": "c"}}
    change = only(diff_plans([entry()], [entry(inputs=inputs)]))
    assert paths(change) == {'metadata.labels["plinth.io/a"]': False}
    assert change.action == "update"


def test_ignore_changes_hides_changes_below_the_ignored_path() -> None:
    before = entry(ignore_changes=["spec"])
    after = entry(inputs=claim_inputs(storageClassName="ceph-rbd"), ignore_changes=["spec"])
    assert diff_plans([before], [after]).changes == ()


def test_replace_on_changes_turns_an_update_into_a_replacement() -> None:
    grown = claim_inputs(resources={"requests": {"storage": "10Gi"}})
    after = entry(inputs=grown, replace_on_changes=["spec.resources"])
    change = only(diff_plans([entry()], [after]))
    assert change.action == "replace"
    assert paths(change) == {"spec.resources.requests.storage": True}


def test_replace_on_changes_star_replaces_on_any_change() -> None:
    before = entry("dev-svc", SERVICE, {"data": {"a": "1"}})
    after = entry("dev-svc", SERVICE, {"data": {"a": "2"}})
    assert only(diff_plans([before], [after])).action == "update"
    after["replace_on_changes"] = ["*"]
    assert only(diff_plans([before], [after])).action == "replace"


def test_delete_before_replace_option_deletes_first() -> None:
    inputs = claim_inputs()
    inputs["metadata"] = {**inputs["metadata"], "name": "renamed"}
    plain = only(diff_plans([entry()], [entry(inputs=inputs)]))
    assert not plain.delete_first
    forced = only(diff_plans([entry()], [entry(inputs=inputs, delete_before_replace=True)]))
    assert forced.delete_first


def test_a_rename_without_alias_is_a_replacement() -> None:
    old, new = entry("dev-jobs-volume-datasets"), entry("dev-jobs-claim-datasets")
    diff = diff_plans([old], [new])
    change = only(diff)
    assert change.action == "replace"
    assert change.previous_urn == old["urn"]
    assert "without an alias" in change.reasons[0]
    assert diff.stateful_replacements == (change,)


def test_a_rename_with_an_alias_keeps_the_resource() -> None:
    old = entry("dev-jobs-volume-datasets")
    alias = json.dumps({"spec": {"name": "dev-jobs-volume-datasets", "parentUrn": ""}})
    new = entry("dev-jobs-claim-datasets", aliases=[alias])
    change = only(diff_plans([old], [new]))
    assert change.action == "update"
    assert change.previous_urn == old["urn"]
    assert change.paths == ()


def test_an_alias_by_urn_keeps_the_resource() -> None:
    old = entry("dev-old")
    new = entry("dev-new", aliases=[json.dumps({"urn": old["urn"]})])
    assert only(diff_plans([old], [new])).action == "update"


def test_children_inherit_their_renamed_parents_alias() -> None:
    old_parent = entry("dev-jobs", COMPONENT, {}, custom=False)
    old_child = entry(
        "dev-jobs-quota", "kubernetes:core/v1:ResourceQuota", parent=old_parent["urn"]
    )
    alias = json.dumps({"spec": {"name": "dev-jobs", "parentUrn": ""}})
    new_parent = entry("dev-work", COMPONENT, {}, custom=False, aliases=[alias])
    new_child = entry(
        "dev-work-quota", "kubernetes:core/v1:ResourceQuota", parent=new_parent["urn"]
    )
    diff = diff_plans([old_parent, old_child], [new_parent, new_child])
    assert {(c.action, c.previous_urn) for c in diff.changes} == {
        ("update", old_parent["urn"]),
        ("update", old_child["urn"]),
    }


def test_a_replaced_provider_replaces_what_it_manages() -> None:
    before = [provider(), entry()]
    after = [provider(context="onprem-prod"), entry()]
    diff = diff_plans(before, after)
    claim = next(c for c in diff.changes if c.type == PVC)
    assert claim.action == "replace"
    assert "provider is replaced" in claim.reasons[0]
    assert claim.loses_data
    between = diff_plans(before, after, between_environments=True)
    assert all(c.type == PROVIDER for c in between.changes)
    assert between.data_losses == ()


def test_an_unchanged_cluster_identifier_keeps_the_provider() -> None:
    before = [provider(clusterIdentifier="prod"), entry()]
    after = [provider(clusterIdentifier="prod", context="renamed-context"), entry()]
    change = only(diff_plans(before, after))
    assert change.type == PROVIDER
    assert change.action == "update"


def test_protected_and_retained_replacements_say_so() -> None:
    before = entry(protect=True, retain_on_delete=True)
    after = entry(inputs=claim_inputs(storageClassName="x"), protect=True, retain_on_delete=True)
    notes = " ".join(only(diff_plans([before], [after])).notes)
    assert "refuses to replace" in notes
    assert "left in place" in notes


def test_option_changes_are_listed() -> None:
    change = only(diff_plans([entry()], [entry(protect=True)]))
    assert change.action == "update"
    assert change.options == ("protect: false -> true",)


@pytest.mark.parametrize(
    ("type_token", "inputs", "changed", "action"),
    [
        ("aws:s3/bucket:Bucket", {"bucket": "a"}, {"bucket": "b"}, "replace"),
        ("aws:s3/bucketV2:BucketV2", {"bucketPrefix": "a"}, {"bucketPrefix": "b"}, "replace"),
        ("aws:s3/bucket:Bucket", {"tags": {"a": "1"}}, {"tags": {"a": "2"}}, "update"),
        ("aws:s3/bucket:Bucket", {"region": "eu-west-1"}, {"region": "us-east-1"}, "replace"),
        (
            "aws:kms/key:Key",
            {"keyUsage": "ENCRYPT_DECRYPT"},
            {"keyUsage": "SIGN_VERIFY"},
            "replace",
        ),
        ("aws:kms/key:Key", {"description": "a"}, {"description": "b"}, "update"),
        ("aws:rds/instance:Instance", {"engine": "postgres"}, {"engine": "mysql"}, "replace"),
        ("aws:rds/instance:Instance", {"identifier": "a"}, {"identifier": "b"}, "update"),
        ("aws:rds/instance:Instance", {"allocatedStorage": 20}, {"allocatedStorage": 40}, "update"),
        (
            "aws:rds/cluster:Cluster",
            {"engine": "aurora-postgresql", "storageType": ""},
            {"engine": "aurora-postgresql", "storageType": "aurora-iopt1"},
            "update",
        ),
        (
            "aws:rds/cluster:Cluster",
            {"engine": "postgres", "storageType": "io1"},
            {"engine": "postgres", "storageType": "gp3"},
            "replace",
        ),
        ("aws:ebs/volume:Volume", {"size": 10}, {"size": 20}, "update"),
        ("aws:ebs/volume:Volume", {"encrypted": False}, {"encrypted": True}, "replace"),
        (
            "aws:efs/fileSystem:FileSystem",
            {"performanceMode": "a"},
            {"performanceMode": "b"},
            "replace",
        ),
        ("azure-native:storage:StorageAccount", {"location": "a"}, {"location": "b"}, "replace"),
        ("azure-native:storage:StorageAccount", {"tags": {"a": "1"}}, {"tags": {}}, "update"),
        (
            "azure-native:storage:BlobContainer",
            {"containerName": "a"},
            {"containerName": "b"},
            "replace",
        ),
        ("azure-native:keyvault:Vault", {"vaultName": "a"}, {"vaultName": "b"}, "replace"),
        ("azure-native:keyvault:Key", {"keyName": "a"}, {"keyName": "b"}, "replace"),
        ("aws:dynamodb/table:Table", {"hashKey": "id"}, {"hashKey": "pk"}, "replace"),
        ("aws:dynamodb/table:Table", {"readCapacity": 5}, {"readCapacity": 10}, "update"),
        (
            "azure-native:dbforpostgresql:Server",
            {"serverName": "a"},
            {"serverName": "b"},
            "replace",
        ),
    ],
)
def test_cloud_provider_rules(
    type_token: str, inputs: dict[str, Any], changed: dict[str, Any], action: str
) -> None:
    diff = diff_plans([entry("r", type_token, inputs)], [entry("r", type_token, changed)])
    change = only(diff)
    assert change.action == action
    assert change.stateful
    assert change.loses_data == (action == "replace")


@pytest.mark.parametrize(
    ("kind", "provider_inputs", "action"),
    [
        ("Secret", {}, "replace"),
        ("ConfigMap", {}, "replace"),
        ("ConfigMap", {"enableConfigMapMutable": "true"}, "update"),
    ],
)
def test_kubernetes_data_objects_follow_the_provider_setting(
    kind: str, provider_inputs: dict[str, Any], action: str
) -> None:
    type_token = f"kubernetes:core/v1:{kind}"
    before = [provider(**provider_inputs), entry("d", type_token, {"data": {"a": "1"}})]
    after = [provider(**provider_inputs), entry("d", type_token, {"data": {"a": "2"}})]
    change = only(diff_plans(before, after))
    assert change.action == action
    assert not change.stateful


def test_a_deployment_selector_replaces_but_its_replicas_do_not() -> None:
    spec = {"replicas": 1, "selector": {"matchLabels": {"app": "a"}}}
    before = entry("dep", DEPLOYMENT, {"spec": spec})
    replicas = entry("dep", DEPLOYMENT, {"spec": {**spec, "replicas": 2}})
    selector = entry("dep", DEPLOYMENT, {"spec": {**spec, "selector": {"matchLabels": {}}}})
    assert only(diff_plans([before], [replicas])).action == "update"
    assert only(diff_plans([before], [selector])).action == "replace"


def test_numbers_compare_by_value_and_booleans_do_not() -> None:
    before = entry("svc", SERVICE, {"a": 2, "b": True})
    assert diff_plans([before], [entry("svc", SERVICE, {"a": 2.0, "b": True})]).changes == ()
    assert only(diff_plans([before], [entry("svc", SERVICE, {"a": 2, "b": 1})]))


@pytest.mark.parametrize(
    "text", ["spec.storageClassName", 'metadata.labels["plinth.io/a"]', "spec.accessModes[0]"]
)
def test_property_paths_print_as_pulumi_prints_them(text: str) -> None:
    assert format_path(parse_path(text)) == text


def test_align_environment_renames_identity_but_not_inputs() -> None:
    local = [
        {
            **entry("local-jobs"),
            "urn": "urn:pulumi:local::plinth::pulumi:pulumi:Stack$x:y:Z::local-jobs",
            "parent": "urn:pulumi:local::plinth::pulumi:pulumi:Stack::plinth-local",
            "provider": "urn:pulumi:local::plinth::pulumi:providers:kubernetes::local-k::k-id",
            "inputs": {"env": "local", "ref": "urn:pulumi:local::plinth::x:y:Z::local-other"},
        }
    ]
    (aligned,) = align_environment(local, "local", "onprem")
    assert aligned["urn"] == "urn:pulumi:onprem::plinth::pulumi:pulumi:Stack$x:y:Z::onprem-jobs"
    assert aligned["parent"] == "urn:pulumi:onprem::plinth::pulumi:pulumi:Stack::plinth-onprem"
    assert aligned["provider"].endswith("::onprem-k::k-id")
    assert aligned["name"] == "onprem-jobs"
    assert aligned["inputs"]["env"] == "local"
    assert aligned["inputs"]["ref"] == "urn:pulumi:onprem::plinth::x:y:Z::onprem-other"


def test_reports_call_out_stateful_replacements() -> None:
    diff = diff_plans([entry()], [entry(inputs=claim_inputs(storageClassName="x"))])
    text = format_diff(diff, "dev@main", "dev")
    assert "STATEFUL REPLACEMENT" in text
    assert '~ spec.storageClassName: "standard" -> "x"  (forces replacement)' in text
    document = diff_document(diff, "dev@main", "dev")
    assert document["stateful_replacements"] == [entry()["urn"]]
    assert document["data_loss"] == [entry()["urn"]]
    assert document["summary"] == {"added": 0, "removed": 0, "changed": 0, "replaced": 1}
    assert document["changes"][0]["loses_data"] is True
    assert "no changes" in format_diff(PlanDiff(), "a", "b")


# --- the command -----------------------------------------------------------------------


def existing(platform: PlatformConfig) -> ExistingCluster:
    assert isinstance(platform.cluster, ExistingCluster)
    return platform.cluster


def run_plinth(*args: str, project: Path) -> subprocess.CompletedProcess[str]:
    """`python -m plinth.cli ARGS` in `project`, with that project's own code."""
    return subprocess.run(
        [sys.executable, "-m", "plinth.cli", *args],
        cwd=project,
        env={**os.environ, "PLINTH_PROJECT_DIR": str(project)},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_two_environments_compare_resource_by_resource() -> None:
    result = run_plinth("diff", "local", "onprem", "--format", "json", project=ROOT)
    document = json.loads(result.stdout)
    changes = {c["urn"]: c for c in document["changes"]}
    # local's resources are matched with onprem's: a namespace is changed, not replaced
    # (the clusters differ by design, so the provider change is not followed).
    namespace = next(
        c
        for c in changes.values()
        if c["name"] == "onprem-jobs" and c["type"].endswith("Namespace")
    )
    assert namespace["action"] == "update"
    assert {p["path"] for p in namespace["paths"]} >= {'metadata.labels["plinth.io/environment"]'}
    local, onprem = (load_environment(ROOT, name).platform for name in ("local", "onprem"))
    volume = next(c for c in changes.values() if c["type"] == PVC)
    storage_classes = [
        platform.args(JOBS_NAMESPACE).volumes["datasets"].storage_class
        or existing(platform).default_storage_class
        for platform in (local, onprem)
    ]
    if storage_classes[0] != storage_classes[1]:
        assert {
            "path": "spec.storageClassName",
            "change": "changed",
            "replaces": True,
            "before": storage_classes[0],
            "after": storage_classes[1],
        } in volume["paths"]
    # Two environments are two deployments: nothing is replaced, nothing is lost.
    assert document["comparison"] == "environments"
    assert {c["action"] for c in changes.values()} <= {"create", "delete", "update"}
    assert document["data_loss"] == []
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "args", [("diff", "local"), ("diff", "local", "onprem", "--rev", "HEAD")], ids=str
)
def test_diff_needs_exactly_one_thing_to_compare_with(args: tuple[str, ...]) -> None:
    result = run_plinth(*args, project=ROOT)
    assert result.returncode == EXIT_BAD_INPUT
    assert "--rev" in one_error_line(result)


Git = Callable[..., str]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding this checkout's files (tracked and new), committed once."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    project = tmp_path / "project"
    for relative in filter(None, listed.split("\0")):
        source = ROOT / relative
        if source.is_file():
            (project / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, project / relative)
    git(project, "init", "--quiet")
    commit(project, "base")
    return project


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def commit(project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "--no-verify", "-m", message)


def edit_local_volume(project: Path, **changes: Any) -> None:
    path = project / "environments" / "Pulumi.local.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["plinth:jobs"]["volumes"]["datasets"].update(changes)
    path.write_text(yaml.safe_dump(document))


def edit_file(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} no longer contains {old!r}: update this test"
    path.write_text(text.replace(old, new))


def claim_change(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    document = json.loads(result.stdout)
    (change,) = [c for c in document["changes"] if c["type"] == PVC]
    assert isinstance(change, dict)
    return change


def test_rev_flags_a_storage_class_change_as_a_stateful_replacement(repo: Path) -> None:
    edit_local_volume(repo, storage_class="fast-ssd")
    result = run_plinth("diff", "local", "--rev", "HEAD", "--format", "json", project=repo)
    assert result.returncode == EXIT_STATEFUL_REPLACEMENT, result.stderr
    change = claim_change(result)
    assert change["action"] == "replace"
    assert change["loses_data"] is True
    assert {
        "path": "spec.storageClassName",
        "change": "changed",
        "replaces": True,
        "before": existing(load_environment(ROOT, "local").platform).default_storage_class,
        "after": "fast-ssd",
    } in change["paths"]
    assert json.loads(result.stdout)["stateful_replacements"] == [change["urn"]]


def test_rev_expands_a_volume_in_place(repo: Path) -> None:
    edit_local_volume(repo, size_gib=50)
    result = run_plinth("diff", "local", "--rev", "HEAD", "--format", "json", project=repo)
    assert result.returncode == 0, result.stderr
    change = claim_change(result)
    assert change["action"] == "update"
    assert change["paths"] == [
        {
            "path": "spec.resources.requests.storage",
            "change": "changed",
            "replaces": False,
            "before": "5Gi",
            "after": "50Gi",
        }
    ]


def test_rev_flags_a_renamed_volume_unless_it_carries_an_alias(repo: Path) -> None:
    component = repo / "components" / "jobs_namespace" / "component.py"
    edit_file(component, 'f"{name}-volume-{key}",', 'f"{name}-data-{key}",')
    result = run_plinth("diff", "local", "--rev", "HEAD", project=repo)
    assert result.returncode == EXIT_STATEFUL_REPLACEMENT, result.stderr
    assert "without an alias" in result.stdout
    assert "STATEFUL REPLACEMENT: local-jobs-data-datasets" in result.stdout

    edit_file(
        component,
        "stateful = data_options(cluster.protect_stateful)",
        "stateful = pulumi.ResourceOptions.merge(data_options(cluster.protect_stateful), "
        'pulumi.ResourceOptions(aliases=[pulumi.Alias(name=f"{name}-volume-{key}")]))',
    )
    result = run_plinth("diff", "local", "--rev", "HEAD", "--format", "json", project=repo)
    assert result.returncode == 0, result.stderr
    change = claim_change(result)
    assert change["action"] == "update"
    assert change["previous_urn"].endswith("::local-jobs-volume-datasets")


def test_rev_errors_are_one_line(repo: Path, tmp_path: Path) -> None:
    unknown = run_plinth("diff", "local", "--rev", "no-such-branch", project=repo)
    assert unknown.returncode == EXIT_BAD_INPUT
    assert "unknown git revision 'no-such-branch'" in one_error_line(unknown)

    shutil.copy(
        repo / "environments" / "Pulumi.local.yaml", repo / "environments" / "Pulumi.new.yaml"
    )
    missing = run_plinth("diff", "new", "--rev", "HEAD", project=repo)
    assert missing.returncode == EXIT_BAD_INPUT
    assert "Pulumi.new.yaml does not exist at HEAD" in one_error_line(missing)

    plain = tmp_path / "plain"
    shutil.copytree(repo, plain, ignore=shutil.ignore_patterns(".git"))
    not_git = run_plinth("diff", "local", "--rev", "HEAD", project=plain)
    assert not_git.returncode == EXIT_BAD_INPUT
    assert "not a git repository" in one_error_line(not_git)


def test_rev_reports_the_other_revisions_failure(repo: Path) -> None:
    path = repo / "environments" / "Pulumi.local.yaml"
    good = path.read_text()
    edit_local_volume(repo, size_gib=0)
    commit(repo, "a volume of no size")
    path.write_text(good)
    result = run_plinth("diff", "local", "--rev", "HEAD", project=repo)
    assert result.returncode == EXIT_FAILED
    line = one_error_line(result)
    assert line.startswith("plinth: error: local at HEAD: plinth synth failed:")
    assert "size_gib" in line


def test_renaming_the_prod_storage_component_replaces_buckets_and_keys_unless_aliased(
    repo: Path,
) -> None:
    edit_file(
        repo / "components" / "object_storage" / "__init__.py", 'name="storage",', 'name="data",'
    )
    result = run_plinth("diff", "prod", "--rev", "HEAD", "--format", "json", project=repo)
    assert result.returncode == EXIT_STATEFUL_REPLACEMENT, result.stderr
    document = json.loads(result.stdout)
    replaced = {
        c["type"] for c in document["changes"] if c["action"] == "replace" and c["loses_data"]
    }
    assert {"aws:s3/bucket:Bucket", "aws:kms/key:Key"} <= replaced

    # Recording the old name in the migrations place moves everything in place.
    edit_file(
        repo / "stacks" / "migrations.py",
        "RENAMED: dict[str, tuple[str, ...]] = {}",
        'RENAMED: dict[str, tuple[str, ...]] = {"prod-data": ("prod-storage",)}',
    )
    result = run_plinth("diff", "prod", "--rev", "HEAD", "--format", "json", project=repo)
    assert result.returncode == 0, result.stdout
    document = json.loads(result.stdout)
    buckets = [c for c in document["changes"] if c["type"] == "aws:s3/bucket:Bucket"]
    assert buckets, "the buckets moved to their new names"
    assert {c["action"] for c in buckets} == {"update"}
    assert all(c["previous_urn"].split("::")[-1].startswith("prod-storage-") for c in buckets)
    assert document["stateful_replacements"] == []


def test_rev_sees_a_change_to_a_target(repo: Path) -> None:
    """The other revision synthesizes with its own targets/ (not the work tree's)."""
    edit_file(
        repo / "targets" / "eks" / "control_plane.py",
        "deletion_window_in_days=30,",
        "deletion_window_in_days=7,",
    )
    result = run_plinth("diff", "prod", "--rev", "HEAD", "--format", "json", project=repo)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    keys = [c for c in document["changes"] if c["urn"].endswith("::prod-eks-secrets")]
    (key,) = [c for c in keys if c["type"] == "aws:kms/key:Key"]
    assert key["action"] == "update"
    assert [(p["path"], p["before"], p["after"]) for p in key["paths"]] == [
        ("deletionWindowInDays", 30, 7)
    ]
