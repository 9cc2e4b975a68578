"""A git range -> what merging it will do: per run the action, the expanded-run diff, GPUs, GPU-hours
and the findings at head.

Both sides are composed from git objects (changes.evaluate), never from the working tree, so the
plan of a pull request is the same on every machine and in CI whatever is checked out. The
action is changes.decide's, the same decision `submit` acts on.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..changes.decide import DELETED, SKIP, SUBMIT
from ..changes.evaluate import Evaluated, evaluate
from ..compose.render import render
from ..estimate import estimate_run
from ..findings import ERROR, Finding
from ..git import EMPTY_TREE, Git
from ..rules.limits import pr_findings, pr_totals
from ..rules.secrets import redact


@dataclass
class RunPlan:
    path: str  # at head (at base for a deleted run)
    change: str  # added | modified | renamed | deleted | affected (changes.detect)
    action: str  # submit | not submitted | deleted
    label: str  # short form for a table cell
    reason: str  # one sentence saying why
    old_path: str = ""
    layers: list[str] = field(default_factory=list)  # changed shared layers it uses (affected runs)
    cluster: str | None = None
    gpu_type: str | None = None
    nodes: int | None = None
    gpus: int | None = None
    max_duration: float | None = None  # hours
    digest_base: str | None = None
    digest_head: str | None = None
    findings: list[Finding] = field(default_factory=list)
    memory: dict | None = None  # from runrepo.estimate, when that module is installed
    # A training run: the data runs it reads ({name, file, dataset, state}); merging submits it once they completed
    needs: list[dict] = field(default_factory=list)
    # On the platform now (lifecycle.drift, when plan reads it): this repository's live runs of the file
    live: list[dict] = field(default_factory=list)
    live_note: str = ""  # what merging does next to them (a second run beside it; stops it; leaves it)
    # The diff is rendered on first use: a markdown plan shows only what fits in a comment,
    # and rendering 2 x 1,000 expanded runs to YAML would dominate a large plan.
    make_diff: object = field(default=None, repr=False, compare=False)
    diff_text: str | None = field(default=None, repr=False, compare=False)
    sides: tuple | None = field(default=None, repr=False, compare=False)  # (base run, head run): plan/group.py

    @property
    def diff(self) -> str:
        if self.diff_text is None:
            self.diff_text = self.make_diff() if callable(self.make_diff) else ""
        return self.diff_text

    @diff.setter
    def diff(self, text: str) -> None:
        self.diff_text = text

    @property
    def submitted(self) -> bool:
        return self.action == SUBMIT

    @property
    def gpu_hours(self) -> float | None:
        if isinstance(self.gpus, int) and isinstance(self.max_duration, (int, float)):
            return self.gpus * float(self.max_duration)
        return None

    @property
    def errors(self) -> int:
        return sum(f.severity == ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors

    def as_dict(self) -> dict:
        light = replace(self, make_diff=None, sides=None)  # asdict would deep-copy both expanded runs
        d = {k: v for k, v in asdict(light).items() if k not in ("make_diff", "diff_text", "sides")}
        d.update(diff=self.diff, submitted=self.submitted, gpu_hours=self.gpu_hours, errors=self.errors, warnings=self.warnings)
        return d


@dataclass
class Totals:
    runs: int = 0
    gpus: int = 0
    gpu_hours: float = 0.0
    unbounded: int = 0  # submitted runs without a max_duration (no GPU-hour bound)


@dataclass
class Plan:
    base: str  # the merge base compared against (EMPTY_TREE when there is none)
    base_subject: str
    head: str
    head_subject: str
    base_rev: str  # what the caller asked for, e.g. origin/main
    runs: list[RunPlan]
    shared: list[dict]
    other: list[str]
    shared_findings: list[Finding] = field(default_factory=list)  # a changed layer that fails the gate
    pr_findings: list[Finding] = field(default_factory=list)  # the base policy's per-pull-request limits
    estimate: bool = False  # the memory estimate was available
    platform: str = ""  # how the platform was read for the live rows, or why it was not

    @property
    def totals(self) -> Totals:
        t = Totals()
        for r in self.runs:
            if r.submitted:
                t.runs += 1
                t.gpus += r.gpus if isinstance(r.gpus, int) else 0
                if r.gpu_hours is None:
                    t.unbounded += 1
                else:
                    t.gpu_hours += r.gpu_hours
        return t

    @property
    def blocked(self) -> list[RunPlan]:
        """Runs merging would submit although check finds errors in them."""
        return [r for r in self.runs if r.submitted and r.errors]

    @property
    def exit_code(self) -> int:
        return 1 if self.blocked or any(f.severity == ERROR for f in self.pr_findings + self.shared_findings) else 0

    def as_dict(self) -> dict:
        return {
            "base": {"sha": self.base, "subject": self.base_subject, "rev": self.base_rev},
            "head": {"sha": self.head, "subject": self.head_subject},
            "runs": [r.as_dict() for r in self.runs],
            "totals": asdict(self.totals),
            "shared": self.shared,
            "other": self.other,
            "shared_findings": [f.as_dict() for f in self.shared_findings],
            "pr_findings": [f.as_dict() for f in self.pr_findings],
            "platform": self.platform,
            "exit_code": self.exit_code,
        }


def _subject(git: Git, sha: str) -> str:
    if sha == EMPTY_TREE:
        return "no common history: every run at head is new"
    return git.subject(sha)


def _numbers(rp: RunPlan, run: dict) -> None:
    compute = run.get("compute") if isinstance(run.get("compute"), dict) else {}
    sched = run.get("scheduling") if isinstance(run.get("scheduling"), dict) else {}
    rp.cluster, rp.gpu_type = compute.get("cluster"), compute.get("gpu_type")
    nodes, gpus, hours = compute.get("nodes"), compute.get("gpus"), sched.get("max_duration")
    rp.nodes = nodes if isinstance(nodes, int) and not isinstance(nodes, bool) else None
    rp.gpus = gpus if isinstance(gpus, int) and not isinstance(gpus, bool) else None
    ok = isinstance(hours, (int, float)) and not isinstance(hours, bool) and hours > 0
    rp.max_duration = float(hours) if ok else None


def unified(before: str, after: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), old, new, n=3)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _diff_text(ev: Evaluated):
    """A callable rendering the expanded-run diff: only the diffs a reader will see are rendered."""
    ch = ev.change
    old = ch.old_path or ch.path

    def side(resolved, findings, rev: str) -> str:
        if resolved is not None:
            return render(resolved, with_digest=False, scrub=redact)
        why = "; ".join(str(f) for f in findings if f.severity == ERROR) or "it does not compose"
        return f"# does not compose at {rev[:12]}: {why}\n"

    def make() -> str:
        before = "" if ch.kind == "added" else side(ev.base, ev.base_findings, "base")
        after = "" if ch.kind == "deleted" else side(ev.head, ev.findings, "head")
        return unified(before, after, "/dev/null" if ch.kind == "added" else f"a/{old}",
                       "/dev/null" if ch.kind == "deleted" else f"b/{ch.path}")

    return make


def _data_state(file: str, runs: list[Evaluated]) -> str:
    """Where a data run a training run reads stands, from git alone (plan --platform adds the platform's)."""
    mine = next((e for e in runs if e.path == file), None)
    if mine is not None and mine.decision.submits:
        return "submitted by this merge: the run waits until it has completed"
    if mine is not None:
        return f"{mine.decision.label} here: the run waits until a run of it has completed"
    return "unchanged here: the run is submitted once a run of it has completed (at once, if one has)"


def plan(repo: Path | str, base: str, head: str = "HEAD") -> Plan:
    """Compose every run the range touches at the merge base and at head; diff, count, check."""
    git = Git(repo)
    ev = evaluate(git.repo, base, head)
    rc = ev.changes
    runs = []
    for e in ev.runs:
        d = e.decision
        rp = RunPlan(e.path, e.change.kind, d.action, d.label, d.reason, e.change.old_path, list(e.change.layers),
                     digest_base=e.digest_base, digest_head=e.digest_head, findings=list(e.findings))
        shown = e.head or e.base
        if shown is not None:
            _numbers(rp, shown.run)
        rp.make_diff = _diff_text(e)
        rp.sides = (e.base.run, e.head.run) if e.base is not None and e.head is not None else None
        rp.needs = [{"name": u.name, "file": u.file, "dataset": u.dataset, "state": _data_state(u.file, ev.runs)}
                    for u in e.needs]
        if e.head is not None and not e.head.is_data:  # a data run trains nothing: no memory estimate
            try:
                rp.memory = estimate_run(e.head.run, e.head.tool)
            except Exception as exc:  # noqa: BLE001 - an estimate must never stop a plan
                rp.memory = {"error": f"{type(exc).__name__}: {exc}"}
        runs.append(rp)
    order = {SUBMIT: 0, SKIP: 1, DELETED: 2}
    runs.sort(key=lambda r: (order[r.action], r.path))
    totals = pr_totals([(r.path, r.gpu_hours) for r in runs if r.submitted], ev.policy)
    return Plan(
        pr_findings=pr_findings(totals, ev.policy) if ev.policy else [],
        base=rc.base,
        base_subject=_subject(git, rc.base),
        head=rc.head,
        head_subject=_subject(git, rc.head),
        base_rev=base,
        runs=runs,
        shared=rc.shared,
        other=rc.other,
        shared_findings=ev.shared_findings,
        estimate=True,
    )
