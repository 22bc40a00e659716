"""Rules: images come from an allowed registry, name a version, and are pinned by digest.

Image references are read as the container runtime reads them (`parse_image`): Docker
Hub short names such as `pytorch/pytorch` and `busybox` are `docker.io`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase

from pulumi_policy import ResourceValidationArgs, Severity

from policies.framework import (
    ADVISORY_IN_DEV,
    MANDATORY_EVERYWHERE,
    MANDATORY_IN_PROD,
    Rule,
    environment_key,
    resource_rule,
    sequence,
)
from policies.kubernetes.pod_specs import PodSpecView, containers, pod_validator

DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$")


@dataclass(frozen=True)
class ImageReference:
    """A container image reference, normalized as the container runtime reads it."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """`registry/repository`, e.g. `docker.io/pytorch/pytorch`."""
        return f"{self.registry}/{self.repository}"


def parse_image(image: str) -> ImageReference:
    """`pytorch/pytorch:2.5.1` -> docker.io, pytorch/pytorch, 2.5.1, no digest."""
    name, _, digest = image.partition("@")
    tag = None
    if name.rfind(":") > name.rfind("/"):
        name, _, tag = name.rpartition(":")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first.lower(), rest
    else:
        registry, repository = DOCKER_HUB, name
    if registry in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    return ImageReference(registry, repository, tag or None, digest or None)


def _images(view: PodSpecView) -> Iterator[tuple[str, str]]:
    """(subject, image) for every container with an image, the subject naming the field.

    The subject names the container too when the image is written in the container; a
    Spark image written once in `spec.image` serves driver and executor, and is one
    problem with one message.
    """
    for container in containers(view.spec):
        image = container.spec.get("image")
        if isinstance(image, str) and image:
            field = view.locate(f"{container.path}.image")
            own = field.startswith(view.locate(container.path) + ".")
            yield (f"{container.label}: {field}" if own else field), image


def _under_prefix(reference: ImageReference, entry: str) -> bool:
    """Whether `entry` (a registry, or registry/path) covers the image."""
    entry = entry.strip().rstrip("/")
    if "/" not in entry:
        return reference.registry == entry.lower()
    return reference.name == entry or reference.name.startswith(f"{entry}/")


def _registries(view: PodSpecView, args: ResourceValidationArgs) -> Iterator[str]:
    allowed = [str(entry) for entry in sequence(args.get_config().get("registries"))]
    for subject, image in _images(view):
        reference = parse_image(image)
        if not any(_under_prefix(reference, entry) for entry in allowed):
            yield (
                f"{subject} is {image!r}, from {reference.registry}, which is "
                f"not an allowed registry; mirror it to one of {', '.join(allowed)} or add "
                f"the registry to {environment_key(REGISTRIES_RULE, 'registries')}"
            )


def _tags(view: PodSpecView, args: ResourceValidationArgs) -> Iterator[str]:
    forbidden = [str(tag) for tag in sequence(args.get_config().get("forbiddenTags"))]
    for subject, image in _images(view):
        reference = parse_image(image)
        if reference.digest:
            continue
        if reference.tag is None:
            yield f"{subject} is {image!r}, with no tag (latest); name a version"
        elif reference.tag in forbidden:
            yield f"{subject} is {image!r}; {reference.tag} moves: name a version"


def _digests(view: PodSpecView, args: ResourceValidationArgs) -> Iterator[str]:
    exempt = [str(pattern) for pattern in sequence(args.get_config().get("exemptImages"))]
    for subject, image in _images(view):
        reference = parse_image(image)
        if reference.digest is not None and _DIGEST.match(reference.digest):
            continue
        if any(fnmatchcase(reference.name, pattern) for pattern in exempt):
            continue
        yield (
            f"{subject} is {image!r}, not pinned by digest; append "
            f"@sha256:<digest> (the tag may stay for readers)"
        )


REGISTRIES_RULE = "allowed-image-registries"
DIGESTS_RULE = "images-pinned-by-digest"
# Where Plinth pins the images it deploys, and where a chart's images are set.
WHERE_IMAGES_CHANGE = (
    "Plinth pins the images it deploys in components/versions.py; a chart's images are "
    "chart values, set through plinth:<component>.values_override in the environment file."
)

# The registries Plinth's components and the charts it plans to install pull from.
DEFAULT_REGISTRIES = (
    "docker.io",
    "ghcr.io",
    "mcr.microsoft.com",
    "nvcr.io",
    "public.ecr.aws",
    "quay.io",
    "registry.k8s.io",
)

RULES: tuple[Rule, ...] = (
    resource_rule(
        REGISTRIES_RULE,
        "Images come from an allowed registry.",
        pod_validator(_registries),
        severity=Severity.HIGH,
        remediation=(
            "Pull the image from an allowed registry (mirror it there), or add its "
            f"registry to {environment_key(REGISTRIES_RULE, 'registries')}. "
            f"{WHERE_IMAGES_CHANGE}"
        ),
        levels=ADVISORY_IN_DEV,
        config={
            "registries": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": list(DEFAULT_REGISTRIES),
                "description": (
                    "Allowed registries ('quay.io') or registry paths ('docker.io/pytorch'). "
                    "Docker Hub short names ('pytorch/pytorch', 'busybox') are docker.io."
                ),
            }
        },
    ),
    resource_rule(
        "images-no-latest-tag",
        "Every image names a version tag (or a digest), never latest or no tag.",
        pod_validator(_tags),
        severity=Severity.MEDIUM,
        remediation=(
            "Name the image with a version tag (repo:1.2.3) or a digest (repo@sha256:...). "
            f"{WHERE_IMAGES_CHANGE}"
        ),
        levels=MANDATORY_EVERYWHERE,
        config={
            "forbiddenTags": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": ["latest"],
                "description": "Tags that move and so pin nothing.",
            }
        },
    ),
    resource_rule(
        DIGESTS_RULE,
        "Every image is pinned by digest (@sha256:...).",
        pod_validator(_digests),
        severity=Severity.MEDIUM,
        remediation=(
            "Append the digest to the image (repo:1.2.3@sha256:...); `crane digest` or "
            f"`docker buildx imagetools inspect` prints it. {WHERE_IMAGES_CHANGE} A mirror "
            f"whose tags never move goes in {environment_key(DIGESTS_RULE, 'exemptImages')}."
        ),
        levels=MANDATORY_IN_PROD,
        config={
            "exemptImages": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": [],
                "description": (
                    "Repositories that may go by tag alone: globs on registry/repository, "
                    "e.g. 'registry.example.com/mirror/*'."
                ),
            }
        },
    ),
)
