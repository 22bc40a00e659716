"""policies/taggable_types.py, the table `cloud-required-tags` reads, against the SDKs.

The table is generated from the SDKs' sources (plinth/sdk_tags.py). It must be exactly
what the installed SDKs declare, and what their imported classes take: for every resource
class of each service package Plinth deploys or reviews, `tags` among the parameters of
the class's own `_internal_init` (every input it passes to the engine) if and only if its
type token is in the table.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from pathlib import Path

import pulumi
import pytest

from plinth.sdk_tags import (
    TABLE,
    SdkLayoutError,
    input_names,
    render_table,
    sdk_versions,
    taggable_types,
)
from policies.stack.attribution import accepts_tags
from policies.taggable_types import SDK_VERSIONS, TAGGABLE_TYPES

# The service packages whose resources Plinth creates (components/aws, stacks/eks.py) or
# its policies name (Azure storage and AKS).
SERVICES = (
    "pulumi_aws.autoscaling",
    "pulumi_aws.cloudwatch",
    "pulumi_aws.ec2",
    "pulumi_aws.eks",
    "pulumi_aws.iam",
    "pulumi_aws.kms",
    "pulumi_aws.s3",
    "pulumi_azure_native.containerservice",
    "pulumi_azure_native.storage",
)


def test_the_table_is_generated_from_the_installed_sdks() -> None:
    assert sdk_versions() == SDK_VERSIONS, "SDK bumped: run .venv/bin/python -m plinth.sdk_tags"
    expected = render_table(taggable_types(), sdk_versions())
    assert TABLE.read_text(encoding="utf-8") == expected, (
        "policies/taggable_types.py is stale: run .venv/bin/python -m plinth.sdk_tags"
    )


@pytest.mark.parametrize("module_name", SERVICES)
def test_the_table_agrees_with_the_imported_sdk_classes(module_name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # deprecated classes load too
        module = importlib.import_module(module_name)
        classes = [
            value
            for name in sorted(module.__all__ if hasattr(module, "__all__") else dir(module))
            if isinstance(value := getattr(module, name), type)
            and issubclass(value, pulumi.CustomResource)
        ]
    takes_tags = {
        str(pulumi.get_type_token(cls)): "tags"
        in inspect.signature(vars(cls)["_internal_init"]).parameters
        for cls in classes
    }
    assert takes_tags, f"no resource classes found in {module_name}"
    wrong = sorted(token for token, takes in takes_tags.items() if takes != accepts_tags(token))
    assert wrong == []


def test_types_plinth_creates_are_judged_by_the_table() -> None:
    assert accepts_tags("aws:s3/bucket:Bucket")
    assert accepts_tags("aws:eks/nodeGroup:NodeGroup")
    assert accepts_tags("azure-native:storage:StorageAccount")
    assert not accepts_tags("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert not accepts_tags("azure-native:storage:BlobContainer")
    assert not accepts_tags("aws:future/widget:Widget")  # a type the SDK does not know
    assert all(token.startswith(("aws:", "azure-native:")) for token in TAGGABLE_TYPES)


def test_the_generator_reads_the_args_class_of_each_resource(tmp_path: Path) -> None:
    source = (
        "class WidgetArgs:\n"
        "    def __init__(__self__, *,\n"
        "                 name: pulumi.Input[str],\n"
        "                 tags: Optional[Mapping[str, str]] = None):\n"
        "        pass\n"
        "class GadgetInitArgs:\n"
        "    def __init__(__self__, *,\n"
        "                 size: Optional[int] = None):\n"
        "        pass\n"
    )
    assert input_names(source, "Widget", tmp_path) == {"__self__", "name", "tags"}
    # The SDK renames a resource's args class when an input type took its name.
    assert input_names(source, "Gadget", tmp_path) == {"__self__", "size"}
    with pytest.raises(SdkLayoutError, match="no args class for Gizmo"):
        input_names(source, "Gizmo", tmp_path)
