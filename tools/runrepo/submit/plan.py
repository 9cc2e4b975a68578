"""What a git range submits: candidates composed at head, each with its identity and a decision.

The decision depends on git alone (never on the platform), so `--dry-run` needs no credentials:
  added, modified, renamed with changes  -> submit (if `check` finds no error)
  renamed or modified, same expanded run -> skip  (a pure rename or a comment is not a new run)
  affected by a shared layer             -> skip, unless a `Runrepo-Resubmit:` trailer names it
  deleted                                -> reported; the platform run is left alone
  check errors                           -> invalid: never submitted, the others still are
What the platform already holds (identity, cover) is decided later, in engine.py.
"""

from __future__ import annotations

import fnmatch
import multiprocessing
import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..compose.layers import RUNS, GitSource
from ..compose.render import digest as run_digest
from ..compose.render import with_metadata
from ..findings import ERROR, Finding
from ..plan.changes import EMPTY_TREE, TRAILER, ZERO, changes, git, rev_parse

POOL_MIN = 8  # below this many runs a process pool costs more than it saves


@dataclass
class Candidate:
    path: str  # runs/experiments/x.yaml at head (at base for deleted)
    action: str  # added | modified | renamed | affected | deleted (from plan.changes)
    decision: str = "submit"  # submit | skip | invalid | deleted
    reason: str = ""
    old_path: str = ""
    run: dict | None = None  # the run as submitted, metadata included
    digest: str = ""
    findings: list[Finding] = field(default_factory=list)
    cause: str = ""  # the commit that makes it a candidate: its last edit, or the trailer asking for it

    @property
    def identity(self) -> tuple[str, str]:
        return (self.path, self.digest)

    @property
    def cluster(self) -> str:
        return str(((self.run or {}).get("compute") or {}).get("cluster") or "")

    @property
    def gpus(self) -> int:
        return int(((self.run or {}).get("compute") or {}).get("gpus") or 0)


@dataclass
class Selection:
    base: str  # the base asked for, as a full sha (all zeros: everything at head is new)
    merge_base: str  # what changes() actually compared against
    head: str
    candidates: list[Candidate]

    @property
    def to_submit(self) -> list[Candidate]:
        return [c for c in self.candidates if c.decision == "submit"]


def _layer(path: str) -> str:
    return path[len(RUNS) + 1 : -len(".yaml")]


def _expand_chunk(job: tuple) -> list[tuple]:
    """(repo, head, names, policy, meta) -> [(name, run with metadata | None, digest, findings)]."""
    from ..validate.check import check_run

    repo, head, names, policy, meta = job
    source = GitSource(repo, head)
    out = []
    for name in names:
        res = check_run(source, name, policy)
        errors = [f for f in res.findings if f.severity == ERROR]
        if errors or res.resolved is None:
            out.append((name, None, "", res.findings))
        else:
            out.append((name, with_metadata(res.resolved, **meta), run_digest(res.resolved), res.findings))
    return out


