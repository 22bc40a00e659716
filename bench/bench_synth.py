"""Wall time and peak memory of `plinth synth` and `check`, per environment (`make bench`).

Each measured run is a fresh process, as a reviewer or CI would start it: after one
warm-up run (so Python's bytecode cache exists), the command runs `--runs` times; each
run's wall time is taken with time.perf_counter around the child, and its peak resident
memory from os.wait4's rusage (ru_maxrss, KiB on Linux). A median that misses its target
makes the exit status 1. See docs/benchmarks.md for the figures and how to read them.

`synth unrendered` is synth without rendering charts and CRD files
(bench/synth_unrendered.py); the row `rendering` is `synth` minus it, what rendering adds
(target: 0.5 s). `plinth check ENV` synthesizes in-process and then runs the policy pack; the row
`check - synth` is the difference of the two medians, the cost the pack adds on top of
synth (target: 1 s). `check --plan` runs the pack on the plan synth wrote, and the row
`synth + check` adds it to synth: what `make preview` (synth, then check of that plan)
takes (target: 5 s). Another command is benchmarked by adding a line to COMMANDS: a
function from the environment and a scratch output directory to the argv to measure,
and its wall-time target.

    .venv/bin/python bench/bench_synth.py [ENV ...] [--runs N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLINTH = Path(sys.executable).parent / "plinth"
TARGET_WALL_S = 3.0
TARGET_CHECK_OVER_SYNTH_S = 1.0
TARGET_SYNTH_AND_CHECK_S = 5.0  # `make preview`: synth, then check of its plan
TARGET_RENDERING_S = 0.5  # what rendering charts and CRD files adds to synth
TARGET_PEAK_MB = 400  # decimal megabytes: 400 * 10**6 bytes
MIB = 2**20
STDERR_TAIL_CHARS = 2000


def synth_argv(environment: str, out_dir: Path) -> list[str]:
    """`plinth synth ENV --out DIR`."""
    return [str(PLINTH), "synth", environment, "--out", str(out_dir)]


def synth_unrendered_argv(environment: str, out_dir: Path) -> list[str]:
    """synth without rendering charts and CRD files (bench/synth_unrendered.py)."""
    script = ROOT / "bench" / "synth_unrendered.py"
    return [sys.executable, str(script), environment, str(out_dir / "unrendered")]


def check_argv(environment: str, out_dir: Path) -> list[str]:
    """`plinth check ENV`, its report written to the scratch directory."""
    return [str(PLINTH), "check", environment, "--output", str(out_dir / "check.txt")]


def check_plan_argv(environment: str, out_dir: Path) -> list[str]:
    """`plinth check ENV --plan DIR/plan.json`: the pack on the plan synth just wrote, as
    `make preview` runs it."""
    plan = out_dir / "plan.json"
    return [str(PLINTH), "check", environment, "--plan", str(plan), "--output", str(out_dir / "c")]


# Command name -> (argv from the environment and a scratch directory, wall-time target).
# They run in this order: `check --plan` reads the plan `synth` wrote.
COMMANDS: dict[str, tuple[Callable[[str, Path], list[str]], float]] = {
    "synth": (synth_argv, TARGET_WALL_S),
    "synth unrendered": (synth_unrendered_argv, TARGET_WALL_S),
    "check": (check_argv, TARGET_WALL_S + TARGET_CHECK_OVER_SYNTH_S),
    "check --plan": (check_plan_argv, TARGET_SYNTH_AND_CHECK_S - TARGET_WALL_S),
}


class BenchError(RuntimeError):
    """A measured command failed: the benchmark of a broken command means nothing."""


@dataclass(frozen=True)
class Sample:
    """One run of a command: how long it took and the most memory it held."""

    wall_s: float
    peak_rss_kib: int


@dataclass(frozen=True)
class Result:
    """The measured runs of one command on one environment, and their verdicts."""

    command: str
    environment: str
    wall_s: list[float]
    peak_rss_mib: list[float]
    target_wall_s: float = TARGET_WALL_S

    @property
    def median_wall_s(self) -> float:
        return statistics.median(self.wall_s)

    @property
    def median_peak_mib(self) -> float:
        return statistics.median(self.peak_rss_mib)

    @property
    def wall_ok(self) -> bool:
        return self.median_wall_s <= self.target_wall_s

    @property
    def memory_ok(self) -> bool:
        return self.median_peak_mib * MIB <= TARGET_PEAK_MB * 10**6


def measure(argv: Sequence[str]) -> Sample:
    """Run `argv` once from the project root; its wall time and peak RSS."""
    environment = {**os.environ, "PLINTH_PROJECT_DIR": str(ROOT)}
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(
            argv, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=stderr
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall_s = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if child.returncode != 0:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace")[-STDERR_TAIL_CHARS:]
            raise BenchError(f"{' '.join(argv)} exited {child.returncode}:\n{tail}")
    return Sample(wall_s=wall_s, peak_rss_kib=usage.ru_maxrss)


def benchmark(
    command: str, argv: Sequence[str], environment: str, runs: int, target_wall_s: float
) -> Result:
    """One warm-up run of `argv`, then `runs` measured ones."""
    measure(argv)
    samples = [measure(argv) for _ in range(runs)]
    return Result(
        command=command,
        environment=environment,
        wall_s=[sample.wall_s for sample in samples],
        peak_rss_mib=[sample.peak_rss_kib / 1024 for sample in samples],
        target_wall_s=target_wall_s,
    )


def difference(command: str, larger: Result, smaller: Result, target_wall_s: float) -> Result:
    """What `larger` adds to `smaller`: the difference of their medians (`check - synth`:
    the pack's cost; `rendering`: what rendering charts and CRD files adds to synth)."""
    return Result(
        command=command,
        environment=larger.environment,
        wall_s=[larger.median_wall_s - smaller.median_wall_s],
        peak_rss_mib=[larger.median_peak_mib],
        target_wall_s=target_wall_s,
    )


def synth_and_check(synth: Result, check: Result) -> Result:
    """What `make preview` (a reviewer's `plinth synth ENV` then `plinth check ENV --plan`)
    waits for: the sum of their medians."""
    return Result(
        command="synth + check",
        environment=synth.environment,
        wall_s=[synth.median_wall_s + check.median_wall_s],
        peak_rss_mib=[max(synth.median_peak_mib, check.median_peak_mib)],
        target_wall_s=TARGET_SYNTH_AND_CHECK_S,
    )


def environments() -> list[str]:
    """Every environments/Pulumi.<env>.yaml, sorted."""
    files = sorted((ROOT / "environments").glob("Pulumi.*.yaml"))
    return [path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in files]


def format_table(results: Sequence[Result]) -> str:
    """The results as an aligned text table (also valid Markdown)."""
    target_mib = TARGET_PEAK_MB * 10**6 / MIB
    header = (
        "command",
        "environment",
        "runs",
        "median s",
        "min s",
        "max s",
        "target s",
        "median peak MiB",
        f"target {TARGET_PEAK_MB} MB ({target_mib:.1f} MiB)",
    )
    rows = [header] + [
        (
            result.command,
            result.environment,
            str(len(result.wall_s)),
            f"{result.median_wall_s:.3f}",
            f"{min(result.wall_s):.3f}",
            f"{max(result.wall_s):.3f}",
            f"{result.target_wall_s:g} {'PASS' if result.wall_ok else 'FAIL'}",
            f"{result.median_peak_mib:.1f}",
            "PASS" if result.memory_ok else "FAIL",
        )
        for result in results
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def write_json(path: Path, results: Sequence[Result]) -> None:
    """The results, with every sample and the targets, as JSON."""
    document = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "targets": {"wall_s": TARGET_WALL_S, "peak_mb": TARGET_PEAK_MB},
        "results": [
            {
                **asdict(result),
                "median_wall_s": result.median_wall_s,
                "median_peak_mib": result.median_peak_mib,
                "wall_ok": result.wall_ok,
                "memory_ok": result.memory_ok,
            }
            for result in results
        ],
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("environments", nargs="*", metavar="ENV", help="default: every one")
    parser.add_argument("--runs", type=int, default=7, help="measured runs each (default 7)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Benchmark every command on every chosen environment; 1 if a median misses a target."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    results = []
    with tempfile.TemporaryDirectory(prefix="plinth-bench-") as scratch:
        for environment in args.environments or environments():
            measured = {}
            for command, (build_argv, target) in COMMANDS.items():
                scratch_dir = Path(scratch) / environment
                scratch_dir.mkdir(parents=True, exist_ok=True)
                argv = build_argv(environment, scratch_dir)
                try:
                    measured[command] = benchmark(command, argv, environment, args.runs, target)
                except BenchError as error:
                    print(f"bench: {error}", file=sys.stderr)
                    return 1
            synth, check = measured["synth"], measured["check"]
            unrendered = measured["synth unrendered"]
            results += [
                *measured.values(),
                difference("check - synth", check, synth, TARGET_CHECK_OVER_SYNTH_S),
                difference("rendering", synth, unrendered, TARGET_RENDERING_S),
            ]
            results.append(synth_and_check(synth, measured["check --plan"]))
    print(format_table(results))
    if args.json:
        write_json(args.json, results)
    return 0 if all(result.wall_ok and result.memory_ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
