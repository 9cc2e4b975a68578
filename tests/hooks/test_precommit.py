"""pre-commit, for real, in temporary git repositories: this repo's own config and the exported hook."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from runrepo_testing import ROOT, line_of

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # pre-commit's own tools
    env.setdefault("PRE_COMMIT_HOME", str(Path.home() / ".cache" / "pre-commit"))
    env.update(
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    return env


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=_env()).stdout


def project_copy(dest: Path) -> Path:
    """The tracked files of this project, plus the working tree's new ones, committed in a fresh repo."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_symlink():  # tools/runrepo/schemas -> ../../schemas ships the schemas in the package
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(src), dest / rel)
        elif src.is_file() and not rel.startswith(("node_modules/",)):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "copy")
    return dest


def pre_commit(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args], cwd=cwd, capture_output=True, text=True, env=_env(), timeout=900
    )


def test_own_config_passes_clean_and_fails_broken_run_on_its_line(tmp_path):
    repo = project_copy(tmp_path / "p")
    proc = pre_commit(repo, "run", "--all-files", "--show-diff-on-failure")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    run = "runs/experiments/gpt3-126m-1node.yaml"
    (repo / run).write_text(
        (repo / run)
        .read_text()
        .replace("data_prefix:", "global_batch_size: 100\n    data:\n      data_prefix:")
        .replace("    data:\n      global", "    global", 1)
    )
    text = (repo / run).read_text()
    assert "global_batch_size: 100" in text
    proc = pre_commit(repo, "run", "runrepo-check", "--files", run)
    assert proc.returncode == 1
    assert f"{run}:{line_of(repo, run, 'global_batch_size: 100')}:" in proc.stdout
    assert "error[batch-divisible]" in proc.stdout


def _fresh_shell_env(home: Path) -> dict:
    """A new login shell's environment: system PATH only, no virtualenv activated, no runrepo on PATH."""
    env = {
        "PATH": os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin") if Path(p).is_dir()),
        "HOME": str(home),
        "PRE_COMMIT_HOME": _env()["PRE_COMMIT_HOME"],
        "LANG": "C.UTF-8",
    }
    env.update({k: v for k, v in _env().items() if k.startswith("GIT_")})
    return env


def test_git_commit_runs_the_hook_in_a_fresh_shell(tmp_path):
    """The README's first command made .venv; `pre-commit install`; then `git commit` in a shell where
    nothing is activated runs runrepo check from that .venv (it was `Executable runrepo not found`)."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("the tests do not run in a virtualenv, so there is no .venv to stand for the README's")
    repo = project_copy(tmp_path / "p")
    os.symlink(sys.prefix, repo / ".venv")  # the README's `python3 -m venv .venv && .venv/bin/pip install -e .`
    proc = pre_commit(repo, "install")
    assert proc.returncode == 0, proc.stderr
    env = _fresh_shell_env(tmp_path)
    assert subprocess.run(["sh", "-c", "command -v runrepo"], env=env, capture_output=True).returncode != 0

    def commit(message: str) -> subprocess.CompletedProcess:
        subprocess.run(["git", "add", run], cwd=repo, env=env, check=True)
        proc = subprocess.run(["git", "commit", "-m", message], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=900)
        proc.stdout += proc.stderr  # the hook's output reaches either, as git passes it on
        return proc

    run = "runs/experiments/gpt3-126m-1node.yaml"
    path = repo / run
    path.write_text(path.read_text().replace("name: gpt3-126m-1node", "name: gpt3-126m-1node-b"))
    proc = commit("rename the run")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "not found" not in proc.stdout
    assert re.search(r"runrepo check\.+Passed", proc.stdout)

    path.write_text(path.read_text().replace("    data:\n", "    global_batch_size: 100\n    data:\n", 1))
    proc = commit("a batch that does not divide")
    assert proc.returncode == 1
    assert f"{run}:{line_of(repo, run, 'global_batch_size: 100')}:" in proc.stdout
    assert "error[batch-divisible]" in proc.stdout


def test_the_hook_script_says_how_to_install_when_nothing_is_there(tmp_path):
    repo = project_copy(tmp_path / "p")
    proc = subprocess.run([str(repo / "scripts" / "hooks" / "runrepo-check"), "runs/experiments/gpt3-126m-1node.yaml"],
                          cwd=repo, env=_fresh_shell_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 2 and "runrepo is not installed" in proc.stderr and "python3 -m venv .venv" in proc.stderr


def test_exported_hook_installs_and_runs_for_a_consumer(tmp_path):
    """Another repository uses `.pre-commit-hooks.yaml` (pre-commit pip-installs this package)."""
    if os.environ.get("RUNREPO_SKIP_SLOW"):
        pytest.skip("RUNREPO_SKIP_SLOW is set")
    hook_repo = project_copy(tmp_path / "hooks")
    consumer = tmp_path / "consumer"
    shutil.copytree(ROOT / "runs", consumer / "runs")
    git(consumer, "init", "-q", "-b", "main")
    git(consumer, "add", "-A")
    git(consumer, "commit", "-qm", "runs")
    proc = pre_commit(consumer, "try-repo", str(hook_repo), "runrepo-check", "--all-files")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "runrepo check" in proc.stdout and "Passed" in proc.stdout
    bad = consumer / "runs" / "experiments" / "gpt3-126m-2node.yaml"
    bad.write_text(bad.read_text().replace("name: gpt3-126m-2node", "name: Bad_Name"))
    proc = pre_commit(consumer, "try-repo", str(hook_repo), "runrepo-check", "--all-files")
    assert proc.returncode == 1 and "error[run-name]" in proc.stdout
    for group in ("nemo", "node", "cluster", "model"):  # a consumer that did not copy the layers (README)
        shutil.rmtree(consumer / "runs" / group)
    (consumer / "runs" / "base.yaml").unlink()
    proc = pre_commit(consumer, "try-repo", str(hook_repo), "runrepo-check", "--all-files")
    assert proc.returncode == 1 and "error[layer-missing]" in proc.stdout
    assert "runs/ has no layer groups at all" in proc.stdout


def test_a_stray_run_file_is_refused_by_the_hook(tmp_path):
    """`x.yml` under runs/experiments/ would never be checked or submitted: the commit is refused."""
    repo = project_copy(tmp_path / "p")
    stray = repo / "runs/experiments/gpt3-126m-copy.yml"
    stray.write_text((repo / "runs/experiments/gpt3-126m-1node.yaml").read_text())
    git(repo, "add", str(stray))
    proc = pre_commit(repo, "run", "runrepo-check")
    assert proc.returncode == 1 and "error[run-file-name]" in proc.stdout, proc.stdout[-2000:]
