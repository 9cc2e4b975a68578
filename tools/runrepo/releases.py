"""Which NeMo release a container tag carries: it selects the NeMo schema and the rules.

Sources (cited row by row in CONTAINERS, pinned by tests/schemas/test_releases.py):
- NVIDIA NeMo Framework user guide, "Software Component Versions", 24.09 edition:
  https://docs.nvidia.com/nemo-framework/user-guide/24.09/softwarecomponentversions.html
  (24.09, 24.07, 24.05: NeMo, Megatron Core, Transformer Engine, PyTorch Lightning);
- NeMo's release notes, "Container: docker pull nvcr.io/nvidia/nemo:<tag>" (v1.11.0: 22.07,
  v1.17.0: 23.02), https://github.com/NVIDIA/NeMo/releases/tag/v<version>;
- NeMo's README at v1.16.0 ("NeMo r1.16.0 comes with container nemo:23.01").
The other rows follow NeMo's naming rule (from v1.7 "the YY.MM value is based on the base container",
release notes v1.7.0): one container a release, on the month's PyTorch base. They are marked
`published=False` until checked against the current page. Megatron Core versions of 1.x are the
`megatron-core==` pins of the nemo_toolkit wheel. Any tag not listed is a finding, not a guess.
"""

from __future__ import annotations

import re
from typing import NamedTuple, TypedDict

NEMO_IMAGE = "nvcr.io/nvidia/nemo"
PAGE_24_09 = "https://docs.nvidia.com/nemo-framework/user-guide/24.09/softwarecomponentversions.html"
NOTES = "https://github.com/NVIDIA/NeMo/releases/tag/v{}"


class Container(NamedTuple):
    nemo: str  # nemo_toolkit version in the container ("2.0.0rc0" for a release candidate)
    megatron_core: str | None = None
    transformer_engine: str | None = None
    lightning: str | None = None
    source: str = "NeMo's YY.MM naming rule (one container a release)"
    published: bool = False  # True: every value above was read from `source`


CONTAINERS: dict[str, Container] = {
    "22.07": Container("1.11.0", source=NOTES.format("1.11.0"), published=True),
    "22.08": Container("1.12.0"),
    "22.09": Container("1.13.0"),
    "22.11": Container("1.14.0"),
    "22.12": Container("1.15.0"),
    "23.01": Container("1.16.0", source="NeMo README at v1.16.0", published=True),
    "23.02": Container("1.17.0", source=NOTES.format("1.17.0"), published=True),
    "23.03": Container("1.18.0", "0.1.0"),
    "23.04": Container("1.19.0", "0.2.0"),
    "23.06": Container("1.20.0", "0.2.0"),
    "23.08": Container("1.21.0", "0.3.0"),
    "23.10": Container("1.22.0", "0.4.0"),
    "24.01": Container("1.23.0", "0.5.0"),
    "24.03": Container("1.23.0", "0.5.0"),
    "24.05": Container("2.0.0rc0", "0.7.0", "1.6.0.dev0", "2.2.4", PAGE_24_09, True),
    "24.07": Container("2.0.0rc1", "0.8", "1.8.0.dev0", "2.3.3", PAGE_24_09, True),
    "24.09": Container("2.0.0", "0.9.0", "1.10", "2.4.0", PAGE_24_09, True),
    "24.12": Container("2.1.0"),
    "25.02": Container("2.2.0"),
    "25.04": Container("2.3.0"),
    "25.07": Container("2.4.0"),
}
TAG_RELEASES = {tag: ".".join(c.nemo.split(".")[:2]) for tag, c in CONTAINERS.items()}
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def parse_image(image: str) -> tuple[str, str, str]:
    """(name, tag, digest) of an image reference; tag and digest may be empty.
    `nvcr.io/nvidia/nemo:24.05@sha256:<64 hex>` -> ("nvcr.io/nvidia/nemo", "24.05", "sha256:...")."""
    ref, _, digest = image.partition("@")
    name, _, tag = ref.rpartition(":")
    if not name or "/" in tag:  # no tag (a registry port is followed by a path)
        name, tag = ref, ""
    return name, tag, digest


def image_tag(image: str) -> str:
    return parse_image(image)[1]


def image_digest(image: str) -> str:
    return parse_image(image)[2]


def digest_valid(digest: str) -> bool:
    return bool(_DIGEST.match(digest))


def _container(image: object) -> Container | None:
    if not isinstance(image, str):
        return None
    name, tag, _ = parse_image(image)
    if name != NEMO_IMAGE or not tag:
        return None
    # patch tags (24.01.01, 25.04.02) and variants (24.01.framework) carry their month's release
    return CONTAINERS.get(tag) or CONTAINERS.get(".".join(tag.split(".")[:2]))


def release_of(image: object) -> str | None:
    """The NeMo release ("1.23", "2.0") of an nvcr.io/nvidia/nemo image, or None when the tag is unknown."""
    c = _container(image)
    return ".".join(c.nemo.split(".")[:2]) if c else None


def is_bare_digest(image: object) -> bool:
    """nvcr.io/nvidia/nemo@sha256:... : pinned, but the image cannot say which release it carries."""
    if not isinstance(image, str):
        return False
    name, tag, digest = parse_image(image)
    return name == NEMO_IMAGE and not tag and bool(digest)


class Components(TypedDict):
    """What `components` says of a container; None where NVIDIA publishes no value."""

    release: str
    nemo: str
    release_candidate: bool
    megatron_core: str | None
    transformer_engine: str | None
    lightning: str | None
    has_transformer_engine: bool | None
    has_flash_attention: bool | None
    source: str
    published: bool


def components(image: object) -> Components | None:
    """What NVIDIA publishes the container to hold, for the rules and the memory estimator; None for an
    unknown image. Unpublished component versions are None (unknown), never guessed; the flags
    say whether Transformer Engine (and its flash-attention backend, which TE 1.x requires) is present,
    None when not known."""
    c = _container(image)
    if c is None:
        return None
    te = True if c.transformer_engine else None
    return {
        "release": ".".join(c.nemo.split(".")[:2]),
        "nemo": c.nemo,
        "release_candidate": "rc" in c.nemo,
        "megatron_core": c.megatron_core,
        "transformer_engine": c.transformer_engine,
        "lightning": c.lightning,
        "has_transformer_engine": te,
        "has_flash_attention": te,
        "source": c.source,
        "published": c.published,
    }


def release_key(release: str) -> tuple[int, ...]:
    return tuple(int(x) for x in release.split("."))


def in_range(release: str | None, since: str | None = None, before: str | None = None) -> bool:
    """True if `release` is within [since, before); an unknown release matches every rule."""
    if release is None:
        return True
    r = release_key(release)
    return (since is None or r >= release_key(since)) and (before is None or r < release_key(before))
