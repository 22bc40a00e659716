"""Every built-in Kubernetes object Plinth renders is one the API server would accept.

Each object is validated with kubernetes-validate against the OpenAPI schema of its
environment's Kubernetes version, strictly: an unknown field fails, as it does with
server-side field validation Strict. Custom resources (an API group only a CRD adds) are
checked against their upstream CRDs in test_crd_schemas.py; every object of every plan is
covered by exactly one of the two.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any, get_args

import pytest

from plinth.environments import load_environment
from tests.conftest import ENVIRONMENTS, ROOT, SynthesizedEnvironment
from tests.upstream_schemas import (
    builtin_object_errors,
    is_custom_resource,
    kubernetes_version,
    object_entries,
    object_label,
    plan_entries,
)


def objects_of(environment: str, *, custom: bool) -> list[Mapping[str, Any]]:
    """The objects of `environment`'s plan that are (or are not) custom resources."""
    version = kubernetes_version(ROOT, environment)
    objects = [entry["inputs"] for entry in object_entries(plan_entries(ROOT, environment))]
    return [obj for obj in objects if is_custom_resource(obj, version) == custom]


BUILTIN_OBJECTS = [
    pytest.param(kubernetes_version(ROOT, name), obj, id=f"{name}-{object_label(obj)}")
    for name in ENVIRONMENTS
    for obj in objects_of(name, custom=False)
]


@pytest.mark.parametrize(("version", "obj"), BUILTIN_OBJECTS)
def test_object_matches_the_kubernetes_openapi_schema(version: str, obj: dict[str, Any]) -> None:
    errors = builtin_object_errors(obj, version)
    assert not errors, f"{object_label(obj)} (Kubernetes {version}): " + "; ".join(errors)


def test_every_environment_has_builtin_objects_to_check() -> None:
    for name in ENVIRONMENTS:
        assert objects_of(name, custom=False), f"{name}: no built-in object in the plan"


def test_every_object_is_covered_by_exactly_one_schema_check(env: SynthesizedEnvironment) -> None:
    name = env.environment.name
    assert env.objects, f"{name}: the plan has no Kubernetes object"
    builtin = objects_of(name, custom=False)
    custom = objects_of(name, custom=True)
    for obj in env.objects:
        checks = [obj in builtin, obj in custom].count(True)
        assert checks == 1, f"{name}: {object_label(obj)} is covered by {checks} schema checks"
    assert len(builtin) + len(custom) == len(env.objects)


def test_objects_left_to_the_crd_check_have_no_kubernetes_schema(
    env: SynthesizedEnvironment,
) -> None:
    version = env.environment.platform.cluster.kubernetes_version
    for obj in objects_of(env.environment.name, custom=True):
        errors = builtin_object_errors(obj, version)
        assert any("Couldn't find schema" in error for error in errors), object_label(obj)


def test_a_misspelt_field_fails_the_openapi_check() -> None:
    name = ENVIRONMENTS[0]
    version = kubernetes_version(ROOT, name)
    real = objects_of(name, custom=False)[0]
    assert builtin_object_errors(real, version) == []
    misspelt = copy.deepcopy(dict(real))
    misspelt["metadata"]["labelz"] = {"a": "b"}
    errors = builtin_object_errors(misspelt, version)
    assert len(errors) == 1
    assert errors[0].startswith("$.metadata:")
    assert "'labelz' was unexpected" in errors[0]


def test_an_unknown_kind_of_a_builtin_group_fails_the_openapi_check() -> None:
    name = ENVIRONMENTS[0]
    real = objects_of(name, custom=False)[0]
    unknown = {**real, "kind": "Nonesuch"}
    errors = builtin_object_errors(unknown, kubernetes_version(ROOT, name))
    assert len(errors) == 1
    assert "Couldn't find schema for kind Nonesuch" in errors[0]


@functools.cache
def builtin_objects(environment: str) -> list[Mapping[str, Any]]:
    """The built-in objects of `environment`'s plan, read once."""
    return objects_of(environment, custom=False)


def supported_minors(environment: str) -> tuple[str, ...]:
    """Every Kubernetes minor the environment's target accepts (its `kubernetes_version`
    choices), so an upgrade of the cluster never meets an object its API would refuse."""
    cluster = load_environment(ROOT, environment).platform.cluster
    annotation = type(cluster).model_fields["kubernetes_version"].annotation
    return tuple(str(version) for version in get_args(annotation))


@pytest.mark.parametrize(
    ("environment", "version"),
    [(name, version) for name in ENVIRONMENTS for version in supported_minors(name)],
)
def test_every_object_fits_every_minor_its_target_supports(environment: str, version: str) -> None:
    broken = [
        f"{object_label(obj)}: {'; '.join(errors)}"
        for obj in builtin_objects(environment)
        if (errors := builtin_object_errors(obj, version))
    ]
    assert not broken, f"Kubernetes {version}: " + " | ".join(broken)
