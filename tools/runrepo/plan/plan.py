"""A git range -> what merging it will do: per run the action, the expanded-run diff, GPUs, GPU-hours
and the findings at head.

Both sides are composed from git objects (GitSource), never from the working tree, so the
plan of a pull request is the same on every machine and in CI whatever is checked out.
`decide()` is the one place that turns a change into an action; `submit` can share it so
that what the plan promises is what a merge does.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..compose.layers import RUNS, GitSource
from ..compose.render import digest, render
from ..errors import RunrepoError
from ..findings import ERROR, Finding
from .changes import EMPTY_TREE, RangeChanges, RunChange, changes, git

SUBMIT = "submit"
SKIP = "not submitted"
DELETED = "deleted"


@dataclass
class RunPlan:
    path: str  # at head (at base for a deleted run)
    change: str  # added | modified | renamed | deleted | affected (from plan.changes)
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
    # The diff is rendered on first use: a markdown plan shows only what fits in a comment,
    # and rendering 2 x 1,000 expanded runs to YAML would dominate a large plan.
    make_diff: object = field(default=None, repr=False, compare=False)
    diff_text: str | None = field(default=None, repr=False, compare=False)

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
        d = {k: v for k, v in asdict(self).items() if k not in ("make_diff", "diff_text")}
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
        return 1 if self.blocked or any(f.severity == ERROR for f in self.pr_findings) else 0

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
            "exit_code": self.exit_code,
        }


def decide(change: RunChange, digest_base: str | None, digest_head: str | None) -> tuple[str, str, str]:
    """(action, short label, reason) for one changed run. Shared with submit by design."""
    same = digest_head is not None and digest_head == digest_base
    if change.action == "added":
        return SUBMIT, "submit (new)", "a new run file"
    if change.action == "deleted":
        return DELETED, "deleted (run not stopped)", "the run file is removed; a platform run it started is not stopped"
    if change.action == "renamed":
        if same:
            return (
                SKIP,
                "renamed, unchanged",
                f"renamed from {change.old_path}; the expanded run is identical: not resubmitted",
            )
        return SUBMIT, "submit (renamed, changed)", f"renamed from {change.old_path} and the expanded run changed"
    if change.action == "modified":
        if same:
            return (
                SKIP,
                "unchanged",
                "the file changed but the expanded run is identical (comments, layout): not resubmitted",
            )
        return SUBMIT, "submit (edited)", "the run file was edited"
    # affected: a shared layer it uses changed
    uses = ", ".join(change.layers)
    if change.resubmit and same:  # submit matches runs by (path, digest): the existing run stands
        return (
            SKIP,
            "affected, unchanged",
            (
                f"uses {uses}; resubmit requested, but the expanded run is identical to the one already submitted "
                "(bump `runrepo.rerun` in the run file to run it again)"
            ),
        )
    if change.resubmit:
        return SUBMIT, "submit (resubmit requested)", f"uses {uses}; a Runrepo-Resubmit trailer asks to resubmit it"
    if same:
        return SKIP, "affected, unchanged", f"uses {uses}, but its expanded run is identical"
    return (
        SKIP,
        "affected (not resubmitted)",
        (
            f"uses {uses}, which changed; not resubmitted (a `Runrepo-Resubmit: {change.path}` commit trailer asks for it)"
        ),
    )


def base_policy(base: GitSource) -> dict:
    """Policy as it is at the BASE commit: a pull request must not loosen the policy that judges it.

    Hook: runrepo.validate.policy.load(source) reads runs/policy.yaml through `source`; until that
    module exists there is no policy.
    """
    try:
        from ..validate import policy as pol
    except ImportError:
        return {}
    return pol.load(base)


def policy_pr_findings(runs: list[RunPlan], policy: dict) -> list[Finding]:
    """The per-pull-request GPU-hour limit of the base policy, over the runs a merge submits."""
    if not policy:
        return []
    try:
        from ..validate import policy as pol
    except ImportError:
        return []
    return pol.pr_findings(pol.pr_totals([(r.path, r.gpu_hours) for r in runs if r.submitted], policy), policy)


def _estimator():
    """runrepo.estimate.estimate_run(run, tool) when installed; plans work without it."""
    try:
        from ..estimate import estimate_run
    except ImportError:
        return None
    return estimate_run


def _subject(repo: Path, sha: str) -> str:
    if sha == EMPTY_TREE:
        return "no common history: every run at head is new"
    return git(repo, "log", "-1", "--format=%s", sha).strip()


def _name(path: str) -> str:
    """runs/experiments/x.yaml -> experiments/x (the config name)."""
    return path[len(RUNS) + 1 : -len(".yaml")]


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


def _side(source: GitSource, path: str, policy: dict | None):
    """(resolved or None, text to render, findings) of one run at one commit; the text is a
    callable so that only the diffs a reader will see are rendered."""
    from ..validate.check import check_run, expand

    if policy is None:  # the base side: only its expansion matters
        resolved, findings = expand(source, _name(path))
    else:
        res = check_run(source, _name(path), policy)
        resolved, findings = res.resolved, res.findings
    if resolved is None:
        why = "; ".join(str(f) for f in findings if f.severity == ERROR) or "it does not compose"
        note = f"# does not compose at {source.rev[:12]}: {why}\n"
        return None, lambda: note, findings
    return resolved, lambda: render(resolved), findings


def plan(repo: Path | str, base: str, head: str = "HEAD", rc: RangeChanges | None = None) -> Plan:
    """Compose every run the range touches at the merge base and at head; diff, count, check."""
    repo = Path(repo).resolve()
    rc = rc or changes(repo, base, head)
    at_base, at_head = GitSource.at(repo, rc.base), GitSource.at(repo, rc.head)
    policy = base_policy(at_base)
    estimate_run = _estimator()
    runs = []
    for ch in rc.runs:
        old = ch.old_path or ch.path
        b_res, b_text, h_res, h_text, findings = None, str, None, str, []
        if ch.action != "added":
            b_res, b_text, _ = _side(at_base, old, None)
        if ch.action != "deleted":
            h_res, h_text, findings = _side(at_head, ch.path, policy)
        d_base = digest(b_res) if b_res else None
        d_head = digest(h_res) if h_res else None
        action, label, reason = decide(ch, d_base, d_head)
        rp = RunPlan(
            ch.path,
            ch.action,
            action,
            label,
            reason,
            ch.old_path,
            list(ch.layers),
            digest_base=d_base,
            digest_head=d_head,
            findings=list(findings),
        )
        shown = h_res or b_res
        if shown is not None:
            _numbers(rp, shown.run)
        from_name = "/dev/null" if ch.action == "added" else f"a/{old}"
        to_name = "/dev/null" if ch.action == "deleted" else f"b/{ch.path}"
        rp.make_diff = lambda b=b_text, h=h_text, f=from_name, t=to_name: unified(b(), h(), f, t)
        if estimate_run and h_res is not None:
            try:
                rp.memory = estimate_run(h_res.run, h_res.tool)
            except Exception as e:  # noqa: BLE001 - an estimate must never stop a plan
                rp.memory = {"error": f"{type(e).__name__}: {e}"}
        runs.append(rp)
    order = {SUBMIT: 0, SKIP: 1, DELETED: 2}
    runs.sort(key=lambda r: (order[r.action], r.path))
    return Plan(
        pr_findings=policy_pr_findings(runs, policy),
        base=rc.base,
        base_subject=_subject(repo, rc.base),
        head=rc.head,
        head_subject=_subject(repo, rc.head),
        base_rev=base,
        runs=runs,
        shared=rc.shared,
        other=rc.other,
        shared_findings=_shared_findings(at_head, rc.shared),
        estimate=estimate_run is not None,
    )


def _shared_findings(source: GitSource, shared: list[dict]) -> list[Finding]:
    """Gate each changed shared layer on its own, even when no run uses it (as `check` does)."""
    out = []
    for s in shared:
        if s["status"] == "D" or not s["path"].startswith(RUNS + "/"):
            continue
        try:
            source.layer(_name(s["path"]))
        except RunrepoError as e:
            out.append(Finding.from_error(e))
    return out
