"""docs/configuration.md is generated from the models, complete, current and right.

"Right" is checked against the real loader: every default the page states, for every tier
and cluster target, is the value `load_platform_config` gives an environment that leaves
the setting out.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from components.merge import deep_merge
from plinth import reference
from plinth.reference import (
    ENTRY,
    OBJECT,
    REQUIRED,
    DerivationError,
    Setting,
    default_cell,
    main,
    render,
    sections,
)
from stacks.config import PlatformConfig, load_platform_config
from stacks.tiers import TIER_DEFAULTS
from tests.conftest import ROOT

# The least each target needs: the test gives these, so their defaults are not compared.
REQUIRED_BY_TARGET: dict[str, dict[str, Any]] = {
    "existing": {"cluster": {"target": "existing", "kubernetes_version": "1.33"}},
    "eks": {
        "cluster": {
            "target": "eks",
            "region": "eu-west-1",
            "availability_zones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        },
        "node_pools": {"system": {"instance_types": ["m7i.large"]}},
    },
    "aks": {
        "cluster": {
            "target": "aks",
            "subscription_id": "00000000-0000-0000-0000-000000000000",
            "location": "westeurope",
            "admin_group_object_ids": ["22222222-2222-2222-2222-222222222222"],
        },
        "node_pools": {"system": {"vm_size": "Standard_D4ds_v5", "min_size": 1}},
    },
}


def minimal_values(tier: str, target: str, **given: Any) -> dict[str, Any]:
    """The fewest plinth: values of a valid environment; `given` is merged on top."""
    values = {
        "tier": tier,
        "ownership": {"owner": "ml-platform", "cost_centre": "cc-1"},
        **REQUIRED_BY_TARGET[target],
    }
    return deep_merge(values, given)


def value_at(config: BaseModel, path: str) -> Any:
    value: Any = config
    for part in path.split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value


def given_paths(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """The path of every value in `values` that is not a map."""
    for key, value in values.items():
        if isinstance(value, dict):
            yield from given_paths(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def rows() -> Iterator[tuple[str | None, Setting]]:
    """(cluster target or None, setting) of every row of the page."""
    for section in sections():
        for variant in section.variants:
            target = variant.tag.split(": ")[1] if variant.tag else None
            for setting in variant.settings:
                yield target, setting


def as_json(value: Any) -> str:
    return json.dumps(to_jsonable_python(value), sort_keys=True)


def test_configuration_reference_is_current() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == render(), "docs/configuration.md is stale: run `make docs` and commit it"


def test_a_stale_page_fails_the_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text(render().replace("| `jobs.name` |", "| `jobs.nome` |"), encoding="utf-8")
    assert main(["--check", str(stale)]) == 1
    assert "is stale" in capsys.readouterr().err
    stale.write_text(render(), encoding="utf-8")
    assert main(["--check", str(stale)]) == 0


def model_paths(model: type[BaseModel], prefix: str) -> Iterator[str]:
    """Every setting under `model`, found by walking the models independently."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        yield path
        yield from annotation_paths(field.annotation, path)


def annotation_paths(annotation: Any, path: str) -> Iterator[str]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from model_paths(annotation, f"{path}.")
    elif typing.get_origin(annotation) is dict:
        yield from annotation_paths(typing.get_args(annotation)[1], f"{path}.{ENTRY}")
    else:
        for arg in typing.get_args(annotation):
            yield from annotation_paths(arg, path)


def test_every_setting_of_every_model_is_on_the_page() -> None:
    page = render()
    documented = {setting.path for _, setting in rows()}
    for key, field in PlatformConfig.model_fields.items():
        assert f"## `plinth:{key}`" in page
        assert field.description
        expected = set(annotation_paths(field.annotation, key))
        if not expected or typing.get_origin(field.annotation) is dict:
            expected.add(key)  # a scalar or a map has a row of its own, a model only its settings
        assert expected <= documented, sorted(expected - documented)
    for _, setting in rows():
        assert setting.field.description, f"{setting.path} has no description"
        assert f"| `{setting.path}` |" in page
        assert f"| {default_cell(setting)} |" in page


