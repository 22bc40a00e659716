"""`plinth diff ENV --rev REV` end to end, in a throwaway git repository of this checkout:
a new region, a deleted volume, a volume renamed and resized, and the old revision's code
running alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from plinth.cli import EXIT_BAD_INPUT, EXIT_STATEFUL_REPLACEMENT
from tests.plinth.test_diff import PVC, commit, edit_file, repo, run_plinth

__all__ = ["repo"]  # the fixture, shared with tests/plinth/test_diff.py


def edit_config(
    project: Path, environment: str, key: str, edit: Callable[[dict[str, Any]], None]
) -> None:
    """Apply `edit` to the `plinth:<key>` mapping of an environment file."""
    path = environment_file(project, environment)
    document = yaml.safe_load(path.read_text())
    edit(document["config"][f"plinth:{key}"])
    path.write_text(yaml.safe_dump(document))


def environment_file(project: Path, environment: str) -> Path:
    return project / "environments" / f"Pulumi.{environment}.yaml"


def diff_json(project: Path, environment: str) -> tuple[int, dict[str, Any]]:
    result = run_plinth("diff", environment, "--rev", "HEAD", "--format", "json", project=project)
    assert result.stdout, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, document


def test_a_new_region_replaces_the_buckets_and_keys(repo: Path) -> None:
    old_region = yaml.safe_load(environment_file(repo, "prod").read_text())["config"][
        "plinth:cluster"
    ]["region"]

    def move(cluster: dict[str, Any]) -> None:
        cluster["region"] = "eu-central-1"
        cluster["availability_zones"] = [f"eu-central-1{zone}" for zone in "abc"]

    edit_config(repo, "prod", "cluster", move)
    code, document = diff_json(repo, "prod")
    assert code == EXIT_STATEFUL_REPLACEMENT
    lost = {c["type"] for c in document["changes"] if c["urn"] in document["data_loss"]}
    assert {"aws:s3/bucket:Bucket", "aws:kms/key:Key"} <= lost
    bucket = next(c for c in document["changes"] if c["type"] == "aws:s3/bucket:Bucket")
    assert any(old_region in reason and "region" in reason for reason in bucket["reasons"])
    roles = [c for c in document["changes"] if c["type"] == "aws:iam/role:Role"]
    assert all(c["action"] != "replace" for c in roles)  # IAM is global


def test_a_new_vpc_cidr_replaces_the_network_and_the_node_groups_on_it(repo: Path) -> None:
    edit_config(repo, "dev", "cluster", lambda cluster: cluster.update(vpc_cidr="10.99.0.0/16"))
    code, document = diff_json(repo, "dev")
    assert code == 0  # nothing on the network holds data
    actions: dict[str, set[str]] = {}
    for change in document["changes"]:
        actions.setdefault(change["type"], set()).add(change["action"])
    replaced = {"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/routeTable:RouteTable"}
    replaced |= {"aws:ec2/natGateway:NatGateway", "aws:eks/nodeGroup:NodeGroup"}
    assert all(actions[type_token] == {"replace"} for type_token in replaced), actions
    assert actions["aws:eks/cluster:Cluster"] == {"update"}


def test_removing_a_volume_deletes_its_data_unless_the_migration_is_recorded(repo: Path) -> None:
    edit_config(repo, "local", "jobs", lambda jobs: jobs.update(volumes={}))
    result = run_plinth("diff", "local", "--rev", "HEAD", project=repo)
    assert result.returncode == EXIT_STATEFUL_REPLACEMENT, result.stderr
    assert "STATEFUL DELETION: local-jobs-volume-datasets" in result.stdout

    edit_file(
        repo / "stacks" / "migrations.py",
        "DATA_MIGRATED: dict[str, str] = {}",
        'DATA_MIGRATED: dict[str, str] = {"local-jobs-volume-datasets": "scratch data only"}',
    )
    code, document = diff_json(repo, "local")
    assert code == 0
    (deleted,) = [c for c in document["changes"] if c["type"] == PVC]
    assert deleted["action"] == "delete"
    assert deleted["migrated"] == "scratch data only"


def test_a_volume_renamed_and_resized_is_recognised_and_replaced(repo: Path) -> None:
    def rename_and_grow(jobs: dict[str, Any]) -> None:
        jobs["volumes"]["data"] = {**jobs["volumes"].pop("datasets"), "size_gib": 10}

    edit_config(repo, "local", "jobs", rename_and_grow)
    code, document = diff_json(repo, "local")
    assert code == EXIT_STATEFUL_REPLACEMENT
    (claim,) = [c for c in document["changes"] if c["type"] == PVC]
    assert claim["action"] == "replace"
    assert claim["previous_urn"].endswith("::local-jobs-volume-datasets")
    storage = next(p for p in claim["paths"] if p["path"] == "spec.resources.requests.storage")
    assert storage["after"] == "10Gi"


def test_the_old_revision_runs_its_own_code_only(repo: Path) -> None:
    # The old revision has no plinth/preflight.py, which this checkout (the editable
    # install's source) has, and its program fails if that module can be imported.
    module = repo / "plinth" / "preflight.py"
    kept = module.read_text()
    module.unlink()
    program = repo / "stacks" / "__main__.py"
    current_program = program.read_text()
    program.write_text(
        "import importlib.util\n"
        'if importlib.util.find_spec("plinth.preflight") is not None:\n'
        '    raise SystemExit("plinth.preflight came from outside this revision")\n'
        + current_program
    )
    commit(repo, "a revision without plinth/preflight.py")
    module.write_text(kept)
    program.write_text(current_program)
    result = run_plinth("diff", "local", "--rev", "HEAD", project=repo)
    assert result.returncode == 0, result.stderr
    assert "no changes" in result.stdout


def test_a_revision_without_the_plinth_cli_is_refused_in_one_line(repo: Path) -> None:
    cli = repo / "plinth" / "cli.py"
    kept = cli.read_text()
    cli.unlink()
    commit(repo, "a revision before the command line")
    cli.write_text(kept)
    result = run_plinth("diff", "local", "--rev", "HEAD", project=repo)
    assert result.returncode == EXIT_BAD_INPUT
    (line,) = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert "HEAD" in line
    assert "plinth/cli.py" in line
