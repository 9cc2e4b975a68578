"""Spec: what a NeMo GPT config describes, as the estimators read it (spec_from_nemo in shape.py makes it).

A module of its own, imported for type checking only: shape.py makes a Spec from params.py's counts,
and params.py, memory.py, assumptions.py and budget.py read one.
"""

from __future__ import annotations

from typing import TypedDict


class _SpecRequired(TypedDict):
    layers: int
    hidden: int
    heads: int
    ffn: int
    kv_channels: int
    query_groups: int
    seq: int  # tokens a sample trains on (data.seq_length)
    vocab_raw: int
    vocab: int  # padded
    micro_batch: int
    global_batch: int
    num_microbatches: int
    tp: int
    pp: int
    vp: int | None  # virtual pipeline size, None without interleaving
    cp: int
    dp: int
    sequence_parallel: bool
    gated: bool
    bias: bool
    learned_positions: bool
    tied_embeddings: bool
    precision: str  # "bf16" | "fp16" | "fp32"
    o2: bool
    distributed_optimizer: bool
    optimizer_temporaries: bool
    recompute: str | None  # "full" | "selective" | None
    recompute_method: str
    recompute_layers: int
    attention: str  # "flash" | "unfused"
    softmax_bytes: int
    attention_dropout: float
    hidden_dropout: float


class Spec(_SpecRequired, total=False):
    """The numbers an estimate needs. spec_from_nemo gives every key; a hand-written spec of a plain GPT
    may leave out the optional ones (the estimators read them with NeMo's defaults)."""

    vocab_source: str
    pos_table: int  # rows of a learned position table (encoder_seq_length)
    qkv_bias: bool
    norm_params: int  # 1: RMSNorm (weight), 2: LayerNorm (weight and bias)
    grad_bytes: int
    fp8: bool
    attention_why: str
    missing: list[str]
    assumptions: list[str]
    # mixture of experts (_moe)
    experts: int
    topk: int
    ep: int
    expert_ffn: int
    capacity_factor: float | None
    pad_to_capacity: bool
    expert_dp: int
