"""Argument helpers shared by the commands."""

from __future__ import annotations

import sys
from pathlib import Path

from ..compose.layers import TreeSource


def add_repo_arg(p) -> None:
    p.add_argument("--repo", default=".", help="repository root (holds runs/); default: current directory")


def source(args) -> TreeSource:
    return TreeSource(Path(args.repo))


def layer_names(paths: list[str], source: TreeSource) -> list[str] | None:
    """Paths -> layer names under runs/; None (after a message) when one is outside runs/."""
    from ..check import layer_name

    names = []
    for path in paths:
        name = layer_name(path, source.repo_root)
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
