"""The container table (tools/runrepo/releases.py) against what NVIDIA publishes, and image references."""

from __future__ import annotations

import pytest
from runrepo import releases as r
from schema_helpers import REPO, SCHEMAS

# NVIDIA NeMo Framework user guide, "Software Component Versions", 24.09 edition:
# https://docs.nvidia.com/nemo-framework/user-guide/24.09/softwarecomponentversions.html
PUBLISHED_24_09 = {  # container: (NeMo, Megatron Core, Transformer Engine, PyTorch Lightning)
    "24.09": ("2.0.0", "0.9.0", "1.10", "2.4.0"),
    "24.07": ("2.0.0rc1", "0.8", "1.8.0.dev0", "2.3.3"),
    "24.05": ("2.0.0rc0", "0.7.0", "1.6.0.dev0", "2.2.4"),
}
# NeMo release notes, "Container: docker pull nvcr.io/nvidia/nemo:<tag>" (github.com/NVIDIA/NeMo/releases)
RELEASE_NOTES = {"22.07": "1.11.0", "23.02": "1.17.0"}
ISSUE_TAGS = ["23.02", "23.03", "23.04", "23.06", "23.08", "24.01", "24.03", "24.09", "24.12", "25.02", "25.04", "25.07"]


@pytest.mark.parametrize("tag", sorted(PUBLISHED_24_09))
def test_table_matches_the_published_component_versions(tag):
    c = r.CONTAINERS[tag]
    assert (c.nemo, c.megatron_core, c.transformer_engine, c.lightning) == PUBLISHED_24_09[tag]
    assert c.published and c.source == r.PAGE_24_09


def test_release_notes_rows_and_release_candidates():
    for tag, version in RELEASE_NOTES.items():
        assert r.CONTAINERS[tag].nemo == version and r.CONTAINERS[tag].published
    assert r.components("nvcr.io/nvidia/nemo:24.05")["nemo"] == "2.0.0rc0"
    assert r.components("nvcr.io/nvidia/nemo:24.07")["release_candidate"] is True
    assert r.components("nvcr.io/nvidia/nemo:24.09")["release_candidate"] is False


@pytest.mark.parametrize("tag", sorted(r.CONTAINERS))
def test_every_tag_has_a_layer_and_a_schema(tag):
    release = r.release_of(f"nvcr.io/nvidia/nemo:{tag}")
    assert (SCHEMAS / "nemo" / f"v{release}.json").is_file()
    assert (REPO / "runs" / "nemo" / f"v{release.replace('.', '_')}.yaml").is_file()


def test_the_issue_tags_and_every_release_are_covered():
    assert all(r.release_of(f"nvcr.io/nvidia/nemo:{t}") for t in ISSUE_TAGS)
    releases = sorted(set(r.TAG_RELEASES.values()), key=r.release_key)
    assert releases == [f"1.{m}" for m in range(11, 24)] + [f"2.{m}" for m in range(5)]


DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    "image,expected",
    [
        ("nvcr.io/nvidia/nemo:24.05", ("nvcr.io/nvidia/nemo", "24.05", "")),
        (f"nvcr.io/nvidia/nemo:24.05@{DIGEST}", ("nvcr.io/nvidia/nemo", "24.05", DIGEST)),
        (f"nvcr.io/nvidia/nemo@{DIGEST}", ("nvcr.io/nvidia/nemo", "", DIGEST)),
        ("localhost:5000/nemo", ("localhost:5000/nemo", "", "")),
        ("localhost:5000/nemo:24.05", ("localhost:5000/nemo", "24.05", "")),
    ],
)
def test_parse_image(image, expected):
    assert r.parse_image(image) == expected


def test_release_of_digest_pins_and_patch_tags():
    assert r.release_of(f"nvcr.io/nvidia/nemo:24.05@{DIGEST}") == "2.0"
    assert r.release_of(f"nvcr.io/nvidia/nemo@{DIGEST}") is None and r.is_bare_digest(f"nvcr.io/nvidia/nemo@{DIGEST}")
    assert r.release_of("nvcr.io/nvidia/nemo:25.04.02") == "2.3"
    assert r.release_of("nvcr.io/nvidia/nemo:99.01") is None and r.components("docker.io/x/nemo:24.05") is None


def test_components_never_guess():
    unpublished = r.components("nvcr.io/nvidia/nemo:25.07")
    assert unpublished["nemo"] == "2.4.0" and unpublished["published"] is False
    assert unpublished["transformer_engine"] is None and unpublished["has_transformer_engine"] is None
    assert r.components("nvcr.io/nvidia/nemo:24.09")["has_transformer_engine"] is True