def expand_all(repo: Path, head: str, names: list[str], policy: dict, meta: dict, while_composing=None):
    """Compose and check `names` at `head`; across processes when there are many and it is safe.

    `while_composing()` runs in this process meanwhile (the command imports mcli and lists the
    platform then). Forking is only safe with no other thread alive (a lock held elsewhere would be
    inherited locked), so an in-process caller with threads gets the sequential path.
    """
    workers = min(os.cpu_count() or 1, 4)
    parallel = len(names) >= POOL_MIN and workers > 1 and threading.active_count() == 1
    parallel = parallel and "fork" in multiprocessing.get_all_start_methods()
    overlap = None
    if not parallel:
        results = _expand_chunk((repo, head, names, policy, meta))
        if while_composing:
            overlap = while_composing()
        return {r[0]: r[1:] for r in results}, overlap
    chunks = [names[i::workers] for i in range(workers)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pending = pool.map_async(_expand_chunk, [(repo, head, c, policy, meta) for c in chunks])
        if while_composing:
            overlap = while_composing()
        results = [r for chunk in pending.get() for r in chunk]
    return {r[0]: r[1:] for r in results}, overlap


def last_edits(repo: Path, head: str, paths: list[str]) -> dict[str, str]:
    """path -> the newest commit reachable from head that changed that file (one git log)."""
    if not paths:
        return {}
    out = git(repo, "log", "--format=%x01%H", "--name-only", head, "--", *paths)
    found: dict[str, str] = {}
    commit = ""
    for line in out.splitlines():
        if line.startswith("\x01"):
            commit = line[1:]
        elif line and line not in found and commit:
            found[line] = commit
    return found


def trailer_commits(repo: Path, merge_base: str, head: str) -> list[tuple[str, list[str]]]:
    """(commit, Runrepo-Resubmit patterns) for the range, newest first."""
    rng = head if merge_base == EMPTY_TREE else f"{merge_base}..{head}"
    fmt = f"%x01%H%x02%(trailers:key={TRAILER},valueonly,separator=%x00)"
    out = git(repo, "log", f"--format={fmt}", rng)
    commits = []
    for chunk in out.split("\x01")[1:]:
        sha, _, rest = chunk.partition("\x02")
        patterns = [p.strip() for part in rest.split("\0") for p in part.splitlines() if p.strip()]
        if patterns:
            commits.append((sha.strip(), patterns))
    return commits


def _matches(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(path, p) or p in ("all", "*") for p in patterns)


def select(repo: Path | str, base: str, head: str = "HEAD", policy: dict | None = None,
           repository: str = "", while_composing=None) -> tuple[Selection, object]:
    """The candidates of base..head, composed at head. Returns (selection, while_composing's result)."""
    repo = Path(repo).resolve()
    ch = changes(repo, base, head)  # first: it explains a bad base or head
    base_sha = ZERO if not base or set(base) == {"0"} else rev_parse(repo, base)
    meta = {"commit": ch.head, "base": base_sha, "repository": repository}
    cands: list[Candidate] = []
    names: list[str] = []
    for rc in ch.runs:
        c = Candidate(rc.path, rc.action, old_path=rc.old_path)
        cands.append(c)
        if rc.action == "deleted":
            c.decision, c.reason = "deleted", "run file deleted; its platform run is left as it is"
        elif rc.action == "affected" and not rc.resubmit:
            c.decision = "skip"
            c.reason = (f"uses changed shared layer(s) {', '.join(rc.layers)}; not resubmitted "
                        f"(a `{TRAILER}: {rc.path}` commit trailer asks for it)")
        else:
            names.append(_layer(rc.path))
    expanded, overlap = expand_all(repo, ch.head, names, policy or {}, meta, while_composing if names else None)
    wanted = [c for c in cands if c.decision == "submit"]
    edits = last_edits(repo, ch.head, [c.path for c in wanted if c.action != "affected"])
    trailers = trailer_commits(repo, ch.base, ch.head) if any(c.action == "affected" for c in wanted) else []
    old = _BaseDigests(repo, ch.base)
    for c in wanted:
        c.run, c.digest, c.findings = expanded[_layer(c.path)]
        if c.run is None:
            first = next(f for f in c.findings if f.severity == ERROR)
            c.decision, c.reason = "invalid", f"not submitted: {first}"
            continue
        if c.action == "affected":
            c.cause = next((sha for sha, pats in trailers if _matches(c.path, pats)), ch.head)
        else:
            c.cause = edits.get(c.path, ch.head)
        if c.action in ("renamed", "modified") and old.digest(c.old_path or c.path) == c.digest:
            c.decision = "skip"  # as `runrepo plan` shows it: the same run is not resubmitted
            c.reason = (f"pure rename of {c.old_path}: the expanded run is unchanged" if c.old_path else
                        "unchanged: the file changed, the expanded run did not")
    return Selection(base_sha, ch.base, ch.head, cands), overlap


class _BaseDigests:
    """Digests of run files as they were at the merge base (one GitSource, made when first needed)."""

    def __init__(self, repo: Path, merge_base: str):
        self.repo, self.rev, self.source = repo, merge_base, None

    def digest(self, path: str) -> str:
        from ..validate.check import expand

        self.source = self.source or GitSource(self.repo, self.rev)
        resolved, _ = expand(self.source, _layer(path))
        return run_digest(resolved) if resolved else ""


class Ancestry:
    """`git merge-base --is-ancestor`, cached; a commit unknown here is nobody's ancestor."""

    def __init__(self, repo: Path | str):
        self.repo = Path(repo)
        self._cache: dict[tuple[str, str], bool] = {}

    def __call__(self, ancestor: str, commit: str) -> bool:
        if not ancestor or not commit:
            return False
        key = (ancestor, commit)
        if key not in self._cache:
            done = subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, commit], cwd=self.repo,
                                  capture_output=True)
            self._cache[key] = done.returncode == 0
        return self._cache[key]

    def history(self, head: str) -> dict[str, int]:
        """Commits reachable from head -> distance in `git rev-list` order (0 = head)."""
        out = git(self.repo, "rev-list", head)
        return {sha: i for i, sha in enumerate(out.split())}
