"""Mixture of experts and grouped-query attention: what Megatron-core and NeMo refuse, read from their
source (megatron-core 0.7.0-0.12.0 on PyPI; nemo_toolkit 2.0.0rc0, 2.1.0 and 2.4.0):

- TransformerConfig.__post_init__ (megatron/core/transformer/transformer_config.py) raises at model
  build: expert parallelism without experts; a capacity factor with a dispatcher or load balancing
  that cannot drop tokens; padding to capacity without a capacity factor;
- MoELayer (megatron/core/transformer/moe/moe_layer.py) asserts num_moe_experts % EP and refuses an
  unknown moe_token_dispatcher_type; the router fails at the first forward (torch.topk past the
  number of experts, sinkhorn with an aux-loss, an unknown drop policy: moe_utils.py, router.py);
- NeMo's MegatronGPTModel.__init__ refuses expert parallelism without megatron_amp_O2 or with apex's
  distributed Adam; its megatron_init.py (2.1 on) builds expert groups of TP x EP x PP ranks.

NeMo 2.0 is the first release this repository maps to an image with Megatron-core >= 0.5 (MoE);
NeMo reads every TransformerConfig field from the model config by name, so these keys act even where
the release's default YAML lacks them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .registry import Hit, rule
from .suggest import divisors, nearest_multiples, one_of

if TYPE_CHECKING:
    from ..compose.gate import KeyPath
    from .context import RunCtx

DISPATCHERS = ("allgather", "alltoall", "alltoall_seq", "flex")  # alltoall_seq from mcore 0.9, flex 0.12
DROP_POLICIES = ("probs", "position")
M = ("parameters", "model")


def _experts(ctx: RunCtx) -> int | None:
    n = ctx.int_p("model.num_moe_experts")
    return n if n is not None and n > 0 else None


def _ep(ctx: RunCtx) -> int:
    return ctx.int_p("model.expert_model_parallel_size", 1) or 1


def _capacity(ctx: RunCtx) -> float | None:
    cf = ctx.p("model.moe_expert_capacity_factor")
    ok = isinstance(cf, (int, float)) and not isinstance(cf, bool) and cf >= 0  # negative: dropless (mcore)
    return cf if ok else None


def _w(ctx: RunCtx, key: str) -> str:
    return ctx.where("parameters.model." + key)


def _pair(ctx: RunCtx, first: str, second: str) -> tuple[KeyPath, KeyPath, KeyPath]:
    """(blamed, first path, second path): the finding goes on whichever of the two the run file sets."""
    a, b = M + tuple(first.split(".")), M + tuple(second.split("."))
    return ctx.blame(a, b), a, b


@rule(
    "moe-experts-ep",
    "num_moe_experts is a multiple of expert_model_parallel_size (each EP rank builds an equal share)",
    since="2.0",
    example="parameters:\n  model:\n    num_moe_experts: 6  #<\n    expert_model_parallel_size: 4",
    fix="parameters:\n  model:\n    num_moe_experts: 8\n    expert_model_parallel_size: 4",
)
def moe_experts_ep(ctx: RunCtx) -> Iterator[Hit]:
    n, ep = _experts(ctx), _ep(ctx)
    if n and ep > 1 and n % ep:
        blamed, a, b = _pair(ctx, "num_moe_experts", "expert_model_parallel_size")
        fix = (f"nearest valid num_moe_experts: {nearest_multiples(n, ep)}" if blamed == a
               else f"valid expert_model_parallel_size ∈ {one_of(divisors(n))}")
        yield Hit(blamed,
                  f"num_moe_experts={n}{ctx.at(a, blamed)} is not divisible by expert_model_parallel_size={ep}"
                  f"{ctx.at(b, blamed)}: Megatron-core's MoELayer asserts when the model is built; {fix}")


@rule(
    "moe-ep-needs-experts",
    "expert_model_parallel_size > 1 needs num_moe_experts",
    since="2.0",
    example="parameters:\n  model:\n    expert_model_parallel_size: 2  #<",
    fix="parameters:\n  model:\n    expert_model_parallel_size: 1",
)
def moe_ep_needs_experts(ctx: RunCtx) -> Iterator[Hit]:
    ep = _ep(ctx)
    if ep > 1 and not _experts(ctx):
        yield Hit(M + ("expert_model_parallel_size",),
                  f"expert_model_parallel_size={ep} without num_moe_experts: Megatron-core's TransformerConfig raises "
                  "\"num_moe_experts must be non None to use expert-parallel\"")


@rule(
    "moe-router-topk",
    "moe_router_topk (NeMo's default 2) is between 1 and num_moe_experts",
    since="2.0",
    example="parameters:\n  model:\n    num_moe_experts: 4\n    moe_router_topk: 6  #<",
    fix="parameters:\n  model:\n    num_moe_experts: 4\n    moe_router_topk: 2",
)
def moe_router_topk(ctx: RunCtx) -> Iterator[Hit]:
    n = _experts(ctx)
    k = ctx.p("model.moe_router_topk", 2)  # NeMo: cfg.get('moe_router_topk', 2)
    if not n or not isinstance(k, int) or isinstance(k, bool):
        return
    if not 1 <= k <= n:
        blamed, a, b = _pair(ctx, "moe_router_topk", "num_moe_experts")
        if ctx.p("model.moe_router_topk") is None:  # NeMo's default 2: only the experts line can change
            blamed = b
        yield Hit(blamed, f"moe_router_topk={k}{ctx.at(a, blamed)} with num_moe_experts={n}{ctx.at(b, blamed)}: the "
                          "router's torch.topk fails at the first forward step (k must be 1 to num_moe_experts)")


@rule(
    "moe-dispatcher-type",
    "moe_token_dispatcher_type is one Megatron-core knows: allgather, alltoall, alltoall_seq, flex",
    since="2.0",
    example="parameters:\n  model:\n    num_moe_experts: 8\n    moe_token_dispatcher_type: all2all  #<",
    fix="parameters:\n  model:\n    num_moe_experts: 8\n    moe_token_dispatcher_type: alltoall",
)
def moe_dispatcher_type(ctx: RunCtx) -> Iterator[Hit]:
    d = ctx.p("model.moe_token_dispatcher_type")
    if _experts(ctx) and d is not None and d not in DISPATCHERS:
        yield Hit(M + ("moe_token_dispatcher_type",),
                  f"moe_token_dispatcher_type={d!r}: Megatron-core's MoELayer raises \"Unsupported token dispatcher "
                  f"type\"; use one of {', '.join(DISPATCHERS)} (alltoall_seq needs the 24.09 image on, flex 25.04 on)")


@rule(
    "moe-capacity-dispatcher",
    "a capacity factor (token dropping) needs moe_token_dispatcher_type alltoall",
    since="2.0",
    before="2.3",  # Megatron-core 0.12 (NeMo 2.3's image) drops every dispatcher with a capacity factor
    example="parameters:\n  model:\n    num_moe_experts: 8\n    moe_expert_capacity_factor: 1.0  #<",
    fix="parameters:\n  model:\n    num_moe_experts: 8\n    moe_expert_capacity_factor: 1.0\n"
        "    moe_token_dispatcher_type: alltoall",
)
def moe_capacity_dispatcher(ctx: RunCtx) -> Iterator[Hit]:
    cf, d = _capacity(ctx), ctx.p("model.moe_token_dispatcher_type", "allgather")  # mcore's default
    if _experts(ctx) and cf is not None and d not in ("alltoall", "alltoall_seq"):
        blamed, a, b = _pair(ctx, "moe_expert_capacity_factor", "moe_token_dispatcher_type")
        yield Hit(blamed,
                  f"moe_expert_capacity_factor={cf}{ctx.at(a, blamed)} with moe_token_dispatcher_type={d!r}"
                  f"{ctx.at(b, blamed)}: Megatron-core's "
                  "TransformerConfig raises \"moe_expert_capacity_factor only works with alltoall token dispatcher\"")


@rule(
    "moe-capacity-balancing",
    "a capacity factor needs moe_router_load_balancing_type aux_loss (the default) or none",
    since="2.0",
    example="parameters:\n  model:\n    num_moe_experts: 8\n    moe_expert_capacity_factor: 1.0\n"
            "    moe_token_dispatcher_type: alltoall\n    moe_router_load_balancing_type: sinkhorn  #<",
    fix="parameters:\n  model:\n    num_moe_experts: 8\n    moe_expert_capacity_factor: 1.0\n"
        "    moe_token_dispatcher_type: alltoall\n    moe_router_load_balancing_type: aux_loss",
)
def moe_capacity_balancing(ctx: RunCtx) -> Iterator[Hit]:
    lb = ctx.p("model.moe_router_load_balancing_type", "aux_loss")
    if _experts(ctx) and _capacity(ctx) is not None and lb not in ("aux_loss", "seq_aux_loss", "none"):
        blamed, a, b = _pair(ctx, "moe_router_load_balancing_type", "moe_expert_capacity_factor")
        yield Hit(blamed,
                  f"moe_router_load_balancing_type={lb!r}{ctx.at(a, blamed)} with moe_expert_capacity_factor"
                  f"{ctx.at(b, blamed)}: Megatron-core's TransformerConfig raises "
                  "\"moe_expert_capacity_factor only works with aux_loss or none load balancing\"")


@rule(
    "moe-pad-capacity",
    "moe_pad_expert_input_to_capacity needs moe_expert_capacity_factor",
    since="2.0",
    example="parameters:\n  model:\n    num_moe_experts: 8\n    moe_pad_expert_input_to_capacity: true  #<",
    fix="parameters:\n  model:\n    num_moe_experts: 8\n    moe_pad_expert_input_to_capacity: false",
)
def moe_pad_capacity(ctx: RunCtx) -> Iterator[Hit]:
    if _experts(ctx) and ctx.p("model.moe_pad_expert_input_to_capacity") is True and _capacity(ctx) is None:
        yield Hit(M + ("moe_pad_expert_input_to_capacity",),
                  "moe_pad_expert_input_to_capacity without moe_expert_capacity_factor: Megatron-core's "
                  "TransformerConfig raises \"moe_expert_capacity_factor must be set to use "
                  "moe_pad_expert_input_to_capacity\"")


@rule(
    "moe-drop-policy",
    "moe_token_drop_policy is probs or position (read when a capacity factor drops tokens)",
    since="2.0",
    example="parameters:\n  model:\n    num_moe_experts: 8\n    moe_expert_capacity_factor: 1.0\n"
            "    moe_token_dispatcher_type: alltoall\n    moe_token_drop_policy: probability  #<",
    fix="parameters:\n  model:\n    num_moe_experts: 8\n    moe_expert_capacity_factor: 1.0\n"
        "    moe_token_dispatcher_type: alltoall\n    moe_token_drop_policy: probs",
)
def moe_drop_policy(ctx: RunCtx) -> Iterator[Hit]:
    p = ctx.p("model.moe_token_drop_policy")
    if _experts(ctx) and _capacity(ctx) is not None and p is not None and p not in DROP_POLICIES:
        yield Hit(M + ("moe_token_drop_policy",),
                  f"moe_token_drop_policy={p!r}: Megatron-core's router raises \"Invalid drop_policy\" at the "
                  "first forward step; use probs or position")


@rule(
    "moe-sinkhorn-aux-loss",
    "sinkhorn load balancing needs moe_aux_loss_coeff 0",
    since="2.0",
    example="parameters:\n  model:\n    num_moe_experts: 8\n    moe_router_load_balancing_type: sinkhorn\n"
            "    moe_aux_loss_coeff: 0.01  #<",
    fix="parameters:\n  model:\n    num_moe_experts: 8\n    moe_router_load_balancing_type: sinkhorn\n"
        "    moe_aux_loss_coeff: 0.0",
)
def moe_sinkhorn_aux_loss(ctx: RunCtx) -> Iterator[Hit]:
    coeff = ctx.p("model.moe_aux_loss_coeff", 0)
    sinkhorn = ctx.p("model.moe_router_load_balancing_type") == "sinkhorn"
    if _experts(ctx) and sinkhorn and isinstance(coeff, (int, float)) and coeff != 0:
        blamed, a, b = _pair(ctx, "moe_aux_loss_coeff", "moe_router_load_balancing_type")
        yield Hit(blamed,
                  f"moe_aux_loss_coeff={coeff}{ctx.at(a, blamed)} with sinkhorn load balancing"
                  f"{ctx.at(b, blamed)}: the router asserts \"Sinkhorn routing does not "
                  "support aux loss\" at the first forward step")


@rule(
    "moe-ep-o2",
    "expert parallelism needs megatron_amp_O2: true",
    since="2.0",
    example="parameters:\n  model:\n    num_moe_experts: 8\n    expert_model_parallel_size: 2  #<\n"
            "    megatron_amp_O2: false",
    fix="parameters:\n  model:\n    num_moe_experts: 8\n    expert_model_parallel_size: 2\n"
        "    megatron_amp_O2: true",
)
def moe_ep_o2(ctx: RunCtx) -> Iterator[Hit]:
    if _ep(ctx) > 1 and ctx.p("model.megatron_amp_O2") is not True:
        blamed, a, b = _pair(ctx, "expert_model_parallel_size", "megatron_amp_O2")
        yield Hit(blamed,
                  f"expert_model_parallel_size={_ep(ctx)}{ctx.at(a, blamed)} with megatron_amp_O2 "
                  f"{ctx.p('model.megatron_amp_O2')!r}{ctx.at(b, blamed)}: MegatronGPTModel raises \"Expert parallelism is only supported "
                  "when using megatron_amp_O2\"")


@rule(
    "moe-ep-optimizer",
    "expert parallelism with a distributed optimizer needs mcore_distributed_optim, not apex's distributed_fused_adam",
    since="2.0",
    example="parameters:\n  model:\n    num_moe_experts: 8\n    expert_model_parallel_size: 2\n    optim:\n"
            "      name: distributed_fused_adam  #<",
    fix="parameters:\n  model:\n    num_moe_experts: 8\n    expert_model_parallel_size: 2\n"
        "    optim:\n      name: mcore_distributed_optim",
)
def moe_ep_optimizer(ctx: RunCtx) -> Iterator[Hit]:
    if _ep(ctx) > 1 and ctx.p("model.optim.name") == "distributed_fused_adam":
        blamed, a, b = _pair(ctx, "optim.name", "expert_model_parallel_size")
        yield Hit(blamed,
                  f"optim.name distributed_fused_adam{ctx.at(a, blamed)} with expert_model_parallel_size={_ep(ctx)}"
                  f"{ctx.at(b, blamed)}: MegatronGPTModel raises \"Expert parallelism is "
                  "currently not supporting Apex distributed optimizer, use Mcore distributed optimizer instead\"")


@rule(
    "expert-parallel-world",
    "the world size is a multiple of TP x expert_model_parallel_size x PP (the expert groups)",
    since="2.1",  # NeMo 2.1's megatron_init.py; 2.0 checks DP % EP instead (expert-parallel-dp)
    example="image: nvcr.io/nvidia/nemo:24.12\nparameters:\n  model:\n    num_moe_experts: 16\n"
            "    expert_model_parallel_size: 16   # 8 GPUs #<",
    fix="image: nvcr.io/nvidia/nemo:24.12\nparameters:\n  model:\n    num_moe_experts: 16\n"
        "    expert_model_parallel_size: 8",
)
def expert_parallel_world(ctx: RunCtx) -> Iterator[Hit]:
    ws, ep = ctx.world_size, _ep(ctx)
    if ws and ep > 1 and ws % (ctx.tp * ep * ctx.pp):
        ep_p = M + ("expert_model_parallel_size",)
        blamed = ctx.blame(ep_p, M + ("tensor_model_parallel_size",), M + ("pipeline_model_parallel_size",))
        ok = [e for e in divisors(ws // (ctx.tp * ctx.pp)) if not ws % (ctx.tp * ctx.pp)]
        yield Hit(blamed,
                  f"world size {ws} is not divisible by TP {ctx.tp} x expert_model_parallel_size {ep}"
                  f"{ctx.at(ep_p, blamed)} x PP {ctx.pp} = {ctx.tp * ep * ctx.pp}"
                  + (f" (valid EP ∈ {one_of(ok)})" if ok else "") + ": NeMo raises \"decoder world_size is not divisible by "
                  "expert_tensor_model_pipeline_parallel size\"")


@rule(
    "heads-divisible-query-groups",
    "num_attention_heads is a multiple of num_query_groups (each group serves the same number of heads)",
    since="1.23",
    example="parameters:\n  model:\n    num_attention_heads: 12\n    num_query_groups: 8  #<",
    fix="parameters:\n  model:\n    num_attention_heads: 12\n    num_query_groups: 4",
)
def heads_divisible_query_groups(ctx: RunCtx) -> Iterator[Hit]:
    a, g = ctx.int_p("model.num_attention_heads"), ctx.int_p("model.num_query_groups")
    if a and g and a % g:
        blamed, x, y = _pair(ctx, "num_query_groups", "num_attention_heads")
        yield Hit(blamed,
                  f"num_attention_heads={a}{ctx.at(y, blamed)} is not divisible by num_query_groups={g}"
                  f"{ctx.at(x, blamed)}: Transformer Engine asserts, Megatron-core's own attention repeats K/V "
                  f"floor(heads / groups) times and fails on the shapes; valid num_query_groups ∈ {one_of(divisors(a))}")
