"""`runrepo new`: a run file in the bundled form that `check` passes as written; bad choices listed."""

from __future__ import annotations

import pytest
from runrepo.author.new import default_nodes
from runrepo_testing import ROOT

EXPECTED = """\
# @package _global_
# gpt3_126m on the 8 x a100_80gb GPUs of one node of r7z2 (written by `runrepo new`).
defaults:
  - /nemo: v2_4
  - /base
  - /cluster: r7z2
  - /node: single_node
  - /model: gpt3_126m
  - _self_
name: my-run
parameters:
  model:
    data:
      data_prefix: [1.0, /mnt/data/pile/pile_00_text_document]
"""


def new(cli, repo, *args):
    return cli("new", *args, "--repo", str(repo))


def test_writes_the_bundled_form_and_check_passes(cli, repo):
    code, out, err = new(cli, repo, "my-run", "--cluster", "r7z2", "--node", "single_node", "--model", "gpt3_126m")
    assert code == 0, err
    assert "wrote runs/experiments/my-run.yaml" in out
    path = repo / "runs" / "experiments" / "my-run.yaml"
    assert path.read_text() == EXPECTED
    bundled = (ROOT / "runs" / "experiments" / "gpt3-126m-1node.yaml").read_text().splitlines()
    assert abs(len(EXPECTED.splitlines()) - len(bundled)) <= 2  # the same ~15-line form
    code, findings = cli.findings(repo, "runs/experiments/my-run.yaml")
    assert (code, findings) == (0, [])


@pytest.mark.parametrize(
    "args",
    [
        ("--cluster", "r1z1", "--node", "single_node", "--model", "gpt3_126m"),
        ("--cluster", "r9z1", "--node", "multi_node", "--model", "gpt3_126m"),
        ("--cluster", "r7z2", "--node", "multi_node", "--model", "gpt3_126m", "--nodes", "4"),
        ("--cluster", "r7z2", "--node", "single_node", "--model", "gpt3_400m_improved"),
        ("--cluster", "r9z1", "--node", "single_node", "--model", "gpt3_1b_improved"),
        ("--cluster", "r7z2", "--node", "single_node", "--model", "gpt3_126m", "--nemo", "v1_13"),
        ("--cluster", "r7z2", "--node", "single_node", "--model", "gpt3_126m", "--nemo", "v1_23"),
        ("--cluster", "r7z2", "--node", "single_node", "--model", "gpt3_126m", "--data-prefix", "0.7,/d/a,0.3,/d/b"),
    ],
)
def test_each_choice_passes_check_as_written(cli, repo, args):
    code, _, err = new(cli, repo, "a-run", *args)
    assert code == 0, err
    code, findings = cli.findings(repo, "runs/experiments/a-run.yaml")
    assert code == 0 and [f for f in findings if f["severity"] == "error"] == []


def test_multi_node_defaults_to_two_nodes_and_blends_are_written_inline(cli, repo):
    new(
        cli,
        repo,
        "two",
        "--cluster",
        "r7z2",
        "--node",
        "multi_node",
        "--model",
        "gpt3_126m",
        "--data-prefix",
        "0.5,/a,0.5,/b",
    )
    text = (repo / "runs" / "experiments" / "two.yaml").read_text()
    assert "compute:\n  nodes: 2\n" in text and "data_prefix: [0.5, /a, 0.5, /b]" in text
    assert "16 x a100_80gb GPUs of 2 nodes" in text


def test_default_nodes_hold_whole_model_replicas():
    assert default_nodes("single_node", 8, 1) == 1
    assert default_nodes("multi_node", 8, 1) == 2
    assert default_nodes("multi_node", 8, 32) == 4  # TP 4 x PP 8
    assert default_nodes("multi_node", 8, 12) == 3  # 24 GPUs: two replicas of 12


@pytest.mark.parametrize(
    "flag, bad, listed",
    [
        ("--cluster", "r0z0", "r1z1, r7z2, r9z1"),
        ("--node", "three_node", "multi_node, single_node"),
        ("--model", "gpt3_7b", "gpt3_126m"),
        ("--nemo", "v9_9", "v1_11, v1_12, v1_13, v1_14, v1_15, v1_16, v1_17, v1_18, v1_19, v1_20, v1_21, v1_22, v1_23, v2_0, v2_1, v2_2, v2_3, v2_4"),
    ],
)
def test_bad_choice_lists_the_valid_ones(cli, repo, flag, bad, listed):
    args = {"--cluster": "r7z2", "--node": "single_node", "--model": "gpt3_126m"}
    args[flag] = bad
    code, out, err = new(cli, repo, "x", *[a for kv in args.items() for a in kv])
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"{flag} {bad!r} is not one of runs/{flag[2:]}/:" in err and listed in err
    assert not (repo / "runs" / "experiments" / "x.yaml").exists()


@pytest.mark.parametrize("name", ["Bad_Name", "ünïcode", "trail-", "x" * 57, "has space", ""])
def test_invalid_names_are_refused(cli, repo, name):
    code, _, err = new(cli, repo, name, "--cluster", "r7z2", "--node", "single_node", "--model", "gpt3_126m")
    assert code == 2 and "error[usage] run name" in err and err.count("\n") == 1


def test_longest_valid_name(cli, repo):
    code, _, err = new(cli, repo, "x" * 56, "--cluster", "r7z2", "--node", "single_node", "--model", "gpt3_126m")
    assert code == 0, err


def test_existing_file_is_refused_and_kept(cli, repo):
    path = repo / "runs" / "experiments" / "gpt3-126m-1node.yaml"
    before = path.read_text()
    code, _, err = new(
        cli, repo, "gpt3-126m-1node", "--cluster", "r1z1", "--node", "single_node", "--model", "gpt3_126m"
    )
    assert code == 2 and "exists already" in err and path.read_text() == before


def test_node_count_must_fit_the_profile(cli, repo):
    base = ("--cluster", "r7z2", "--model", "gpt3_126m")
    code, _, err = new(cli, repo, "a", *base, "--node", "single_node", "--nodes", "2")
    assert code == 2 and "needs --node multi_node" in err
    code, _, err = new(cli, repo, "b", *base, "--node", "multi_node", "--nodes", "1")
    assert code == 2 and "--nodes 2 or more" in err
    code, _, err = new(cli, repo, "c", *base, "--node", "single_node", "--data-prefix", "0.5,/a,0.5")
    assert code == 2 and "weight,path pairs" in err


def test_written_but_failing_check_exits_1_with_the_findings(cli, repo):
    """A six-GPU cluster: 256 is not a multiple of micro batch 4 x 6 ranks."""
    (repo / "runs" / "cluster" / "r5z5.yaml").write_text(
        "# @package _global_\ncompute:\n  cluster: r5z5\n  gpu_type: a100_80gb\n"
        "runrepo:\n  gpus_per_node: 6\n  gpu_memory_mib: 81920\n"
    )
    code, out, err = new(cli, repo, "six", "--cluster", "r5z5", "--node", "single_node", "--model", "gpt3_126m")
    assert code == 1 and (repo / "runs" / "experiments" / "six.yaml").is_file()
    assert "error[batch-divisible]" in err and "wrote runs/experiments/six.yaml, but check finds" in err


def test_no_runs_folder_is_a_usage_error(cli, tmp_path):
    code, _, err = cli(
        "new", "x", "--cluster", "r7z2", "--node", "single_node", "--model", "m", "--repo", str(tmp_path)
    )
    assert code == 2 and "no runs/ folder" in err
