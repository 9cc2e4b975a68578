"""What the memory estimate assumed about a run, one line per term, as `runrepo explain` prints it.

A term the 17 measured configurations (one H200, unfused attention, TP = PP = CP = 1, no MoE, no
fp8) do not exercise is marked UNMEASURED: it follows Megatron-core's source, not a measurement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .spec import Spec

UNMEASURED = " [no measurement backs this term]"


def in_flight(spec: Spec) -> float:
    """Microbatches whose activations the first pipeline stage holds at once (1F1B, interleaved).

    Megatron-LM theoretical_memory_usage.py: PP in flight, times 1 + (PP - 1) / (PP x VP) when
    interleaved; fewer when there are fewer microbatches than stages (1F1B)."""
    pp, vp = spec["pp"], spec["vp"]
    if pp == 1:
        return 1.0
    if vp:
        return pp * (1 + (pp - 1) / (pp * vp))
    return float(min(pp, spec["num_microbatches"]))


def _state(spec: Spec) -> list[tuple[str, bool]]:
    shards = spec["dp"] * spec["cp"]
    if spec["o2"]:
        text = f"{spec['precision']} weights (O2), fp32 main gradients, fp32 main params + Adam m, v"
    else:
        text = "fp32 weights and gradients, Adam m, v (no O2 main copy)"
    if spec.get("grad_bytes", 4) == 2:
        text = text.replace("fp32 main gradients", "bf16 gradient buffer (optim.grad_sync_dtype)")
    out = [(text, spec.get("grad_bytes", 4) == 4)]
    if spec["distributed_optimizer"]:
        line = f"distributed optimizer: main params and Adam state sharded over DP x CP = {shards}"
        if spec.get("experts"):
            line += f", expert parameters over the expert data-parallel group of {spec.get('expert_dp', shards)}"
        out.append((line, shards == 1 and not spec.get("experts")))
    out.append(("torch Adam: one fp32 temporary per parameter during step()", True) if spec["optimizer_temporaries"]
               else ("fused Adam: no step() temporaries", False))
    return out


def _moe(spec: Spec) -> list[tuple[str, bool]]:
    e = spec.get("experts") or 0
    if not e:
        return []
    ep, topk, cf = spec.get("ep") or 1, min(spec.get("topk") or 1, e), spec.get("capacity_factor")
    routed = (f"capacity factor {cf:g}" + (", padded to capacity" if spec.get("pad_to_capacity") else "")
              if cf is not None else "no capacity factor (dropless): balanced routing assumed, a skewed router "
              "sends a rank more")
    return [
        (f"mixture of experts: {e} experts, {e // ep if e % ep == 0 else e / ep:g} per GPU "
         f"(expert_model_parallel_size {ep}), experts split by TP too; router hidden x {e}", False),
        (f"MoE activations: each token kept top-{topk} times x {routed}; routed tokens' inputs and outputs "
         "gathered over TP; one all-to-all send buffer during dispatch", False),
    ]


def assumptions(spec: Spec, overhead_mib: int) -> list[str]:
    lines: list[tuple[str, bool]] = [(a, True) for a in spec.get("assumptions", [])]
    lines += _state(spec)
    if spec["attention"] == "flash":
        lines.append((spec.get("attention_why") or "flash/fused attention: no a·s² tensors kept", False))
    else:
        why = spec.get("attention_why") or "unfused attention"
        lines.append((f"{why} ({spec['softmax_bytes']}-byte softmax output)", True))
    if spec["recompute"]:
        lines.append((f"{spec['recompute']} recompute ({spec['recompute_method']}, "
                      f"{spec['recompute_layers']} layer(s))", True))
    else:
        lines.append(("no activation recompute", True))
    if spec["sequence_parallel"]:
        lines.append((f"sequence parallel: norm, dropout and linear inputs split by TP = {spec['tp']}", False))
    elif spec["tp"] > 1:
        lines.append((f"no sequence parallel: norms, dropout and linear inputs replicated across TP = {spec['tp']}",
                      False))
    else:
        lines.append(("no tensor or sequence parallelism", True))
    if spec["cp"] > 1:
        lines.append((f"context parallel: each GPU keeps 1/{spec['cp']} of every sequence's activations "
                      "(ring attention's K/V exchange buffers not modelled)", False))
    if spec.get("fp8"):
        lines.append(("fp8 (Transformer Engine): GEMM inputs kept in 1 byte, one fp8 copy of each weight (+1 byte "
                      "per parameter); attention, norms and residuals stay bf16", False))
    lines += _moe(spec)
    if spec["pp"] > 1:
        lines.append((f"first stage holds {in_flight(spec):.2f} microbatches in flight"
                      + (f" (interleaved, virtual pipeline {spec['vp']})" if spec["vp"] else " (1F1B)"), False))
    lines.append((f"runtime buffers {overhead_mib} MiB; layers split evenly over pipeline stages", True))
    return [text + ("" if measured else UNMEASURED) for text, measured in lines]
