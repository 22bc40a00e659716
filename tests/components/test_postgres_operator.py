"""The CloudNativePG operator (components/postgres_operator/): the pinned chart with its CRD
stage, metrics with monitoring, where it deploys, and what it renders in an environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from components import versions
from components.contract import ClusterFacts, Deployed
from components.monitoring import COMPONENT as MONITORING
from components.monitoring import deployed_monitoring
from components.postgres_operator import COMPONENT as POSTGRES_OPERATOR
from components.postgres_operator.args import PostgresOperatorArgs
from components.postgres_operator.component import CRD_FILES, PostgresOperator
from plinth.engine import kubernetes_objects, record
from plinth.synth import synthesize
from plinth.upstream import upstream_file_for_url
from stacks.config import ConfigError, load_platform_config
from tests.components.mesh_fixtures import StandInMonitoring, bare_cluster
from tests.policy_harness import violations
from tests.stacks.test_config import SOURCE
from tests.stacks.test_config_refusals import eks_values

CHART = "kubernetes:helm.sh/v4:Chart"
CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"

Entries = list[dict[str, Any]]


def build(args: PostgresOperatorArgs | None = None, *, monitored: bool = False) -> Entries:
    """The operator on a bare cluster; with `monitored`, monitoring deployed."""

    def program() -> None:
        cluster = bare_cluster()
        resources: dict[str, pulumi.ComponentResource] = {}
        if monitored:
            resources[MONITORING.key] = StandInMonitoring()
        PostgresOperator(
            "postgres-operator",
            args or PostgresOperatorArgs(),
            cluster=cluster,
            monitoring=deployed_monitoring(Deployed(resources)),
        )

    return record(program, stack="test", config={})


def chart_of(entries: Entries) -> dict[str, Any]:
    (chart,) = [e for e in entries if e["type"] == CHART]
    return chart


def test_the_pinned_chart_with_the_operator_release_crds_as_their_own_stage(
    upstream: Path,
) -> None:
    entries = build()
    chart = chart_of(entries)
    inputs = chart["inputs"]
    assert (inputs["chart"], inputs["version"], inputs["repositoryOpts"]["repo"]) == (
        "cloudnative-pg",
        versions.CLOUDNATIVE_PG_CHART,
        versions.CLOUDNATIVE_PG_CHART_REPO,
    )
    assert inputs["skipCrds"] is True
    assert inputs["values"]["crds"] == {"create": False}
    assert inputs["values"]["image"] == {"tag": versions.CLOUDNATIVE_PG_IMAGE_TAG}
    crds = [e for e in entries if e["type"] == CONFIG_FILE]
    files = sorted(e["inputs"]["file"] for e in crds)
    assert files == [f"{versions.CLOUDNATIVE_PG_CRD_BASE}/{name}" for name in sorted(CRD_FILES)]
    # Every file is the pinned upstream file the CRD tests read.
    assert all(upstream_file_for_url(upstream, url) is not None for url in files)
    assert {e["urn"] for e in crds} <= set(chart["dependencies"])


def test_the_crd_list_is_every_crd_of_the_pinned_release(upstream: Path) -> None:
    folder = upstream / "cloudnative-pg-operator" / versions.CLOUDNATIVE_PG_RELEASE / "crds"
    assert sorted(CRD_FILES) == sorted(path.name for path in folder.glob("*.yaml"))


def test_the_pod_monitor_only_with_monitoring() -> None:
    assert chart_of(build())["inputs"]["values"]["monitoring"] == {"podMonitorEnabled": False}
    monitored = chart_of(build(monitored=True))
    assert monitored["inputs"]["values"]["monitoring"] == {"podMonitorEnabled": True}


def test_replicas_and_resources_reach_the_chart() -> None:
    args = PostgresOperatorArgs(replicas=2)
    values = chart_of(build(args))["inputs"]["values"]
    assert values["replicaCount"] == 2
    assert values["resources"] == args.resources.to_kubernetes()


def test_it_deploys_off_eks_only() -> None:
    assert POSTGRES_OPERATOR.applies(ClusterFacts("existing", gpu_nodes=False, cloud=None))
    assert POSTGRES_OPERATOR.applies(ClusterFacts("aks", gpu_nodes=False, cloud="azure"))
    assert not POSTGRES_OPERATOR.applies(ClusterFacts("eks", gpu_nodes=False, cloud="aws"))


def test_setting_it_on_eks_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match="remove plinth:postgres_operator"):
        load_platform_config(eks_values(postgres_operator={"replicas": 2}), source=SOURCE)
    # Left out of an eks file, it is simply not deployed there.
    deployed = load_platform_config(eks_values(), source=SOURCE).deployed_components()
    assert POSTGRES_OPERATOR not in deployed


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Entries:
    _, entries = synthesize("local", tmp_path_factory.mktemp("local"))
    return entries


def test_in_an_environment_the_operator_runs_the_release_image_restricted(
    local: Entries,
) -> None:
    namespace = PostgresOperatorArgs().namespace
    objects = [o for o in kubernetes_objects(local) if o["metadata"].get("namespace") == namespace]
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"].endswith(f":{versions.CLOUDNATIVE_PG_IMAGE_TAG}")
    assert container["resources"] == PostgresOperatorArgs().resources.to_kubernetes()
    assert [o for o in objects if o["kind"] == "PodMonitor"]
    operator = [e for e in local if e["name"].startswith("local-postgres-operator")]
    found = violations(*operator, tier="dev")
    assert [v for v in found if v.level == "mandatory"] == []
