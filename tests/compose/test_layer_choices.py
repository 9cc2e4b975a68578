"""A defaults entry naming a layer that is not there gets the closest option and the valid list,
read from runs/ (in the working tree and in a git commit alike)."""

from __future__ import annotations

import subprocess

import pytest
from runrepo.compose.layers import GitSource, TreeSource
from runrepo_testing import GIT_ENV, line_of, run_file, write

CLUSTERS = "/cluster options: r1z1, r7z2, r9z1"


@pytest.mark.parametrize(
    "entry, expected",
    [
        ("/cluster: r7z3", f"no such layer 'cluster/r7z3' (runs/cluster/r7z3.yaml); did you mean `r7z2`? {CLUSTERS}"),
        ("/clusters: r7z2", "there is no group `clusters`: did you mean `/cluster: r7z2`? " + CLUSTERS),
        ("/cluster: zz", f"no such layer 'cluster/zz' (runs/cluster/zz.yaml); {CLUSTERS}"),
        ("/flavour: x", "runs/flavour/ does not exist (groups: cluster, model, nemo, node)"),
    ],
)
def test_cluster_entry(cli, repo, entry, expected):
    rel = write(repo, "runs/experiments/t.yaml", run_file("t").replace("/cluster: r7z2", entry))
    code, findings = cli.findings(repo, rel)
    (f,) = [f for f in findings if f["rule"] == "layer-missing"]
    assert code == 1 and f["file"] == rel and f["line"] == line_of(repo, rel, entry)
    assert expected in f["message"]


def test_model_entry_lists_every_model(cli, repo):
    rel = write(repo, "runs/experiments/t.yaml", run_file("t").replace("/model: gpt3_126m", "/model: gpt3_125m"))
    _, findings = cli.findings(repo, rel)
    (f,) = findings
    models = sorted(p.stem for p in (repo / "runs" / "model").glob("*.yaml"))
    assert "did you mean `gpt3_126m`?" in f["message"]
    assert f["message"].endswith("/model options: " + ", ".join(models))


def test_top_level_config(cli, repo):
    rel = write(repo, "runs/experiments/t.yaml", run_file("t").replace("  - /base\n", "  - /bse\n"))
    _, findings = cli.findings(repo, rel)
    assert "did you mean `base`? top-level configs: base" in findings[0]["message"]  # policy is not a layer


def test_in_a_git_commit_too(repo):
    write(repo, "runs/experiments/t.yaml", run_file("t").replace("/cluster: r7z2", "/cluster: r7z3"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "t"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env={**GIT_ENV, "PATH": "/usr/bin:/bin"})
    for source in (GitSource(repo, "HEAD"), TreeSource(repo)):
        with pytest.raises(Exception) as e:
            from runrepo.compose.engine import compose

            compose(source, "experiments/t")
        assert e.value.rule == "layer-missing" and f"did you mean `r7z2`? {CLUSTERS}" in e.value.message


def test_a_repository_without_layers_is_told_what_it_lacks(cli, tmp_path):
    """A consumer of the exported hook with run files and no layers: layer-missing says why."""
    rel = write(tmp_path, "runs/experiments/t.yaml", run_file("t"))
    code, findings = cli.findings(tmp_path, rel)
    (f,) = findings
    assert code == 1 and f["rule"] == "layer-missing" and "no such layer 'nemo/v1_13'" in f["message"]
    assert "runs/ has no layer groups at all" in f["message"] and "Using the hook in another repository" in f["message"]


def test_runrepo_new_suggests_too(cli, repo):
    code, _, err = cli("new", "x", "--cluster", "r7z3", "--node", "single_node", "--model", "gpt3_126m",
                       "--repo", str(repo))
    assert code == 2 and err.strip().endswith("r1z1, r7z2, r9z1; did you mean 'r7z2'?")
