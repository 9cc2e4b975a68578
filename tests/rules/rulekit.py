"""Helpers for rule tests: a throwaway repository (this checkout's runs/ plus a data layer, a one-GPU
cluster and the run files a test writes), checked by the pipeline the CLI uses."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOT_RUNS = REPO / "runs"
try:
    import runrepo  # noqa: F401
except ImportError:  # not pip-installed: use the source tree
    sys.path.insert(0, str(REPO / "tools"))

from runrepo.check import check  # noqa: E402
from runrepo.compose.layers import TreeSource  # noqa: E402

CORPUS = REPO / "tests" / "data" / "corpus"  # the vendored shared corpus (tests/data/README.md)
MARK = "#<"  # ends the line a failing case expects the finding on
NEMO_IMAGES = {"v1_11": "22.09", "v1_13": "22.11", "v1_23": "23.10", "v2_0": "24.05"}

DATA_LAYER = """\
# @package _global_
parameters:
  model:
    data:
      data_prefix: [1.0, /mnt/data/pile/pile_00_text_document]
"""
ONE_GPU_CLUSTER = """\
# @package _global_
# A test cluster of one-GPU nodes, so NeMo's own defaults (devices 1, num_nodes 1) agree.
compute:
  cluster: r7z2
  gpu_type: a100_80gb
runrepo:
  gpus_per_node: 1
  gpu_memory_mib: 81920
"""


def corpus(*parts: str) -> Path:
    path = CORPUS.joinpath(*parts)
    assert path.exists(), f"{path} is not in the vendored corpus (tests/data/README.md)"
    return path


def run_text(body: str, nemo="v2_0", cluster="r7z2", node="single_node", model="gpt3_126m", data=True) -> str:
    groups = [
        f"/nemo: {nemo}" if nemo else None,
        "/base",
        f"/cluster: {cluster}",
        f"/node: {node}",
        f"/model: {model}" if model else None,
        "/testdata: pile" if data else None,
    ]
    lines = ["# @package _global_", "defaults:"] + [f"  - {g}" for g in groups if g] + ["  - _self_", "name: t-run"]
    return "\n".join(lines) + "\n" + body.strip("\n") + "\n"


class Repo:
    def __init__(self, root: Path):
        self.root = root
        shutil.copytree(REPO / "runs", root / "runs")
        self.write("runs/testdata/pile.yaml", DATA_LAYER)  # a layer (runs/data/ holds data runs)
        self.write("runs/cluster/one_gpu.yaml", ONE_GPU_CLUSTER)

    def write(self, rel: str, text: str) -> str:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return rel

    def policy(self, **changes) -> None:
        """Rewrite limits in runs/policy.yaml (acceptance runs of 1,024 GPUs need larger ones)."""
        path = self.root / "runs" / "policy.yaml"
        text = path.read_text()
        for key, value in changes.items():
            text, n = re.subn(rf"(?m)^{key}:.*$", f"{key}: {value}", text)
            assert n == 1, key
        path.write_text(text)

    def check(self, rel: str):
        """Findings of `runrepo check` on one run file, with the policy of this tree."""
        from runrepo.commands.common import policy

        source = TreeSource(self.root)
        findings, _ = check(source, [rel.removeprefix("runs/").removesuffix(".yaml")], policy(source))
        return findings

    def cli_check(self, rel: str) -> tuple[int, list[dict]]:
        from runrepo.cli import main

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["check", "--repo", str(self.root), "--format", "json", str(self.root / rel)])
        return code, json.loads(out.getvalue())["findings"]


def marked_line(text: str) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), 1) if line.rstrip().endswith(MARK)]
    assert len(lines) == 1, f"a failing case marks exactly one line with {MARK}"
    return lines[0]


def hits(findings, rule_id: str) -> list:
    return [f for f in findings if f.rule == rule_id]


def errors(findings) -> list:
    """The error findings."""
    return [f for f in findings if f.severity == "error"]


def composed(findings) -> list:
    """The findings, after checking the run composed at all (every finding comes from a registered rule)."""
    from runrepo.rules import all_rules

    known = all_rules()
    bad = [f for f in findings if f.rule not in known or known[f.rule].stage]  # stage ids: it did not compose
    assert bad == [], f"the run did not compose or a rule crashed: {bad}"
    return findings
