"""The fast interpolation path equals OmegaConf's resolution, and hands everything else to it."""

from __future__ import annotations

import sys

import pytest
from omegaconf import OmegaConf
from runrepo.compose import interp
from runrepo.compose.engine import compose
from runrepo.compose.layers import TreeSource
from runrepo.compose.resolve import RESOLVERS, _only_nemo_resolvers
from runrepo_testing import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from synth import make_repo  # noqa: E402


def omegaconf_resolve(tree):
    with _only_nemo_resolvers():
        return OmegaConf.to_container(OmegaConf.create(tree), resolve=True, throw_on_missing=False)


def trees(repo):
    source = TreeSource(repo)
    for name in source.names():
        if name.startswith("experiments/"):
            data = compose(source, name).data
            yield name, data["parameters"], {k: v for k, v in data.items() if k != "parameters"}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return make_repo(tmp_path_factory.mktemp("synth"), n=120, seed=7)


@pytest.mark.parametrize("where", ["bundled", "synthetic"])
def test_fast_path_equals_omegaconf_on_every_run(where, synthetic):
    repo = ROOT if where == "bundled" else synthetic
    count = 0
    for name, params, top in trees(repo):
        for tree in (params, top):
            assert interp.resolve_tree(tree, RESOLVERS) == omegaconf_resolve(tree), name
        count += 1
    assert count >= 2


CASES = [
    {"a": 2, "b": "${a}", "c": "x${a}y${b}", "d": {"e": "${..a}", "f": "${.g}", "g": 1.5}},
    {"m": {"tp": 2, "pp": 4, "mp": "${multiply:${m.tp}, ${m.pp}}", "s": "${sum:1,${.tp},3}"}},
    {"x": [1, {"y": "${z}"}], "z": "${divide_ceil:7,2}", "w": "${divide_floor:7,2}", "t": "${x}"},
    {"flag": True, "s": "on=${flag}", "f": 1e-05, "fs": "lr ${f}"},
]


@pytest.mark.parametrize("tree", CASES)
def test_fast_path_cases(tree):
    assert interp.resolve_tree(tree, RESOLVERS) == omegaconf_resolve(tree)


@pytest.mark.parametrize(
    "tree",
    [
        {"a": "${oc.env:HOME}"},
        {"a": "${missing}"},
        {"a": "\\${escaped}"},
        {"a": "${b}", "b": "${a}"},
        {"a": "${b}", "b": "???"},
        {"a": "${multiply:'2',3}"},
        {"a": [1], "b": "${a[0]}"},
    ],
)
def test_anything_else_goes_to_omegaconf(tree):
    with pytest.raises(interp.Unsupported):
        interp.resolve_tree(tree, RESOLVERS)
