"""Any working directory: the repository root is found from the file's path or the cwd, as git finds
its own; absolute and relative paths; `--repo` before or after the subcommand."""

from __future__ import annotations

import json
import subprocess

import pytest
from runrepo_testing import GIT_ENV

RUN = "runs/experiments/gpt3-126m-1node.yaml"


def checked(out: str) -> int:
    return json.loads(out)["checked"]


def test_from_the_run_folder_with_a_bare_file_name(cli, repo, monkeypatch):
    monkeypatch.chdir(repo / "runs" / "experiments")
    code, out, err = cli("check", "--format", "json", "gpt3-126m-1node.yaml")
    assert (code, err) == (0, "") and checked(out) == 1


def test_from_a_subfolder_with_a_path_relative_to_it(cli, repo, monkeypatch):
    monkeypatch.chdir(repo / "runs" / "model")
    code, out, _ = cli("check", "--format", "json", "../experiments/gpt3-126m-1node.yaml")
    assert code == 0 and checked(out) == 1
    code, out, _ = cli("check", "--format", "json", "--all")  # no path: the root is found from the cwd
    assert code == 0 and checked(out) == 4


def test_absolute_path_from_outside_any_repository(cli, repo, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, _ = cli("check", "--format", "json", str(repo / RUN))
    assert code == 0 and checked(out) == 1
    code, out, _ = cli("render", str(repo / RUN))
    assert code == 0 and out.startswith("name: gpt3-126m-1node\n")


def test_the_file_decides_over_the_cwd(cli, repo, tmp_path, monkeypatch):
    """Standing in one repository, a path into another checks the other (its layers, its runs)."""
    other = tmp_path / "other"
    (other / "runs").mkdir(parents=True)
    monkeypatch.chdir(other)
    code, out, _ = cli("check", "--format", "json", str(repo / RUN))
    assert code == 0 and checked(out) == 1


@pytest.mark.parametrize("where", ["before", "after"])
def test_repo_option_before_or_after_the_subcommand(cli, repo, tmp_path, monkeypatch, where):
    monkeypatch.chdir(tmp_path)
    args = ["check", "--format", "json", RUN]
    argv = ["--repo", str(repo), *args] if where == "before" else [*args, "--repo", str(repo)]
    code, out, err = cli(*argv)
    assert (code, err) == (0, "") and checked(out) == 1


def test_repo_option_after_wins_over_before(cli, repo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli("--repo", str(tmp_path / "nowhere"), "check", "--all", "--format", "json", "--repo", str(repo))
    assert code == 0 and checked(out) == 4


def test_outside_a_repository_is_one_line_naming_the_way_out(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("check", RUN)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no runs/ folder in" in err and "--repo" in err


def test_a_file_outside_the_found_repository_is_named(cli, repo, tmp_path, monkeypatch):
    stray = tmp_path / "stray.yaml"
    stray.write_text("name: x\n")
    monkeypatch.chdir(repo)
    code, _, err = cli("check", str(stray))
    assert code == 2 and "not a .yaml file under" in err and str(repo / "runs") in err


def test_git_commands_from_a_subfolder(cli, repo, monkeypatch):
    env = {**GIT_ENV, "PATH": __import__("os").environ["PATH"]}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "runs"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env, capture_output=True)
    monkeypatch.chdir(repo / "runs" / "experiments")
    code, out, err = cli("changes", "--base", "0" * 40, "--format", "json")
    assert code == 0, err
    assert sorted(r["path"] for r in json.loads(out)["runs"]) == [
        "runs/data/wiki_gpt2.yaml",
        "runs/experiments/gpt3-126m-1node.yaml",
        "runs/experiments/gpt3-126m-2node.yaml",
        "runs/experiments/gpt3-126m-wiki.yaml",
    ]


def test_a_root_relative_path_from_a_subfolder(cli, repo, monkeypatch):
    """`runs/experiments/x.yaml`, as runrepo prints paths, also works typed in runs/experiments/."""
    monkeypatch.chdir(repo / "runs" / "experiments")
    code, out, err = cli("render", RUN)
    assert (code, err) == (0, "") and out.startswith("name: gpt3-126m-1node\n")
