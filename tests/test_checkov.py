"""Independent cross-check: checkov's Kubernetes checks on every environment's manifests.

checkov runs from its own virtualenv, `.venv-checkov/` (`make checkov-venv`; its pins
conflict with the project's), offline, on a copy of the manifests `plinth synth` writes.
Every check it fails must be fixed or listed in tests/checkov-skips.yaml with a reason,
and every entry there must still match a failure in some environment, so the list can
neither hide a new finding nor outlive the one it explains.

checkov checks pods only inside the built-in kinds (Pod, Deployment, Job, ...). So that
the pods a training job declares are checked too, each `*ReplicaSpecs` template of a
kubeflow.org job is also written out as a Pod; its findings count against the job.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tests.conftest import ROOT, SynthesizedEnvironment

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CHECKOV_REQUIREMENTS = Path(__file__).with_name("checkov-requirements.txt")
SKIP_FILE = Path(__file__).with_name("checkov-skips.yaml")
# Where the Pods built from custom resources' templates go, beside the manifests, so that
# checkov's graph checks (a NetworkPolicy selecting the pod) see the namespace's objects.
TEMPLATE_PODS_DIR = "_pod-templates"
# checkov reads these from the environment; a developer's own settings must not change
# which checks run or send anything to a platform.
CHECKOV_ENV_PREFIXES = ("BC_", "CKV_", "CHECKOV_", "PRISMA_")
CHECKOV_TIMEOUT_S = 300
ANY = "*"


@dataclass(frozen=True)
class Finding:
    """One failed checkov check, on the Plinth object it is about."""

    check: str
    kind: str
    namespace: str | None  # None for cluster-scoped objects
    name: str
    title: str  # checkov's name of the check

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.check} {self.kind} {where}: {self.title}"

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.check, self.kind, self.namespace or "", self.name)


NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Skip(BaseModel):
    """A reviewed entry of checkov-skips.yaml: a check that fails on purpose, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check: str = Field(pattern=r"^CKV2?_K8S_[0-9]+$", description="checkov check id.")
    kind: NonBlank = Field(description="Kind of the object the check fails on.")
    namespace: NonBlank | None = Field(
        None, description="Its namespace; leave out for cluster-scoped objects, '*' for any."
    )
    name: NonBlank = Field(description="Its name; '*' for any (say why in the reason).")
    reason: NonBlank = Field(description="Why the finding stays: reviewed like code.")

    def covers(self, finding: Finding) -> bool:
        return (
            self.check == finding.check
            and self.kind == finding.kind
            and self.namespace in (ANY, finding.namespace)
            and self.name in (ANY, finding.name)
        )


def load_skips(path: Path = SKIP_FILE) -> list[Skip]:
    """The entries of the skip file, validated."""
    entries = yaml.safe_load(path.read_text()) or []
    assert isinstance(entries, list), f"{path.name}: expected a list of entries"
    return [Skip.model_validate(entry) for entry in entries]


def unexplained(findings: Iterable[Finding], skips: list[Skip]) -> list[Finding]:
    """The findings no skip entry covers."""
    new = (finding for finding in findings if not any(skip.covers(finding) for skip in skips))
    return sorted(new, key=Finding.sort_key)


def template_pods(obj: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The Pods a kubeflow.org job declares, one per replica type, by file stem."""
    if not str(obj.get("apiVersion", "")).startswith("kubeflow.org/"):
        return {}
    metadata = obj["metadata"]
    pods = {}
    for key, replica_specs in sorted(obj.get("spec", {}).items()):
        if not key.endswith("ReplicaSpecs"):
            continue
        for replica_type, replica in sorted(replica_specs.items()):
            template = replica["template"]
            name = f"{metadata['name']}-{replica_type.lower()}"
            pods[f"{obj['kind'].lower()}-{name}"] = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    **template.get("metadata", {}),
                    "name": name,
                    "namespace": metadata.get("namespace"),
                },
                "spec": template["spec"],
            }
    return pods


def stage(manifests: Path, target: Path) -> dict[Path, tuple[str, str | None, str]]:
    """Copy `manifests` to `target` and add the template Pods; map every file checkov will
    read to the (kind, namespace, name) of the object Plinth declares."""
    shutil.copytree(manifests, target)
    owners: dict[Path, tuple[str, str | None, str]] = {}
    for path in sorted(target.rglob("*.yaml")):
        (obj,) = yaml.safe_load_all(path.read_text())
        owner = (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
        owners[path.resolve()] = owner
        for stem, pod in template_pods(obj).items():
            pod_path = target / TEMPLATE_PODS_DIR / f"{stem}.yaml"
            pod_path.parent.mkdir(exist_ok=True)
            pod_path.write_text(yaml.safe_dump(pod, sort_keys=True))
            owners[pod_path.resolve()] = owner
    return owners


def pinned_version() -> str:
    """The checkov version tests/checkov-requirements.txt pins."""
    for line in CHECKOV_REQUIREMENTS.read_text().splitlines():
        if line.startswith("checkov=="):
            return line.removeprefix("checkov==")
    raise AssertionError(f"{CHECKOV_REQUIREMENTS.name} pins no checkov version")


def run_checkov(directory: Path) -> dict[str, Any]:
    """checkov's JSON report of its Kubernetes checks on `directory`, run offline."""
    if not CHECKOV.is_file():
        pytest.fail(f"checkov is not installed at {CHECKOV}: run `make checkov-venv`")
    home = directory.parent / "checkov-home"  # no ~/.checkov.yaml of the developer's
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(CHECKOV_ENV_PREFIXES)}
    env |= {
        "HOME": str(home),
        "BC_SKIP_MAPPING": "TRUE",  # no policy metadata download
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",  # no "new version" lookup
    }
    command = [str(CHECKOV), "--framework", "kubernetes", "--directory", str(directory)]
    command += ["--output", "json", "--quiet", "--compact", "--skip-download"]
    done = subprocess.run(
        command,
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHECKOV_TIMEOUT_S,
        check=False,
    )
    # 0: every check passed, 1: some failed; anything else is checkov itself failing.
    assert done.returncode in (0, 1), f"checkov exited {done.returncode}:\n{done.stderr}"
    report: dict[str, Any] = json.loads(done.stdout)
    assert report.get("check_type") == "kubernetes", f"unexpected report: {done.stdout[:500]}"
    return report


