"""Size, memory and cost estimates of a NeMo GPT run: pure functions over plain dicts.

`estimate_run(run, tool)` takes an expanded mcli run (its `parameters` the NeMo config) and
the tool section of its layers (`gpus_per_node`, `gpu_memory_mib`), and returns the parallel
layout, parameter count, per-GPU memory with every assumption stated, and the run's budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypedDict, final

from ..releases import components, release_of
from .budget import Budget, budget, max_time_seconds
from .kernels import attention_kernel, release_has_fused_attention
from .memory import CUDA_RESERVE_MIB, WARN_FRACTION, GiB, Memory, MiB, memory
from .params import ParamCounts, param_count
from .shape import as_dict, as_int, spec_from_nemo

if TYPE_CHECKING:
    from ..compose.gate import Json

__all__ = ["CUDA_RESERVE_MIB", "GiB", "MiB", "WARN_FRACTION", "attention_kernel", "budget", "estimate_run",
           "max_time_seconds", "memory", "param_count", "release_has_fused_attention", "spec_from_nemo"]


class Layout(TypedDict):
    tp: int
    pp: int
    vp: int | None
    cp: int
    dp: int
    ep: int
    expert_dp: int
    sequence_parallel: bool
    world_size: int | None
    gpu_type: Json  # compute.gpu_type as the run wrote it
    gpu_memory_mib: float | None
    num_microbatches: int
    micro_batch_size: int
    global_batch_size: int


class EstimateParams(ParamCounts):
    vocab_source: str


class Attention(TypedDict):
    kernel: str  # "flash" | "unfused"
    why: str


@final  # no other keys: `"error" in est` tells the two apart
class Estimate(TypedDict):
    """What `estimate_run` knows of a run with a model shape."""

    release: str | None
    layout: Layout
    params: EstimateParams
    attention: Attention
    memory: Memory
    budget: Budget
    summary: str
    peak_gib: float
    fits: bool | None


@final
class NoEstimate(TypedDict):
    error: str  # why there is no estimate: the config has no model shape


def _world(params: Mapping[str, Json]) -> int | None:
    trainer = as_dict(params.get("trainer"))
    d, n = as_int(trainer.get("devices")), as_int(trainer.get("num_nodes"))
    return d * n if d and n else None


def estimate_run(resolved_run: Mapping[str, Json], tool: Mapping[str, Json] | None, reserve_mib: float | None = None,
                 container_has_fused_attention: bool | None = None) -> Estimate | NoEstimate:
    """Everything `runrepo explain` prints, as data; {"error": ...} when the config has no model shape.

    `container_has_fused_attention`: overrides what the container table (releases.components) says
    about the run's image; where neither knows, it is decided from the NeMo release (kernels.py)."""
    params = resolved_run.get("parameters")
    if not isinstance(params, dict):
        return {"error": "the run has no NeMo parameters"}
    world = _world(params)
    release = release_of(resolved_run.get("image"))
    if container_has_fused_attention is None:
        published = components(resolved_run.get("image"))
        container_has_fused_attention = published["has_flash_attention"] if published else None
    spec = spec_from_nemo(params, world, tool or {}, release, container_has_fused_attention)
    if spec["missing"]:
        return {"error": "model." + ", model.".join(spec["missing"]) + " missing or not a positive integer"}
    gpu_mib = (tool or {}).get("gpu_memory_mib")
    gpu_mib = gpu_mib if isinstance(gpu_mib, (int, float)) and not isinstance(gpu_mib, bool) else None
    reserve = reserve_mib if isinstance(reserve_mib, (int, float)) and not isinstance(reserve_mib, bool) else None
    mem = memory(spec, gpu_mib, CUDA_RESERVE_MIB if reserve is None else reserve)
    counts = param_count(spec)
    compute = as_dict(resolved_run.get("compute"))
    peak = mem["per_gpu_bytes"] / GiB
    if gpu_mib:
        verdict = "fits" if mem["fits"] else "OUT OF MEMORY"
        summary = f"{peak:.1f} of {mem['usable_bytes'] / GiB:.1f} GiB ({mem['fraction']:.0%}), {verdict}"
    else:
        summary = f"{peak:.1f} GiB per GPU (GPU memory unknown)"
    return {
        "release": release,
        "layout": {"tp": spec["tp"], "pp": spec["pp"], "vp": spec["vp"], "cp": spec["cp"], "dp": spec["dp"],
                   "ep": spec["ep"], "expert_dp": spec["expert_dp"], "sequence_parallel": spec["sequence_parallel"],
                   "world_size": world, "gpu_type": compute.get("gpu_type"),
                   "gpu_memory_mib": gpu_mib, "num_microbatches": spec["num_microbatches"],
                   "micro_batch_size": spec["micro_batch"], "global_batch_size": spec["global_batch"]},
        "params": {**counts, "vocab_source": spec["vocab_source"]},
        "attention": {"kernel": spec["attention"], "why": spec["attention_why"]},
        "memory": mem,
        "budget": budget(spec, resolved_run, world),
        "summary": summary,
        "peak_gib": round(peak, 2),
        "fits": mem.get("fits"),
    }
