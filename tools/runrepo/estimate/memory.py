"""Peak GPU memory of one training rank: weights, gradients, optimizer state, activations.

The start is Megatron-LM's `theoretical_memory_usage.py` (18 bytes per parameter, 6 + 12/DP
with the distributed optimizer; activations per layer after Korthikanti et al., "Reducing
Activation Recomputation in Large Transformer Models"), extended where that formula assumes
one setup: no recompute, full or selective recompute, unfused attention (the a·s² tensors),
the logits of the last stage, and the moments of the step where memory peaks:

- end of forward / start of backward: stored activations plus the logits and their fp32 copy;
- backward through the last layer: stored activations plus one layer's recomputation and its
  gradient working set (a·s² gradients of unfused attention dominate);
- the optimizer step: activations are freed, torch's fallback Adam holds an fp32 temporary
  per parameter (fused Adam kernels work in place).

Weights, gradients and optimizer state are held throughout (Adam's state exists from the first
step on). Checked against 17 measured Megatron-core configurations (tests/estimate): within 3.3 %
of every measured peak, both out-of-memory runs called out of memory. That grid is one GPU with
unfused attention; the modern stack (fused attention, TP/SP, PP/VP, CP, sharded optimizer, MoE,
fp8) is modelled from Megatron-core's source and no measurement backs it yet (see assumptions.py).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypedDict

from .assumptions import assumptions, in_flight
from .params import stage_params

if TYPE_CHECKING:
    from .params import StageParams
    from .spec import Spec

MiB = 1 << 20
GiB = 1 << 30
# Memory a process cannot allocate: driver, CUDA context, cuBLAS/NCCL workspaces. On the measured
# H200 (143,771 MiB) PyTorch ran out with 136.7 GiB allocated + 0.3 GiB cached: ~3.5 GiB outside it.
CUDA_RESERVE_MIB = 3584
# Allocator-visible buffers not modelled tensor by tensor (RNG trackers, masks, communication
# buckets); the measurements held 0 to 2.2 GB beyond weights and gradients after setup.
RUNTIME_OVERHEAD_MIB = 512
WARN_FRACTION = 0.90


class StageMemory(TypedDict):
    """One pipeline stage's peak on one GPU."""

    stage: str  # "only" | "first" | "last"
    params: int
    expert_params: int
    bytes: dict[str, int]  # term (weights, gradients, ...) -> bytes at the peak
    total: int
    peak_phase: str
    in_flight_microbatches: float


class _MemoryRequired(TypedDict):
    per_gpu_bytes: int
    stage: str
    breakdown: dict[str, int]
    peak_phase: str
    stages: list[StageMemory]
    assumptions: list[str]
    reserve_bytes: int


class Memory(_MemoryRequired, total=False):
    """The most loaded stage's peak; against the GPU when its memory is known (the optional keys)."""

    capacity_bytes: int
    usable_bytes: int
    fraction: float
    fits: bool


def _mlp_units(spec: Spec, tokens: float) -> tuple[float, float, float, float]:
    """(split by TP, replicated over TP, backward working set, dispatch transient) bytes of one
    layer's MLP for `tokens` tokens of one microbatch.

    A dense MLP keeps fc1's output and the activation's output (fc2's input). An MoE layer keeps the
    same per routed token, top-k x capacity factor tokens (1 when no factor is set: balanced routing),
    plus each routed token's input and output (Megatron-core's alltoall dispatcher gathers the TP
    group's tokens, so those are not split by TP), the router's fp32 logits and probabilities,
    and during the exchange one more copy of the routed tokens (the all-to-all's send buffer)."""
    fp8_in = 1 if spec.get("fp8") else 2  # TE saves a GEMM's input in fp8
    experts = spec.get("experts") or 0
    if not experts:
        fc1 = spec["ffn"] * (2 if spec["gated"] else 1)
        per_token = 2 * fc1 + fp8_in * spec["ffn"]
        return per_token * tokens, 0.0, (2 * fc1 + 2 * spec["ffn"]) * tokens, 0.0
    ffn = spec.get("expert_ffn") or spec["ffn"]
    fc1 = ffn * (2 if spec["gated"] else 1)
    routed = tokens * min(spec.get("topk") or 1, experts) * (spec.get("capacity_factor") or 1.0)
    h = spec["hidden"]
    replicated = routed * (fp8_in + 2) * h + tokens * experts * 8
    return (2 * fc1 + fp8_in * ffn) * routed, replicated, (2 * fc1 + 2 * ffn) * routed, 2 * h * routed


def _activation_units(spec: Spec) -> dict[str, float]:
    """Bytes one layer keeps for one microbatch on one GPU, split into what recompute can drop."""
    t, sp = spec["tp"], spec["sequence_parallel"]
    s_loc = spec["seq"] / spec["cp"]
    b, h = spec["micro_batch"], spec["hidden"]
    sbh = s_loc * b * h
    q = spec["heads"] * spec["kv_channels"]
    kvw = spec["query_groups"] * spec["kv_channels"]
    fp8_in = 1 if spec.get("fp8") else 2
    masks = 2 if spec["hidden_dropout"] > 0 else 0  # one byte per element, after attention and MLP
    # Not split by TP (unless sequence parallel): inputs of both norms (bf16), the norms' outputs that
    # QKV and fc1 (or the router) read (fp8 under TE's fp8); dropout masks.
    replicated = (4 + 2 * fp8_in + masks) * sbh
    mlp_split, mlp_replicated, mlp_grad, dispatch = _mlp_units(spec, s_loc * b)
    # Split by TP: Q, K, V; the projection's input; the MLP's own tensors.
    split = (2 * q + 4 * kvw + fp8_in * q) * s_loc * b + mlp_split
    nonscore = (replicated + split) / t if sp else replicated + split / t
    nonscore += mlp_replicated
    score_elems = spec["heads"] / t * s_loc * spec["seq"] * b if spec["attention"] == "unfused" else 0.0
    sm = spec["softmax_bytes"]
    # softmax output, dropout mask and dropped copy (an fp32 softmax also keeps a bf16 copy for the bmm)
    keep = sm + (3 if spec["attention_dropout"] > 0 else (2 if sm == 4 else 0))
    return {
        "nonscore": nonscore,
        "score": score_elems * keep,
        "score_grad": score_elems * (2 * sm + 2),  # gradients of the probabilities and of the softmax
        "mlp_grad": mlp_grad / t + dispatch,
        "checkpoint": 2 * sbh / (t if sp else 1),  # a recomputed layer keeps only its input
        "embedding": (2 + (1 if spec["hidden_dropout"] > 0 else 0)) * sbh / (t if sp else 1),
        "logits": 6 * s_loc * b * spec["vocab"] / t,  # bf16 logits and their fp32 copy for the loss
    }