def checkov_findings(manifests: Path, workdir: Path) -> list[Finding]:
    """checkov's failed checks on `manifests`, each on the Plinth object it is about."""
    owners = stage(manifests, workdir / "manifests")
    report = run_checkov(workdir / "manifests")
    summary, results = report["summary"], report["results"]
    assert summary["checkov_version"] == pinned_version(), "stale checkov: run `make checkov-venv`"
    # An empty or unreadable scan would pass vacuously.
    assert summary["parsing_errors"] == 0, results.get("parsing_errors")
    assert summary["resource_count"] >= len(owners), summary
    findings = set()
    for failed in results["failed_checks"]:
        kind, namespace, name = owners[Path(failed["file_abs_path"]).resolve()]
        findings.add(Finding(failed["check_id"], kind, namespace, name, failed["check_name"]))
    return sorted(findings, key=Finding.sort_key)


@pytest.fixture(scope="session")
def findings(
    synthesized: dict[str, SynthesizedEnvironment], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[Finding]]:
    """checkov's findings on each environment, by environment name."""
    return {
        name: checkov_findings(env.out_dir / "manifests", tmp_path_factory.mktemp(f"ckv-{name}"))
        for name, env in synthesized.items()
    }


@pytest.fixture(scope="session")
def skips() -> list[Skip]:
    return load_skips()


def test_every_failed_check_is_fixed_or_skipped_with_a_reason(
    env: SynthesizedEnvironment, findings: dict[str, list[Finding]], skips: list[Skip]
) -> None:
    new = unexplained(findings[env.environment.name], skips)
    assert not new, (
        f"{env.environment.name}: checkov checks failed; fix each, or add it to "
        f"{SKIP_FILE.name} with the reason it stays:\n" + "\n".join(map(str, new))
    )


def test_every_skip_entry_matches_a_current_failure(
    findings: dict[str, list[Finding]], skips: list[Skip]
) -> None:
    everywhere = [finding for found in findings.values() for finding in found]
    stale = [skip for skip in skips if not any(skip.covers(f) for f in everywhere)]
    assert not stale, f"{SKIP_FILE.name}: entries no environment fails any more, remove them: " + (
        "; ".join(f"{skip.check} {skip.kind} {skip.namespace}/{skip.name}" for skip in stale)
    )


def test_skip_entries_are_unique(skips: list[Skip]) -> None:
    keys = [(skip.check, skip.kind, skip.namespace, skip.name) for skip in skips]
    assert len(keys) == len(set(keys)), f"{SKIP_FILE.name}: duplicate entries"


def test_a_skip_entry_needs_a_reason(tmp_path: Path) -> None:
    entry = {"check": "CKV_K8S_8", "kind": "Pod", "namespace": "ns", "name": "pod"}
    path = tmp_path / "skips.yaml"
    path.write_text(yaml.safe_dump([{**entry, "reason": "a batch pod serves nothing"}]))
    assert load_skips(path)
    for reason in ({}, {"reason": " "}):
        path.write_text(yaml.safe_dump([{**entry, **reason}]))
        with pytest.raises(ValueError, match="reason"):
            load_skips(path)


BAD_CONTAINER = {
    "name": "app",
    "image": "example.invalid/app:1",
    "securityContext": {"privileged": True},
}
BAD_OBJECTS: list[dict[str, Any]] = [
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bad", "namespace": "team"},
        "spec": {
            "selector": {"matchLabels": {"app": "bad"}},
            "template": {
                "metadata": {"labels": {"app": "bad"}},
                "spec": {"containers": [BAD_CONTAINER]},
            },
        },
    },
    {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "bad-job", "namespace": "team"},
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {
                    "replicas": 1,
                    "template": {"spec": {"containers": [BAD_CONTAINER]}},
                }
            }
        },
    },
]


def test_the_harness_reports_a_privileged_container_in_either_kind(tmp_path: Path) -> None:
    manifests = tmp_path / "given"
    (manifests / "team").mkdir(parents=True)
    for obj in BAD_OBJECTS:
        path = manifests / "team" / f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(obj))
    found = checkov_findings(manifests, tmp_path)
    privileged = {(f.kind, f.namespace, f.name) for f in found if f.check == "CKV_K8S_16"}
    assert privileged == {("Deployment", "team", "bad"), ("PyTorchJob", "team", "bad-job")}
    new = unexplained(found, load_skips())
    assert {f for f in found if f.check == "CKV_K8S_16"} <= set(new)
