"""Batch arithmetic that Megatron asserts only once the model is built."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .registry import Hit, rule
from .suggest import divisors, nearest_multiples, one_of

if TYPE_CHECKING:
    from .context import RunCtx

M = ("parameters", "model")


@rule(
    "batch-divisible",
    "global_batch_size is a multiple of micro_batch_size x data-parallel size",
    example="parameters:\n  model:\n    micro_batch_size: 4\n"
            "    global_batch_size: 100   # 8 GPUs: 4 x 8 = 32 #<",
    fix="parameters:\n  model:\n    micro_batch_size: 4\n    global_batch_size: 128",
)
def batch_divisible(ctx: RunCtx) -> Iterator[Hit]:
    gbs, mbs, dp = ctx.int_p("model.global_batch_size"), ctx.int_p("model.micro_batch_size"), ctx.dp
    if gbs is None or mbs is None or dp is None or mbs <= 0:
        return
    if gbs % (mbs * dp):
        g, m = M + ("global_batch_size",), M + ("micro_batch_size",)
        blamed = ctx.blame(g, m)
        step = mbs * dp
        fix = f"nearest valid global_batch_size: {nearest_multiples(gbs, step)}"
        if blamed != g and gbs % dp == 0:
            fix = f"valid micro_batch_size ∈ {one_of(divisors(gbs // dp, 32))} (global_batch_size / DP {dp}), or " + fix
        elif blamed != g:
            fix += f" (global_batch_size {gbs} is not a multiple of DP {dp}: no micro_batch_size can fix it)"
        yield Hit(
            blamed,
            f"global_batch_size={gbs}{ctx.at(g, blamed)} is not divisible by micro_batch_size={mbs}"
            f"{ctx.at(m, blamed)} x data-parallel size {dp} = {step} (world {ctx.world_size} / TP {ctx.tp} x PP "
            f"{ctx.pp} x CP {ctx.cp}); {fix}",
        )


# --- The batch rules of ramp-up and the trainer.


@rule(
    "rampup-batch-size",
    "rampup_batch_size is [start, increment, samples] with (global_batch_size - start) % increment == 0",
    since="1.20",  # the key arrives in NeMo 1.20's config
    example="parameters:\n  model:\n    global_batch_size: 256\n    rampup_batch_size: [32, 48, 1000000]  #<",
    fix="parameters:\n  model:\n    global_batch_size: 256\n    rampup_batch_size: [32, 32, 1000000]",
)
def rampup_batch_size(ctx: RunCtx) -> Iterator[Hit]:
    ramp = ctx.p("model.rampup_batch_size")
    path = ("parameters", "model", "rampup_batch_size")
    if ramp is None:
        return
    ints = isinstance(ramp, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in ramp)
    if not ints or len(ramp) != 3:
        yield Hit(path, f"rampup_batch_size must be three integers [start, increment, ramp-up samples], got {ramp!r}")
        return
    start, inc, samples = ramp
    gbs, mbs, dp = ctx.int_p("model.global_batch_size"), ctx.int_p("model.micro_batch_size"), ctx.dp
    g = M + ("global_batch_size",)
    if start <= 0 or inc <= 0 or samples < 0:
        yield Hit(path, f"rampup_batch_size {ramp}: start and increment must be positive, samples non-negative")
    elif gbs is not None and start > gbs:
        blamed = ctx.blame(path, g)
        yield Hit(blamed, f"rampup_batch_size {ramp}{ctx.at(path, blamed)}: start {start} is above global_batch_size="
                          f"{gbs}{ctx.at(g, blamed)}; the ramp-up only grows")
    elif gbs is not None and (gbs - start) % inc:
        blamed = ctx.blame(path, g)
        yield Hit(
            blamed,
            f"rampup_batch_size {ramp}{ctx.at(path, blamed)}: global_batch_size={gbs}{ctx.at(g, blamed)} "
            f"- start {start} = {gbs - start} is not a multiple of the increment {inc}; the ramp-up calculator asserts",
        )
    elif mbs and dp and (start % (mbs * dp) or inc % (mbs * dp)):
        yield Hit(
            path,
            f"rampup_batch_size {ramp}: start and increment must be multiples of micro_batch_size={mbs} x DP {dp} "
            f"= {mbs * dp}, the batch each ramp-up step trains on",
        )


@rule(
    "accumulate-grad-batches",
    "trainer.accumulate_grad_batches is 1: NeMo accumulates over microbatches itself",
    example="parameters:\n  trainer:\n    accumulate_grad_batches: 4  #<",
    fix="parameters:\n  trainer:\n    accumulate_grad_batches: 1   # raise model.global_batch_size instead",
)
def accumulate_grad_batches(ctx: RunCtx) -> Iterator[Hit]:
    acc = ctx.p("trainer.accumulate_grad_batches", 1)
    if acc is not None and acc != 1:
        yield Hit(
            ("parameters", "trainer", "accumulate_grad_batches"),
            f"trainer.accumulate_grad_batches={acc!r}: MegatronGPTModel._validate_trainer raises; gradient "
            "accumulation follows from global_batch_size / (micro_batch_size x DP)",
        )
