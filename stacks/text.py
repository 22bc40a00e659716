"""Text from configuration, shown to a person: what counts as hidden, and how to show it.

A reason, a name or a value from an environment file reaches terminals, Markdown and
reports. A control, format (zero-width, bidirectional), private-use, unassigned or
line-separating character could forge a line or recolour a terminal, so such characters
are refused in reasons and printed as visible escapes everywhere else. Standard library
only: the CLI imports it before anything heavy.
"""

from __future__ import annotations

import unicodedata

HIDDEN_CHARACTER_CATEGORIES = ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp")


def is_hidden(char: str) -> bool:
    """Whether a terminal or a renderer would hide `char` or act on it."""
    return unicodedata.category(char) in HIDDEN_CHARACTER_CATEGORIES


def escape_controls(text: str) -> str:
    """`text` with every hidden character as a visible escape (`\\n`, `\\x1b`, `\\u200b`)."""
    return "".join(
        char.encode("unicode_escape").decode("ascii") if is_hidden(char) else char for char in text
    )
