"""Which NeMo release a container tag carries: it selects the NeMo schema and the rules.

From NeMo's README at each tag ("NeMo r1.16.0 comes with container nemo:23.01"; v1.20 ->
23.04, v1.23 -> 23.10, v2.0-v2.2 -> 24.05, v2.3-v2.4 -> 25.02). The 22.xx containers predate
that sentence: NeMo v1.11-v1.13 were built on PyTorch containers 22.07-22.09 and shipped as
nemo:22.09 (1.11) and nemo:22.11 (1.13). 24.07 carries the 2.0 line as well. Only releases
with a schema in schemas/nemo/ are supported; any other tag is a finding, not a guess.
"""

from __future__ import annotations

TAG_RELEASES = {
    "22.09": "1.11",
    "22.11": "1.13",
    "23.10": "1.23",
    "24.05": "2.0",
    "24.07": "2.0",
}
SUPPORTED = ("1.11", "1.13", "1.23", "2.0")
NEMO_IMAGE = "nvcr.io/nvidia/nemo"


def image_tag(image: str) -> str:
    if "@" in image:
        return image.rsplit("@", 1)[1]
    name, _, tag = image.rpartition(":")
    return tag if name and "/" not in tag else ""


def release_of(image: str) -> str | None:
    """The NeMo release of an nvcr.io/nvidia/nemo image, or None when the tag is not known."""
    if not isinstance(image, str) or not image.startswith(NEMO_IMAGE + ":"):
        return None
    tag = image_tag(image)
    return TAG_RELEASES.get(tag) or TAG_RELEASES.get(".".join(tag.split(".")[:2]))


def release_key(release: str) -> tuple[int, ...]:
    return tuple(int(x) for x in release.split("."))


def in_range(release: str | None, since: str | None = None, before: str | None = None) -> bool:
    """True if `release` is within [since, before); an unknown release matches every rule."""
    if release is None:
        return True
    r = release_key(release)
    return (since is None or r >= release_key(since)) and (before is None or r < release_key(before))
