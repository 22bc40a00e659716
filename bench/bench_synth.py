"""`make bench`: Plinth's offline commands against the import floor, per environment.

Every figure is a ratio to the import floor (bench/import_floor.py: a process that only
imports the SDKs the platform needs), measured in the same run: each measured run of a
command is paired with a run of the floor just before it, and the ratio is taken per
pair, so that a machine busy with something else slows both. Reported per command: CPU
time (user + system, from os.wait4's rusage of the child) and wall time as multiples of
the floor's, and peak resident memory (ru_maxrss) as a multiple of the floor's. The
targets are judged on CPU time, which another process on the machine does not inflate
(wall time is shown beside it):

- `plinth preview ENV` (synth, render charts, check, in one process; what `make preview`
  runs): at most 1.3 x the floor's CPU time, and peak memory at most 2 x the floor's;
- `plinth check ENV --plan`: at least 5 x faster than checkov's Kubernetes checks over
  the same plan's manifests (checkov from .venv-checkov, `make checkov-venv`);
- each node pool added to prod: at most 0.005 x the floor's CPU time (10 ms at the
  2-second floor of the machine in docs/benchmarks.md): prod is previewed as it is and
  with `--pools` more pools, in a scratch copy of the project.

`plinth synth ENV` and `plinth check ENV --plan` alone are shown too (no target: `make
preview` runs neither). A missed target makes the exit status 1. Before the measured
runs, each command runs once (bytecode and chart caches in place, as a developer has them).
The cache of derived data (PLINTH_CHART_CACHE: each chart's rendered objects, parsed CRD
files, manifests' YAML, all keyed by every input) is what a second run of `make preview`
finds: the targets judge that warm run, and `preview, cold cache` (each run with an empty
cache, as after a change of every chart and value) is shown beside it, without a target.
No test asserts timings: on shared machines they are too noisy to fail a test run on.

    .venv/bin/python bench/bench_synth.py [ENV ...] [--runs N] [--pools N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from plinth.upstream import upstream_dir

ROOT = Path(__file__).resolve().parent.parent
PLINTH = Path(sys.executable).parent / "plinth"
FLOOR = (sys.executable, str(ROOT / "bench" / "import_floor.py"))
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
TARGET_PREVIEW_CPU = 1.3  # x the floor's CPU time
TARGET_PEAK_MEMORY = 2.0  # x the floor's peak resident memory
TARGET_CHECKOV_SPEEDUP = 5.0  # checkov's CPU time / check --plan's
TARGET_POOL_CPU = 0.005  # x the floor's CPU time, per node pool added
POOLS_ENVIRONMENT = "prod"
# `preview` with the cache of derived data (PLINTH_CHART_CACHE: rendered charts, parsed CRD
# files, manifests' YAML) empty, as after a change of every chart, value and object.
COLD_PREVIEW = "preview, cold cache"
# What the scratch project links to: everything a command reads from the project.
PROJECT_ENTRIES = (
    "Pulumi.yaml",
    "pyproject.toml",
    "plinth",
    "stacks",
    "targets",
    "components",
    "clouds",
    "addons",
    "policies",
)
STDERR_TAIL_CHARS = 2000


class BenchError(RuntimeError):
    """A measured command failed: the benchmark of a broken command means nothing."""


@dataclass(frozen=True)
class Sample:
    """One run of a process: its wall time, CPU time and the most memory it held."""

    wall_s: float
    cpu_s: float
    peak_kib: int


@dataclass
class Figure:
    """One command on one environment, run after run, each run against its own floor."""

    command: str
    environment: str
    runs: list[tuple[Sample, Sample]] = field(default_factory=list)  # (floor, command)

    def cpu(self) -> float:
        """The median of command CPU / floor CPU."""
        return statistics.median(run.cpu_s / floor.cpu_s for floor, run in self.runs)

    def wall(self) -> float:
        """The median of command wall time / floor wall time."""
        return statistics.median(run.wall_s / floor.wall_s for floor, run in self.runs)

    def memory(self) -> float:
        """The median of command peak memory / floor peak memory."""
        return statistics.median(run.peak_kib / floor.peak_kib for floor, run in self.runs)


@dataclass(frozen=True)
class Verdict:
    """One target: what was measured, as a ratio, against what."""

    what: str
    value: float
    target: float
    at_least: bool = False  # the value must reach the target (a speed-up), not stay under

    @property
    def ok(self) -> bool:
        return self.value >= self.target if self.at_least else self.value <= self.target

    def line(self) -> str:
        relation = ">=" if self.at_least else "<="
        verdict = "PASS" if self.ok else "FAIL"
        return f"{verdict}  {self.what}: {self.value:.4g} (target {relation} {self.target:g})"


def measure(
    argv: Sequence[str], environment: Mapping[str, str] | None = None, ok: Sequence[int] = (0,)
) -> Sample:
    """Run `argv` once from the project root; its wall time, CPU time and peak RSS.

    Python writes bytecode as a developer's does (PYTHONDONTWRITEBYTECODE dropped): without
    it every run compiles the SDKs from source, the floor's and the command's alike."""
    env = {**os.environ, "PLINTH_PROJECT_DIR": str(ROOT), **(environment or {})}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        wall_s = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if child.returncode not in ok:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace")[-STDERR_TAIL_CHARS:]
            raise BenchError(f"{' '.join(argv)} exited {child.returncode}:\n{tail}")
    return Sample(wall_s, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


@dataclass(frozen=True)
class Command:
    """A command to measure: its argv, and the environment variables and exit codes of it."""

    argv: list[str]
    environment: Mapping[str, str] = field(default_factory=dict)
    ok: tuple[int, ...] = (0,)
    cold_cache: bool = False  # each run with an empty PLINTH_CHART_CACHE

    def run(self) -> Sample:
        if not self.cold_cache:
            return measure(self.argv, self.environment, self.ok)
        with tempfile.TemporaryDirectory(prefix="plinth-bench-cache-") as cache:
            return measure(self.argv, {**self.environment, "PLINTH_CHART_CACHE": cache}, self.ok)


def checkov_command(manifests: Path, home: Path) -> Command:
    """checkov's Kubernetes checks on a plan's manifests, offline (as tests/test_checkov.py)."""
    home.mkdir(parents=True, exist_ok=True)
    argv = [str(CHECKOV), "--framework", "kubernetes", "--directory", str(manifests)]
    argv += ["--output", "json", "--quiet", "--compact", "--skip-download"]
    settings = {"HOME": str(home), "BC_SKIP_MAPPING": "TRUE"}
    settings["CKV_SKIP_PACKAGE_UPDATE_CHECK"] = "true"
    return Command(argv, settings, ok=(0, 1))  # 1: some checks failed


def environment_commands(environment: str, scratch: Path) -> dict[str, Command]:
    """The commands measured on one environment, in the order they run."""
    out = scratch / environment
    plan = out / "synth" / "plan.json"
    return {
        "preview": Command([str(PLINTH), "preview", environment, "--out", str(out / "preview")]),
        COLD_PREVIEW: Command(
            [str(PLINTH), "preview", environment, "--out", str(out / "cold")], cold_cache=True
        ),
        "synth": Command([str(PLINTH), "synth", environment, "--out", str(out / "synth")]),
        "check --plan": Command(
            [str(PLINTH), "check", environment, "--plan", str(plan), "--output", str(out / "c")]
        ),
        "checkov": checkov_command(out / "synth" / "manifests", scratch / "checkov-home"),
    }


def scratch_project(directory: Path, pools: int) -> dict[str, str]:
    """A copy of the project (links to its code) whose environments are prod and prod with
    `pools` more node pools; the environment variables that point plinth at it."""
    for name in PROJECT_ENTRIES:
        (directory / name).symlink_to(ROOT / name)
    environments = directory / "environments"
    environments.mkdir()
    source = ROOT / "environments" / f"Pulumi.{POOLS_ENVIRONMENT}.yaml"
    shutil.copy(source, environments / source.name)
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    node_pools = document["config"]["plinth:node_pools"]
    for index in range(pools):
        node_pools[f"bench-{index:04d}"] = {
            "instance_types": ["m7i.xlarge"],
            "min_size": 0,
            "max_size": 2,
        }
    pooled = environments / f"Pulumi.{POOLS_ENVIRONMENT}-pools.yaml"
    pooled.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return {"PLINTH_PROJECT_DIR": str(directory), "PLINTH_UPSTREAM_DIR": str(upstream_dir(ROOT))}


def pool_commands(scratch: Path, pools: int) -> dict[str, Command]:
    """prod, and prod with `pools` more node pools, previewed in a scratch project."""
    project = scratch / "project"
    project.mkdir()
    settings = scratch_project(project, pools)
    out = scratch / "pools"
    return {
        name: Command([str(PLINTH), "preview", environment, "--out", str(out / name)], settings)
        for name, environment in (
            ("preview", POOLS_ENVIRONMENT),
            (f"preview +{pools} pools", f"{POOLS_ENVIRONMENT}-pools"),
        )
    }


def run_paired(commands: Mapping[str, Command], environment: str, runs: int) -> list[Figure]:
    """One warm-up run of each command, then `runs` rounds: floor, command, for each."""
    floor = Command(list(FLOOR))
    floor.run()
    for command in commands.values():
        command.run()
    figures = {name: Figure(name, environment) for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            figures[name].runs.append((floor.run(), command.run()))
    return list(figures.values())


def environments() -> list[str]:
    """Every environments/Pulumi.<env>.yaml, sorted."""
    files = sorted((ROOT / "environments").glob("Pulumi.*.yaml"))
    return [path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in files]


def verdicts(
    per_environment: Mapping[str, list[Figure]], pools: list[Figure], added: int
) -> list[Verdict]:
    """Every target, judged; `pools` are prod and prod with `added` more node pools."""
    found = []
    for environment, figures in per_environment.items():
        by_name = {figure.command: figure for figure in figures}
        preview, check, checkov = by_name["preview"], by_name["check --plan"], by_name["checkov"]
        found += [
            Verdict(f"{environment}: preview CPU / floor", preview.cpu(), TARGET_PREVIEW_CPU),
            Verdict(
                f"{environment}: preview peak memory / floor", preview.memory(), TARGET_PEAK_MEMORY
            ),
            Verdict(
                f"{environment}: checkov CPU / check --plan CPU",
                checkov.cpu() / check.cpu(),
                TARGET_CHECKOV_SPEEDUP,
                at_least=True,
            ),
        ]
    if pools:
        base, pooled = pools
        per_pool = (pooled.cpu() - base.cpu()) / added
        found.append(Verdict("each node pool added: CPU / floor", per_pool, TARGET_POOL_CPU))
    return found


def format_table(figures: Sequence[Figure]) -> str:
    """The figures as an aligned table (also valid Markdown), ratios to the floor."""
    header = ("environment", "command", "runs", "CPU x floor", "wall x floor", "memory x floor")
    rows = [header] + [
        (
            figure.environment,
            figure.command,
            str(len(figure.runs)),
            f"{figure.cpu():.3f}",
            f"{figure.wall():.3f}",
            f"{figure.memory():.3f}",
        )
        for figure in figures
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def floor_line(figures: Sequence[Figure]) -> str:
    """The floor itself, the unit of every figure (medians over all its runs)."""
    floors = [floor for figure in figures for floor, _ in figure.runs]
    cpu = statistics.median(sample.cpu_s for sample in floors)
    wall = statistics.median(sample.wall_s for sample in floors)
    peak = statistics.median(sample.peak_kib for sample in floors) / 1024
    return (
        f"import floor (the unit of every figure): median CPU {cpu:.2f} s, wall {wall:.2f} s, "
        f"peak memory {peak:.0f} MiB over {len(floors)} runs"
    )


def write_json(path: Path, figures: Sequence[Figure], found: Sequence[Verdict]) -> None:
    """Every sample, every ratio and every verdict, as JSON."""
    document = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "figures": [
            {
                **asdict(figure),
                "cpu_x_floor": figure.cpu(),
                "wall_x_floor": figure.wall(),
                "memory_x_floor": figure.memory(),
            }
            for figure in figures
        ],
        "verdicts": [{**asdict(verdict), "ok": verdict.ok} for verdict in found],
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def progress(text: str) -> None:
    """What the benchmark is at, on stderr (the results go to stdout)."""
    print(text, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("environments", nargs="*", metavar="ENV", help="default: every one")
    parser.add_argument("--runs", type=int, default=3, help="measured runs each (default 3)")
    parser.add_argument(
        "--pools", type=int, default=200, help="node pools added to prod (default 200; 0: skip)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Benchmark every chosen environment; 1 if a target is missed."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.runs < 1 or args.pools < 0:
        parser.error(f"--runs must be at least 1 and --pools at least 0, got {args.runs}")
    if not CHECKOV.is_file():
        parser.error(f"checkov is not installed at {CHECKOV}: run `make checkov-venv`")
    per_environment: dict[str, list[Figure]] = {}
    pools: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="plinth-bench-") as scratch:
        try:
            for environment in args.environments or environments():
                progress(f"bench: {environment}")
                commands = environment_commands(environment, Path(scratch))
                per_environment[environment] = run_paired(commands, environment, args.runs)
            if args.pools:
                progress(f"bench: {POOLS_ENVIRONMENT} and {POOLS_ENVIRONMENT} +{args.pools} pools")
                commands = pool_commands(Path(scratch), args.pools)
                pools = run_paired(commands, f"{POOLS_ENVIRONMENT} (scratch)", args.runs)
        except BenchError as error:
            print(f"bench: {error}", file=sys.stderr)
            return 1
    figures = [figure for group in per_environment.values() for figure in group] + pools
    found = verdicts(per_environment, pools, args.pools)
    print(floor_line(figures))
    print()
    print(format_table(figures))
    print()
    print("\n".join(verdict.line() for verdict in found))
    if args.json:
        write_json(args.json, figures, found)
    return 0 if all(verdict.ok for verdict in found) else 1


if __name__ == "__main__":
    sys.exit(main())
