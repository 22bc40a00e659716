"""What a long command is doing now, as one status line on the terminal.

`plinth preview` runs the program, renders charts and runs the pack: seconds with
nothing to see. On a terminal, each step rewrites one line in place (`\\r`, erase to the
end of the line) and the line is erased before the results are printed, so what stays
on the screen is exactly what a redirected run writes. When stdout is not a terminal
(CI logs, a pipe, a file) nothing is written at all.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

ERASE_LINE = "\r\x1b[K"
DEFAULT_COLUMNS = 80


class Progress:
    """One status line, rewritten in place; silent unless the stream is a terminal."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.shown = False

    def __call__(self, status: str) -> None:
        """Show `status` in place of the last one (cut to the terminal's width)."""
        if not self.enabled:
            return
        self.stream.write(ERASE_LINE + status[: self._columns() - 1])
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        """Erase the status line, so that what is printed next starts on a clean line."""
        if self.shown:
            self.stream.write(ERASE_LINE)
            self.stream.flush()
            self.shown = False

    def _columns(self) -> int:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or DEFAULT_COLUMNS
        except (OSError, ValueError):  # not a real terminal (a test's stream)
            return DEFAULT_COLUMNS


def silent(status: str) -> None:
    """A progress callback that shows nothing (the default everywhere)."""
