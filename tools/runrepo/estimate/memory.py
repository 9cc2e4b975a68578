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
of every measured peak, both out-of-memory runs called out of memory.
"""

from __future__ import annotations

import math

from .shape import stage_params

MiB = 1 << 20
GiB = 1 << 30
# Memory a process cannot allocate: driver, CUDA context, cuBLAS/NCCL workspaces. On the measured
# H200 (143,771 MiB) PyTorch ran out with 136.7 GiB allocated + 0.3 GiB cached: ~3.5 GiB outside it.
CUDA_RESERVE_MIB = 3584
# Allocator-visible buffers not modelled tensor by tensor (RNG trackers, masks, communication
# buckets); the measurements held 0 to 2.2 GB beyond weights and gradients after setup.
RUNTIME_OVERHEAD_MIB = 512
WARN_FRACTION = 0.90


def _activation_units(spec: dict) -> dict:
    """Bytes one layer keeps for one microbatch on one GPU, split into what recompute can drop."""
    t, sp = spec["tp"], spec["sequence_parallel"]
    s_loc = spec["seq"] / spec["cp"]
    b, h, ffn = spec["micro_batch"], spec["hidden"], spec["ffn"]
    sbh = s_loc * b * h
    q = spec["heads"] * spec["kv_channels"]
    kvw = spec["query_groups"] * spec["kv_channels"]
    fc1 = ffn * (2 if spec["gated"] else 1)
    masks = 2 if spec["hidden_dropout"] > 0 else 0  # one byte per element, after attention and MLP
    # Not split by TP (unless sequence parallel): inputs of both norms, of QKV and fc1; dropout masks.
    replicated = (8 + masks) * sbh
    # Split by TP: Q, K, V; the projection input; fc1 output and activation output.
    split = (2 * q + 4 * kvw + 2 * q + 2 * fc1 + 2 * ffn) * s_loc * b
    nonscore = (replicated + split) / t if sp else replicated + split / t
    score_elems = spec["heads"] / t * s_loc * spec["seq"] * b if spec["attention"] == "unfused" else 0.0
    sm = spec["softmax_bytes"]
    # softmax output, dropout mask and dropped copy (an fp32 softmax also keeps a bf16 copy for the bmm)
    keep = sm + (3 if spec["attention_dropout"] > 0 else (2 if sm == 4 else 0))
    return {
        "nonscore": nonscore,
        "score": score_elems * keep,
        "score_grad": score_elems * (2 * sm + 2),  # gradients of the probabilities and of the softmax
        "mlp_grad": (2 * fc1 + 2 * ffn) * s_loc * b / t,
        "checkpoint": 2 * sbh / (t if sp else 1),  # a recomputed layer keeps only its input
        "embedding": (2 + (1 if spec["hidden_dropout"] > 0 else 0)) * sbh / (t if sp else 1),
        "logits": 6 * s_loc * b * spec["vocab"] / t,  # bf16 logits and their fp32 copy for the loss
    }


def _stage_activations(spec: dict, units: dict, layers: int) -> tuple[float, float]:
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


def _in_flight(spec: dict) -> float:
    """Microbatches whose activations the first pipeline stage holds at once (1F1B, interleaved)."""
    pp, vp = spec["pp"], spec["vp"]
    if pp == 1:
        return 1.0
    if vp:
        return pp * (1 + (pp - 1) / (pp * vp))
    return float(min(pp, spec["num_microbatches"]))


def _state(spec: dict, n: int) -> dict:
    """Bytes of weights, gradients and optimizer state for `n` parameters on one GPU."""
    shards = spec["dp"] * spec["cp"] if spec["distributed_optimizer"] else 1
    return {
        "weights": n * (2 if spec["o2"] else 4),  # bf16/fp16 copies under O2, else fp32
        "gradients": n * 4,  # fp32 main gradients (O2) or fp32 gradients
        "optimizer_state": n * ((4 if spec["o2"] else 0) + 8) / shards,  # fp32 main params, Adam m and v
        "optimizer_temporaries": n * 4 / shards if spec["optimizer_temporaries"] else 0,
    }


def stage_memory(spec: dict, stage: str, n_params: int) -> dict:
    units = _activation_units(spec)
    layers = math.ceil(spec["layers"] / spec["pp"])
    kept, transient = _stage_activations(spec, units, layers)
    first = stage in ("first", "only")
    last = stage in ("last", "only")
    flight = _in_flight(spec) if first else 1.0
    kept = kept * flight + (units["embedding"] * flight if first else 0.0)
    logits = units["logits"] if last else 0.0
    parts = _state(spec, n_params)
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
    return {"stage": stage, "params": n_params, "bytes": {k: int(v) for k, v in parts.items()},
            "total": int(total), "peak_phase": "optimizer step" if step_peak else "backward",
            "in_flight_microbatches": flight}


def assumptions(spec: dict) -> list[str]:
    out = list(spec.get("assumptions", []))
    shards = spec["dp"] * spec["cp"]
    if spec["o2"]:
        state = f"{spec['precision']} weights (O2), fp32 main gradients, fp32 main params + Adam m, v"
    else:
        state = "fp32 weights and gradients, Adam m, v (no O2 main copy)"
    if spec["distributed_optimizer"]:
        state += f"; main params and Adam state sharded over DP x CP = {shards}"
    out.append(state)
    if spec["attention"] == "flash":
        out.append("flash/fused attention: no a·s² tensors kept")
    else:
        out.append(f"unfused attention: a·s² scores kept ({spec['softmax_bytes']}-byte softmax output)")
    if spec["recompute"]:
        out.append(f"{spec['recompute']} recompute ({spec['recompute_method']}, {spec['recompute_layers']} layer(s))")
    else:
        out.append("no activation recompute")
    out.append("sequence parallel: activations split by TP" if spec["sequence_parallel"]
               else "no sequence parallel: norms, dropout and linear inputs replicated across TP")
    if spec["optimizer_temporaries"]:
        out.append("torch Adam: one fp32 temporary per parameter during step()")
    else:
        out.append("fused Adam: no step() temporaries")
    if spec["pp"] > 1:
        out.append(f"first stage holds {_in_flight(spec):.2f} microbatches in flight"
                   + (" (interleaved)" if spec["vp"] else " (1F1B)"))
    out.append(f"runtime buffers {RUNTIME_OVERHEAD_MIB} MiB; layers split evenly over pipeline stages")
    return out


def memory(spec: dict, gpu_memory_mib: int | float | None, reserve_mib: int | float = CUDA_RESERVE_MIB) -> dict:
    """Per-GPU peak of the most loaded pipeline stage, against the GPU's usable memory."""
    stages = [stage_memory(spec, stage, n) for stage, n in stage_params(spec).items()]
    worst = max(stages, key=lambda s: s["total"])
    out = {
        "per_gpu_bytes": worst["total"],
        "stage": worst["stage"],
        "breakdown": worst["bytes"],
        "peak_phase": worst["peak_phase"],
        "stages": stages,
        "assumptions": assumptions(spec),
        "reserve_bytes": int(reserve_mib * MiB),
    }
    if gpu_memory_mib:
        usable = int(gpu_memory_mib * MiB - reserve_mib * MiB)
        out.update(capacity_bytes=int(gpu_memory_mib * MiB), usable_bytes=usable,
                   fraction=worst["total"] / usable if usable > 0 else math.inf)
        out["fits"] = worst["total"] <= usable
    return out
