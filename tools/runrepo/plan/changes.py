"""A git range -> the runs it touches: added, modified, renamed, deleted, and affected by a shared layer.

Shared by `plan` (what merging will do) and `submit` (what a merge did). The range is
merge-base(base, head)..head, so a push of several commits, a force push (base no longer an
ancestor) and a branch's first push (all-zero base: everything at head is new) all work.
"""

from __future__ import annotations

import fnmatch
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..compose.layers import RUNS, GitSource
from ..errors import RunrepoError

ZERO = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
RUN_PREFIX = f"{RUNS}/experiments/"
TRAILER = "Runrepo-Resubmit"  # a commit trailer that asks for dependents of a shared change to be resubmitted


@dataclass
class RunChange:
    action: str  # added | modified | renamed | deleted | affected
    path: str  # path at head (at base for deleted)
    old_path: str = ""  # for renames
    layers: list[str] = field(default_factory=list)  # for affected: the changed shared layers it uses
    resubmit: bool = False  # affected, and a Runrepo-Resubmit trailer asks for it


@dataclass
class RangeChanges:
    base: str  # the merge base actually compared against
    head: str
    runs: list[RunChange]
    shared: list[dict]  # {"status", "path", "old_path"} of changed shared layers
    other: list[str]  # changed files under runs/ that are neither (policy.yaml, README)

    def as_dict(self) -> dict:
        return asdict(self)


def git(repo: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout
    except FileNotFoundError:
        raise RunrepoError("git", "git is not installed") from None
    except subprocess.CalledProcessError as e:
        raise RunrepoError(
            "git", (e.stderr or "").strip().splitlines()[-1] if e.stderr else f"git {args[0]} failed"
        ) from None


def rev_parse(repo: Path, rev: str) -> str:
    return git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()


def merge_base(repo: Path, base: str, head: str) -> str:
    """The commit to diff against; the empty tree for an all-zero or absent base."""
    if not base or set(base) == {"0"}:
        return EMPTY_TREE
    try:
        base_sha = rev_parse(repo, base)
    except RunrepoError:
        raise RunrepoError(
            "git", f"base {base} is not a commit here: fetch full history (actions/checkout fetch-depth: 0)"
        ) from None
    out = subprocess.run(["git", "merge-base", base_sha, head], cwd=repo, capture_output=True, text=True)
    return out.stdout.strip() or EMPTY_TREE  # unrelated histories: compare with nothing


def diff(repo: Path, base: str, head: str) -> list[tuple[str, str, str]]:
    """(status letter, path, old path) for files under runs/, renames detected."""
    out = git(repo, "diff", "-z", "--name-status", "-M", "--no-ext-diff", base, head, "--", f"{RUNS}/")
    parts = out.split("\0")
    changes, i = [], 0
    while i < len(parts) and parts[i]:
        status = parts[i][0]
        if status in "RC":
            old, new = parts[i + 1], parts[i + 2]
            changes.append((status, new, old))
            i += 3
        else:
            changes.append((status, parts[i + 1], ""))
            i += 2
    return changes


def resubmit_patterns(repo: Path, base: str, head: str) -> list[str]:
    """Globs from `Runrepo-Resubmit:` trailers of the commits in the range."""
    rng = head if base == EMPTY_TREE else f"{base}..{head}"
    out = git(repo, "log", f"--format=%(trailers:key={TRAILER},valueonly,separator=%x00)", rng)
    return [p.strip() for chunk in out.split("\n") for p in chunk.split("\0") if p.strip()]


def dependents(source: GitSource, layer_files: set[str]) -> dict[str, list[str]]:
    """Run file -> the changed shared layers it composes from (runs that fail there count too)."""
    from ..validate.check import expand, run_names

    out: dict[str, list[str]] = {}
    for name in run_names(source):
        resolved, findings = expand(source, name)
        used = set(resolved.composed.layers) if resolved else {f.file for f in findings}
        hit = sorted(used & layer_files)
        if hit:
            out[f"{RUNS}/{name}.yaml"] = hit
    return out


def changes(repo: Path | str, base: str, head: str = "HEAD") -> RangeChanges:
    repo = Path(repo).resolve()
    head_sha = rev_parse(repo, head)
    mb = merge_base(repo, base, head_sha)
    runs: list[RunChange] = []
    shared: list[dict] = []
    other: list[str] = []
    for status, path, old in diff(repo, mb, head_sha):
        is_run = path.startswith(RUN_PREFIX) and path.endswith(".yaml")
        was_run = old.startswith(RUN_PREFIX) if old else is_run
        if is_run or was_run:
            if status == "A" or (status in "RC" and not was_run):
                runs.append(RunChange("added", path))
            elif status == "D":
                runs.append(RunChange("deleted", path))
            elif status in "RC" and not is_run:
                runs.append(RunChange("deleted", old))
            elif status in "RC":
                runs.append(RunChange("renamed", path, old))
            else:
                runs.append(RunChange("modified", path))
        elif path.endswith(".yaml") and not path.endswith("/policy.yaml"):
            shared.append({"status": status, "path": path, "old_path": old})
        else:
            other.append(path)
    if shared:
        files = {s["path"] for s in shared} | {s["old_path"] for s in shared if s["old_path"]}
        touched = {r.path for r in runs} | {r.old_path for r in runs}
        patterns = resubmit_patterns(repo, mb, head_sha)
        for path, layers in sorted(dependents(GitSource.at(repo, head_sha), files).items()):
            if path not in touched:
                wanted = any(fnmatch.fnmatch(path, p) or p in ("all", "*") for p in patterns)
                runs.append(RunChange("affected", path, layers=layers, resubmit=wanted))
    runs.sort(key=lambda r: (r.path, r.action))
    return RangeChanges(base=mb, head=head_sha, runs=runs, shared=shared, other=other)
