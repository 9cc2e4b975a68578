"""Every file under runs/experiments/ is a run file or an error: in check, check --all, plan and submit."""

from __future__ import annotations

import os
import shutil
import subprocess

from runrepo_testing import GIT_ENV, ROOT, Cli, write

STRAYS = ("runs/experiments/x.yml", "runs/experiments/y.YAML", "runs/experiments/notes.txt")


def _copy(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "runs", repo / "runs")
    text = (repo / "runs/experiments/gpt3-126m-1node.yaml").read_text()
    for path in STRAYS:
        write(repo, path, text)
    return repo


def test_check_all_names_every_stray_file(tmp_path, capsys):
    repo = _copy(tmp_path)
    code, findings = Cli(capsys).findings(repo)
    assert code == 1
    assert sorted(f["file"] for f in findings if f["rule"] == "run-file-name") == sorted(STRAYS)
    assert "rename it to x.yaml" in next(f["message"] for f in findings if f["file"] == STRAYS[0])


def test_check_of_a_stray_path_is_a_finding_not_a_usage_error(tmp_path, capsys):
    repo = _copy(tmp_path)
    code, findings = Cli(capsys).findings(repo, str(repo / STRAYS[0]))
    assert code == 1 and [(f["file"], f["rule"]) for f in findings] == [(STRAYS[0], "run-file-name")]


def test_plan_and_submit_refuse_a_stray_file(tmp_path):
    from runrepo.plan.plan import plan
    from runrepo.submit.select import select

    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "runs", repo / "runs")
    env = {**os.environ, **GIT_ENV}
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "runs"], ["checkout", "-qb", "pr"]):
        subprocess.run(["git", *cmd], cwd=repo, env=env, check=True)
    write(repo, STRAYS[0], (repo / "runs/experiments/gpt3-126m-1node.yaml").read_text())
    for cmd in (["add", "-A"], ["commit", "-qm", "a run file with the wrong suffix"]):
        subprocess.run(["git", *cmd], cwd=repo, env=env, check=True)
    p = plan(repo, "main")
    assert p.exit_code == 1 and [f.rule for f in p.shared_findings] == ["run-file-name"]
    (c,) = select(repo, "main").candidates
    assert (c.path, c.decision) == (STRAYS[0], "invalid") and "run-file-name" in c.reason
