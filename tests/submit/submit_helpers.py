"""Helpers for the submission tests: scratch git repositories and the real mcli against the emulator.

No conftest.py here on purpose: several test folders have one, and `from conftest import ...`
then resolves to whichever was imported first. Test modules import the fixtures from here
(`repo_fixture`, `emu_fixture`, registered under the names `repo` and `emu`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
if str(TOOLS) not in sys.path:  # not pip-installed: use the source tree
    sys.path.insert(0, str(TOOLS))

from runrepo.emulator import MCLI_ENV_CONFLICTS, mcli_env, running_emulator  # noqa: E402

ZERO = "0" * 40
from runrepo_testing import GIT_ENV  # noqa: E402

# The bundled data example: a data run and the training run that reads it (tests/submit/test_submit_data.py).
# The other submission tests leave it out, so that every bundled run they submit is created at once.
DATA_RUN, READER = "runs/data/wiki_gpt2.yaml", "runs/experiments/gpt3-126m-wiki.yaml"
BUNDLED = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "runs" / "experiments").glob("*.yaml")
                 if p.relative_to(ROOT).as_posix() != READER)
FAST = ("--retry-wait", "0.01", "--timeout", "10", "--attempts", "4")
REPOSITORY = "acme/runs"  # identity includes the repository: every submission names one

RUN = """\
# @package _global_
defaults:
  - /nemo: v1_13
  - /base
  - /cluster: {cluster}
  - /node: single_node
  - /model: gpt3_126m
  - _self_
name: {name}
parameters:
  model:
    data:
      data_prefix: [1.0, /mnt/data/pile/pile_00_text_document]
"""


def run_text(name: str, cluster: str = "r7z2", extra: str = "") -> str:
    return RUN.format(name=name, cluster=cluster) + extra


class Repo:
    """A scratch git repository holding a copy of this project's runs/ on `main`."""

    def __init__(self, path: Path, date: str | None = None, data: bool = False):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        shutil.copytree(ROOT / "runs", path / "runs", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        if not data:  # without the data example (DATA_RUN, READER)
            for rel in (DATA_RUN, READER):
                (path / rel).unlink()
        self.git("init", "-q", "-b", "main")
        self.commit("runs/ of the project", date=date)

    def git(self, *args: str, date: str | None = None) -> str:
        env = {**os.environ, **GIT_ENV}
        if date:  # e.g. "2025-01-01T00:00:00Z": commits of another time
            env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        return subprocess.run(["git", *args], cwd=self.path, check=True, capture_output=True, text=True, env=env).stdout

    def write(self, rel: str, text: str) -> str:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return rel

    def edit(self, rel: str, old: str, new: str) -> None:
        p = self.path / rel
        text = p.read_text()
        assert old in text, f"{old!r} not in {rel}"
        p.write_text(text.replace(old, new, 1))

    def commit(self, message: str, date: str | None = None) -> str:
        self.git("add", "-A")
        self.git("commit", "-qm", message, "--allow-empty", date=date)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture(name="repo")
def repo_fixture(tmp_path) -> Repo:
    return Repo(tmp_path / "repo")


@pytest.fixture(name="emu")
def emu_fixture(tmp_path, monkeypatch):
    """The emulator in this process, and the real mcli SDK pointed at it (no user config read)."""
    import mcli.config
    from mcli.api.engine import engine

    with running_emulator(tmp_path / "state.json") as emulator:
        for name in MCLI_ENV_CONFLICTS:
            monkeypatch.delenv(name, raising=False)
        for name, value in mcli_env(emulator.endpoint, config_dir=tmp_path / "mosaic").items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
        monkeypatch.delenv("GITHUB_REPOSITORY_ID", raising=False)
        monkeypatch.setattr(mcli.config, "MCLI_CONFIG_PATH", tmp_path / "mosaic" / "mcli_config")
        # mcli keeps one connection per process: a test calling mcli directly gets a fresh one
        monkeypatch.setattr(engine, "_CONNECTION", None)
        yield emulator


def submit(repo: Repo, *args: str) -> tuple[int, dict, str]:
    """`runrepo submit --format json` in this process: (exit code, parsed JSON, stderr)."""
    from runrepo.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        named = () if "--repository" in args or "--repository-id" in args else ("--repository", REPOSITORY)
        code = main(["submit", "--repo", str(repo.path), "--format", "json", *FAST, *named, *args])
    try:
        data = json.loads(out.getvalue())
    except ValueError:
        data = {"raw": out.getvalue()}
    return code, data, err.getvalue()


def statuses(data: dict) -> dict[str, str]:
    return {r["file"]: r["status"] for r in data.get("runs", [])}


def identities(emulator, live_only: bool = True) -> dict[tuple[str, str], list[dict]]:
    """(path, digest) -> the emulator's records of it, earliest first."""
    out: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in sorted(emulator.runs(), key=lambda r: (r["createdAt"], r["id"])):
        meta = r["details"].get("metadata") or {}
        if "runrepo_path" in meta and not (live_only and r.get("isDeleted")):
            out[(meta["runrepo_path"], meta["runrepo_digest"])].append(r)
    return dict(out)


def live_paths(emulator) -> list[str]:
    """One entry per live run: its runrepo_path (duplicates show up as repeats)."""
    return sorted(p for (p, _), runs in identities(emulator).items() for _ in runs)


def cli_env(emulator, tmp: Path, **extra: str) -> dict[str, str]:
    """Environment for a `runrepo` subprocess talking to `emulator`."""
    env = {k: v for k, v in os.environ.items() if k not in MCLI_ENV_CONFLICTS}
    env.pop("GITHUB_STEP_SUMMARY", None)
    env.update(mcli_env(emulator.endpoint, config_dir=tmp / "mosaic"))
    env.update({"HOME": str(tmp), "PYTHONPATH": str(TOOLS), "GITHUB_REPOSITORY": REPOSITORY, **extra})
    return env


def runrepo_cmd() -> list[str]:
    return [sys.executable, "-m", "runrepo.cli"]
