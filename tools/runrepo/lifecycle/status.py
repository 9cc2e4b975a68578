"""`runrepo status`: every run file next to what its platform runs are doing.

The declared side comes from git (the files at HEAD, composed and checked as submit would check
them), the live side from one listing of the platform (live.py). For each file:

- its platform runs of this repository, newest first: status, times, GPU-hours used so far against
  the run's budget (GPUs x max_duration), cluster, failure reason;
- whether the newest run is of the file as it is now (same digest) or of an earlier version, and why
  that is (edited and not merged yet, or a shared layer changed, which does not resubmit);
- for a file without a run, why: it fails check, its last change is not in any submission yet, or a
  submission covered it and no run exists (the one case where something went wrong).

`problem` marks what makes the exit code 1: a file's newest run failed, a file fails check, or a
submission covered a file and left no run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..check import RUN_DIRS, check_run, run_names
from ..compose.dataprep import DATA_DIR
from ..compose.layers import RUNS, GitSource
from ..compose.render import digest
from ..findings import ERROR
from ..git import Git
from ..submit.ordering import BLOCKED, READY, DataState, Need, state_of
from ..submit.platform import PlatformRun
from ..submit.select import CLOCK_SKEW, lookup_start
from ..validate import policy as policy_file
from .live import Live

FOLDERS = tuple(f"{RUNS}/{d}" for d in RUN_DIRS)  # training runs, data runs


@dataclass
class Declared:
    """A run file at HEAD, as submit would judge it."""

    path: str
    digest: str = ""
    gpus: int | None = None
    max_duration: float | None = None
    error: str = ""  # its first check error, if any
    cause: str = ""  # the first-parent commit of its last change
    aliases: list[str] = field(default_factory=list)  # earlier names (pure renames since the cause)
    needs: list[Need] = field(default_factory=list)  # the data runs it reads

    @property
    def budget(self) -> float | None:
        return self.gpus * self.max_duration if self.gpus and self.max_duration else None


@dataclass
class FileStatus:
    path: str
    state: str  # the newest run's status (lowercase) | deleted | invalid | not-submitted | missing
    runs: list[PlatformRun]  # this repository's runs of the file, newest first
    note: str = ""
    problem: bool = False
    current: bool = False  # the newest run is of the file as it is now
    budget: float | None = None  # the file's GPUs x max_duration at HEAD
    orphan: bool = False  # no run file at HEAD any more
    data: list[DataState] = field(default_factory=list)  # the data runs it reads, and where each is


@dataclass
class Report:
    head: str
    repository: str
    files: list[FileStatus]
    live: Live | None
    last_submitted: str = ""  # the newest commit of HEAD's history a run was submitted from
    error: str = ""  # the platform could not be read

    @property
    def exit_code(self) -> int:
        return 1 if self.error or any(f.problem for f in self.files) else 0


def declared(repo: Path, head: str, paths: list[str] | None) -> list[Declared]:
    """The run files at head (all of them, or these), composed and checked under head's policy."""
    source = GitSource.at(repo, head)
    names = run_names(source)
    wanted = [f"{RUNS}/{n}.yaml" for n in names] if paths is None else paths
    known = {f"{RUNS}/{n}.yaml" for n in names}
    policy = policy_file.load(source)
    out = []
    for path in wanted:
        d = Declared(path)
        if path in known:
            res = check_run(source, path[len(RUNS) + 1:-len(".yaml")], policy)
            errors = [f for f in res.findings if f.severity == ERROR]
            d.error = str(errors[0]) if errors else ""
            if res.resolved is not None:
                d.digest = digest(res.resolved)
                links = res.resolved.links
                d.needs = [Need(u.name, u.file, u.dataset) for u in (links.needs if links else [])]
                compute, sched = res.resolved.run.get("compute") or {}, res.resolved.run.get("scheduling") or {}
                d.gpus = compute.get("gpus") if isinstance(compute.get("gpus"), int) else None
                hours = sched.get("max_duration")
                d.max_duration = float(hours) if isinstance(hours, (int, float)) and not isinstance(hours, bool) else None
        out.append(d)
    git = Git(repo)
    changes: dict[str, tuple[str, list[str]]] = {}
    for folder in FOLDERS:
        mine = [d.path for d in out if d.path in known and d.path.startswith(folder + "/")]
        changes.update(git.last_changes(head, mine, folder) if mine else {})
    for d in out:
        d.cause, d.aliases = changes.get(d.path, ("", []))
    return out


def since(git: Git, head: str, paths: list[str] | None) -> datetime | None:
    """How far back the platform is read: no run of these files can be older than the first commit
    that had them (every file: the repository's first commit), less the clock-skew margin."""
    if paths is None:
        return datetime.fromtimestamp(git.root_time, timezone.utc) - CLOCK_SKEW
    return lookup_start(git, head, [*paths, *GitSource.at(git.repo, head).files(DATA_DIR)])  # and their data


def last_submitted(git: Git, head: str, live: Live) -> str:
    """The newest commit of head's history that any run of this repository was submitted from."""
    history = git.history(head)
    commits = {r.commit for runs in live.by_path.values() for r in runs if r.commit in history}
    return min(commits, key=history.__getitem__, default="")


