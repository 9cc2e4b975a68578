"""A git range -> the runs it touches, decided from trees: added, modified, renamed, deleted, and
affected through a changed shared layer.

Shared by `plan` (what merging will do) and `submit` (what a merge did). The range is
merge-base(base, head)..head, so a push of several commits, a force push (base no longer an
ancestor), a merge commit of any shape and a branch's first push (all-zero base: everything at
head is new) all compare the same two trees. Commit lists are read for two things only: the
`Runrepo-Resubmit:` trailers of the range, and each edited run's cause (the first-parent state
of the branch that last changed the file), which the cover rule of submission compares with
what the platform already holds.
"""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..check import RUN_DIR, RUN_DIRS, expand, run_names
from ..compose.dataprep import is_data_file
from ..compose.layers import RUNS, GitSource
from ..git import EMPTY_TREE, ZERO, Git, is_zero

RUN_PREFIX = f"{RUNS}/{RUN_DIR}/"
RUN_PREFIXES = tuple(f"{RUNS}/{d}/" for d in RUN_DIRS)  # training runs, data runs
TRAILER = "Runrepo-Resubmit"  # a commit trailer that asks for dependents of a shared change to be resubmitted
KINDS = ("added", "modified", "renamed", "deleted", "affected")


@dataclass
class RunChange:
    kind: str  # added | modified | renamed | deleted | affected
    path: str  # at head (at base for deleted)
    old_path: str = ""  # renamed: the path at base
    layers: list[str] = field(default_factory=list)  # affected: the changed shared layers it uses
    resubmit: bool = False  # affected, and a Runrepo-Resubmit trailer asks for it
    cause: str = ""  # the commit that makes it a candidate: its last first-parent change, or the trailer
    aliases: list[str] = field(default_factory=list)  # earlier names, through pure renames since the cause


@dataclass
class RangeChanges:
    base: str  # the merge base actually compared against (EMPTY_TREE when there is none)
    head: str
    base_rev: str  # the base asked for, as a full SHA (ZERO: everything at head is new)
    runs: list[RunChange]
    shared: list[dict]  # {"status", "path", "old_path"} of changed shared layers
    other: list[str]  # changed files under runs/ that are neither (policy.yaml, README)
    stray: list[str] = field(default_factory=list)  # files under runs/experiments/ that are not .yaml

    @property
    def range(self) -> str:
        """The commits of the range, as `git log` takes them."""
        return self.head if self.base == EMPTY_TREE else f"{self.base}..{self.head}"

    def as_dict(self) -> dict:
        return asdict(self)


def is_run_file(path: str) -> bool:
    return path.startswith(RUN_PREFIXES) and path.endswith(".yaml")


def matches(path: str, patterns: list[str]) -> bool:
    """A Runrepo-Resubmit value names a run file, a glob, or `all`/`*` for every dependent."""
    return any(p in ("all", "*") or fnmatch.fnmatch(path, p) for p in patterns)


def dependents(source: GitSource, layer_files: set[str]) -> dict[str, list[str]]:
    """Run file -> the changed files it reads: shared layers it composes from, and the data runs and
    runs/datasets.yaml its datasets were linked through (runs that fail there count too)."""
    out: dict[str, list[str]] = {}
    for name in run_names(source):
        resolved, findings = expand(source, name)
        used = set(resolved.depends) if resolved else {f.file for f in findings}
        hit = sorted(used & layer_files)
        if hit:
            out[f"{RUNS}/{name}.yaml"] = hit
    return out


def _classify(status: str, path: str, old: str) -> RunChange | None:
    is_run, was_run = is_run_file(path), is_run_file(old) if old else is_run_file(path)
    if not (is_run or was_run):
        return None
    if status == "A" or (status in "RC" and not was_run):
        return RunChange("added", path)
    if status == "D":
        return RunChange("deleted", path)
    if status in "RC" and not is_run:
        return RunChange("deleted", old)
    if status in "RC":
        return RunChange("renamed", path, old)
    return RunChange("modified", path)


def changes(repo: Path | str, base: str, head: str = "HEAD") -> RangeChanges:
    git = Git(repo)
    head_sha = git.commit(head, "head")
    base_rev = ZERO if is_zero(base) else git.commit(base, "base")
    mb = git.merge_base(base_rev, head_sha)
    rc = RangeChanges(base=mb, head=head_sha, base_rev=base_rev, runs=[], shared=[], other=[])
    for status, path, old in git.diff(mb, head_sha, RUNS):
        change = _classify(status, path, old)
        if change is not None:
            rc.runs.append(change)
        elif path.startswith(RUN_PREFIXES) and status != "D":
            rc.stray.append(path)
        elif path.endswith(".yaml") and path != f"{RUNS}/policy.yaml":
            rc.shared.append({"status": status, "path": path, "old_path": old})
        else:
            rc.other.append(path)
    edited = [r for r in rc.runs if r.kind in ("added", "modified", "renamed")]
    causes: dict[str, tuple[str, list[str]]] = {}
    for prefix in RUN_PREFIXES:  # renames are followed within each run folder
        mine = [r.path for r in edited if r.path.startswith(prefix)]
        causes.update(git.last_changes(rc.range, mine, prefix.rstrip("/")) if mine else {})
    for r in edited:
        r.cause, r.aliases = causes.get(r.path, (head_sha, []))
    data = {p for r in rc.runs for p in (r.path, r.old_path) if p and is_data_file(p)}  # training runs read them
    if rc.shared or data:
        files = {s["path"] for s in rc.shared} | {s["old_path"] for s in rc.shared if s["old_path"]} | data
        touched = {r.path for r in rc.runs} | {r.old_path for r in rc.runs}
        trailers = git.trailers(rc.range, TRAILER)
        for path, layers in sorted(dependents(GitSource.at(git.repo, head_sha), files).items()):
            if path in touched:
                continue
            asked = next((sha for sha, patterns in trailers if matches(path, patterns)), "")
            rc.runs.append(RunChange("affected", path, layers=layers, resubmit=bool(asked), cause=asked))
    rc.runs.sort(key=lambda r: (r.path, r.kind))
    return rc
