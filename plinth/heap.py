"""Python's cyclic garbage collector, off for the life of a `plinth` process.

A command imports the SDKs (pulumi, pulumi-kubernetes, pulumi-aws: over a thousand
modules, hundreds of thousands of objects that live until exit) and then builds the plan.
The collector's generations are sized for small heaps: while that heap grows, each
collection walks it again, and at exit the interpreter walks it once more to free it.
Measured on `plinth preview prod`: half of its CPU time, for almost no cyclic garbage
(peak memory within a few percent, docs/benchmarks.md). So the console script runs with
the collector off and freezes the heap at exit (`gc.freeze`: the exit collection skips
it; the memory returns to the system with the process).

Only the process entry point does this (`plinth.cli.run`); `plinth.cli.main` called in
another process (the tests) leaves that process's collector alone.
"""

from __future__ import annotations

import atexit
import gc


def defer_collection_to_exit() -> None:
    """No cyclic garbage collection for the rest of this process, none at its exit."""
    gc.disable()
    atexit.register(gc.freeze)
