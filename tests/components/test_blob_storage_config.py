"""Configuration of Blob storage (`plinth:blob_storage`): bad settings are one-line errors
naming the field and the fix, and its claims and service accounts must be free in the jobs
namespace. The aks target is not in this branch yet: the loader is exercised on the
existing and eks targets, the collision check through the component's `problem`."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from components.blob_storage import COMPONENT
from components.blob_storage.args import BlobStorageArgs
from tests.stacks.test_config import error_of, load, valid_values

SHARED_VOLUME = {"size_gib": 10, "access_mode": "ReadWriteOnce"}


def problem(**values: Any) -> str | None:
    """The component's cross-key check on an environment with `values` (existing target)."""
    return COMPONENT.problem(BlobStorageArgs(), load(valid_values(**values)))


def test_the_defaults_collide_with_nothing() -> None:
    assert problem() is None


def test_a_jobs_volume_named_like_a_blob_claim_is_refused() -> None:
    found = problem(jobs={"volumes": {"blob-datasets": SHARED_VOLUME}})
    assert found == (
        "jobs.volumes.blob-datasets and blob_storage.volumes.datasets both make the claim "
        "'blob-datasets' in the jobs namespace: rename jobs.volumes.blob-datasets"
    )


def test_a_driver_service_account_named_like_a_blob_volume_is_refused() -> None:
    found = problem(spark_operator={"driver_service_account": "blob-scratch"})
    assert found is not None
    assert found.startswith("spark_operator.driver_service_account 'blob-scratch'")
    assert "blob_storage.volumes.scratch" in found


def test_without_the_jobs_namespace_nothing_collides() -> None:
    assert (
        problem(
            jobs={"enabled": False, "volumes": {"blob-datasets": SHARED_VOLUME}},
            spark_operator={"enabled": False},
            training_operator={"enabled": False},
        )
        is None
    )


def test_blob_storage_on_another_target_is_refused_in_one_line() -> None:
    message = error_of(valid_values(blob_storage={"versioning": False}))
    assert "blob_storage is set but cluster.target is 'existing'" in message
    assert "needs the aks target; remove plinth:blob_storage" in message


def first_error(**settings: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        BlobStorageArgs(**settings)
    error = caught.value.errors()[0]
    return f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"volumes": {"models": {"container": "models"}}},
            "volumes.models.container is 'models', not a key of containers (artifacts, "
            "datasets, scratch): name one of them or add the container",
        ),
        (
            {"volumes": {"datasets": {"cache": {"memory_mib": 512}}}},
            "cache.memory_mib is set but cache.mode is 'file'",
        ),
        ({"account_name": "Plinth-Prod"}, "account_name: String should match pattern"),
        ({"containers": {"Data_Sets": {}}}, "containers.Data_Sets.[key]: String should match"),
        ({"soft_delete_days": 400}, "soft_delete_days: Input should be less than or equal"),
        ({"replication": "PRS"}, "replication: Input should be 'LRS'"),
        ({"volumes": {"scratch": {"subdirectory": "/abs/"}}}, "volumes.scratch.subdirectory"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(settings: dict[str, Any], expected: str) -> None:
    assert expected in first_error(**settings)


def test_a_refusal_through_the_loader_is_one_line_naming_the_field() -> None:
    # Args errors come before the target check: the loader reports the field in one line.
    message = error_of(valid_values(blob_storage={"volumes": {"x": {"container": "nope"}}}))
    assert "blob_storage" in message
    assert "volumes.x.container is 'nope'" in message
