"""The arithmetic of runs/policy.yaml's limits: GPU-hours of a run, the limit that applies to a
run (an approval raises it), and the per-pull-request total that plan and submit enforce.

Pure functions over a parsed policy (validate.policy.load) and expanded runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..findings import ERROR, Finding
from ..validate.policy import FILE, where

if TYPE_CHECKING:
    from ..compose.gate import Json
    from ..validate.policy import Approval, Policy

PR_RULE = "policy-pr-gpu-hours"
_NUM = (int, float)


def approval(policy: Policy, run_file: str) -> Approval | None:
    for item in policy.get("approvals") or []:
        if isinstance(item, dict) and item.get("run") == run_file:
            return item
    return None


def number(value: object) -> float | None:
    """A finite number for policy arithmetic, whatever its YAML type (512.0 counts as 512 GPUs:
    the schema rules refuse the spelling, the limits still apply); None for anything else."""
    if isinstance(value, _NUM) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def gpu_hours(run: Mapping[str, Json]) -> float | None:
    """compute.gpus x scheduling.max_duration (hours) of an expanded run.

    None when there is no bound (no max_duration) or either value is not a finite number: callers
    treat None as unbounded, so a value policy cannot read never passes as small (fail closed).
    """
    compute, sched = run.get("compute"), run.get("scheduling")
    compute = compute if isinstance(compute, dict) else {}
    sched = sched if isinstance(sched, dict) else {}
    gpus, hours = number(compute.get("gpus")), number(sched.get("max_duration"))
    if gpus is None or gpus < 0 or hours is None or hours <= 0:
        return None
    return gpus * hours


def limit(
    policy: Policy,
    key: Literal["max_gpus_per_run", "max_gpu_hours_per_run"],
    run_file: str,
    approved_key: Literal["max_gpus", "max_gpu_hours"],
) -> tuple[float | None, str]:
    """The limit that applies to a run (an approval raises it) and where it was set."""
    base = number(policy.get(key))
    item = approval(policy, run_file)
    approved = number(item.get(approved_key)) if item is not None else None
    if item is not None and approved is not None:
        i = (policy.get("approvals") or []).index(item)
        return max(approved, base or 0), where(policy, "approvals", i, approved_key)
    return base, where(policy, key)


@dataclass
class PrTotals:
    """GPU-hours a pull request would submit, against max_gpu_hours_per_pr."""

    gpu_hours: float = 0.0  # every submitted run with a bound
    counted: float = 0.0  # what counts against the limit: runs without their own approval
    counted_runs: list[str] = field(default_factory=list)
    approved: list[str] = field(default_factory=list)  # run files left out: approved one by one
    unbounded: list[str] = field(default_factory=list)  # no max_duration: no bound at all
    limit: float | None = None

    @property
    def over(self) -> bool:
        return self.limit is not None and (self.counted > self.limit or bool(self.unbounded))


def pr_totals(runs: Iterable[tuple[str, float | None]], policy: Policy) -> PrTotals:
    """Per-PR GPU-hours from (run file, gpu_hours) of the runs a merge would submit.

    A run with its own approval in the (base) policy is left out of the count: a maintainer
    already accepted its cost. A run without a bound (no max_duration) makes the total unbounded.
    """
    t = PrTotals(limit=number(policy.get("max_gpu_hours_per_pr")))
    for path, hours in runs:
        if hours is None:
            t.unbounded.append(path)
            continue
        t.gpu_hours += hours
        if approval(policy, path) is not None:
            t.approved.append(path)
        else:
            t.counted += hours
            t.counted_runs.append(path)
    return t


def pr_findings(totals: PrTotals, policy: Policy) -> list[Finding]:
    """The per-PR limit as findings (blamed on the policy line that sets it), for plan and submit."""
    if not totals.over:
        return []
    at = (policy.get("_pos") or {}).get(("max_gpu_hours_per_pr",), (0, 0))
    if totals.unbounded:
        msg = (
            f"{len(totals.unbounded)} run(s) have no GPU-hour bound (scheduling.max_duration unset, or it or "
            f"compute.gpus not a number), so this change's GPU-hours are unbounded: {', '.join(totals.unbounded)}"
        )
    else:
        runs = ", ".join(totals.counted_runs[:5]) + (" ..." if len(totals.counted_runs) > 5 else "")
        msg = (
            f"this change submits {totals.counted:g} GPU-hours, over the per-pull-request limit "
            f"{totals.limit:g}; split it, or have a maintainer merge approvals for its runs into {FILE} "
            f"first (approvals: - run: <file>, reason: ..., max_gpu_hours: ...): {runs}"
        )
    return [Finding(FILE, at[0], at[1], PR_RULE, ERROR, msg, FILE)]
