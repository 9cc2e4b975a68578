"""Temporary git repositories with real commits: a copy of runs/ on main, then a branch."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from runrepo_testing import GIT_ENV, ROOT

ENV = GIT_ENV


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **ENV}
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env).stdout


DATA_EXAMPLE = ("runs/data/wiki_gpt2.yaml", "runs/experiments/gpt3-126m-wiki.yaml")  # a data run and its reader


def main_repo(path: Path, data: bool = False) -> Path:
    """runs/ of this project committed on `main`, and a `pr` branch checked out on top of it (without the data
    example unless `data`: tests/plan/test_plan_data.py plans it)."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "runs", path / "runs", ignore=shutil.ignore_patterns("*.pyc", "__pycache__"))
    for rel in () if data else DATA_EXAMPLE:
        (path / rel).unlink()
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "runs on main")
    git(path, "checkout", "-qb", "pr")
    return path


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD").strip()


def edit(repo: Path, rel: str, old: str, new: str) -> None:
    p = repo / rel
    text = p.read_text()
    assert old in text, f"{old!r} not in {rel}"
    p.write_text(text.replace(old, new, 1))


def table(md: str) -> dict[str, dict]:
    """The plan's summary table: first cell (the run) -> {column: cell}; columns may come and go."""
    lines = [x for x in md.splitlines() if x.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(head, cells, strict=False))
    return rows
