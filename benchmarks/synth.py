"""A synthetic repository of N run files on the real layers, for the benchmark and the parity test."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (model preset, nodes choices) sized so the preset's parallelism and batch divide
MODELS = {
    "gpt3_126m": [1, 2, 4],
    "gpt3_400m_improved": [1, 2, 4],
    "gpt3_1b_improved": [1, 2, 4, 8],
    "gpt3_5b": [2, 4, 8, 16],
    "gpt3_20b": [8, 16],
    "gpt3_40b": [16],
}
BIG = ("gpt3_5b", "gpt3_20b", "gpt3_40b")  # as NVIDIA runs them: selective recompute, one sequence per micro-batch
CLUSTERS = ["r7z2", "r9z1"]
NEMO = ["v1_23", "v2_0"]


def run_text(i: int, rng: random.Random) -> str:
    model = rng.choice(list(MODELS))
    nodes = rng.choice(MODELS[model])
    node = "single_node" if nodes == 1 else "multi_node"
    lines = [
        "# @package _global_",
        "defaults:",
        f"  - /nemo: {rng.choice(NEMO)}",
        "  - /base",
        f"  - /cluster: {rng.choice(CLUSTERS) if nodes <= 8 else 'r9z1'}",  # r7z2 has 8 nodes
        f"  - /node: {node}",
        f"  - /model: {model}",
        "  - _self_",
        f"name: synth-{i:04d}-{model.replace('_', '-')}",
        "compute:",
        f"  nodes: {nodes}",
        "parameters:",
        "  trainer:",
        f"    max_steps: {rng.choice([1000, 5000, 20000])}",
        "  model:",
        *(["    micro_batch_size: 1", "    activations_checkpoint_granularity: selective"] if model in BIG else []),
        "    data:",
        f"      data_prefix: [1.0, /mnt/data/pile/pile_{i % 30:02d}_text_document]",
    ]
    return "\n".join(lines) + "\n"


def make_repo(dest: Path, n: int = 1000, seed: int = 0, git: bool = False) -> Path:
    """Copy the real layers (not the bundled experiments and data runs) and write n synthetic runs."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(ROOT / "runs", dest / "runs", ignore=shutil.ignore_patterns("experiments", "data"))
    exp = dest / "runs" / "experiments"
    exp.mkdir()
    rng = random.Random(seed)
    for i in range(n):
        (exp / f"synth-{i:04d}.yaml").write_text(run_text(i, rng))
    if git:
        env = {
            "GIT_AUTHOR_NAME": "b",
            "GIT_AUTHOR_EMAIL": "b@example.com",
            "GIT_COMMITTER_NAME": "b",
            "GIT_COMMITTER_EMAIL": "b@example.com",
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        }
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "synthetic runs"]):
            subprocess.run(["git", *args], cwd=dest, check=True, env=env)
    return dest
