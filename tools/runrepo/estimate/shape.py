"""What a NeMo GPT config describes, as plain numbers: shape, parallel layout, precision, kernels.

`spec_from_nemo` reads a resolved NeMo config (the run's `parameters`) the way NeMo would, with
NeMo's defaults where a key is absent, and records every guess it makes in `assumptions`.
"""

from __future__ import annotations

import math

# Tokenizers whose vocabulary is known without reading a file (GPT-2 BPE: 50,257 tokens).
KNOWN_VOCABS = {"GPT2BPETokenizer": 50257}
DEFAULT_VOCAB = 50257
GATED = ("glu",)  # swiglu, geglu, reglu, fast-swiglu...: fc1 is twice ffn_hidden_size wide


def as_int(value, default=None):
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def as_float(value, default=0.0):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return float(value)


def padded_vocab(raw: int, divisible_by: int, tp: int) -> int:
    """NeMo's `_vocab_size_with_padding`: round up to make_vocab_size_divisible_by x TP."""
    multiple = max(1, divisible_by) * max(1, tp)
    return -(-raw // multiple) * multiple


def precision_of(value) -> str:
    text = str(value).lower()
    if text.startswith("bf16"):
        return "bf16"
    if text in ("16", "16-mixed", "fp16"):
        return "fp16"
    return "fp32"


def spec_from_nemo(params: dict, world_size: int | None) -> dict:
    """The numbers an estimate needs; `missing` lists required keys that are absent or not integers."""
    model = params.get("model") if isinstance(params.get("model"), dict) else {}
    trainer = params.get("trainer") if isinstance(params.get("trainer"), dict) else {}
    data = model.get("data") if isinstance(model.get("data"), dict) else {}
    optim = model.get("optim") if isinstance(model.get("optim"), dict) else {}
    tok = model.get("tokenizer") if isinstance(model.get("tokenizer"), dict) else {}
    notes: list[str] = []
    missing = [k for k in ("num_layers", "hidden_size", "num_attention_heads", "encoder_seq_length",
                           "micro_batch_size", "global_batch_size") if (as_int(model.get(k)) or 0) <= 0]
    layers, hidden = as_int(model.get("num_layers"), 1), as_int(model.get("hidden_size"), 1)
    heads = as_int(model.get("num_attention_heads"), 1) or 1
    seq = as_int(model.get("encoder_seq_length"), 1)
    tp = as_int(model.get("tensor_model_parallel_size"), 1) or 1
    pp = as_int(model.get("pipeline_model_parallel_size"), 1) or 1
    cp = as_int(model.get("context_parallel_size"), 1) or 1
    vp = as_int(model.get("virtual_pipeline_model_parallel_size"))
    vp = vp if vp and vp > 1 else None
    if world_size is None:
        notes.append("world size unknown: data-parallel size taken as 1")
    dp = max(1, (world_size or tp * pp * cp) // (tp * pp * cp))
    mbs, gbs = as_int(model.get("micro_batch_size"), 1), as_int(model.get("global_batch_size"), 1)
    raw_vocab = KNOWN_VOCABS.get(str(tok.get("type")))
    if raw_vocab is None:
        raw_vocab = DEFAULT_VOCAB
        notes.append(f"vocabulary of tokenizer {tok.get('type')!r} unknown: assumed {DEFAULT_VOCAB:,} (GPT-2 BPE)")
    divisible = as_int(model.get("make_vocab_size_divisible_by"), 128)
    activation = str(model.get("activation", "gelu"))
    pos = str(model.get("position_embedding_type", "learned_absolute"))
    optim_name = str(optim.get("name", "fused_adam"))
    precision = precision_of(trainer.get("precision", 32))
    o2 = bool(model.get("megatron_amp_O2", False)) and precision != "fp32"
    mcore = bool(model.get("mcore_gpt", False))
    te = bool(model.get("transformer_engine", False))
    if (mcore and te) or model.get("use_flash_attention"):
        attention = "flash"  # TE's flash/cuDNN fused attention, or NeMo's flash-attn path: no s^2 tensors kept
    else:
        attention = "unfused"
    granularity = model.get("activations_checkpoint_granularity")
    spec = {
        "layers": layers,
        "hidden": hidden,
        "heads": heads,
        "ffn": as_int(model.get("ffn_hidden_size"), 4 * hidden),
        "kv_channels": as_int(model.get("kv_channels")) or max(1, hidden // heads),
        "query_groups": as_int(model.get("num_query_groups")) or heads,
        "seq": seq,
        "vocab_raw": raw_vocab,
        "vocab": padded_vocab(raw_vocab, divisible, tp),
        "micro_batch": mbs,
        "global_batch": gbs,
        "num_microbatches": max(1, gbs // max(1, mbs * dp)),
        "tp": tp, "pp": pp, "vp": vp, "cp": cp, "dp": dp,
        "sequence_parallel": bool(model.get("sequence_parallel")) and tp > 1,
        "gated": activation.endswith(GATED),
        "bias": bool(model.get("bias", True)),
        "learned_positions": pos == "learned_absolute",
        "tied_embeddings": bool(model.get("share_embeddings_and_output_weights", True)),
        "precision": precision,
        "o2": o2,
        "distributed_optimizer": "distributed" in optim_name,
        # apex/TE/mcore fused Adam kernels work in place; torch's Adam keeps temporaries in step()
        "optimizer_temporaries": optim_name in ("adam", "adamw"),
        "recompute": granularity if granularity in ("full", "selective") else None,
        "recompute_method": model.get("activations_checkpoint_method") or "uniform",
        "recompute_layers": as_int(model.get("activations_checkpoint_num_layers"), 1) or 1,
        "attention": attention,
        # apex's fused softmax keeps a bf16/fp16 output; torch's path keeps an fp32 one
        "softmax_bytes": 2 if model.get("masked_softmax_fusion", True) else 4,
        "attention_dropout": as_float(model.get("attention_dropout"), 0.1),
        "hidden_dropout": as_float(model.get("hidden_dropout"), 0.1),
        "missing": missing,
        "assumptions": notes,
    }
    if model.get("fp8"):
        notes.append("fp8 not modelled: activations and weights estimated as bf16 (an overestimate)")
    if model.get("fsdp"):
        notes.append("FSDP sharding not modelled: weights and optimizer estimated unsharded (an overestimate)")
    if model.get("cpu_offloading"):
        notes.append("CPU offloading not modelled: activations estimated on the GPU (an overestimate)")
    if as_int(model.get("num_moe_experts"), 0) > 1:
        notes.append("mixture of experts not modelled: estimated as a dense model")
    if as_int(data.get("seq_length"), seq) != seq:
        notes.append(f"data.seq_length {data.get('seq_length')} differs from encoder_seq_length {seq}: used the latter")
    return spec


def layer_params(spec: dict) -> int:
    """One transformer layer: two norms, QKV and output projections, the MLP (biases if enabled)."""
    h, ffn, kv = spec["hidden"], spec["ffn"], spec["kv_channels"]
    q, kvw = spec["heads"] * kv, spec["query_groups"] * kv
    fc1 = ffn * (2 if spec["gated"] else 1)
    weights = h * (q + 2 * kvw) + q * h + h * fc1 + ffn * h
    biases = (q + 2 * kvw) + h + fc1 + h if spec["bias"] else 0
    return weights + biases + 4 * h  # two LayerNorms with weight and bias


def embedding_params(spec: dict) -> int:
    return spec["vocab"] * spec["hidden"] + (spec["seq"] * spec["hidden"] if spec["learned_positions"] else 0)


def param_count(spec: dict) -> dict:
    """Exact count (tied output layer counted once) and the launcher auto-configurator's formula."""
    L, h, V, s = spec["layers"], spec["hidden"], spec["vocab"], spec["seq"]
    output = 0 if spec["tied_embeddings"] else V * h
    total = L * layer_params(spec) + embedding_params(spec) + output + 2 * h  # + final LayerNorm
    launcher = 12 * L * h * h * (1 + 13 / (12 * h) + (V + s) / (12 * L * h))
    return {"total": total, "launcher_formula": int(round(launcher)), "vocab_padded": V,
            "vocab_raw": spec["vocab_raw"], "per_layer": layer_params(spec)}


def stage_params(spec: dict) -> dict:
    """Parameters held by one GPU of the first and of the last pipeline stage (Megatron splits by TP)."""
    L, pp, tp, h, V = spec["layers"], spec["pp"], spec["tp"], spec["hidden"], spec["vocab"]
    per_stage = math.ceil(L / pp) * layer_params(spec)
    output = 0 if spec["tied_embeddings"] and pp == 1 else V * h  # PP > 1 keeps a tied copy on the last stage
    if pp == 1:
        only = per_stage + embedding_params(spec) + output + 2 * h
        return {"only": only // tp}
    return {"first": (per_stage + embedding_params(spec)) // tp, "last": (per_stage + output + 2 * h) // tp}
