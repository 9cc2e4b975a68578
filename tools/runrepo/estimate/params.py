"""Parameter counts of a Megatron-core GPT: per layer, total and active, and per GPU of each pipeline stage.

Counted the way Megatron builds the modules (the same terms as Megatron-LM's
megatron/training/theoretical_memory_usage.py `compute_weight_and_optimizer_memory`): grouped-query
attention (Q: heads x kv_channels, K and V: num_query_groups x kv_channels each), a gated MLP's fc1
twice ffn wide (SwiGLU: three matrices), norms with a weight (RMSNorm) or weight and bias (LayerNorm,
layernorm1p: Transformer Engine's LayerNorm has a bias even with `bias: false`), no position table
with RoPE, an output layer of its own when embeddings are untied, and for mixture of experts
`num_moe_experts` MLPs plus a router (hidden x experts, no bias) in every layer. Spec keys added for
the modern stack are read with defaults, so a hand-written spec of a plain GPT still counts.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from .spec import Spec


class LayerSplit(TypedDict):
    dense: int  # attention, norms, router or dense MLP
    expert: int  # all experts
    one_expert: int


class ParamCounts(TypedDict):
    total: int
    active: int
    launcher_formula: int
    vocab_padded: int
    vocab_raw: int
    per_layer: int
    experts: int
    topk: int | None


class StageParams(TypedDict):
    dense: int
    expert: int


def attention_params(spec: Spec) -> int:
    h, kv = spec["hidden"], spec["kv_channels"]
    q, kvw = spec["heads"] * kv, spec["query_groups"] * kv
    qkv_bias = spec["bias"] or spec.get("qkv_bias", False)
    return h * (q + 2 * kvw) + q * h + ((q + 2 * kvw) if qkv_bias else 0) + (h if spec["bias"] else 0)


def mlp_params(spec: Spec, ffn: int | None = None) -> int:
    """One MLP (a dense layer's, or one expert's): fc1 (twice as wide when gated) and fc2."""
    h, ffn = spec["hidden"], ffn or spec["ffn"]
    fc1 = ffn * (2 if spec["gated"] else 1)
    return h * fc1 + ffn * h + ((fc1 + h) if spec["bias"] else 0)


def norm_params(spec: Spec) -> int:
    return spec.get("norm_params", 2) * spec["hidden"]


def experts(spec: Spec) -> int:
    return spec.get("experts") or 0


def layer_split(spec: Spec) -> LayerSplit:
    """One layer's parameters: `dense` (attention, norms, router or dense MLP) and `expert` (all experts)."""
    dense = attention_params(spec) + 2 * norm_params(spec)
    e = experts(spec)
    if not e:
        return {"dense": dense + mlp_params(spec), "expert": 0, "one_expert": 0}
    one = mlp_params(spec, spec.get("expert_ffn") or spec["ffn"])
    return {"dense": dense + spec["hidden"] * e, "expert": e * one, "one_expert": one}


def layer_params(spec: Spec) -> int:
    split = layer_split(spec)
    return split["dense"] + split["expert"]


def active_layer_params(spec: Spec) -> int:
    """What one token passes through: the dense part and top-k experts."""
    split = layer_split(spec)
    return split["dense"] + min(spec.get("topk") or 1, experts(spec) or 1) * split["one_expert"]


def embedding_params(spec: Spec) -> int:
    table = spec.get("pos_table") or spec["seq"]  # learned positions: encoder_seq_length rows
    return spec["vocab"] * spec["hidden"] + (table * spec["hidden"] if spec["learned_positions"] else 0)


def param_count(spec: Spec) -> ParamCounts:
    """Exact count (a tied output layer counted once), active count (MoE), and the launcher's formula."""
    L, h, V, s = spec["layers"], spec["hidden"], spec["vocab"], spec.get("pos_table") or spec["seq"]
    output = 0 if spec["tied_embeddings"] else V * h
    outside = embedding_params(spec) + output + norm_params(spec)  # + the final norm
    total = L * layer_params(spec) + outside
    launcher = 12 * L * h * h * (1 + 13 / (12 * h) + (V + s) / (12 * L * h))
    return {"total": total, "active": L * active_layer_params(spec) + outside,
            "launcher_formula": int(round(launcher)), "vocab_padded": V, "vocab_raw": spec["vocab_raw"],
            "per_layer": layer_params(spec), "experts": experts(spec), "topk": spec.get("topk")}


def stage_params(spec: Spec) -> dict[str, StageParams]:
    """Parameters one GPU holds in the first and the last pipeline stage, as {"dense", "expert"}.

    Megatron splits everything by TP; experts are also split by expert_model_parallel_size (each
    EP rank builds num_moe_experts / EP local experts, megatron/core/transformer/moe/moe_layer.py;
    the expert tensor-parallel size is TP in NeMo's configs). PP > 1 keeps a tied copy of the
    embedding on the last stage."""
    L, pp, tp, h, V = spec["layers"], spec["pp"], spec["tp"], spec["hidden"], spec["vocab"]
    ep = spec.get("ep") or 1
    split = layer_split(spec)
    n = math.ceil(L / pp)
    expert = n * split["expert"] // (tp * ep)
    output = 0 if spec["tied_embeddings"] and pp == 1 else V * h
    if pp == 1:
        dense = n * split["dense"] + embedding_params(spec) + output + norm_params(spec)
        return {"only": {"dense": dense // tp, "expert": expert}}
    first = n * split["dense"] + embedding_params(spec)
    last = n * split["dense"] + output + norm_params(spec)
    return {"first": {"dense": first // tp, "expert": expert}, "last": {"dense": last // tp, "expert": expert}}
