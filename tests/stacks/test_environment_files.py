"""Environment files are read strictly: every bad file is one ConfigError line naming the
file, and what is wrong, never a traceback, a hang, a memory blow-up or a silent change."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from plinth.environments import MAX_ENVIRONMENT_FILE_BYTES, load_environment
from stacks.config import ConfigError
from tests.conftest import ROOT

LOCAL = (ROOT / "environments" / "Pulumi.local.yaml").read_text(encoding="utf-8")
SOURCE = "environments/Pulumi.env.yaml"


def write(tmp_path: Path, body: str | bytes, name: str = "env") -> None:
    (tmp_path / "environments").mkdir(exist_ok=True)
    path = tmp_path / "environments" / f"Pulumi.{name}.yaml"
    if isinstance(body, str):
        path.write_text(body, encoding="utf-8")
    else:
        path.write_bytes(body)


def error_of(tmp_path: Path, body: str | bytes) -> str:
    write(tmp_path, body)
    with pytest.raises(ConfigError) as raised:
        load_environment(tmp_path, "env")
    message = str(raised.value)
    assert message.startswith(SOURCE)
    assert "\n" not in message
    return message


def with_setting(key_and_value: str) -> str:
    """The local environment with one more line in its `config:` map."""
    return LOCAL.replace("config:\n", f"config:\n  {key_and_value}\n", 1)


def line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_the_local_environment_loads(tmp_path: Path) -> None:
    write(tmp_path, LOCAL)
    assert load_environment(tmp_path, "env").platform.tier == "dev"


def test_a_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    prod = LOCAL.replace("plinth:tier: dev", "plinth:tier: prod")
    body = prod.replace("  plinth:ownership:", "  plinth:tier: dev\n  plinth:ownership:", 1)
    message = error_of(tmp_path, body)
    assert "'plinth:tier'" in message
    assert f"lines {line_of(body, 'tier: prod')} and {line_of(body, 'tier: dev')}" in message


def test_a_duplicate_key_deep_inside_is_an_error_too(tmp_path: Path) -> None:
    body = LOCAL.replace("    cost_centre: cc-local", "    cost_centre: cc-local\n    owner: x")
    message = error_of(tmp_path, body)
    assert "'owner'" in message
    assert str(line_of(body, "owner: x")) in message


def test_a_bare_tier_beside_the_namespaced_one_is_refused(tmp_path: Path) -> None:
    body = with_setting("tier: prod")
    message = error_of(tmp_path, body)
    assert "'tier'" in message
    assert "'plinth:tier'" in message
    assert f"line {line_of(body, 'plinth:tier')}" in message
    assert f"line {line_of(body, '  tier: prod')}" in message


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    levels = ["  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"  a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
    body = "laughs:\n" + "\n".join(levels) + "\n" + LOCAL
    started = time.monotonic()
    assert "expand to more than" in error_of(tmp_path, body)
    assert time.monotonic() - started < 5


def test_an_alias_inside_itself_is_refused(tmp_path: Path) -> None:
    assert "contains it" in error_of(tmp_path, "loop: &loop [*loop]\n" + LOCAL)


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    body = LOCAL.replace("config:\n", "shared: &owner team-a\nconfig:\n", 1)
    write(tmp_path, body.replace("owner: ml-platform", "owner: *owner"))
    assert load_environment(tmp_path, "env").platform.ownership.owner == "team-a"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9" * 5000, "too long"),
        ("99999999999999999999", "64-bit"),
        (".inf", "finite"),
        ("-.inf", "finite"),
        (".nan", "finite"),
        ("!!float abc", "not a valid float"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set {a}", "!!set"),
        ("[" * 500 + "]" * 500, "deeper than"),
    ],
    ids=[
        "huge-int",
        "int-over-64-bit",
        "inf",
        "minus-inf",
        "nan",
        "bad-float",
        "binary",
        "set",
        "deep",
    ],
)
def test_values_no_config_can_hold_are_refused(tmp_path: Path, value: str, expected: str) -> None:
    body = with_setting(f"plinth:spark_operator: {{values_override: {{x: {value}}}}}")
    assert expected in error_of(tmp_path, body)


def test_an_impossible_date_stays_text(tmp_path: Path) -> None:
    write(tmp_path, LOCAL.replace("owner: ml-platform", "owner: 2023-02-30"))
    assert load_environment(tmp_path, "env").platform.ownership.owner == "2023-02-30"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_utf16_and_utf32_say_save_it_as_utf8(tmp_path: Path, encoding: str) -> None:
    assert "save it as UTF-8" in error_of(tmp_path, LOCAL.encode(encoding))


def test_latin1_names_the_line(tmp_path: Path) -> None:
    body = LOCAL.replace("cost_centre: cc-local", "cost_centre: cc-café").encode("latin-1")
    message = error_of(tmp_path, body)
    assert f"line {line_of(LOCAL, 'cost_centre')}" in message
    assert "UTF-8" in message


def test_a_utf8_byte_order_mark_is_fine(tmp_path: Path) -> None:
    write(tmp_path, b"\xef\xbb\xbf" + LOCAL.encode())
    assert load_environment(tmp_path, "env").name == "env"


def test_a_huge_file_is_refused_by_its_size(tmp_path: Path) -> None:
    body = LOCAL + "#" * MAX_ENVIRONMENT_FILE_BYTES
    assert "KiB" in error_of(tmp_path, body)


def test_a_control_character_is_refused(tmp_path: Path) -> None:
    assert "U+0007" in error_of(tmp_path, LOCAL.replace("cc-local", "cc-\x07local"))


def test_a_fifo_does_not_hang(tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    os.mkfifo(tmp_path / "environments" / "Pulumi.env.yaml")
    with pytest.raises(ConfigError, match="not a regular file"):
        load_environment(tmp_path, "env")


@pytest.mark.parametrize(
    "name",
    ["a\nb", "a\x07", "../local", "a/b", "a b", "x" * 101, "..", ".", "", "é"],
    ids=[
        "newline",
        "bell",
        "traversal",
        "slash",
        "space",
        "too-long",
        "dots",
        "dot",
        "empty",
        "accent",
    ],
)
def test_names_pulumi_refuses_are_refused(tmp_path: Path, name: str) -> None:
    write(tmp_path, LOCAL, name="ok")
    with pytest.raises(ConfigError, match="not a Pulumi stack name") as raised:
        load_environment(tmp_path, name)
    assert "\n" not in str(raised.value)


def test_a_name_of_100_characters_is_a_stack_name(tmp_path: Path) -> None:
    name = "a.b_c-" + "x" * 94
    write(tmp_path, LOCAL, name=name)
    assert load_environment(tmp_path, name).name == name


def test_yaml_documents_are_mapped_as_before(tmp_path: Path) -> None:
    write(tmp_path, LOCAL)
    loaded = load_environment(tmp_path, "env")
    config = yaml.safe_load(LOCAL)["config"]
    assert loaded.pulumi_config["plinth:tier"] == config["plinth:tier"]
