"""Helpers shared by the tests (imported by name: `from runrepo_testing import ROOT`).

Kept out of conftest.py: several test folders have a conftest of their own, and
`from conftest import` would pick whichever was imported last.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from runrepo.cli import main

ROOT = Path(__file__).resolve().parents[1]
# git in temporary repositories: a fixed identity, and no user or system config leaking in
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
CORPUS = ROOT / "tests" / "data" / "corpus"  # the vendored copy of ../shared/corpus (tests/data/README.md)


def bundled_runs() -> list[str]:
    """Every bundled run file: training runs (runs/experiments/) and data runs (runs/data/)."""
    return sorted(p.relative_to(ROOT).as_posix() for d in ("experiments", "data") for p in (ROOT / "runs" / d).glob("*.yaml"))


class Cli:
    def __init__(self, capsys):
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        return code, out, err

    def findings(self, repo: Path, *paths: str) -> tuple[int, list[dict]]:
        code, out, _ = self("check", "--repo", str(repo), "--format", "json", *(paths or ("--all",)))
        return code, json.loads(out)["findings"]


def write(repo: Path, rel: str, text: str) -> str:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return rel


RUN = """\
# @package _global_
defaults:
  - /nemo: v1_13
  - /base
  - /cluster: r7z2
  - /node: {node}
  - /model: gpt3_126m
  - _self_
name: {name}
compute:
  nodes: {nodes}
parameters:
  model:
    data:
      data_prefix: [1.0, /mnt/data/pile/pile_00_text_document]
"""


def run_file(name="test-run", node="single_node", nodes=1, extra="") -> str:
    """A valid run file; `extra` is appended verbatim (YAML at top level)."""
    return RUN.format(name=name, node=node, nodes=nodes) + extra


def line_of(repo: Path, rel: str, needle: str) -> int:
    """1-based line of the first line containing `needle`: tests name lines by content."""
    for i, line in enumerate((repo / rel).read_text().splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {rel}")
