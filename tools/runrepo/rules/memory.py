"""Will it fit: the per-GPU memory estimate (runrepo.estimate) against the cluster's GPUs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..estimate import CUDA_RESERVE_MIB, WARN_FRACTION, GiB, estimate_run
from .registry import WARNING, Hit, rule

if TYPE_CHECKING:
    from ..estimate import Estimate
    from .context import RunCtx

_NAMES = {"weights": "weights", "gradients": "gradients", "optimizer_state": "optimizer state",
          "activations": "activations", "logits": "logits", "transient": "backward working set",
          "optimizer_temporaries": "Adam temporaries", "overhead": "runtime buffers"}


def _tips(est: Estimate) -> str:
    """What would shrink this estimate, most specific first."""
    tips = []
    if est["attention"]["kernel"] == "unfused":
        tips.append("fused attention (transformer_engine: true; `runrepo explain` says why it is unfused)")
    tips.append("selective or full recompute, a smaller micro_batch_size")
    lay = est["layout"]
    if lay["ep"] > 1 or est["params"]["experts"]:
        tips.append("more expert parallelism")
    tips.append("more nodes (with a distributed optimizer, its state shards over DP)")
    tips.append("more TP/PP (`runrepo new` without --nodes picks a layout that fits)")
    return "; ".join(tips)


@rule(
    "memory-capacity",
    f"the estimated per-GPU peak fits the GPU's memory less a CUDA reserve (a warning above {WARN_FRACTION:.0%})",
    example="parameters:\n  model:\n    micro_batch_size: 64   # gpt3-126m on 8 GPUs #<",
    fix="parameters:\n  model:\n    micro_batch_size: 4",
)
def memory_capacity(ctx: RunCtx) -> Iterator[Hit]:
    if not ctx.get("runrepo.gpu_memory_mib"):
        yield Hit(("compute",), "GPU memory unknown (runrepo.gpu_memory_mib of the cluster): memory not checked",
                  WARNING)
        return
    reserve = ctx.policy.get("cuda_reserve_mib")  # a policy may state its own reserve
    reserve = reserve if isinstance(reserve, (int, float)) and not isinstance(reserve, bool) else CUDA_RESERVE_MIB
    est = estimate_run(ctx.run, ctx.tool, reserve)
    if "error" in est:
        return  # no model shape: the schema rules report that
    mem = est["memory"]
    if "fraction" not in mem:
        return  # runrepo.gpu_memory_mib is not a number: nothing to compare with
    frac = mem["fraction"]
    if frac <= WARN_FRACTION:
        return
    parts = ", ".join(f"{_NAMES.get(k, k)} {v / GiB:.1f}" for k, v in mem["breakdown"].items() if v)
    lay = est["layout"]
    head = (f"estimated peak {mem['per_gpu_bytes'] / GiB:.1f} GiB per GPU ({mem['stage']} stage, "
            f"{mem['peak_phase']}: {parts} GiB) is {frac:.0%} of the {mem['usable_bytes'] / GiB:.1f} GiB usable "
            f"(runrepo.gpu_memory_mib {ctx.get('runrepo.gpu_memory_mib')} at {ctx.where('runrepo.gpu_memory_mib')}, "
            f"less {reserve / 1024:g} GiB CUDA reserve) with micro_batch_size {lay['micro_batch_size']}, "
            f"TP {lay['tp']} PP {lay['pp']} DP {lay['dp']}")
    if frac > 1:
        yield Hit(("parameters", "model", "micro_batch_size"), f"{head}: out of memory; try {_tips(est)}")
    else:
        yield Hit(("parameters", "model", "micro_batch_size"), f"{head}: little headroom", WARNING)
