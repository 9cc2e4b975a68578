"""What a NeMo GPT config describes, as plain numbers: shape, parallel layout, precision, kernels.

`spec_from_nemo` reads a resolved NeMo config (the run's `parameters`) the way NeMo would, with
NeMo's defaults where a key is absent, and records every guess it makes in `assumptions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypedDict, overload

from .kernels import attention_kernel
from .params import embedding_params, layer_params, param_count, stage_params

if TYPE_CHECKING:
    from ..compose.gate import Json
    from .spec import Spec

# Tokenizers whose vocabulary is known without reading a file: GPT-2 BPE, and the Hugging Face
# tokenizers of NVIDIA's presets (vocab_size of each model's published config.json).
KNOWN_VOCABS = {
    "GPT2BPETokenizer": 50257,
    "meta-llama/Llama-2-7b-hf": 32000,
    "meta-llama/Llama-2-13b-hf": 32000,
    "meta-llama/Llama-2-70b-hf": 32000,
    "meta-llama/Meta-Llama-3-8B": 128256,
    "meta-llama/Meta-Llama-3-70B": 128256,
    "meta-llama/Meta-Llama-3.1-8B": 128256,
    "meta-llama/Meta-Llama-3.1-70B": 128256,
    "meta-llama/Meta-Llama-3.1-405B": 128256,
    "mistralai/Mistral-7B-v0.1": 32000,
    "mistralai/Mixtral-8x7B-v0.1": 32000,
}
DEFAULT_VOCAB = 50257
GATED = ("glu",)  # swiglu, geglu, reglu, fast-swiglu...: fc1 is twice ffn_hidden_size wide

__all__ = ["KNOWN_VOCABS", "as_dict", "as_float", "as_int", "embedding_params", "layer_params", "padded_vocab",
           "param_count", "precision_of", "spec_from_nemo", "stage_params"]


class _Moe(TypedDict):
    experts: int
    topk: int
    ep: int
    expert_ffn: int
    capacity_factor: float | None
    pad_to_capacity: bool
    expert_dp: int


@overload
def as_int(value: object) -> int | None: ...
@overload
def as_int(value: object, default: int) -> int: ...
@overload
def as_int(value: object, default: int | None) -> int | None: ...
def as_int(value: object, default: int | None = None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def as_dict(value: object) -> dict[str, Json]:
    """A mapping of a config, or {} where the config has none (or something else)."""
    return value if isinstance(value, dict) else {}


def as_float(value: object, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return float(value)


def padded_vocab(raw: int, divisible_by: int, tp: int) -> int:
    """NeMo's `_vocab_size_with_padding`: round up to make_vocab_size_divisible_by x TP."""
    multiple = max(1, divisible_by) * max(1, tp)
    return -(-raw // multiple) * multiple


def precision_of(value: object) -> str:
    text = str(value).lower()
    if text.startswith("bf16"):
        return "bf16"
    if text in ("16", "16-mixed", "fp16"):
        return "fp16"
    return "fp32"


def _vocab(tok: Mapping[str, Json], tool: Mapping[str, Json], notes: list[str]) -> tuple[int, str]:
    """(raw vocabulary, where it came from): the tokenizer's known size, else runrepo.vocab_size."""
    known = KNOWN_VOCABS.get(str(tok.get("type")))
    if known:
        return known, f"tokenizer {tok.get('type')}"
    stated = as_int(tool.get("vocab_size"))
    if stated and stated > 0:
        return stated, "runrepo.vocab_size"
    what = tok.get("type") or tok.get("model") or tok.get("library")
    notes.append(f"vocabulary of tokenizer {what!r} unknown: assumed {DEFAULT_VOCAB:,} (GPT-2 BPE); "
                 "set runrepo.vocab_size")
    return DEFAULT_VOCAB, "assumed"


def _moe(model: Mapping[str, Json], world: int | None, tp: int, pp: int, dp: int, cp: int, ffn: int) -> _Moe:
    """Mixture-of-experts settings as NeMo passes them to Megatron-core's TransformerConfig."""
    n = as_int(model.get("num_moe_experts"), 0) or 0
    ep = as_int(model.get("expert_model_parallel_size"), 1) or 1
    cf = as_float(model.get("moe_expert_capacity_factor"), -1.0)
    return {
        "experts": n if n > 0 else 0,
        "topk": as_int(model.get("moe_router_topk"), 2) or 2,  # NeMo: cfg.get('moe_router_topk', 2)
        "ep": ep,
        "expert_ffn": as_int(model.get("moe_ffn_hidden_size")) or ffn,
        "capacity_factor": cf if cf >= 0 else None,  # mcore: a negative factor means dropless
        "pad_to_capacity": bool(model.get("moe_pad_expert_input_to_capacity")),
        # The expert data-parallel group: world / (expert TP x EP x PP), expert TP = TP in NeMo's configs
        # (megatron_init.py from NeMo 2.1; mcore <= 0.9 builds DP x CP / EP, the same number).
        "expert_dp": max(1, (world or tp * pp * dp * cp) // (tp * ep * pp)),
    }


def spec_from_nemo(params: Mapping[str, Json], world_size: int | None, tool: Mapping[str, Json] | None = None,
                   release: str | None = None, container_has_fused_attention: bool | None = None) -> Spec:
    """The numbers an estimate needs; `missing` lists required keys that are absent or not integers.

    `tool` is the run's runrepo section (its vocab_size), `release` the image's NeMo release, and
    `container_has_fused_attention` what the container table says about the image (None: decided
    from the release; see kernels.py)."""
    model = as_dict(params.get("model"))
    trainer = as_dict(params.get("trainer"))
    data = as_dict(model.get("data"))
    optim = as_dict(model.get("optim"))
    tok = as_dict(model.get("tokenizer"))
    notes: list[str] = []
    missing = [k for k in ("num_layers", "hidden_size", "num_attention_heads", "encoder_seq_length",
                           "micro_batch_size", "global_batch_size") if (as_int(model.get(k)) or 0) <= 0]
    layers, hidden = as_int(model.get("num_layers"), 1), as_int(model.get("hidden_size"), 1)
    heads = as_int(model.get("num_attention_heads"), 1) or 1
    max_seq = as_int(model.get("encoder_seq_length"), 1)
    # What trains is data.seq_length tokens a sample: activations and tokens follow it; encoder_seq_length
    # sizes a learned position table (and the pipeline's p2p buffers, where a mismatch fails: data-seq-length).
    seq = as_int(data.get("seq_length")) or max_seq
    ffn = as_int(model.get("ffn_hidden_size"), 4 * hidden)
    tp = as_int(model.get("tensor_model_parallel_size"), 1) or 1
    pp = as_int(model.get("pipeline_model_parallel_size"), 1) or 1
    cp = as_int(model.get("context_parallel_size"), 1) or 1
    vp = as_int(model.get("virtual_pipeline_model_parallel_size"))
    vp = vp if vp and vp > 1 else None
    if world_size is None:
        notes.append("world size unknown: data-parallel size taken as 1")
    dp = max(1, (world_size or tp * pp * cp) // (tp * pp * cp))
    mbs, gbs = as_int(model.get("micro_batch_size"), 1), as_int(model.get("global_batch_size"), 1)
    raw_vocab, vocab_source = _vocab(tok, tool or {}, notes)
    divisible = as_int(model.get("make_vocab_size_divisible_by"), 128)
    activation = str(model.get("activation", "gelu"))
    pos = str(model.get("position_embedding_type", "learned_absolute"))
    optim_name = str(optim.get("name", "fused_adam"))
    precision = precision_of(trainer.get("precision", 32))
    o2 = bool(model.get("megatron_amp_O2", False)) and precision != "fp32"
    te = model.get("transformer_engine") is True
    attention, attention_why = attention_kernel(model, release, container_has_fused_attention)
    granularity = model.get("activations_checkpoint_granularity")
    spec: Spec = {
        "layers": layers,
        "hidden": hidden,
        "heads": heads,
        "ffn": ffn,
        "kv_channels": as_int(model.get("kv_channels")) or max(1, hidden // heads),
        "query_groups": as_int(model.get("num_query_groups")) or heads,
        "seq": seq,
        "pos_table": max_seq,
        "vocab_raw": raw_vocab,
        "vocab_source": vocab_source,
        "vocab": padded_vocab(raw_vocab, divisible, tp),
        "micro_batch": mbs,
        "global_batch": gbs,
        "num_microbatches": max(1, gbs // max(1, mbs * dp)),
        "tp": tp, "pp": pp, "vp": vp, "cp": cp, "dp": dp,
        "sequence_parallel": bool(model.get("sequence_parallel")) and tp > 1,
        "gated": activation.endswith(GATED),
        "bias": bool(model.get("bias", True)),
        "qkv_bias": bool(model.get("qkv_bias", False)),
        # RMSNorm has a weight; LayerNorm and layernorm1p (TE's LayerNorm) a weight and a bias
        "norm_params": 1 if str(model.get("normalization", "layernorm")).lower() == "rmsnorm" else 2,
        "learned_positions": pos == "learned_absolute",
        "tied_embeddings": bool(model.get("share_embeddings_and_output_weights", True)),
        "precision": precision,
        "o2": o2,
        "distributed_optimizer": "distributed" in optim_name,
        # The distributed optimizers' gradient buffer: fp32 unless optim.grad_sync_dtype says bf16/fp16
        # (NeMo: DistributedDataParallelConfig(grad_reduce_in_fp32=grad_sync_dtype == 'fp32'))
        "grad_bytes": 2 if "distributed" in optim_name and str(optim.get("grad_sync_dtype", "fp32")).lower()
        in ("bf16", "fp16", "16", "bfloat16", "float16") else 4,
        # apex/TE/mcore fused Adam kernels work in place; torch's Adam keeps temporaries in step()
        "optimizer_temporaries": optim_name in ("adam", "adamw"),
        "recompute": granularity if granularity in ("full", "selective") else None,
        "recompute_method": model.get("activations_checkpoint_method") or "uniform",
        "recompute_layers": as_int(model.get("activations_checkpoint_num_layers"), 1) or 1,
        "attention": attention,
        "attention_why": attention_why,
        # NeMo's fp8 is Transformer Engine's: without TE it changes nothing
        "fp8": bool(model.get("fp8")) and te,
        # apex's fused softmax keeps a bf16/fp16 output; torch's path keeps an fp32 one
        "softmax_bytes": 2 if model.get("masked_softmax_fusion", True) else 4,
        "attention_dropout": as_float(model.get("attention_dropout"), 0.1),
        "hidden_dropout": as_float(model.get("hidden_dropout"), 0.1),
        "missing": missing,
        "assumptions": notes,
        **_moe(model, world_size, tp, pp, dp, cp, ffn),
    }
    if model.get("fp8") and not te:
        notes.append("fp8 without transformer_engine: NeMo's fp8 is Transformer Engine's, estimated as bf16")
    if model.get("fsdp"):
        notes.append("FSDP sharding not modelled: weights and optimizer estimated unsharded (an overestimate)")
    if model.get("cpu_offloading"):
        notes.append("CPU offloading not modelled: activations estimated on the GPU (an overestimate)")
    if seq != max_seq:
        notes.append(f"samples of data.seq_length {seq} tokens (encoder_seq_length {max_seq} sizes only the "
                     "position table and pipeline buffers)")
    return spec
