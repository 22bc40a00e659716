"""A diff a reviewer can judge: changes grouped by the top-level component they belong to,
the old and new value of every changed path (secrets as [secret]), and for every replaced
resource the field that forces it; in the text and in the JSON report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from plinth.cli import EXIT_STATEFUL_REPLACEMENT
from plinth.diff import PlanDiff, ResourceChange, diff_plans
from plinth.diff_report import diff_document, format_diff
from plinth.plan import component_of
from tests.conftest import ROOT
from tests.plinth.test_cli import local_config, write_environment
from tests.plinth.test_diff import (
    DEPLOYMENT,
    PVC,
    claim_inputs,
    entry,
    only,
    repo,
    run_plinth,
)
from tests.plinth.test_diff_data_loss import AWS_PROVIDER, BUCKET, aws, aws_provider

__all__ = ["repo"]  # the fixture, shared with tests/plinth/test_diff.py

COMPONENT = "plinth:workloads:JobsNamespace"
CHART = "kubernetes:helm.sh/v4:Chart"


def component(name: str = "dev-jobs", type_token: str = COMPONENT) -> dict[str, Any]:
    """A top-level component resource (not custom: it has no provider)."""
    return entry(name, type_token, {}, custom=False, provider="")


def child(
    parent: dict[str, Any], name: str, type_token: str = PVC, **fields: Any
) -> dict[str, Any]:
    return entry(name, type_token, parent=parent["urn"], **fields)


def section(text: str, heading: str) -> list[str]:
    """The lines of `text` under the group heading that starts with `heading`, up to the
    next blank line."""
    lines = text.splitlines()
    (start,) = [i for i, line in enumerate(lines) if line.startswith(heading)]
    end = next((i for i in range(start + 1, len(lines)) if not lines[i]), len(lines))
    return lines[start + 1 : end]


def change_named(diff: PlanDiff, name: str) -> ResourceChange:
    (change,) = [c for c in diff.changes if c.name == name]
    return change


# --- grouped by component ------------------------------------------------------------------


def test_changes_are_grouped_under_their_top_level_component() -> None:
    jobs, spark = component("dev-jobs"), component("dev-spark", "plinth:ml:SparkOperator")
    chart = child(spark, "dev-spark", CHART, inputs={"chart": "spark-operator"}, custom=False)
    deployment = child(chart, "dev-spark:ml/controller", DEPLOYMENT)
    claim = child(jobs, "dev-jobs-volume-datasets")
    before = [
        jobs,
        spark,
        chart,
        deployment | {"inputs": {"spec": {"replicas": 1}}},
        claim,
    ]
    after = [
        jobs,
        spark,
        chart,
        deployment | {"inputs": {"spec": {"replicas": 2}}},
        child(jobs, "dev-jobs-volume-datasets", inputs=claim_inputs(storageClassName="fast")),
        child(jobs, "dev-jobs-volume-scratch"),
    ]
    diff = diff_plans(before, after)
    # A chart's object belongs to the component two levels up.
    assert change_named(diff, "dev-spark:ml/controller").component == "dev-spark"
    assert change_named(diff, "dev-spark:ml/controller").component_type == "plinth:ml:SparkOperator"
    assert [(name, len(changes)) for name, _, changes in diff.by_component()] == [
        ("dev-jobs", 2),
        ("dev-spark", 1),
    ]
    text = format_diff(diff, "dev@main", "dev")
    assert section(text, "dev-spark (plinth:ml:SparkOperator): 1 changed") == [
        "  ~ dev-spark:ml/controller  kubernetes:apps/v1:Deployment",
        "      ~ spec.replicas: 1 -> 2",
    ]
    jobs_lines = section(text, f"dev-jobs ({COMPONENT}): 1 added, 1 replaced")
    assert jobs_lines[0] == f"  + dev-jobs-volume-scratch  {PVC}"
    assert '      ~ spec.storageClassName: "standard" -> "fast"  (forces replacement)' in jobs_lines
    document = diff_document(diff, "dev@main", "dev")
    assert [(c["component"], c["type"], c["summary"]) for c in document["components"]] == [
        ("dev-jobs", COMPONENT, {"added": 1, "removed": 0, "changed": 0, "replaced": 1}),
        (
            "dev-spark",
            "plinth:ml:SparkOperator",
            {"added": 0, "removed": 0, "changed": 1, "replaced": 0},
        ),
    ]
    by_urn = {c["urn"]: c for c in document["changes"]}
    for group in document["components"]:
        assert {by_urn[urn]["component"] for urn in group["changes"]} == {group["component"]}


def test_a_deletion_belongs_to_its_component_on_the_old_side() -> None:
    old_component = component("dev-kafka", "plinth:addons:Kafka")
    topic = child(old_component, "dev-kafka-topic", "kubernetes:core/v1:ConfigMap")
    diff = diff_plans([old_component, topic], [])
    assert {(c.name, c.component, c.component_type) for c in diff.changes} == {
        ("dev-kafka", "dev-kafka", "plinth:addons:Kafka"),
        ("dev-kafka-topic", "dev-kafka", "plinth:addons:Kafka"),
    }
    assert "dev-kafka (plinth:addons:Kafka): 2 removed" in format_diff(diff, "a", "b")


def test_a_top_level_resource_is_its_own_component() -> None:
    diff = diff_plans([aws_provider("eu-west-1")], [aws_provider("eu-west-2")])
    assert (only(diff).component, only(diff).component_type) == ("dev-aws", AWS_PROVIDER)


# --- why a resource is replaced --------------------------------------------------------------


def test_every_replacement_names_the_field_that_forces_it() -> None:
    moved = entry(inputs=claim_inputs(storageClassName="fast", accessModes=["ReadWriteMany"]))
    change = only(diff_plans([entry()], [moved]))
    assert change.action == "replace"
    assert change.reasons == (
        f"spec.accessModes (spec.accessModes[0]) changed, and {PVC} cannot change it in place",
        f"spec.storageClassName changed, and {PVC} cannot change it in place",
    )
    text = format_diff(diff_plans([entry()], [moved]), "a", "b")
    assert (
        f"      replaced: spec.storageClassName changed, and {PVC} cannot change it in place"
        in (text.splitlines())
    )


def test_a_replace_on_changes_replacement_names_the_option() -> None:
    options = ["spec.*"]
    before = entry("d", DEPLOYMENT, {"spec": {"replicas": 1}}, replace_on_changes=options)
    after = entry("d", DEPLOYMENT, {"spec": {"replicas": 2}}, replace_on_changes=options)
    assert only(diff_plans([before], [after])).reasons == (
        'spec.replicas changed, under its replace_on_changes "spec.*"',
    )


def test_many_changed_paths_under_one_field_are_counted() -> None:
    pod = "kubernetes:core/v1:Pod"
    containers = [{"name": f"c{i}", "image": "busybox:1"} for i in range(5)]
    changed = [{**container, "image": "busybox:2"} for container in containers]
    change = only(
        diff_plans(
            [entry("pod", pod, {"spec": {"containers": containers}})],
            [entry("pod", pod, {"spec": {"containers": changed}})],
        )
    )
    (reason,) = change.reasons
    assert reason.startswith("spec.containers[*].image (spec.containers[0].image, ")
    assert "and 2 more) changed" in reason


def test_replacements_of_every_kind_carry_a_reason() -> None:
    """Whatever forces it (a field, the provider, a rename, a replaced dependency), no
    replacement is listed without saying why."""
    vpc = aws("dev-network", "aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16"})
    subnet = aws(
        "dev-net-a",
        "aws:ec2/subnet:Subnet",
        {"vpcId": "dev-network-id"},
        dependencies=[vpc["urn"]],
    )
    bucket = aws("dev-storage-datasets", BUCKET, {"forceDestroy": False})
    before = [aws_provider("eu-west-1"), vpc, subnet, bucket, entry()]
    after = [
        aws_provider("eu-central-1"),
        vpc | {"inputs": {"cidrBlock": "10.1.0.0/16"}},
        subnet,
        bucket,
        entry("dev-jobs-volume-data"),  # renamed without an alias
    ]
    diff = diff_plans(before, after)
    replaced = diff.of("replace")
    assert {change.name for change in replaced} >= {
        "dev-network",
        "dev-net-a",
        "dev-jobs-volume-data",
    }
    assert all(change.reasons for change in replaced)


# --- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("plain-context", "[secret:plinth:cluster.context]"),
        ("[secret:plinth:cluster.context]", "other"),
        ("https://x:[secret:plinth:cluster.kubeconfig]@y", "https://x:z@y"),
        ("plain", "prefix [secret] suffix"),
    ],
)
def test_values_from_secret_config_keys_print_as_secret(old: str, new: str) -> None:
    """Offline, a value of a key set with --secret is `[secret:<key>]`; where one reached an
    input without being made a Pulumi secret, both sides still print as [secret]."""
    provider = "pulumi:providers:kubernetes"
    diff = diff_plans(
        [entry("dev-existing", provider, {"context": old})],
        [entry("dev-existing", provider, {"context": new})],
    )
    (path,) = only(diff).paths
    assert (path.before, path.after) == ("[secret]", "[secret]")
    shown = format_diff(diff, "a", "b") + json.dumps(diff_document(diff, "a", "b"))
    for side in (old, new):
        assert side not in shown


def test_a_secret_region_is_not_printed_in_the_reason() -> None:
    bucket = aws("dev-storage-datasets", BUCKET, {"forceDestroy": False})
    diff = diff_plans(
        [aws_provider("eu-west-1"), bucket], [aws_provider("[secret:aws:region]"), bucket]
    )
    (reason,) = change_named(diff, "dev-storage-datasets").reasons
    assert "eu-west-1" not in reason
    assert "[secret]" in reason


def test_a_secret_setting_prints_as_secret_in_plinth_diff(tmp_path: Path) -> None:
    """End to end: an environment whose kubeconfig context is set with --secret (a
    `secure:` value) against one with it in clear."""
    cluster = local_config()["plinth:cluster"]
    assert isinstance(cluster, dict)
    sealed = {**local_config(), "plinth:cluster": {**cluster, "context": {"secure": "v1:Y2lwaGVy"}}}
    write_environment(tmp_path, "plain", local_config())
    write_environment(tmp_path, "sealed", sealed)
    (tmp_path / "stacks").symlink_to(ROOT / "stacks")
    result = run_plinth("diff", "plain", "sealed", project=tmp_path)
    assert result.returncode == 0, result.stderr
    provider = section(result.stdout, "sealed-existing (pulumi:providers:kubernetes):")
    assert '      ~ context: "[secret]" -> "[secret]"  (cannot change in place)' in provider
    assert "v1:Y2lwaGVy" not in result.stdout
    assert cluster["context"] not in result.stdout


# --- end to end: a node pool's size --------------------------------------------------------


def test_a_node_pools_max_size_shows_old_and_new_under_its_component(
    repo: Path, tmp_path: Path
) -> None:
    path = repo / "environments" / "Pulumi.dev.yaml"
    document = yaml.safe_load(path.read_text())
    pool = document["config"]["plinth:node_pools"]["gpu"]
    old_size = pool["max_size"]
    pool["max_size"] = old_size + 1
    path.write_text(yaml.safe_dump(document))

    text = run_plinth("diff", "dev", "--rev", "HEAD", project=repo)
    as_json = run_plinth("diff", "dev", "--rev", "HEAD", "--format", "json", project=repo)
    assert text.returncode == as_json.returncode == 0, text.stderr + as_json.stderr
    # The pool's component, from the plan: the top-level ancestor of its node group.
    synth = run_plinth("synth", "dev", "--out", str(tmp_path / "plan"), project=repo)
    assert synth.returncode == 0, synth.stderr
    entries = json.loads((tmp_path / "plan" / "plan.json").read_text())["resources"]
    by_urn = {entry["urn"]: entry for entry in entries}
    (group,) = [
        e
        for e in entries
        if e["type"] == "aws:eks/nodeGroup:NodeGroup"
        and e["inputs"]["labels"].get("plinth.io/node-pool") == "gpu"
    ]
    top = by_urn[component_of(entries)[group["urn"]]]

    lines = section(text.stdout, f"{top['name']} ({top['type']}):")
    assert f"      ~ scalingConfig.maxSize: {old_size} -> {old_size + 1}" in lines
    document = json.loads(as_json.stdout)
    (change,) = [c for c in document["changes"] if c["urn"] == group["urn"]]
    assert change["component"] == top["name"]
    assert {
        "path": "scalingConfig.maxSize",
        "change": "changed",
        "replaces": False,
        "before": old_size,
        "after": old_size + 1,
    } in change["paths"]
    (listed,) = [c for c in document["components"] if c["component"] == top["name"]]
    assert group["urn"] in listed["changes"]


def test_a_replaced_volume_says_which_field_forces_it(repo: Path) -> None:
    path = repo / "environments" / "Pulumi.local.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["plinth:jobs"]["volumes"]["datasets"]["storage_class"] = "fast-ssd"
    path.write_text(yaml.safe_dump(document))
    result = run_plinth("diff", "local", "--rev", "HEAD", project=repo)
    assert result.returncode == EXIT_STATEFUL_REPLACEMENT, result.stderr
    assert (
        f"      replaced: spec.storageClassName changed, and {PVC} cannot change it in place"
        in result.stdout.splitlines()
    )
