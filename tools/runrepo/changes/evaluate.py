"""A range, evaluated: every run it touches composed at the merge base and at head (from git
objects, never the working tree), checked at head under the base's policy, and decided.

`plan` renders this and `submit` sends it; neither composes or decides on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..check import check_run, expand, stray_finding
from ..compose.datalinks import Use
from ..compose.layers import RUNS, GitSource
from ..compose.render import digest
from ..compose.resolve import Resolved
from ..errors import RunrepoError
from ..findings import Finding
from ..git import EMPTY_TREE
from ..validate import policy as policy_file
from .decide import Decision, decide
from .detect import RangeChanges, RunChange, changes


@dataclass
class Evaluated:
    change: RunChange
    decision: Decision
    head: Resolved | None  # None: deleted, or it does not compose at head
    base: Resolved | None  # None: added, or it did not compose at base
    findings: list[Finding] = field(default_factory=list)  # at head, under the base policy
    base_findings: list[Finding] = field(default_factory=list)  # why the base side did not compose

    @property
    def path(self) -> str:
        return self.change.path

    @cached_property
    def digest_head(self) -> str | None:
        return digest(self.head) if self.head is not None else None

    @cached_property
    def digest_base(self) -> str | None:
        return digest(self.base) if self.base is not None else None

    @property
    def needs(self) -> list[Use]:
        """The data runs it reads at head (a training run is submitted only once they have completed)."""
        return self.head.links.needs if self.head is not None and self.head.links is not None else []


@dataclass
class Evaluation:
    changes: RangeChanges
    runs: list[Evaluated]
    policy: dict  # runs/policy.yaml that judged the range
    shared_findings: list[Finding]  # a changed shared layer that fails the gate on its own, a stray file
    at_base: GitSource
    at_head: GitSource


def layer_name(path: str) -> str:
    """runs/experiments/x.yaml -> experiments/x (the config name)."""
    return path[len(RUNS) + 1 : -len(".yaml")]


def judging_policy(rc: RangeChanges, repo: Path) -> dict:
    """The policy of the merge base: a change cannot loosen the limits that judge it. With no common
    history (an all-zero base: every run at head) there is nothing older than head to ask."""
    return policy_file.load(GitSource.at(repo, rc.head if rc.base == EMPTY_TREE else rc.base))


def evaluate(repo: Path | str, base: str, head: str = "HEAD", rc: RangeChanges | None = None) -> Evaluation:
    repo = Path(repo).resolve()
    rc = rc or changes(repo, base, head)
    at_base, at_head = GitSource.at(repo, rc.base), GitSource.at(repo, rc.head)
    policy = judging_policy(rc, repo)
    runs = []
    for ch in rc.runs:
        b_res, b_findings, h_res, findings = None, [], None, []
        if ch.kind != "added":
            b_res, b_findings = expand(at_base, layer_name(ch.old_path or ch.path))
        if ch.kind != "deleted":
            res = check_run(at_head, layer_name(ch.path), policy)
            h_res, findings = res.resolved, res.findings
        decision = decide(ch, digest(b_res) if b_res else None, digest(h_res) if h_res else None,
                          policy_file.on_delete(policy))
        runs.append(Evaluated(ch, decision, h_res, b_res, list(findings), list(b_findings)))
    strays = [stray_finding(path) for path in rc.stray]
    return Evaluation(rc, runs, policy, _shared_findings(at_head, rc.shared) + strays, at_base, at_head)


def _shared_findings(source: GitSource, shared: list[dict]) -> list[Finding]:
    """Gate each changed shared layer on its own, even when no run uses it (as `check` does)."""
    out = []
    for s in shared:
        if s["status"] == "D" or not s["path"].startswith(RUNS + "/"):
            continue
        try:
            source.layer(layer_name(s["path"]))
        except RunrepoError as e:
            out.append(Finding.from_error(e))
    return out
