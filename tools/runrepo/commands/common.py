"""Argument helpers shared by the commands."""

from __future__ import annotations

import sys
from pathlib import Path

from ..compose.layers import TreeSource


def add_repo_arg(p) -> None:
    p.add_argument("--repo", default=".", help="repository root (holds runs/); default: current directory")


def source(args) -> TreeSource:
    return TreeSource(Path(args.repo))


def stray_paths(paths: list[str], source: TreeSource) -> list[str]:
    """The given files under runs/experiments/ that are not `.yaml` run files, repository-relative."""
    from ..check import RUNS, is_stray, runs_path

    rels = [runs_path(p, source.repo_root) for p in paths]
    return [f"{RUNS}/{rel}" for rel in rels if rel is not None and is_stray(rel)]


def layer_names(paths: list[str], source: TreeSource) -> list[str] | None:
    """Paths -> layer names under runs/; None (after a message) when one is outside runs/.
    Stray files under runs/experiments/ are left to `stray_paths` (a finding, not a usage error)."""
    from ..check import is_stray, layer_name, runs_path

    names = []
    for path in paths:
        name = layer_name(path, source.repo_root)
        rel = runs_path(path, source.repo_root)
        if name is None and rel is not None and is_stray(rel):
            continue
        if name is None:
            if path.endswith((".yaml", ".yml")) or not Path(path).suffix:
                print(f"{path}: not a .yaml file under runs/", file=sys.stderr)
                return None
            continue  # other files under runs/ (README.md) are not layers
        names.append(name)
    return names


def policy(source: TreeSource) -> dict:
    """runs/policy.yaml of this tree ({} without one)."""
    from ..validate import policy as pol

    return pol.load(source)
