"""Image rules (policies/kubernetes/images.py), through the pack: registries, tags, digests."""

from __future__ import annotations

import pytest

from policies.kubernetes.images import parse_image
from tests.policies.kubernetes.pods import DIGEST, changed
from tests.policy_harness import hits

UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}


@pytest.mark.parametrize(
    ("image", "registry", "repository", "tag", "digest"),
    [
        ("busybox", "docker.io", "library/busybox", None, None),
        ("pytorch/pytorch:2.5.1", "docker.io", "pytorch/pytorch", "2.5.1", None),
        ("apache/spark:4.0.1", "docker.io", "apache/spark", "4.0.1", None),
        ("index.docker.io/library/spark:4", "docker.io", "library/spark", "4", None),
        ("localhost:5001/model", "localhost:5001", "model", None, None),
        (
            "nvcr.io/nvidia/k8s-device-plugin:v0.20.0",
            "nvcr.io",
            "nvidia/k8s-device-plugin",
            "v0.20.0",
            None,
        ),
        (f"ghcr.io/a/b:1@{DIGEST}", "ghcr.io", "a/b", "1", DIGEST),
        (f"quay.io/a/b@{DIGEST}", "quay.io", "a/b", None, DIGEST),
    ],
)
def test_parse_image(
    image: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    reference = parse_image(image)
    assert (reference.registry, reference.repository, reference.tag, reference.digest) == (
        registry,
        repository,
        tag,
        digest,
    )


@pytest.mark.parametrize(
    "image",
    [
        "pytorch/pytorch:2.5.1",
        "apache/spark:4.0.1",
        "registry.k8s.io/pause:3.10",
        "nvcr.io/nvidia/cuda:12.4.1",
    ],
)
def test_images_from_allowed_registries_pass(image: str) -> None:
    assert hits("allowed-image-registries", changed("containers[0].image", image)) == []


@pytest.mark.parametrize("image", ["registry.example.com/team/model:1", "localhost:5001/model:dev"])
def test_images_from_other_registries_fail(image: str) -> None:
    (found,) = hits("allowed-image-registries", changed("containers[0].image", image))
    assert found.level == "mandatory"
    assert f"spec.template.spec.containers[0].image is {image!r}" in found.message


def test_allowed_registries_may_be_narrowed_to_paths() -> None:
    config = {"allowed-image-registries": {"registries": ["docker.io/pytorch", "ghcr.io"]}}
    assert (
        hits(
            "allowed-image-registries",
            changed("containers[0].image", "pytorch/pytorch:2"),
            config=config,
        )
        == []
    )
    found = hits(
        "allowed-image-registries", changed("containers[0].image", "busybox:1.36"), config=config
    )
    assert len(found) == 1


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("busybox", "with no tag"),
        ("busybox:latest", "latest moves"),
        ("localhost:5001/model", "with no tag"),
    ],
)
def test_images_name_a_version_tag(image: str, expected: str) -> None:
    for tier in ("dev", "prod"):
        (found,) = hits("images-no-latest-tag", changed("containers[0].image", image), tier=tier)
        assert found.level == "mandatory"
        assert expected in found.message


def test_forbidden_tags_are_a_knob() -> None:
    subject = changed("containers[0].image", "ghcr.io/a/b:main")
    assert hits("images-no-latest-tag", subject) == []
    config = {"images-no-latest-tag": {"forbiddenTags": ["latest", "main"]}}
    assert len(hits("images-no-latest-tag", subject, config=config)) == 1


def test_a_digest_pins_an_image_without_a_tag() -> None:
    assert hits("images-no-latest-tag", changed("containers[0].image", f"busybox@{DIGEST}")) == []


@pytest.mark.parametrize(
    ("tier", "level"), [("dev", "advisory"), ("staging", "advisory"), ("prod", "mandatory")]
)
def test_digests_are_mandatory_only_in_prod(tier: str, level: str) -> None:
    found = hits(
        "images-pinned-by-digest", changed("containers[0].image", "ghcr.io/a/b:1.2.3"), tier=tier
    )
    assert [v.level for v in found] == [level]


@pytest.mark.parametrize("image", ["ghcr.io/a/b:1@sha256:abc", "ghcr.io/a/b:1@md5:" + "a" * 32])
def test_a_malformed_digest_does_not_pin(image: str) -> None:
    assert len(hits("images-pinned-by-digest", changed("containers[0].image", image))) == 1


def test_exempt_images_may_go_by_tag() -> None:
    subject = changed("containers[0].image", "registry.example.com/mirror/spark:4.0.1")
    config = {"images-pinned-by-digest": {"exemptImages": ["registry.example.com/mirror/*"]}}
    assert hits("images-pinned-by-digest", subject, config=config) == []
    assert len(hits("images-pinned-by-digest", subject)) == 1


def test_a_secret_image_is_still_checked() -> None:
    subject = changed("containers[0].image", {**SECRET_SIG, "value": "busybox:latest"})
    assert len(hits("images-no-latest-tag", subject)) == 1


def test_an_unknown_image_stops_only_the_image_rules_until_it_is_known() -> None:
    subject = changed("containers[0].image", UNKNOWN_STRING)
    found = hits("images-no-latest-tag", subject)
    assert [(v.level, "can't be known during preview" in v.message) for v in found] == [
        ("advisory", True)
    ]
    assert hits("pss-no-privileged", subject) == []