def test_every_cluster_target_has_its_own_table() -> None:
    (cluster,) = [section for section in sections() if section.key == "cluster"]
    tags = [variant.tag for variant in cluster.variants]
    assert tags == ["target: existing", "target: eks", "target: aks"]
    eks = {setting.path for setting in cluster.variants[1].settings}
    assert {"cluster.region", "cluster.vpc_cidr", "cluster.autoscaler.expander"} <= eks
    aks = {setting.path for setting in cluster.variants[2].settings}
    assert {"cluster.subscription_id", "cluster.location", "cluster.vnet_cidr"} <= aks


def test_every_default_is_what_the_loader_applies() -> None:
    compared: set[str] = set()
    # An optional object is unset by default: its settings' defaults apply once it is
    # given (like a map entry's), so the loader's default has nothing to compare them with.
    optional_objects = tuple(
        f"{setting.path}."
        for _, setting in rows()
        if reference.optional_model(setting.field.annotation) is not None
    )
    comparable = {
        setting.path
        for _, setting in rows()
        if ENTRY not in setting.path
        and not setting.path.startswith(optional_objects)
        and setting.default not in (OBJECT, reference.REQUIRED)
    }
    for target, required in REQUIRED_BY_TARGET.items():
        given = set(given_paths(required))
        for tier in TIER_DEFAULTS:
            config = load_platform_config(minimal_values(tier, target), source="test")
            for row_target, setting in rows():
                if setting.path not in comparable or row_target not in (None, target):
                    continue
                if any(f"{path}.".startswith(f"{setting.path}.") for path in given):
                    continue  # the test gives it, or something in it
                expected = setting.tiers.get(tier, setting.default)
                actual = as_json(value_at(config, setting.path))
                assert actual == expected, f"{setting.path} in a {tier} {target} environment"
                compared.add(setting.path)
    assert compared == comparable


def nested(path: str, value: Any) -> dict[str, Any]:
    """{a: {b: value}} for path a.b."""
    result: Any = value
    for part in reversed(path.split(".")):
        result = {part: result}
    return typing.cast(dict[str, Any], result)


def partly_given_objects() -> Iterator[tuple[str, str, list[Setting]]]:
    """(target, object path, its plain settings) of every object with two or more."""
    by_object: dict[tuple[str, str], list[Setting]] = {}
    for target, setting in rows():
        parent = setting.path.rpartition(".")[0]
        plain = setting.default not in (OBJECT, REQUIRED)
        if "." in parent and ENTRY not in setting.path and plain:
            by_object.setdefault((target or "existing", parent), []).append(setting)
    for (target, parent), settings in by_object.items():
        if len(settings) > 1:
            yield target, parent, settings


def test_an_object_given_in_part_keeps_the_defaults_the_page_states() -> None:
    """An object given with one setting keeps the page's defaults for the others (the
    loader merges the component's own defaults too, e.g. the Spark controller's memory)."""
    objects = list(partly_given_objects())
    assert {"spark_operator.controller_resources", "cluster.autoscaler.resources"} <= {
        parent for _, parent, _ in objects
    }
    for target, parent, (given, *others) in objects:
        value = json.loads(str(given.tiers.get("dev", given.default)))
        config = load_platform_config(
            minimal_values("dev", target, **nested(given.path, value)), source="test"
        )
        for setting in others:
            expected = setting.tiers.get("dev", setting.default)
            assert as_json(value_at(config, setting.path)) == expected, (parent, setting.path)


def test_a_tier_value_a_validator_would_rewrite_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def tier_defaults(tier: str, target: object) -> dict[str, Any]:
        del tier
        zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
        return {"cluster": {"availability_zones": zones}} if target == "eks" else {}

    monkeypatch.setattr(reference, "tier_defaults", tier_defaults)
    with pytest.raises(DerivationError, match=r"availability_zones .*_three_zones"):
        render()


def test_a_tier_value_that_depends_on_the_target_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def tier_defaults(tier: str, target: object) -> dict[str, Any]:
        del tier
        return {"jobs": {"quota": {"pods": 7}}} if target == "eks" else {}

    monkeypatch.setattr(reference, "tier_defaults", tier_defaults)
    with pytest.raises(DerivationError, match=r"plinth:jobs .* depends on the cluster target"):
        render()


def test_every_table_row_has_its_header_s_cells() -> None:
    # GitHub splits a table row at every unescaped pipe before it reads code spans, so a
    # pipe in a pattern or a value must be escaped even inside backticks.
    width = 0
    for line in render().splitlines():
        if not line.startswith("|"):
            width = 0
            continue
        cells = len(re.split(r"(?<!\\)\|", line)) - 2
        width = width or cells
        assert cells == width, line
