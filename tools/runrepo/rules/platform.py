"""What the MosaicML platform would refuse, rewrite, or run in a way nobody intended."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..releases import NEMO_IMAGE, TAG_RELEASES, digest_valid, image_tag, is_bare_digest, parse_image, release_of
from .registry import WARNING, Hit, rule

if TYPE_CHECKING:
    from ..compose.gate import Json, KeyPath
    from .context import RunCtx

PLACEHOLDERS = re.compile(r"\?\?\?|your_dataset_path_here|/your_[a-z_]*path|\bTODO\b|\bFIXME\b|<fill[- ]in[^>]*>", re.I)
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_NAME = 56  # the platform appends "-" and a 6-character id; 63 is the RFC 1123 label limit


def _strings(value: Json, path: KeyPath = ()) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, path + (i,))


@rule(
    "placeholder",
    "no placeholder reaches the platform (???, your_dataset_path_here, TODO, <fill-in ...>)",
    example="parameters:\n  model:\n    data:\n      data_prefix: [1.0, /your_dataset_path_here/]  #<",
    fix="parameters:\n  model:\n    data:\n      data_prefix: [1.0, /mnt/data/pile/pile_00_text_document]",
)
def placeholder(ctx: RunCtx) -> Iterator[Hit]:
    for path, text in _strings({k: v for k, v in ctx.run.items() if k != "metadata"}):
        m = PLACEHOLDERS.search(text)
        if m:
            yield Hit(path, f"{'.'.join(map(str, path))} is still a placeholder ({m.group(0)!r}): set a real value")


@rule(
    "image-pinned",
    "the image is pinned to a tag or digest, neither `latest` nor a moving `*-latest`",
    example="image: nvcr.io/nvidia/nemo:latest  #<",
    fix="image: nvcr.io/nvidia/nemo:24.05",
)
def image_pinned(ctx: RunCtx) -> Iterator[Hit]:
    image = ctx.get("image")
    if not isinstance(image, str):
        return
    _, tag, digest = parse_image(image)
    if digest and not digest_valid(digest):
        yield Hit(("image",), f"image digest {digest!r} is not sha256:<64 lowercase hex digits>")
    elif not tag and not digest:
        yield Hit(("image",), f"image {image!r} has no tag: it means `latest`, which moves; pin a release")
    elif tag == "latest" or tag.endswith("-latest") or tag in ("main", "nightly", "dev"):
        yield Hit(("image",), f"image tag {tag!r} moves between pulls; pin a release tag or a digest")


@rule(
    "image-release",
    "a NeMo image tag maps to a supported NeMo release, the one its parameters were written for",
    example="defaults:\n  - /nemo: v1_13\nimage: nvcr.io/nvidia/nemo:24.05  #<",
    fix="defaults:\n  - /nemo: v2_0",
)
def image_release(ctx: RunCtx) -> Iterator[Hit]:
    image, chosen = ctx.get("image"), ctx.get("runrepo.nemo_release")
    if not isinstance(image, str) or parse_image(image)[0] != NEMO_IMAGE:
        if chosen:
            yield Hit(("image",), f"image {image!r} is not {NEMO_IMAGE}:<tag>; the NeMo release cannot be checked")
        return
    if is_bare_digest(image):
        if chosen:  # pinned, but only the layer says which release it carries
            yield Hit(("image",), f"image {image} is pinned by digest alone: it cannot confirm NeMo {chosen} "
                      f"({ctx.where('runrepo.nemo_release')}); write {NEMO_IMAGE}:<tag>@<digest> to check it", WARNING)
        else:
            yield Hit(("image",), f"image {image} is pinned by digest alone and no /nemo layer declares its "
                      "NeMo release: choose a /nemo option or write the tag before the digest")
        return
    release = release_of(image)
    if release is None:
        known = ", ".join(f"{t} (NeMo {r})" for t, r in TAG_RELEASES.items())
        yield Hit(("image",), f"unknown NeMo container tag {image_tag(image)!r}; supported: {known}")
    elif chosen and str(chosen) != release:
        yield Hit(
            ("image",),
            f"image {image} carries NeMo {release} but parameters come from NeMo {chosen} "
            f"({ctx.where('runrepo.nemo_release')}); choose the matching /nemo option",
        )


@rule(
    "run-name",
    f"the run name is lowercase letters, digits and '-', at most {MAX_NAME} characters (else mcli rewrites it)",
    example="name: GPT3_126M  #<",
    fix="name: gpt3-126m",
)
def run_name(ctx: RunCtx) -> Iterator[Hit]:
    name = ctx.get("name")
    if not isinstance(name, str) or not name:
        yield Hit(("name",), "the run has no name")
        return
    if len(name) > MAX_NAME:
        yield Hit(("name",), f"name is {len(name)} characters; the platform allows {MAX_NAME} before its suffix")
    if not NAME_RE.match(name):
        fixed = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
        yield Hit(("name",), f"name {name!r} is not a valid platform name (mcli would rewrite it); try {fixed!r}")
