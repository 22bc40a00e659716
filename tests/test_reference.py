"""docs/configuration.md is generated from the models and must be current."""

from __future__ import annotations

from plinth.reference import render
from stacks.config import PlatformConfig
from tests.conftest import ROOT


def test_configuration_reference_is_current() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == render(), "docs/configuration.md is stale: run `make docs` and commit it"


def test_reference_documents_every_top_level_setting_with_a_description() -> None:
    page = render()
    for key, field in PlatformConfig.model_fields.items():
        assert f"## `plinth:{key}`" in page
        assert field.description