def judge(d: Declared, live: Live, git: Git, submitted: str) -> FileStatus:
    runs = live.of(d.path) or [r for a in d.aliases for r in live.of(a)]
    st = FileStatus(d.path, "", runs, budget=d.budget, data=[state_of(n, live.runs, live.repository) for n in d.needs])
    if runs:
        newest = runs[0]
        st.state = "deleted" if newest.deleted else newest.status.lower()
        st.current = bool(d.digest) and newest.digest == d.digest
        if newest.path != d.path:
            st.note = f"submitted as {newest.path}; renamed since without a change (not a new run)"
        if not st.current and d.digest:
            if d.cause and not git.is_ancestor(d.cause, newest.commit):
                st.note = (f"edited since {newest.name} was submitted: the change ({d.cause[:12]}) is not in a "
                           "submission yet")
            else:
                st.note = (f"{newest.name} is of an earlier expanded run: shared layers changed since, which does "
                           "not resubmit (a Runrepo-Resubmit trailer or a runrepo.rerun bump does)")
        if newest.status.upper() == "FAILED" and not newest.deleted:
            st.problem = True
            st.note = st.note or f"{newest.name} failed" + (f": {newest.reason}" if newest.reason else "")
        elif newest.deleted:
            st.note = st.note or (f"{newest.name} was deleted on the platform: not resubmitted (bump runrepo.rerun "
                                  "to run it again)")
        return st
    if d.error:
        st.state, st.problem, st.note = "invalid", True, f"fails check, so it is never submitted: {d.error}"
    elif not submitted:
        st.state, st.note = "not-submitted", "no run of this repository was submitted from this history yet"
    elif d.cause and not git.is_ancestor(d.cause, submitted):
        st.state = "not-submitted"
        st.note = (f"its last change ({d.cause[:12]}) is not in a submission yet (the last was from "
                   f"{submitted[:12]}): merged and not submitted yet, or not merged")
    elif any(s.state != READY for s in st.data):  # held by submit until its data has completed
        blocked = [s for s in st.data if s.state == BLOCKED]
        st.state, st.problem = "waiting", bool(blocked)
        st.note = ("its data cannot complete: " + "; ".join(map(str, blocked)) if blocked else
                   "waiting for data: " + ", ".join(str(s) for s in st.data if s.state != READY))
    elif st.data and _submitted_since(st.data, live, submitted):
        st.state, st.problem = "missing", True
        st.note = ("its data had completed (" + ", ".join(map(str, st.data)) + f") before the submission from "
                   f"{submitted[:12]}, which did not create it: see that submit job; `runrepo submit --base <a commit "
                   "before its merge>` creates it")
    elif st.data:
        st.state = "not-submitted"
        st.note = ("its data has completed (" + ", ".join(map(str, st.data)) + "): the next submission (a merge, or "
                   "the scheduled catch-up of status.yml) creates it")
    else:
        st.state, st.problem = "missing", True
        st.note = (f"the submission from {submitted[:12]} covers its last change, but this repository has no run of "
                   "it: that submission failed for it (see the submit job), or the run was deleted outside runrepo "
                   "(rerun the submit workflow)")
    return st


def _submitted_since(data: list[DataState], live: Live, submitted: str) -> bool:
    """A run of the newest submission was created after all this data had completed: that submission saw
    the data ready, so it should have created the run (a held run is never just forgotten: it is red)."""
    made = [r.created_at for r in live.runs if r.commit == submitted and live.repository.owns(r) is not False]
    ended = [s.run.ended_at for s in data if s.run is not None]
    return bool(made) and len(ended) == len(data) and all(e is not None for e in ended) and \
        max(e for e in ended if e is not None) < max(made)


def orphans(live: Live, files: set[str], on_delete: str) -> list[FileStatus]:
    """This repository's live runs whose run file is gone: GPUs nobody declares any more."""
    out = []
    for path, runs in sorted(live.by_path.items()):
        live_runs = [r for r in runs if r.live]
        if path in files or not live_runs:
            continue
        names = ", ".join(r.name for r in live_runs)
        hint = ("on_delete: stop should have stopped it: see the submit job" if on_delete == "stop" else
                f"stop it with `mcli stop run {live_runs[0].name}` (or set on_delete: stop in runs/policy.yaml)")
        out.append(FileStatus(path, live_runs[0].status.lower(), runs, f"run file deleted; still live: {names}; {hint}",
                              orphan=True))
    return out


def status(repo: Path, head: str, paths: list[str] | None, live: Live, decl: list[Declared]) -> Report:
    git = Git(repo)
    head = git.commit(head, "--head")
    submitted = last_submitted(git, head, live)
    files = [judge(d, live, git, submitted) for d in decl]
    if paths is None:
        on_delete = policy_file.on_delete(policy_file.load(GitSource.at(repo, head)))
        files += orphans(live, {d.path for d in decl} | {a for d in decl for a in d.aliases}, on_delete)
    return Report(head, live.repository.name or live.repository.id, files, live, submitted)
