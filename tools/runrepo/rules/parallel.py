"""Model-parallel layout: tensor, pipeline and context parallel sizes against shape and world."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .registry import Hit, rule
from .suggest import choices, cp_choices, divisors, nearest_multiples, one_of

if TYPE_CHECKING:
    from .context import RunCtx

M = ("parameters", "model")


def _multiple_of(ctx: RunCtx, key: str, size_key: str, size: int, consequence: str = "") -> Iterator[Hit]:
    """A `model.<key>` that must divide evenly by a parallel size. The finding goes on whichever of the
    two the run file sets, names where the other is set, and suggests the values that would do."""
    value = ctx.int_p(f"model.{key}")
    if value is not None and value % size:
        vp, sp = M + (key,), M + (size_key,)
        blamed = ctx.blame(vp, sp)
        fix = choices(ctx, blamed) if blamed == sp else f"; nearest valid {key}: {nearest_multiples(value, size)}"
        yield Hit(
            blamed,
            f"{key}={value}{ctx.at(vp, blamed)} is not divisible by {size_key}={size}{ctx.at(sp, blamed)}"
            f"{consequence}{fix}",
        )


@rule(
    "parallel-world",
    "world size is a multiple of TP x PP x CP",
    example="parameters:\n  model:\n    tensor_model_parallel_size: 3   # on 8 GPUs #<",
    fix="parameters:\n  model:\n    tensor_model_parallel_size: 2",
)
def parallel_world(ctx: RunCtx) -> Iterator[Hit]:
    ws, tp, pp, cp = ctx.world_size, ctx.tp, ctx.pp, ctx.cp
    if ws and ws % (tp * pp * cp):
        note = " (NeMo 1.13-1.22 checks only TP and fails later)" if ctx.release in ("1.13", "1.23") else ""
        sizes = [M + (k,) for k, v in (("tensor_model_parallel_size", tp), ("pipeline_model_parallel_size", pp),
                                      ("context_parallel_size", cp)) if v > 1]
        nodes = ("compute", "nodes")
        blamed = ctx.blame(*sizes, nodes) if sizes else nodes
        parts = " x ".join(f"{k}={v}{ctx.at(M + (p,), blamed) if v > 1 else ''}" for k, v, p in (
            ("TP", tp, "tensor_model_parallel_size"), ("PP", pp, "pipeline_model_parallel_size"),
            ("CP", cp, "context_parallel_size")))
        yield Hit(
            blamed,
            f"world size {ws} (compute.nodes={ctx.get('compute.nodes')}{ctx.at(nodes, blamed)}) is not divisible by "
            f"{parts} = {tp * pp * cp}{note}{choices(ctx, blamed)}",
        )


@rule(
    "heads-divisible-tp",
    "num_attention_heads is a multiple of tensor_model_parallel_size",
    example="parameters:\n  model:\n    num_attention_heads: 12  #<\n    tensor_model_parallel_size: 8",
    fix="parameters:\n  model:\n    num_attention_heads: 12\n    tensor_model_parallel_size: 4",
)
def heads_divisible(ctx: RunCtx) -> Iterator[Hit]:
    yield from _multiple_of(ctx, "num_attention_heads", "tensor_model_parallel_size", ctx.tp)


@rule(
    "layers-divisible-pp",
    "num_layers is a multiple of pipeline_model_parallel_size (before NeMo 2.0 mcore silently builds fewer)",
    example="parameters:\n  model:\n    num_layers: 12  #<\n    pipeline_model_parallel_size: 5",
    fix="parameters:\n  model:\n    num_layers: 12\n    pipeline_model_parallel_size: 4",
)
def layers_divisible(ctx: RunCtx) -> Iterator[Hit]:
    layers, pp = ctx.int_p("model.num_layers"), ctx.pp
    kept = f"; NeMo before 2.0 silently trains {layers // pp * pp} layers" if layers else ""
    yield from _multiple_of(ctx, "num_layers", "pipeline_model_parallel_size", pp, kept)


# --- Interleaving, expert, query-group, sequence and context parallelism.


def _vp(ctx: RunCtx) -> int | None:
    """Virtual pipeline size in effect: NeMo turns 1 into None, so only 2 or more means interleaving."""
    vp = ctx.int_p("model.virtual_pipeline_model_parallel_size")
    return vp if vp is not None and vp > 1 else None


def _seq(ctx: RunCtx) -> int | None:
    return ctx.int_p("model.encoder_seq_length")


@rule(
    "expert-parallel-dp",
    "the data-parallel size is a multiple of expert_model_parallel_size",
    since="2.0",  # the first release whose config carries the key (older NeMo ignores it)
    # NeMo 2.1's megatron_init.py checks world % (TP x EP x PP) instead: expert-parallel-world (rules/moe.py)
    before="2.1",
    example="parameters:\n  model:\n    num_moe_experts: 8\n    expert_model_parallel_size: 3   # 8 GPUs, DP 8 #<",
    fix="parameters:\n  model:\n    num_moe_experts: 8\n    expert_model_parallel_size: 2",
)
def expert_parallel_dp(ctx: RunCtx) -> Iterator[Hit]:
    ep, dp = ctx.int_p("model.expert_model_parallel_size", 1), ctx.dp
    if ep and ep > 1 and dp is not None and dp % ep:
        ep_p = M + ("expert_model_parallel_size",)
        blamed = ctx.blame(ep_p, M + ("tensor_model_parallel_size",), M + ("pipeline_model_parallel_size",),
                           M + ("context_parallel_size",))
        yield Hit(
            blamed,
            f"data-parallel size {dp} (world {ctx.world_size} / TP {ctx.tp} x PP {ctx.pp} x CP {ctx.cp}) is not "
            f"divisible by expert_model_parallel_size={ep}{ctx.at(ep_p, blamed)}; Megatron's "
            f"initialize_model_parallel raises; valid EP ∈ {one_of(divisors(dp))}",
        )


@rule(
    "query-groups-tp",
    "num_query_groups (grouped-query attention) is a multiple of tensor_model_parallel_size",
    since="1.23",
    example="parameters:\n  model:\n    num_query_groups: 2  #<\n    tensor_model_parallel_size: 4",
    fix="parameters:\n  model:\n    num_query_groups: 4\n    tensor_model_parallel_size: 4",
)
def query_groups_tp(ctx: RunCtx) -> Iterator[Hit]:
    yield from _multiple_of(
        ctx, "num_query_groups", "tensor_model_parallel_size", ctx.tp, "; mcore's TransformerConfig raises"
    )


@rule(
    "ffn-divisible-tp",
    "ffn_hidden_size is a multiple of tensor_model_parallel_size",
    example="parameters:\n  model:\n    ffn_hidden_size: 5441  #<\n    tensor_model_parallel_size: 2",
    fix="parameters:\n  model:\n    ffn_hidden_size: 5440\n    tensor_model_parallel_size: 2",
)
def ffn_divisible_tp(ctx: RunCtx) -> Iterator[Hit]:
    yield from _multiple_of(
        ctx, "ffn_hidden_size", "tensor_model_parallel_size", ctx.tp, "; the MLP cannot be split evenly"
    )


@rule(
    "vp-layers",
    "with interleaving, layers per pipeline stage are a multiple of virtual_pipeline_model_parallel_size",
    since="1.13",
    example="parameters:\n  model:\n    num_layers: 24\n    pipeline_model_parallel_size: 4\n"
            "    virtual_pipeline_model_parallel_size: 4  #<",
    fix="parameters:\n  model:\n    num_layers: 24\n    pipeline_model_parallel_size: 4\n"
    "    virtual_pipeline_model_parallel_size: 3",
)
def vp_layers(ctx: RunCtx) -> Iterator[Hit]:
    vp, layers, pp = _vp(ctx), ctx.int_p("model.num_layers"), ctx.pp
    if vp and layers is not None and (layers // pp) % vp:
        paths = [M + (k,) for k in ("virtual_pipeline_model_parallel_size", "num_layers", "pipeline_model_parallel_size")]
        blamed = ctx.blame(*paths)
        ok = [v for v in divisors(layers // pp) if v > 1]
        yield Hit(
            blamed,
            f"num_layers={layers}{ctx.at(paths[1], blamed)} / pipeline_model_parallel_size={pp}"
            f"{ctx.at(paths[2], blamed)} = {layers // pp} layers per stage, not divisible by "
            f"virtual_pipeline_model_parallel_size={vp}{ctx.at(paths[0], blamed)}; valid virtual pipeline sizes: "
            + (f"{one_of(ok)} or null" if ok else "null (no interleaving)"),
        )


@rule(
    "vp-pipeline-size",
    "interleaving (virtual pipeline >= 2) needs pipeline_model_parallel_size > 2",
    # parallel_state refuses PP <= 2 with interleaving up to Megatron-core 0.7 (NeMo 2.0's 24.05 image);
    # Megatron-LM 152c562 (mid 2024, Megatron-LM #750) relaxed it, first shipped after NeMo 2.0.
    since="1.13",
    before="2.1",
    example="parameters:\n  model:\n    pipeline_model_parallel_size: 2\n"
            "    virtual_pipeline_model_parallel_size: 2  #<",
    fix="parameters:\n  model:\n    pipeline_model_parallel_size: 2\n    virtual_pipeline_model_parallel_size: null",
)
def vp_pipeline_size(ctx: RunCtx) -> Iterator[Hit]:
    vp, pp = _vp(ctx), ctx.pp
    if vp and pp <= 2:
        vpp, ppp = M + ("virtual_pipeline_model_parallel_size",), M + ("pipeline_model_parallel_size",)
        blamed = ctx.blame(vpp, ppp)
        yield Hit(
            blamed,
            f"virtual_pipeline_model_parallel_size={vp}{ctx.at(vpp, blamed)} with pipeline_model_parallel_size={pp}"
            f"{ctx.at(ppp, blamed)}: Megatron raises \"pipeline-model-"
            "parallel size should be greater than 2 with interleaved schedule\"; use PP > 2 or no interleaving",
        )


@rule(
    "vp-needs-o2",
    "interleaving (virtual pipeline >= 2) needs megatron_amp_O2: true",
    since="1.13",
    example="parameters:\n  model:\n    megatron_amp_O2: false\n"
            "    virtual_pipeline_model_parallel_size: 2  #<",
    fix="parameters:\n  model:\n    megatron_amp_O2: true\n    virtual_pipeline_model_parallel_size: 2",
)
def vp_needs_o2(ctx: RunCtx) -> Iterator[Hit]:
    vp = _vp(ctx)
    if vp and not ctx.p("model.megatron_amp_O2", False):
        vpp, o2 = M + ("virtual_pipeline_model_parallel_size",), M + ("megatron_amp_O2",)
        blamed = ctx.blame(vpp, o2)
        yield Hit(
            blamed,
            f"virtual_pipeline_model_parallel_size={vp}{ctx.at(vpp, blamed)} but megatron_amp_O2 is "
            f"{ctx.p('model.megatron_amp_O2', False)!r}{ctx.at(o2, blamed)}: "
            "MegatronGPTModel raises \"Virtual pipeline model parallel is only supported when using megatron_amp_O2\"",
        )


@rule(
    "interleaved-microbatches",
    "with interleaving, the number of microbatches is a multiple of pipeline_model_parallel_size",
    since="1.13",
    example="parameters:\n  model:\n    pipeline_model_parallel_size: 4\n"
            "    virtual_pipeline_model_parallel_size: 3\n    micro_batch_size: 1\n"
            "    global_batch_size: 6   # 8 GPUs: DP 2, 3 microbatches #<",
    fix="parameters:\n  model:\n    pipeline_model_parallel_size: 4\n    virtual_pipeline_model_parallel_size: 3\n"
    "    micro_batch_size: 1\n    global_batch_size: 8",
)
def interleaved_microbatches(ctx: RunCtx) -> Iterator[Hit]:
    vp, pp, dp = _vp(ctx), ctx.pp, ctx.dp
    gbs, mbs = ctx.int_p("model.global_batch_size"), ctx.int_p("model.micro_batch_size")
    if not vp or pp < 2 or dp is None or not gbs or not mbs or gbs % (mbs * dp):
        return  # batch-divisible reports an uneven split
    n = gbs // (mbs * dp)
    if n % pp:
        g, m, p = M + ("global_batch_size",), M + ("micro_batch_size",), M + ("pipeline_model_parallel_size",)
        blamed = ctx.blame(g, m, p)
        yield Hit(
            blamed,
            f"global_batch_size={gbs}{ctx.at(g, blamed)} / (micro_batch_size={mbs}{ctx.at(m, blamed)} "
            f"x DP {dp}) = {n} microbatches, not divisible by pipeline_model_parallel_size={pp}"
            f"{ctx.at(p, blamed)}; the interleaved schedule raises at the first step (global_batch_size "
            f"{nearest_multiples(gbs, mbs * dp * pp)})",
        )


@rule(
    "sequence-parallel-tp",
    "sequence_parallel needs tensor_model_parallel_size > 1 (NeMo silently turns it off)",
    severity="warning",
    example="parameters:\n  model:\n    sequence_parallel: true  #<\n    tensor_model_parallel_size: 1",
    fix="parameters:\n  model:\n    sequence_parallel: false\n    tensor_model_parallel_size: 1",
)
def sequence_parallel_tp(ctx: RunCtx) -> Iterator[Hit]:
    if ctx.p("model.sequence_parallel") is True and ctx.tp == 1:
        sp, tp = M + ("sequence_parallel",), M + ("tensor_model_parallel_size",)
        blamed = ctx.blame(sp, tp)
        yield Hit(
            blamed,
            f"sequence_parallel is true{ctx.at(sp, blamed)} but tensor_model_parallel_size=1"
            f"{ctx.at(tp, blamed)}: NeMo sets it to false and trains "
            "without it (its memory savings do not happen)",
        )


@rule(
    "seq-divisible-tp",
    "with sequence parallelism, the sequence length is a multiple of tensor_model_parallel_size",
    example="parameters:\n  model:\n    encoder_seq_length: 2050  #<\n    sequence_parallel: true\n"
            "    tensor_model_parallel_size: 4",
    fix="parameters:\n  model:\n    encoder_seq_length: 2048\n    sequence_parallel: true\n"
    "    tensor_model_parallel_size: 4",
)
def seq_divisible_tp(ctx: RunCtx) -> Iterator[Hit]:
    seq, tp = _seq(ctx), ctx.tp
    if ctx.p("model.sequence_parallel") is True and tp > 1 and seq is not None and seq % tp:
        s, t, sp = M + ("encoder_seq_length",), M + ("tensor_model_parallel_size",), M + ("sequence_parallel",)
        blamed = ctx.blame(s, t, sp)
        fix = choices(ctx, blamed) if blamed == t else f"; nearest valid encoder_seq_length: {nearest_multiples(seq, tp)}"
        yield Hit(
            blamed,
            f"encoder_seq_length={seq}{ctx.at(s, blamed)} is not divisible by tensor_model_parallel_size={tp}"
            f"{ctx.at(t, blamed)} with sequence_parallel{ctx.at(sp, blamed)}: the sequence split asserts at the "
            f"first forward{fix}",
        )


@rule(
    "seq-divisible-cp",
    "with context parallelism, the sequence length is a multiple of 2 x context_parallel_size",
    since="1.23",
    example="parameters:\n  model:\n    encoder_seq_length: 2047  #<\n    context_parallel_size: 2",
    fix="parameters:\n  model:\n    encoder_seq_length: 2048\n    context_parallel_size: 2",
)
def seq_divisible_cp(ctx: RunCtx) -> Iterator[Hit]:
    seq, cp = _seq(ctx), ctx.cp
    if cp > 1 and seq is not None and seq % (2 * cp):
        s, c = M + ("encoder_seq_length",), M + ("context_parallel_size",)
        blamed = ctx.blame(s, c)
        fix = cp_choices(ctx, seq) if blamed == c else f"nearest valid encoder_seq_length: {nearest_multiples(seq, 2 * cp)}"
        yield Hit(
            blamed,
            f"encoder_seq_length={seq}{ctx.at(s, blamed)} is not divisible by 2 x context_parallel_size={cp}"
            f"{ctx.at(c, blamed)} = {2 * cp}: NeMo splits each sequence into "
            f"{2 * cp} chunks for load balance and fails reshaping the batch" + (f"; {fix}" if fix else ""),
        )
