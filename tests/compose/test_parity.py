"""Hydra is the oracle: this tool's composition equals Hydra's compose for every bundled run."""

from __future__ import annotations

import pytest
from runrepo.compose import render
from runrepo.compose.datasets import catalog
from runrepo.compose.engine import compose
from runrepo.compose.layers import TreeSource
from runrepo.compose.oracle import hydra_compose
from runrepo.compose.resolve import resolve
from runrepo_testing import ROOT, bundled_runs


@pytest.mark.parametrize("run", bundled_runs())
def test_compose_equals_hydra(run):
    name = run.removeprefix("runs/").removesuffix(".yaml")
    source = TreeSource(ROOT)
    ours = compose(source, name)
    theirs = hydra_compose(ROOT / "runs", name)
    assert ours.data == theirs.data
    # and the same documented resolve step (datasets linked through the same catalog) gives the same bytes
    theirs.run, theirs.choices = ours.run, ours.choices
    assert render.render(resolve(ours, catalog(source))) == render.render(resolve(theirs, catalog(source)))


def test_parity_on_edge_cases(repo):
    """Missing values never win a merge, lists replace, nested dicts merge, relative interpolations."""
    (repo / "runs" / "experiments" / "edge.yaml").write_text(
        "# @package _global_\n"
        "defaults:\n  - /nemo: v2_0\n  - /base\n  - /cluster: r9z1\n  - /node: multi_node\n"
        "  - /model: gpt3_5b\n  - _self_\n"
        "name: edge\ncompute:\n  nodes: 2\n"
        "integrations:\n  - integration_type: apt_packages\n    packages: [parallel, htop]\n"
        "parameters:\n  trainer:\n    max_steps: ???\n  model:\n    hidden_size: ${.num_layers}\n"
        "    optim:\n      betas: [0.9, 0.98]\n    data:\n      data_prefix: {train: [1.0, /d/a], validation: [/d/b], test: [/d/c]}\n"
    )
    ours = compose(TreeSource(repo), "experiments/edge")
    theirs = hydra_compose(repo / "runs", "experiments/edge")
    assert ours.data == theirs.data
    assert ours.data["parameters"]["trainer"]["max_steps"] != "???"
    assert resolve(ours).run["parameters"]["model"]["hidden_size"] == 24


def test_missing_package_header_would_nest_under_hydra(repo):
    """Why the gate insists on `# @package _global_`: Hydra silently nests the keys."""
    path = repo / "runs" / "cluster" / "r7z2.yaml"
    path.write_text(path.read_text().replace("# @package _global_\n", ""))
    theirs = hydra_compose(repo / "runs", "experiments/gpt3-126m-1node")
    assert "cluster" in theirs.data  # nested: compute.cluster never set
    from runrepo.errors import RunrepoError

    with pytest.raises(RunrepoError) as e:
        compose(TreeSource(repo), "experiments/gpt3-126m-1node")
    assert e.value.rule == "layer-package" and e.value.file == "runs/cluster/r7z2.yaml"


def test_compose_equals_hydra_on_the_benchmark_repository(tmp_path):
    """Every run of the benchmark's synthetic repository (1,000 by default) composes as in Hydra."""
    import os
    import sys

    from hydra import compose as hydra_compose_one
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synth import make_repo

    n = int(os.environ.get("RUNREPO_PARITY_RUNS", "1000"))
    repo = make_repo(tmp_path / "bench", n)
    source = TreeSource(repo)
    GlobalHydra.instance().clear()
    checked = 0
    with initialize_config_dir(config_dir=str(repo / "runs"), version_base="1.3"):
        for i in range(n):
            name = f"experiments/synth-{i:04d}"
            ours = compose(source, name)
            theirs = OmegaConf.to_container(hydra_compose_one(config_name=name), resolve=False)
            assert ours.data == theirs, name
            checked += 1
    assert checked == n


def test_mapping_onto_a_reference_is_refused_because_hydra_merges_into_the_target(repo):
    """`x: ${y}` then `x: {k: 1}`: OmegaConf merges onto a copy of `y`: keys nobody wrote for `x` appear."""
    (repo / "runs" / "ref.yaml").write_text("# @package _global_\nruntarget:\n  a: 1\nrunref: ${runtarget}\n")
    (repo / "runs" / "experiments" / "ref.yaml").write_text(
        "# @package _global_\ndefaults:\n  - /ref\n  - _self_\nrunref:\n  k: 2\n"
    )
    theirs = hydra_compose(repo / "runs", "experiments/ref")
    assert theirs.data["runref"] == {"a": 1, "k": 2}  # not what the run file says
    from runrepo.errors import RunrepoError

    with pytest.raises(RunrepoError) as e:
        compose(TreeSource(repo), "experiments/ref")
    assert e.value.rule == "merge-type" and e.value.file == "runs/experiments/ref.yaml" and e.value.line == 5
