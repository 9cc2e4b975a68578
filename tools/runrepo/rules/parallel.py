"""Model-parallel layout: tensor, pipeline and context parallel sizes against shape and world."""

from __future__ import annotations

from . import Hit, rule


@rule(
    "parallel-world",
    "world size is a multiple of TP x PP x CP",
    example="parameters:\n  model:\n    tensor_model_parallel_size: 3   # on 8 GPUs",
    fix="parameters:\n  model:\n    tensor_model_parallel_size: 2",
)
def parallel_world(ctx):
    ws, tp, pp, cp = ctx.world_size, ctx.tp, ctx.pp, ctx.cp
    if ws and ws % (tp * pp * cp):
        note = " (NeMo 1.13-1.22 checks only TP and fails later)" if ctx.release in ("1.13", "1.23") else ""
        yield Hit(
            ("parameters", "model", "tensor_model_parallel_size" if ws % tp else "pipeline_model_parallel_size"),
            f"world size {ws} is not divisible by TP={tp} x PP={pp} x CP={cp} = {tp * pp * cp}{note}",
        )


@rule(
    "heads-divisible-tp",
    "num_attention_heads is a multiple of tensor_model_parallel_size",
    example="parameters:\n  model:\n    num_attention_heads: 12\n    tensor_model_parallel_size: 8",
    fix="parameters:\n  model:\n    num_attention_heads: 12\n    tensor_model_parallel_size: 4",
)
def heads_divisible(ctx):
    heads, tp = ctx.int_p("model.num_attention_heads"), ctx.tp
    if heads is not None and heads % tp:
        yield Hit(
            ("parameters", "model", "num_attention_heads"),
            f"num_attention_heads={heads} is not divisible by tensor_model_parallel_size={tp} "
            f"({ctx.where('parameters.model.tensor_model_parallel_size')})",
        )


@rule(
    "layers-divisible-pp",
    "num_layers is a multiple of pipeline_model_parallel_size (before NeMo 2.0 mcore silently builds fewer)",
    example="parameters:\n  model:\n    num_layers: 12\n    pipeline_model_parallel_size: 5",
    fix="parameters:\n  model:\n    num_layers: 12\n    pipeline_model_parallel_size: 4",
)
def layers_divisible(ctx):
    layers, pp = ctx.int_p("model.num_layers"), ctx.pp
    if layers is not None and layers % pp:
        yield Hit(
            ("parameters", "model", "num_layers"),
            f"num_layers={layers} is not divisible by pipeline_model_parallel_size={pp} "
            f"({ctx.where('parameters.model.pipeline_model_parallel_size')}); NeMo before 2.0 silently "
            f"trains {layers // pp * pp} layers",
        )
