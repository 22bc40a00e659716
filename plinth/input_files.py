"""Reading a text file a person wrote, with limits: one-line errors instead of tracebacks,
hangs or memory blow-ups.

The file must be a regular file (a FIFO or device would block or never end), at most
`max_bytes` long, and UTF-8 (a UTF-8 byte order mark is dropped). UTF-16 and UTF-32, which
Windows editors and PowerShell's `>` write, are recognised by their byte order mark or
their NUL bytes, and the error says to save the file as UTF-8. A JSON file is also refused
when it nests deeper than the json module recurses, or holds NaN or Infinity.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

from stacks.config import ConfigError

# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
WIDE_ENCODINGS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
SAVE_AS_UTF8 = "save it as UTF-8 (in PowerShell: Set-Content -Encoding utf8)"


def read_text_file(path: Path, source: str, *, max_bytes: int) -> str:
    """The text of `path`; ConfigError naming `source` when it is not a small UTF-8 file."""
    try:
        if not path.is_file():
            raise ConfigError(f"{source}: not a regular file")
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as error:
        raise ConfigError(f"{source}: cannot read it ({error.strerror or error})") from None
    if len(data) > max_bytes:
        raise ConfigError(
            f"{source}: larger than {max_bytes // 1024} KiB; this is not a file Plinth "
            "reads (check the path, or split the file)"
        )
    return decode_utf8(data, source)


def decode_utf8(data: bytes, source: str) -> str:
    """`data` as UTF-8 text without a byte order mark; ConfigError if it is not UTF-8."""
    for mark, encoding in WIDE_ENCODINGS:
        if data.startswith(mark):
            raise ConfigError(f"{source}: is {encoding} text, not UTF-8; {SAVE_AS_UTF8}")
    if b"\x00" in data:
        raise ConfigError(
            f"{source}: holds NUL bytes (UTF-16 without a byte order mark, or not text); "
            f"{SAVE_AS_UTF8}"
        )
    try:
        return data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{source}: line {line}: byte 0x{data[error.start]:02x} is not UTF-8; {SAVE_AS_UTF8}"
        ) from None


def load_json_file(path: Path, source: str, *, max_bytes: int) -> Any:
    """The JSON document in `path`; ConfigError naming `source` when it is not a small UTF-8
    file of plain JSON (NaN and Infinity, which JSON does not have, are refused too)."""
    text = read_text_file(path, source, max_bytes=max_bytes)
    try:
        return json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{source}: not valid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:  # how the json module reports nesting deeper than it recurses
        raise ConfigError(f"{source}: nested too deeply for a file Plinth reads") from None
    except ValueError as error:  # an integer of thousands of digits, NaN, Infinity
        raise ConfigError(f"{source}: {error}") from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number; write a finite number")
