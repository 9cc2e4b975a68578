"""A scratch copy of this project with a pull request, checked out as actions/checkout leaves it.

main holds the project as it is (tools, schemas, runs, workflows, lock files); a `feature` branch
changes it; the workspace is a clone with HEAD at the merge of the pull request into main
(refs/pull/N/merge, fetch-depth: 0). Jobs of pr.yml then run in it through the stand-in runner.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from actions_runner import JobResult, run_job
from runrepo_testing import GIT_ENV as _GIT_IDENTITY
from runrepo_testing import ROOT
from wf_helpers import WORKFLOWS, load

GIT_ENV = {**os.environ, **_GIT_IDENTITY}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=GIT_ENV).stdout


def project_copy(dest: Path) -> Path:
    """This project's files (tracked, plus new ones not ignored) committed on `main` of a fresh repo."""
    files = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for rel in filter(None, files):
        src, dst = ROOT / rel, dest / rel
        if rel.startswith("node_modules/") or not (src.is_file() or src.is_symlink()):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():  # tools/runrepo/schemas -> ../../schemas
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    git(dest.parent, "init", "-q", "-b", "main", str(dest))
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "the project on main")
    return dest


@dataclass
class PullRequest:
    workspace: Path
    event: dict
    github: dict
    base: str
    head: str
    tmp: Path

    def run(self, job_id: str, *, needs: dict | None = None, event: dict | None = None) -> JobResult:
        """One job of pr.yml, in its own runner temp folder; `needs` are the outputs of earlier jobs."""
        tmp = self.tmp / f"runner-{job_id}-{len(list(self.tmp.glob(f'runner-{job_id}-*')))}"
        tmp.mkdir()
        contexts = {"needs": {k: {"outputs": v, "result": "success"} for k, v in (needs or {}).items()}}
        wf = load(WORKFLOWS / "pr.yml")
        return run_job(wf, job_id, self.workspace, event or self.event, self.github, tmp, contexts=contexts)

    def plan(self) -> tuple[JobResult, JobResult]:
        """The changes job, then the plan job with its outputs, as GitHub chains them."""
        changes = self.run("changes")
        assert not changes.failed, [(s.name, s.stderr) for s in changes.steps]
        return changes, self.run("plan", needs={"changes": changes.outputs})


def pull_request(tmp_path: Path, files: dict[str, str | None], edit: Callable[[Path], None] | None = None):
    """main = the project; `feature` writes `files` (None deletes) and applies `edit` to its tree."""
    up = project_copy(tmp_path / "upstream")
    git(up, "checkout", "-qb", "feature")
    for rel, text in files.items():
        path = up / rel
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if edit:
        edit(up)
    git(up, "add", "-A")
    git(up, "commit", "-qm", "the pull request")
    head = git(up, "rev-parse", "HEAD").strip()
    base = git(up, "rev-parse", "main").strip()
    ws = tmp_path / "workspace"
    git(tmp_path, "clone", "-q", str(up), str(ws))
    git(ws, "checkout", "-q", "--detach", "origin/main")
    git(ws, "merge", "-q", "--no-ff", "-m", f"Merge {head} into {base}", "origin/feature")
    merge = git(ws, "rev-parse", "HEAD").strip()
    event = {
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "title": '"; echo pwned; "',  # never reaches a script: the workflow reads no title
            "base": {"ref": "main", "sha": base, "repo": {"full_name": "acme/runs"}},
            "head": {"ref": "feature", "sha": head, "repo": {"full_name": "acme/runs"}},
        },
        "repository": {"full_name": "acme/runs", "fork": False},
    }
    github = {
        "event_name": "pull_request",
        "repository": "acme/runs",
        "base_ref": "main",
        "head_ref": "feature",
        "ref": "refs/pull/7/merge",
        "sha": merge,
    }
    return PullRequest(ws, event, github, base, head, tmp_path)
