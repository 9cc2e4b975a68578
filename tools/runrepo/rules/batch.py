"""Batch arithmetic that Megatron asserts only once the model is built."""

from __future__ import annotations

from . import Hit, rule


@rule(
    "batch-divisible",
    "global_batch_size is a multiple of micro_batch_size x data-parallel size",
    example="parameters:\n  model:\n    micro_batch_size: 4\n    global_batch_size: 100   # 8 GPUs: 4 x 8 = 32",
    fix="parameters:\n  model:\n    micro_batch_size: 4\n    global_batch_size: 128",
)
def batch_divisible(ctx):
    gbs, mbs, dp = ctx.int_p("model.global_batch_size"), ctx.int_p("model.micro_batch_size"), ctx.dp
    if gbs is None or mbs is None or dp is None or mbs <= 0:
        return
    if gbs % (mbs * dp):
        yield Hit(
            ("parameters", "model", "global_batch_size"),
            f"global_batch_size={gbs} is not divisible by micro_batch_size={mbs} "
            f"({ctx.where('parameters.model.micro_batch_size')}) x data-parallel size {dp} = {mbs * dp}; "
            f"nearest valid: {max(mbs * dp, gbs // (mbs * dp) * mbs * dp)} or {(gbs // (mbs * dp) + 1) * mbs * dp}",
        )