def _stage_activations(spec: Spec, units: dict[str, float], layers: int) -> tuple[float, float]:
    """(kept for one microbatch over `layers` layers, transient while one layer goes backward)."""
    full = units["nonscore"] + units["score"]
    n = max(1, min(spec["recompute_layers"], layers))
    work = units["score_grad"] + units["mlp_grad"]
    if spec["recompute"] == "full" and spec["recompute_method"] == "block":
        return n * units["checkpoint"] + (layers - n) * full, full + work
    if spec["recompute"] == "full":
        return math.ceil(layers / n) * units["checkpoint"], n * full + work
    if spec["recompute"] == "selective":
        return layers * units["nonscore"], units["score"] + work
    return layers * full, work


def _state(spec: Spec, counts: StageParams) -> dict[str, float]:
    """Bytes of weights, gradients and optimizer state for the dense and expert parameters of one GPU.

    The distributed optimizer shards main params and Adam state over the data-parallel group with
    context parallel (DP x CP), and expert parameters over the expert data-parallel group
    (Megatron-core's DistributedOptimizer keeps one buffer per group)."""
    dense, expert = counts["dense"], counts["expert"]
    n = dense + expert
    dist = spec["distributed_optimizer"]
    shards = spec["dp"] * spec["cp"] if dist else 1
    expert_shards = spec.get("expert_dp", shards) if dist else 1
    sharded = dense / shards + expert / expert_shards
    return {
        # bf16/fp16 copies under O2, else fp32; under fp8, TE also caches an fp8 copy of each weight
        "weights": n * ((2 if spec["o2"] else 4) + (1 if spec.get("fp8") else 0)),
        "gradients": n * spec.get("grad_bytes", 4),  # fp32 main gradients (O2), fp32 gradients, or bf16 buffers
        "optimizer_state": sharded * ((4 if spec["o2"] else 0) + 8),  # fp32 main params, Adam m and v
        "optimizer_temporaries": sharded * 4 if spec["optimizer_temporaries"] else 0,
    }


def stage_memory(spec: Spec, stage: str, counts: StageParams | int) -> StageMemory:
    if isinstance(counts, int):
        counts = {"dense": counts, "expert": 0}
    units = _activation_units(spec)
    layers = math.ceil(spec["layers"] / spec["pp"])
    kept, transient = _stage_activations(spec, units, layers)
    first = stage in ("first", "only")
    last = stage in ("last", "only")
    flight = in_flight(spec) if first else 1.0
    kept = kept * flight + (units["embedding"] * flight if first else 0.0)
    logits = units["logits"] if last else 0.0
    parts = _state(spec, counts)
    parts["activations"] = kept
    # the larger of the two backward moments; the optimizer step comes after activations are freed
    parts["logits"] = logits if logits >= transient else 0.0
    parts["transient"] = transient if transient > logits else 0.0
    temps = parts.pop("optimizer_temporaries")
    step_peak = temps > kept + max(logits, transient)
    parts["optimizer_temporaries"] = temps if step_peak else 0.0
    if step_peak:
        parts["activations"] = parts["logits"] = parts["transient"] = 0.0
    parts["overhead"] = RUNTIME_OVERHEAD_MIB * MiB
    total = sum(parts.values())
    return {"stage": stage, "params": counts["dense"] + counts["expert"], "expert_params": counts["expert"],
            "bytes": {k: int(v) for k, v in parts.items()}, "total": int(total),
            "peak_phase": "optimizer step" if step_peak else "backward", "in_flight_microbatches": flight}


def memory(spec: Spec, gpu_memory_mib: float | None, reserve_mib: float = CUDA_RESERVE_MIB) -> Memory:
    """Per-GPU peak of the most loaded pipeline stage, against the GPU's usable memory."""
    stages = [stage_memory(spec, stage, n) for stage, n in stage_params(spec).items()]
    worst = max(stages, key=lambda s: s["total"])
    out: Memory = {
        "per_gpu_bytes": worst["total"],
        "stage": worst["stage"],
        "breakdown": worst["bytes"],
        "peak_phase": worst["peak_phase"],
        "stages": stages,
        "assumptions": assumptions(spec, RUNTIME_OVERHEAD_MIB),
        "reserve_bytes": int(reserve_mib * MiB),
    }
    if gpu_memory_mib:
        usable = int(gpu_memory_mib * MiB - reserve_mib * MiB)
        out["capacity_bytes"] = int(gpu_memory_mib * MiB)
        out["usable_bytes"] = usable
        out["fraction"] = worst["total"] / usable if usable > 0 else math.inf
        out["fits"] = worst["total"] <= usable
    return out
