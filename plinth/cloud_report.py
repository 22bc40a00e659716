"""What `plinth bootstrap CLOUD` and `plinth preflight ENV` print, for every cloud alike.

Bootstrap reports one line per item it found or made (created, updated, already correct),
a count, and the Pulumi commands to run next; preflight one line per check (ok, FAIL,
skip) and a verdict. Standard library only: the AWS and Azure modules import it before
their SDKs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

# Status of one bootstrap item after the run.
Status = Literal["created", "updated", "already correct"]


@dataclass(frozen=True)
class Outcome:
    """What one bootstrap step found or did."""

    item: str
    status: Status
    detail: str


def bootstrap_report(
    header: str, outcomes: Sequence[Outcome], next_intro: str, next_commands: Sequence[str]
) -> str:
    """The lines a bootstrap command prints: `header`, one line per item, the counts, then
    `next_intro` and the commands to run next."""
    width = max(len(status) for status in get_args(Status))
    lines = [header]
    lines += [f"  {o.status:<{width}}  {o.item}: {o.detail}" for o in outcomes]
    counts = Counter(o.status for o in outcomes)
    lines.append(
        f"{counts['created']} created, {counts['updated']} updated, "
        f"{counts['already correct']} already correct"
    )
    lines.append(next_intro)
    lines += [f"  {command}" for command in next_commands]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Check:
    """The result of one preflight check: ok, FAIL (blocks the deploy) or skip (could not
    be checked; says why)."""

    status: Literal["ok", "FAIL", "skip"]
    name: str
    detail: str

    def line(self) -> str:
        """The check as one line of the report."""
        return f"{self.status:<4}  {self.name}: {self.detail}"


@dataclass(frozen=True)
class PoolDemand:
    """The vCPUs one node pool can draw from one quota at its maximum size."""

    pool: str
    nodes: int
    machine_type: str
    """The instance type (EC2) or VM size (Azure) the vCPUs per node are of."""
    vcpus_per_node: int

    @property
    def vcpus(self) -> int:
        """vCPUs at max_size."""
        return self.nodes * self.vcpus_per_node

    def shown(self) -> str:
        """The demand in a report line: `gpu: 4 x g5.2xlarge at 8`."""
        return f"{self.pool}: {self.nodes} x {self.machine_type} at {self.vcpus_per_node}"


def preflight_report(header: str, checks: Sequence[Check]) -> str:
    """The lines a preflight prints: `header`, one line per check, a summary."""
    counts = Counter(check.status for check in checks)
    verdict = "FAILED: fix the lines marked FAIL before `pulumi up`" if counts["FAIL"] else "passed"
    lines = [
        header,
        *(check.line() for check in checks),
        f"{counts['ok']} ok, {counts['FAIL']} failed, {counts['skip']} skipped: {verdict}",
    ]
    return "\n".join(lines) + "\n"


def passed(checks: Sequence[Check]) -> bool:
    """Whether no check failed (skipped ones do not block)."""
    return all(check.status != "FAIL" for check in checks)


def version_key(version: str) -> tuple[int, ...]:
    """A Kubernetes version ('1.34', '1.34.2') as numbers, for sorting."""
    return tuple(int(part) for part in re.findall(r"\d+", version))
