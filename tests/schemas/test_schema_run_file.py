"""schemas/run-file.json: the authoring form of run files and config layers."""

from __future__ import annotations

import pytest
import yaml
from schema_helpers import REPO, errors

NAME = "run-file.json"
# Run files and Hydra layers carry `# @package`; runs/policy.yaml and other tool files do not.
LAYERS = sorted(
    p
    for p in (REPO / "runs").rglob("*.yaml")
    if any(line.startswith("# @package") for line in p.read_text().splitlines())
)


@pytest.mark.parametrize("path", LAYERS, ids=[p.relative_to(REPO).as_posix() for p in LAYERS])
def test_repository_run_files_are_valid(path):
    assert errors(NAME, yaml.safe_load(path.read_text()) or {}) == []


def test_partial_run_with_defaults_and_interpolations():
    doc = {
        "defaults": ["/base", {"/cluster": "r7z2"}, {"/node": "single_node"}, "_self_"],
        "name": "gpt3-126m-1node",
        "compute": {"nodes": "${runrepo.nodes}"},
        "scheduling": {"max_duration": 12},
        "command": "${runrepo.launch}",
        "image": "${runrepo.image}",
        "parameters": {"model": {"data": {"data_prefix": [1.0, "/mnt/data/x"]}}},
        "runrepo": {"gpus_per_node": 8, "gpu_memory_mib": 81920, "nemo_release": "2.0", "launch": "x", "anything": 1},
    }
    assert errors(NAME, doc) == []


@pytest.mark.parametrize(
    "doc,expected",
    [
        ({"run_name": "x"}, "use `name`"),
        ({"gpu_num": 8}, "use `compute.gpus`"),
        ({"env_variables": [{"key": "A", "value": "1"}]}, "retired form"),
        ({"compute": {"gpu": 8}}, "gpu"),
        ({"scheduling": {"max_duration": 0}}, "greater than 0"),
        ({"defaults": [{"/cluster": "a", "/node": "b"}]}, "defaults.0"),
        ({"integrations": [{"integration_type": "git_repo"}]}, "git_repo"),
        ({"runrepo": {"gpus_per_node": "eight"}}, "runrepo.gpus_per_node"),
        ({"paramters": {}}, "paramters"),
    ],
)
def test_authoring_mistakes_fail(doc, expected):
    found = errors(NAME, doc)
    assert found and any(expected in f"{p} {m}" for p, m in found), found
