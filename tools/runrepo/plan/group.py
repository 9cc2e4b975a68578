"""Runs that change the same way, for a plan that shows each change once, and the base side's numbers.

An edit to a shared layer changes hundreds of runs identically; the plan shows that diff once with the
runs folded under it. Two runs change "the same way" when the same keys go from the same values to the
same values, compared on the expanded runs (cheap: no YAML is rendered to find out).
"""

from __future__ import annotations

from .plan import RunPlan, _numbers

COLUMNS = ("cluster", "gpu_type", "nodes", "gpus", "max_duration")


def _leaves(value, path: tuple, out: dict) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _leaves(v, path + (k,), out)
    else:
        out[path] = repr(value)  # lists and scalars as one leaf; repr keeps 1 and True apart


def change_key(r: RunPlan) -> tuple | None:
    """What changed, as (key path, before, after) triples; None when one side is missing (nothing to share)."""
    if not r.sides:
        return None
    before, after = {}, {}
    _leaves(r.sides[0], (), before)
    _leaves(r.sides[1], (), after)
    keys = sorted(set(before) | set(after), key=lambda k: tuple(map(str, k)))
    return tuple((k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)) or None


def groups(runs: list[RunPlan]) -> list[list[RunPlan]]:
    """Runs with the same change together, in the order of each group's first run; others alone."""
    out: list[list[RunPlan]] = []
    index: dict[tuple, list[RunPlan]] = {}
    for r in runs:
        key = change_key(r)
        if key is not None and key in index:
            index[key].append(r)
            continue
        members = [r]
        out.append(members)
        if key is not None:
            index[key] = members
    return out


def before(r: RunPlan) -> dict:
    """The table's numbers at the base, for a run composed on both sides ({} otherwise)."""
    if not r.sides:
        return {}
    probe = RunPlan("", "", "", "", "")
    _numbers(probe, r.sides[0])
    out = {k: getattr(probe, k) for k in COLUMNS}
    out["gpu_hours"] = probe.gpu_hours
    return out
