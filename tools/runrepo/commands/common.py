"""Argument helpers shared by the commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..compose.layers import RUNS, TreeSource

REPO_HELP = (
    "repository root (the folder holding runs/); default: found from the file's path, else from the "
    "current directory upwards, as git finds its root"
)


def add_repo_arg(p) -> None:
    # SUPPRESS: unless given after the subcommand, the top-level `runrepo --repo X COMMAND` value stands
    p.add_argument("--repo", default=argparse.SUPPRESS, help=REPO_HELP)
    p.set_defaults(_finds_repo=True)


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds runs/ (None when there is none)."""
    start = start.absolute()
    for folder in (start, *start.parents):
        if (folder / RUNS).is_dir():
            return folder
    return None


def settle_repo(args) -> None:
    """Set args.repo: --repo as given, else found from the first file argument, else from the cwd."""
    if not getattr(args, "_finds_repo", False) or getattr(args, "repo", None):
        return
    paths = getattr(args, "paths", None) or [p for p in [getattr(args, "path", None)] if p]
    for path in paths[:1]:
        root = find_root(Path(path).parent)
        if root is not None:
            args.repo = str(root)
            return
    root = find_root(Path.cwd())
    if root is None:
        from ..errors import RunrepoError

        raise RunrepoError("usage", f"no runs/ folder in {Path.cwd()} or above it: run inside the repository or give --repo")
    args.repo = str(root)


def source(args) -> TreeSource:
    return TreeSource(Path(args.repo))


def _locate(path: str, source: TreeSource) -> str:
    """A relative path as given, or `runs/...` as runrepo prints it (relative to the root) typed in a subfolder."""
    if not Path(path).is_absolute() and not Path(path).exists() and (source.repo_root / path).exists():
        return str(source.repo_root / path)
    return path


def stray_paths(paths: list[str], source: TreeSource) -> list[str]:
    """The given files under runs/experiments/ that are not `.yaml` run files, repository-relative."""
    from ..check import RUNS, is_stray, runs_path

    rels = [runs_path(_locate(p, source), source.repo_root) for p in paths]
    return [f"{RUNS}/{rel}" for rel in rels if rel is not None and is_stray(rel)]


def layer_names(paths: list[str], source: TreeSource) -> list[str] | None:
    """Paths -> layer names under runs/; None (after a message) when one is outside runs/.
    Stray files under runs/experiments/ are left to `stray_paths` (a finding, not a usage error)."""
    from ..check import is_stray, layer_name, runs_path

    names = []
    for path in paths:
        path = _locate(path, source)
        name = layer_name(path, source.repo_root)
        rel = runs_path(path, source.repo_root)
        if name is None and rel is not None and is_stray(rel):
            continue
        if name is None:
            if path.endswith((".yaml", ".yml")) or not Path(path).suffix:
                where = source.runs_dir
                print(f"{path}: not a .yaml file under {where}/ (give --repo for another repository)", file=sys.stderr)
                return None
            continue  # other files under runs/ (README.md) are not layers
        names.append(name)
    return names


def run_names(paths: list[str], source: TreeSource) -> list[str] | None:
    """Paths of run files -> their config names (experiments/NAME, data/NAME); None after a usage message
    when one is not a run file under runs/experiments/ or runs/data/."""
    from ..check import is_run, layer_name

    names = []
    for path in paths:
        name = layer_name(_locate(path, source), source.repo_root)
        if name is None or not is_run(name):
            print(f"{path}: error[usage] not a run file under runs/experiments/ or runs/data/", file=sys.stderr)
            return None
        names.append(name)
    return names


def policy(source: TreeSource) -> dict:
    """runs/policy.yaml of this tree ({} without one)."""
    from ..validate import policy as pol

    return pol.load(source)
