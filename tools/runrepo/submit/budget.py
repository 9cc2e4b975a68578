"""The per-pull-request GPU-hour limit, applied at submission as plan applies it before the merge.

A range can hold several merges (a caught-up dropped workflow): the limit is per merge, not per
range, so the runs to create are grouped by the first-parent commit of the branch that brought
their change in (a merge, a squash, or a pushed commit), and each group is held to the limit of
the base's runs/policy.yaml. Over the limit, none of that group's unapproved runs is created.
"""

from __future__ import annotations

from collections import defaultdict

from ..git import Git
from ..rules.limits import gpu_hours, pr_findings, pr_totals
from .select import Candidate


def step_of(git: Git, chain: list[str], commit: str) -> str:
    """The first-parent commit (of `chain`, newest first) whose change brought `commit` in."""
    if commit in chain:
        return commit
    for step in reversed(chain):  # oldest first: the first state that contains it
        if git.is_ancestor(commit, step):
            return step
    return chain[0] if chain else commit


def held_back(git: Git, rng: str, policy: dict, create: list[Candidate]) -> dict[str, str]:
    """path -> why it is not created: its merge is over max_gpu_hours_per_pr."""
    if not policy or policy.get("max_gpu_hours_per_pr") is None or not create:
        return {}
    chain = git.first_parents(rng)
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for c in create:
        groups[step_of(git, chain, c.cause)].append(c)
    out: dict[str, str] = {}
    for step, cands in groups.items():
        totals = pr_totals([(c.path, gpu_hours(c.run or {})) for c in cands], policy)
        for f in pr_findings(totals, policy):
            reason = f"{f.file}:{f.line}: error[{f.rule}] (merge {step[:12]}) {f.message}"
            for path in totals.counted_runs + totals.unbounded:
                out[path] = reason
    return out
