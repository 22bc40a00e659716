"""Every resource type Plinth creates has replacement rules, checked against the SDKs.

`plinth diff` can only say a change replaces a resource when it knows the provider's
force-new fields for that type (plinth/replacement.py). These tests synthesize every
environment and fail when a plan holds a custom resource type without rules: adding a
type means adding its provider's force-new fields (an empty entry when nothing but the
region forces a new resource), with their source.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from plinth.replacement import (
    AWS_FORCE_NEW,
    AZURE_FORCE_NEW,
    has_replacement_rules,
    is_regional,
)
from policies.stack.stateful import STATEFUL_TYPES
from tests.conftest import SynthesizedEnvironment


def custom_types(synthesized: dict[str, SynthesizedEnvironment]) -> set[str]:
    """Every custom resource type (providers included) in every environment's plan."""
    return {
        entry["type"] for env in synthesized.values() for entry in env.entries if entry["custom"]
    }


def aws_args_parameters(type_token: str) -> set[str]:
    """The input names pulumi-aws' SDK takes for `type_token` (snake_case)."""
    _, module_and_file, resource = type_token.split(":")
    package = importlib.import_module(f"pulumi_aws.{module_and_file.split('/')[0]}")
    # The resource's own module, and `<Name>InitArgs` where the SDK had to rename it: a
    # nested input type took `<Name>Args` (`s3.BucketVersioningArgs` is the legacy
    # bucket's `versioning` block).
    module = inspect.getmodule(getattr(package, resource))
    args = getattr(module, f"{resource}InitArgs", None) or getattr(module, f"{resource}Args")
    return set(inspect.signature(args.__init__).parameters) - {"__self__", "self"}


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_every_custom_type_plinth_creates_has_replacement_rules(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    missing = sorted(t for t in custom_types(synthesized) if not has_replacement_rules(t))
    assert missing == [], (
        "plinth diff cannot tell which changes replace these types: add their provider's "
        "force-new fields to plinth/replacement.py (an empty entry if none), naming the source"
    )


def test_every_stateful_type_has_replacement_rules() -> None:
    assert sorted(t for t in STATEFUL_TYPES if not has_replacement_rules(t)) == []


@pytest.mark.parametrize(
    "type_token",
    ["aws:sqs/queue:Queue", "azure-native:network:VirtualNetwork", "pulumi:providers:azure-native"],
)
def test_a_type_nobody_transcribed_has_no_rules(type_token: str) -> None:
    # What the coverage test above relies on: an unknown type is not silently covered.
    assert not has_replacement_rules(type_token)


def test_regional_aws_types_are_those_whose_sdk_takes_a_region(
    synthesized: dict[str, SynthesizedEnvironment],
) -> None:
    aws_types = {t for t in custom_types(synthesized) | STATEFUL_TYPES if t.startswith("aws:")}
    assert aws_types, "the eks environments create AWS resources"
    wrong = sorted(t for t in aws_types if is_regional(t) != ("region" in aws_args_parameters(t)))
    assert wrong == []


@pytest.mark.parametrize("type_token", sorted(AWS_FORCE_NEW))
def test_aws_force_new_fields_are_inputs_of_the_sdk(type_token: str) -> None:
    parameters = aws_args_parameters(type_token)
    top_level = {path.split(".")[0] for path in AWS_FORCE_NEW[type_token]}
    assert sorted(name for name in top_level if snake_case(name) not in parameters) == []


def azure_args_parameters(type_token: str) -> set[str]:
    """The input names pulumi-azure-native's SDK takes for `type_token` (snake_case; an
    input that clashes with Python's own, `resource_name`, gets a trailing `_`)."""
    _, module, resource = type_token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), resource)
    parameters = set(inspect.signature(cls._internal_init).parameters)
    return {name.removesuffix("_") for name in parameters} - {"self", "opts", "_props"}


@pytest.mark.parametrize("type_token", sorted(AZURE_FORCE_NEW))
def test_azure_force_new_fields_are_inputs_of_the_sdk(type_token: str) -> None:
    parameters = azure_args_parameters(type_token)
    top_level = {path.split(".")[0] for path in AZURE_FORCE_NEW[type_token]}
    assert sorted(name for name in top_level if snake_case(name) not in parameters) == []
