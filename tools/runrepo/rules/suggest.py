"""Valid values to suggest in a finding: parallel sizes that divide what they must, nearest multiples.

A suggested size satisfies every divisibility rule on that size at once (a TP that divides the heads
but not the query groups would only move the error), and says which of them also fit the world.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..compose.gate import KeyPath
    from .context import RunCtx

M = ("parameters", "model")


def one_of(values: Iterable[int]) -> str:
    return "{" + ", ".join(str(v) for v in values) + "}"


def divisors(n: int, cap: int | None = None) -> list[int]:
    return [d for d in range(1, (min(n, cap) if cap else n) + 1) if n % d == 0]


def nearest_multiples(value: int, size: int) -> str:
    """`8 or 16`: the multiples of `size` around `value` (the lower one at least `size`)."""
    lo, hi = max(size, value // size * size), (value // size + 1) * size
    return f"{lo} or {hi}" if lo != hi else str(lo)


def _gpn(ctx: RunCtx) -> int | None:
    g = ctx.get("runrepo.gpus_per_node")
    return g if isinstance(g, int) and not isinstance(g, bool) and g > 0 else None


def valid_tp(ctx: RunCtx) -> list[int]:
    """TP sizes within a node (tensor parallelism needs NVLink) that divide every size TP splits."""
    cap = _gpn(ctx) or 8
    must = [ctx.int_p(f"model.{k}") for k in ("num_attention_heads", "num_query_groups", "ffn_hidden_size")]
    if ctx.p("model.sequence_parallel") is True:
        must.append(ctx.int_p("model.encoder_seq_length"))
    sizes = [m for m in must if m]
    return [t for t in range(1, cap + 1) if all(m % t == 0 for m in sizes)]


def valid_pp(ctx: RunCtx) -> list[int]:
    layers = ctx.int_p("model.num_layers")
    return divisors(layers) if layers else []


def _in_world(ctx: RunCtx, tp: int, pp: int, cp: int) -> bool:
    ws = ctx.world_size
    return ws is None or ws % (tp * pp * cp) == 0


def tp_choices(ctx: RunCtx) -> str:
    ok = valid_tp(ctx)
    if not ok:
        return ""
    cap = _gpn(ctx) or 8
    fit = [t for t in ok if _in_world(ctx, t, ctx.pp, ctx.cp)]
    tail = f"; {one_of(fit)} with PP={ctx.pp} x CP={ctx.cp} on {ctx.world_size} GPUs" if fit != ok and fit else ""
    return f"valid TP ∈ {one_of(ok)} (within a node of {cap} GPUs{tail})"


def pp_choices(ctx: RunCtx) -> str:
    ok = valid_pp(ctx)
    fit = [p for p in ok if _in_world(ctx, ctx.tp, p, ctx.cp)]
    if not fit:
        return ""
    return f"valid PP ∈ {one_of(fit)} (divisors of num_layers={ctx.int_p('model.num_layers')}" + (
        f" that fit TP={ctx.tp} x CP={ctx.cp} on {ctx.world_size} GPUs)" if fit != ok else ")"
    )


def cp_choices(ctx: RunCtx, seq: int) -> str:
    ok = [c for c in range(1, (ctx.world_size or 8) + 1) if seq % (2 * c) == 0 and _in_world(ctx, ctx.tp, ctx.pp, c)]
    return f"valid CP ∈ {one_of(ok)}" if ok else ""


def choices(ctx: RunCtx, blamed: KeyPath) -> str:
    """The valid values for the blamed parallel size, as `; valid ...`, or ''."""
    key = blamed[-1] if blamed[: len(M)] == M else ""
    by_size: dict[str | int, Callable[[RunCtx], str]] = {
        "tensor_model_parallel_size": tp_choices,
        "pipeline_model_parallel_size": pp_choices,
    }
    valid = by_size.get(key)
    text = valid(ctx) if valid else ""
    return f"; {text}" if text else ""
