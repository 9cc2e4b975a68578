"""`runrepo new`'s layout: how many nodes (and, where the model layer leaves them open, which TP, PP
and EP) a model preset runs on, judged by the same memory estimate as the memory-capacity rule.

Pure functions over the composed run: a layout is (nodes, parallel sizes); it is *valid* when NeMo
and Megatron-core accept its sizes (world divisible by TP x PP x CP, heads, query groups, ffn and
layers by their parallel sizes, experts by EP, DP by EP, global batch by micro batch x DP, the
interleaved schedule's microbatches by PP) and it *fits* when the estimated per-GPU peak fits the
cluster's usable GPU memory.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ..errors import RunrepoError
from ..estimate import WARN_FRACTION, GiB, estimate_run

MAX_NODES = 1024  # how far the search for a layout that fits goes
NVIDIA_GPUS_PER_NODE = 8  # the launcher presets' `devices`
OPEN = {  # parallel sizes a layer may leave open, and the values tried (fewest GPUs per replica first)
    "tensor_model_parallel_size": (1, 2, 4, 8),
    "pipeline_model_parallel_size": (1, 2, 4, 8, 16),
    "expert_model_parallel_size": (1, 2, 4, 8, 16, 32, 64),
}


@dataclass
class Layout:
    nodes: int
    sizes: dict = field(default_factory=dict)  # parallel sizes the run file sets (the open ones chosen)
    why: str = ""
    peak_gib: float | None = None
    usable_gib: float | None = None


def _int(v, default=1) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else default


def _model(run: dict, sizes: dict) -> dict:
    return (run.get("parameters") or {}).get("model", {}) | sizes


def valid(run: dict, gpn: int, nodes: int, sizes: dict) -> bool:
    """NeMo and Megatron-core accept these sizes on `nodes` nodes (see the module docstring)."""
    m = _model(run, sizes)
    tp, pp = _int(m.get("tensor_model_parallel_size")), _int(m.get("pipeline_model_parallel_size"))
    cp, ep = _int(m.get("context_parallel_size")), _int(m.get("expert_model_parallel_size"))
    world = nodes * gpn
    if world % (tp * pp * cp):
        return False
    dp = world // (tp * pp * cp)
    mbs, gbs = _int(m.get("micro_batch_size")), _int(m.get("global_batch_size"))
    experts = _int(m.get("num_moe_experts"), 0)
    vp = m.get("virtual_pipeline_model_parallel_size")
    vp = vp if isinstance(vp, int) and vp > 1 else None
    checks = [
        (_int(m.get("num_attention_heads")), tp), (_int(m.get("num_query_groups"), 0) or tp, tp),
        (_int(m.get("ffn_hidden_size"), tp), tp), (_int(m.get("num_layers")), pp),
        (dp, ep), (world, tp * ep * pp), (gbs, mbs * dp),
    ]
    if experts or ep > 1:
        checks.append((experts, ep))
    if vp:
        checks += [(_int(m.get("num_layers")) // pp, vp), (gbs // (mbs * dp) if gbs % (mbs * dp) == 0 else 1, pp)]
    return all(a % b == 0 for a, b in checks if b)


def estimate(run: dict, tool: dict, gpn: int, nodes: int, sizes: dict, reserve_mib) -> dict:
    """The memory estimate of the run on `nodes` nodes with `sizes` (trainer sizes as runrepo derives them)."""
    trial = copy.deepcopy(run)
    params = trial.setdefault("parameters", {})
    params.setdefault("trainer", {}).update(devices=gpn, num_nodes=nodes)
    params.setdefault("model", {}).update(sizes)
    return estimate_run(trial, tool, reserve_mib)


def _size_options(run: dict, open_keys: list[str]) -> list[dict]:
    """Every combination of the open sizes, fewest GPUs per model replica first (none open: one, empty)."""
    combos = [{}]
    m = _model(run, {})
    for key in open_keys:
        values = OPEN[key]
        if key == "expert_model_parallel_size":
            values = tuple(v for v in values if v <= _int(m.get("num_moe_experts"), 1))
        combos = [c | {key: v} for c in combos for v in values]

    def cost(c):
        return _int(c.get("tensor_model_parallel_size")) * _int(c.get("pipeline_model_parallel_size"))

    return sorted(combos, key=lambda c: (cost(c), _int(c.get("expert_model_parallel_size"))))


def _first_fit(run, tool, gpn, nodes, options, reserve_mib, headroom=True):
    """(sizes, estimate) of the first option valid on `nodes` nodes that fits, else None."""
    for sizes in options:
        if not valid(run, gpn, nodes, sizes):
            continue
        est = estimate(run, tool, gpn, nodes, sizes, reserve_mib)
        if _fits(est, headroom):
            return sizes, est
    return None


def _fits(est: dict, headroom: bool = True) -> bool:
    """Fits (with `headroom`, within the memory-capacity rule's warning threshold too), or cannot be
    judged (no model shape, GPU memory unknown): then check has the last word."""
    if "error" in est or est.get("fits") is None:
        return True
    return est["fits"] and (not headroom or est["memory"]["fraction"] <= WARN_FRACTION)


def _layout(nodes, sizes, est, why) -> Layout:
    mem = est.get("memory") or {}
    usable = mem.get("usable_bytes")
    return Layout(nodes, sizes, why, est.get("peak_gib"), round(usable / GiB, 1) if usable else None)


def smallest_fit(run, tool, gpn, options, reserve_mib, at_least: int = 1, headroom=True) -> Layout | None:
    """The fewest nodes with a valid layout that fits (with `headroom`: within 90 % of usable memory)."""
    for n in range(at_least, MAX_NODES + 1):
        hit = _first_fit(run, tool, gpn, n, options, reserve_mib, headroom)
        if hit:
            return _layout(n, hit[0], hit[1], "the fewest nodes that fit")
    return None


def _suggest(layout: Layout | None, open_keys: list[str]) -> str:
    if layout is None:
        return f"no layout of up to {MAX_NODES} nodes fits"
    chosen = [f"{k} {v}" for k, v in layout.sizes.items() if k in open_keys]
    sizes = f" with {', '.join(chosen)} in the run file" if chosen else ""
    return (f"a layout that fits: --node multi_node --nodes {layout.nodes}{sizes} "
            f"({layout.peak_gib:.1f} of {layout.usable_gib:.1f} GiB)" if layout.peak_gib is not None
            else f"a layout that fits: --nodes {layout.nodes}{sizes}")


def choose(run: dict, tool: dict, gpn: int, open_keys: list[str], node: str, nodes: int | None,
           reserve_mib, max_gpus: int | None, label: str) -> Layout:
    """The layout `runrepo new` writes; RunrepoError('usage') when the asked-for one cannot fit.

    Without `nodes`: one node for single_node; for multi_node NVIDIA's node count for the preset
    (runrepo.preset_nodes, on 8 GPUs a node) when valid, within the policy's GPU limit and fits, else
    the fewest nodes (2 or more) with a valid layout that fits. With `nodes`, a layout that does not
    fit is refused with one that does."""
    options = _size_options(run, open_keys)
    if nodes is None and node == "multi_node":
        preset = _int(tool.get("preset_nodes"), 0) * NVIDIA_GPUS_PER_NODE
        use_preset = preset and preset % gpn == 0 and preset // gpn >= 2 and (max_gpus is None or preset <= max_gpus)
        for room in (True, False):  # with 10 % headroom if any layout has it, else at all
            if use_preset:
                hit = _first_fit(run, tool, gpn, preset // gpn, options, reserve_mib, room)
                if hit:
                    return _layout(preset // gpn, hit[0], hit[1], "NVIDIA's node count for the preset")
            found = smallest_fit(run, tool, gpn, options, reserve_mib, at_least=2, headroom=room)
            if found is not None:
                return found
        raise RunrepoError("usage", f"{label}: {_suggest(None, open_keys)} on this cluster's GPUs")
    n = 1 if nodes is None else nodes
    tried = [s for s in options if valid(run, gpn, n, s)] or options[:1]  # an invalid one: check names why
    for sizes in tried:  # what was asked for may use the last 10 %: the rule only warns there
        est = estimate(run, tool, gpn, n, sizes, reserve_mib)
        if _fits(est, headroom=False):
            return _layout(n, sizes, est, "as asked" if nodes else "one node")
    est = estimate(run, tool, gpn, n, tried[0], reserve_mib)
    mem = est["memory"]
    found = (smallest_fit(run, tool, gpn, options, reserve_mib, at_least=2)
             or smallest_fit(run, tool, gpn, options, reserve_mib, at_least=2, headroom=False))
    raise RunrepoError(
        "usage", f"{label} on {n} node{'s' if n > 1 else ''}: estimated peak {mem['per_gpu_bytes'] / GiB:.1f} GiB "
        f"per GPU of {mem['usable_bytes'] / GiB:.1f} GiB usable (`runrepo explain` shows why); {_suggest(found, open_keys)}")
