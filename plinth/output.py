"""Where Plinth may write, and how: only into output directories it made itself.

`plinth synth`, `plinth graph` and `plinth check` write into a directory (default
`out/ENV`, or `--out DIR`) that may already exist. Plinth replaces only what it wrote:

- it writes into a directory that is new, empty, or carries `MARKER_NAME`, the file it
  leaves in every output directory it makes (or one holding nothing but Plinth's own
  files, as older Plinth versions left them, without the marker); anything else (a
  user's folder, a checkout, `environments/`) is refused with a one-line error before
  anything is touched;
- it never writes into a git repository's `.git`, a project's own folders
  (`environments/`, `stacks/`, ...) or a project root itself;
- inside its directory each command replaces only its own files (a synth keeps the graph
  files), each by a rename, so a reader never sees half a file;
- one command writes a directory at a time: the marker file is locked while it writes,
  and a second command waits for it, up to `LOCK_TIMEOUT_S`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from stacks.config import ConfigError

MARKER_NAME = ".plinth-output"
MARKER_TEXT = (
    "This directory holds output written by Plinth (plinth synth, plinth graph).\n"
    "Plinth replaces its own files here (plan.json, manifests/, graph.*) on every run\n"
    "and leaves other files alone. Delete this file and Plinth will not write here again.\n"
)
# What Plinth writes in an output directory: a directory holding only these names is
# taken as Plinth's own even without the marker (output of Plinth before the marker).
PLINTH_FILES = frozenset({"plan.json", "manifests", "graph.mmd", "graph.dot", "graph.svg"})
# A project's own folders (beside Pulumi.yaml): output never goes in or under them.
PROJECT_FOLDERS = frozenset(
    {
        ".git",
        "Pulumi.yaml",
        "environments",
        "stacks",
        "targets",
        "components",
        "clouds",
        "addons",
        "policies",
        "plinth",
        "tests",
        "docs",
        "bench",
    }
)
STAGING_PREFIX = ".plinth-staging-"
LOCK_TIMEOUT_S = 30.0
LOCK_POLL_S = 0.1


class OutputError(ConfigError):
    """An output path Plinth must not or cannot write (bad input: exit code 2)."""


@contextlib.contextmanager
def output_directory(out_dir: Path) -> Iterator[Path]:
    """`out_dir` checked, created, marked as Plinth's and locked while the caller writes."""
    target = checked_output_directory(out_dir)
    try:
        target.mkdir(parents=True, exist_ok=True)
        marker = _claim(target)
        with _locked(marker, target):
            _remove_leftovers(target)
            yield target
    except OSError as error:
        raise OutputError(f"{out_dir}: cannot write it ({error.strerror or error})") from None


def checked_output_directory(out_dir: Path) -> Path:
    """The absolute directory `out_dir` names, if Plinth may write there; else OutputError."""
    shown = f"output directory {out_dir}"
    if out_dir.is_symlink():
        raise OutputError(f"{shown}: is a symbolic link; give the directory it points to")
    try:
        target = out_dir.resolve()
    except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop (Python < 3.13)
        raise OutputError(f"{shown}: cannot resolve it ({error})") from None
    try:
        refuse_project_paths(target, shown)
        if target.exists() and not target.is_dir():
            raise OutputError(f"{shown}: is a file, not a directory; give a directory")
        if target.is_dir() and not is_plinth_output(target):
            raise OutputError(
                f"{shown}: holds files Plinth did not write (no {MARKER_NAME} file) and "
                "Plinth replaces only its own output; give a new or empty directory"
            )
    except OSError as error:  # a folder on the way that may not be read
        raise OutputError(f"{shown}: cannot look into it ({error.strerror or error})") from None
    return target


def refuse_project_paths(target: Path, shown: str, *, instead: str = "a folder under out/") -> None:
    """OutputError when absolute `target` is in a `.git`, or is a project root (a folder
    holding Pulumi.yaml) or inside one of its own folders (environments/, stacks/, ...).
    `shown` names the argument in the message, `instead` what to give."""
    for folder in (target, *target.parents):
        if folder.name == ".git":
            raise OutputError(f"{shown}: is inside a git repository's .git; give {instead}")
        if (folder / "Pulumi.yaml").is_file():
            inside = target.relative_to(folder).parts
            if not inside:
                raise OutputError(f"{shown}: is the project directory itself; give {instead}")
            if inside[0] in PROJECT_FOLDERS:
                raise OutputError(
                    f"{shown}: is the project's own {inside[0]} or inside it; give {instead}"
                )


def is_plinth_output(directory: Path) -> bool:
    """Whether Plinth may replace its files in existing `directory`: marked, empty, or
    holding nothing but Plinth's own files.

    One listing decides: another plinth may be claiming the directory meanwhile, and it
    creates the marker before anything else, so a listing without the marker holds
    none of that run's files."""
    names = {entry.name for entry in directory.iterdir()}
    if MARKER_NAME in names:
        return (directory / MARKER_NAME).is_file()
    return names <= PLINTH_FILES


def replace_file(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file beside it and a rename: readers and
    concurrent writers see the old file or the new one, never half of one."""
    handle, temporary = tempfile.mkstemp(prefix=STAGING_PREFIX, dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        Path(temporary).replace(path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _remove_leftovers(directory: Path) -> None:
    """Staging folders of a run that was killed (no other synth or graph writes here now;
    temporary files are left: `check --output` may be writing one without the lock)."""
    for leftover in directory.glob(f"{STAGING_PREFIX}*"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)


def _claim(directory: Path) -> Path:
    """Create the marker in `directory` unless it is there; its path."""
    marker = directory / MARKER_NAME
    # O_EXCL: two commands starting at once create it once; the loser finds it there.
    with contextlib.suppress(FileExistsError):
        handle = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(MARKER_TEXT)
    return marker


@contextlib.contextmanager
def _locked(marker: Path, directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on `marker` (the kernel drops it if the process dies)."""
    handle = os.open(marker, os.O_RDONLY)
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OutputError(
                        f"{directory}: another plinth has been writing it for over "
                        f"{LOCK_TIMEOUT_S:.0f} s; wait for it to finish, or give --out "
                        "another directory"
                    ) from None
                time.sleep(LOCK_POLL_S)
        yield
    finally:
        os.close(handle)
