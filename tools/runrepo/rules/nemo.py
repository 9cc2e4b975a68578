"""NeMo model and trainer settings NeMo refuses (or quietly drops) only after the job has its GPUs,
and the places where NeMo and the platform must agree: time limits, resumption, the launcher.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..estimate.budget import max_time_seconds
from ..releases import in_range
from .registry import WARNING, Hit, rule
from .suggest import divisors, nearest_multiples, one_of

if TYPE_CHECKING:
    from ..compose.gate import Json, KeyPath
    from .context import RunCtx

_UNSET = object()
MODEL = ("parameters", "model")
PERSISTENT_DEFAULT = ["/mnt/checkpoints", "s3://", "gs://", "oci://"]
SAVE_MARGIN_S = 600  # NeMo saves its last checkpoint after max_time; a large model needs minutes


def _m(*keys: str) -> KeyPath:
    return MODEL + keys


def _fp16(ctx: RunCtx) -> bool:
    return str(ctx.p("trainer.precision", 32)).lower() in ("16", "16-mixed", "fp16")


@rule(
    "hidden-divisible-heads",
    "hidden_size is a multiple of num_attention_heads when kv_channels is null",
    example="parameters:\n  model:\n    hidden_size: 1000  #<\n    num_attention_heads: 12",
    fix="parameters:\n  model:\n    hidden_size: 1008   # or set kv_channels\n    num_attention_heads: 12",
)
def hidden_divisible_heads(ctx: RunCtx) -> Iterator[Hit]:
    h, a = ctx.int_p("model.hidden_size"), ctx.int_p("model.num_attention_heads")
    if h and a and ctx.p("model.kv_channels") is None and h % a:
        blamed = ctx.blame(_m("hidden_size"), _m("num_attention_heads"))
        fix = (f"nearest valid hidden_size: {nearest_multiples(h, a)}" if blamed == _m("hidden_size") else
               f"valid num_attention_heads ∈ {one_of(d for d in divisors(h) if d >= 2 and h // d >= 32)}")
        yield Hit(
            blamed,
            f"hidden_size={h}{ctx.at(_m('hidden_size'), blamed)} is not divisible by num_attention_heads={a}"
            f"{ctx.at(_m('num_attention_heads'), blamed)} and kv_channels is null: the legacy model asserts, "
            f"Megatron-core silently uses {h // a}-wide heads ({h // a * a} of {h}); {fix}, or set kv_channels",
        )


@rule(
    "recompute-config",
    "activation checkpointing: granularity full (method uniform/block + num_layers) or selective (num_layers null)",
    example="parameters:\n  model:\n    mcore_gpt: true\n"
            "    activations_checkpoint_granularity: selective\n"
            "    activations_checkpoint_num_layers: 1  #<",
    fix="parameters:\n  model:\n    mcore_gpt: true\n    activations_checkpoint_granularity: selective\n"
    "    activations_checkpoint_num_layers: null",
)
def recompute_config(ctx: RunCtx) -> Iterator[Hit]:
    # NeMo's legacy transformer (nemo/collections/nlp/modules/common/megatron/transformer.py, v1.11-v2.x,
    # used unless mcore_gpt; selective raises on num_layers only up to v1.12) tests `if not activations_checkpoint_num_layers` for full/uniform|block and
    # only logs "Setting to 1 by default" without setting it; selective raises only for a truthy
    # num_layers. Megatron-core's TransformerConfig (mcore_gpt) needs recompute_num_layers not None for
    # full and None for selective. With 0, block checkpoints no layer; uniform advances by 0 and loops.
    g = ctx.p("model.activations_checkpoint_granularity")
    method, n = ctx.p("model.activations_checkpoint_method"), ctx.p("model.activations_checkpoint_num_layers")
    mcore = bool(ctx.p("model.mcore_gpt", False))
    where_g = ctx.where(_m("activations_checkpoint_granularity"))
    if g is None:
        return
    if g not in ("full", "selective"):
        yield Hit(_m("activations_checkpoint_granularity"),
                  f"activations_checkpoint_granularity={g!r}: must be 'full', 'selective' or null")
        return
    if method is not None and method not in ("uniform", "block"):
        yield Hit(_m("activations_checkpoint_method"),
                  f"activations_checkpoint_method={method!r}: must be 'uniform', 'block' or null")
    elif g == "full" and method is None:
        yield Hit(_m("activations_checkpoint_method"),
                  f"granularity 'full' ({where_g}) needs "
                  "activations_checkpoint_method 'uniform' or 'block'; null raises when the model is built")
    is_int = isinstance(n, int) and not isinstance(n, bool)
    path = _m("activations_checkpoint_num_layers")
    if g == "full" and not (is_int and n >= 1):
        if is_int and n == 0 and method == "block":
            yield Hit(path, f"granularity 'full' ({where_g}) with method 'block' and activations_checkpoint_num_layers=0: "
                      "NeMo logs 'Setting to 1 by default' but keeps 0, so no layer is checkpointed (full "
                      "activation memory); set a number of layers, or granularity null", WARNING)
        elif is_int and n == 0 and method == "uniform":
            yield Hit(path, f"granularity 'full' ({where_g}) with method 'uniform' and activations_checkpoint_num_layers=0: "
                      "NeMo's uniform loop advances 0 layers at a time and never ends; set it >= 1")
        elif method in ("uniform", "block"):
            yield Hit(path, f"granularity 'full' ({where_g}) needs activations_checkpoint_num_layers >= 1, got {n!r}")
    if g == "selective" and n is not None:
        if mcore:
            yield Hit(path, f"granularity 'selective' ({where_g}) with activations_checkpoint_num_layers={n!r} under "
                      f"mcore_gpt ({ctx.where(_m('mcore_gpt'))}): Megatron-core's TransformerConfig raises; set it to null")
        elif not in_range(ctx.release, before="1.13"):
            return  # v1.13+ legacy selective sets num_layers to the layer count itself (transformer.py)
        elif n:
            yield Hit(path, f"granularity 'selective' ({where_g}) with activations_checkpoint_num_layers={n!r}: NeMo "
                      "raises \"activations_checkpoint_num_layers should be None\"; set it to null")
        else:
            yield Hit(path, f"granularity 'selective' ({where_g}) ignores activations_checkpoint_num_layers={n!r} "
                      "(NeMo reads 0 as unset; Megatron-core would raise): write null", WARNING)


@rule(
    "ub-overlap-sp",
    "ub_tp_comm_overlap needs sequence parallelism with TP > 1 (NeMo silently turns it off)",
    severity=WARNING,
    since="1.13",
    example="parameters:\n  model:\n    ub_tp_comm_overlap: true  #<\n    sequence_parallel: false",
    fix="parameters:\n  model:\n    ub_tp_comm_overlap: false\n    sequence_parallel: false",
)
def ub_overlap_sp(ctx: RunCtx) -> Iterator[Hit]:
    if ctx.p("model.ub_tp_comm_overlap") is True and not (ctx.p("model.sequence_parallel") is True and ctx.tp > 1):
        ub, sp, tp = _m("ub_tp_comm_overlap"), _m("sequence_parallel"), _m("tensor_model_parallel_size")
        blamed = ctx.blame(ub, sp, tp)
        yield Hit(blamed,
                  f"ub_tp_comm_overlap is true{ctx.at(ub, blamed)} but sequence_parallel="
                  f"{ctx.p('model.sequence_parallel')!r}{ctx.at(sp, blamed)} with TP={ctx.tp}{ctx.at(tp, blamed)}: "
                  "NeMo turns the overlap off")


@rule(
    "grad-accum-fusion",
    "gradient_accumulation_fusion takes effect: it needs megatron_amp_O2 (NeMo silently turns it off)",
    severity=WARNING,
    example="parameters:\n  model:\n    gradient_accumulation_fusion: true  #<\n    megatron_amp_O2: false",
    fix="parameters:\n  model:\n    gradient_accumulation_fusion: true\n    megatron_amp_O2: true\n"
    "    optim:\n      name: distributed_fused_adam   # with PP 1 and DP > 1",
)
def grad_accum_fusion(ctx: RunCtx) -> Iterator[Hit]:
    if ctx.p("model.gradient_accumulation_fusion") is not True:
        return
    path = _m("gradient_accumulation_fusion")
    if not ctx.p("model.megatron_amp_O2", False):
        blamed = ctx.blame(path, _m("megatron_amp_O2"))
        yield Hit(blamed, f"gradient_accumulation_fusion is true{ctx.at(path, blamed)} but megatron_amp_O2 is not"
                          f"{ctx.at(_m('megatron_amp_O2'), blamed)}: NeMo turns the fusion off")
    elif ctx.pp == 1 and (ctx.dp or 1) > 1 and "distributed" not in str(ctx.p("model.optim.name", "fused_adam")):
        yield Hit(path, f"gradient_accumulation_fusion with PP 1 and DP {ctx.dp} needs a distributed optimizer, "
                        f"optim.name is {ctx.p('model.optim.name', 'fused_adam')!r} "
                        f"({ctx.where(_m('optim', 'name'))}): NeMo turns the fusion off")


@rule(
    "fp16-o2",
    "fp16 with megatron_amp_O2 needs a distributed optimizer (NeMo: \"fp16 training is not yet supported with O2\")",
    example="parameters:\n  trainer:\n    precision: 16\n  model:\n    megatron_amp_O2: true  #<",
    fix="parameters:\n  trainer:\n    precision: bf16\n  model:\n    megatron_amp_O2: true",
)
def fp16_o2(ctx: RunCtx) -> Iterator[Hit]:
    # configure_optimizers raises in every release from 1.11 to 2.x when O2 wraps a non-distributed
    # optimizer; distributed_fused_adam and (2.0) mcore_distributed_optim keep their own fp32 state.
    name = str(ctx.p("model.optim.name", "fused_adam"))
    if _fp16(ctx) and ctx.p("model.megatron_amp_O2", False) and "distributed" not in name:
        prec = ("parameters", "trainer", "precision")
        blamed = ctx.blame(_m("megatron_amp_O2"), prec)
        yield Hit(
            blamed,
            f"trainer.precision={ctx.p('trainer.precision')!r}{ctx.at(prec, blamed)} with "
            f"megatron_amp_O2{ctx.at(_m('megatron_amp_O2'), blamed)} and optim.name {name!r}: configure_optimizers "
            "raises \"fp16 training is not yet "
            "supported with O2\"; use bf16, megatron_amp_O2: false, or a distributed optimizer",
        )


@rule(
    "fsdp-fp8",
    "torch FSDP and fp8 are not used together",
    since="1.23",  # fsdp arrives in NeMo 1.23's config
    example="parameters:\n  model:\n    fsdp: true\n    fp8: true  #<",
    fix="parameters:\n  model:\n    fsdp: true\n    fp8: false",
)
def fsdp_fp8(ctx: RunCtx) -> Iterator[Hit]:
    if ctx.p("model.fsdp") is True and ctx.p("model.fp8") is True:
        blamed = ctx.blame(_m("fp8"), _m("fsdp"))
        yield Hit(blamed,
                  f"fp8{ctx.at(_m('fp8'), blamed)} with fsdp{ctx.at(_m('fsdp'), blamed)}: NeMo raises "
                  "\"Torch FSDP does not support FP8\"")


@rule(
    "seed-positive",
    "model.seed is a positive integer",
    example="parameters:\n  model:\n    seed: 0  #<",
    fix="parameters:\n  model:\n    seed: 1234",
)
def seed_positive(ctx: RunCtx) -> Iterator[Hit]:
    seed = ctx.p("model.seed", _UNSET)
    if seed is _UNSET:
        return
    if not (isinstance(seed, int) and not isinstance(seed, bool) and seed > 0):
        yield Hit(_m("seed"), f"seed={seed!r}: NeMo raises \"Seed should be a positive integer\"")


@rule(
    "position-embeddings",
    "max_position_embeddings covers encoder_seq_length (learned absolute positions)",
    example="parameters:\n  model:\n    encoder_seq_length: 4096\n    max_position_embeddings: 2048  #<",
    fix="parameters:\n  model:\n    encoder_seq_length: 4096\n    max_position_embeddings: 4096",
)
def position_embeddings(ctx: RunCtx) -> Iterator[Hit]:
    kind = ctx.p("model.position_embedding_type", "learned_absolute")
    seq, mpe = ctx.int_p("model.encoder_seq_length"), ctx.int_p("model.max_position_embeddings")
    if kind == "learned_absolute" and seq and mpe is not None and mpe < seq:
        blamed = ctx.blame(_m("max_position_embeddings"), _m("encoder_seq_length"))
        yield Hit(
            blamed,
            f"max_position_embeddings={mpe}{ctx.at(_m('max_position_embeddings'), blamed)} < encoder_seq_length={seq}"
            f"{ctx.at(_m('encoder_seq_length'), blamed)} "
            "with learned absolute positions: positions past the table index out of range",
        )


@rule(
    "limit-val-batches",
    "trainer.limit_val_batches as a fraction lies in [0.0, 1.0]",
    example="parameters:\n  trainer:\n    limit_val_batches: 50.0  #<",
    fix="parameters:\n  trainer:\n    limit_val_batches: 50   # an integer counts batches",
)
def limit_val_batches(ctx: RunCtx) -> Iterator[Hit]:
    v = ctx.p("trainer.limit_val_batches")
    if isinstance(v, float) and not 0.0 <= v <= 1.0:
        count = f" (write {int(v)} for a number of batches)" if math.isfinite(v) and v > 1 else ""
        yield Hit(("parameters", "trainer", "limit_val_batches"),
                  f"limit_val_batches={v!r} is a float, so a fraction of the validation set: it must lie in "
                  f"[0.0, 1.0]{count}")


def _sexagesimal(n: int) -> str:
    parts = []
    while n:
        n, r = divmod(n, 60)
        parts.append(r)
    return ":".join([str(parts[-1])] + [f"{p:02d}" for p in reversed(parts[:-1])]) if parts else "0"


@rule(
    "max-time-format",
    "trainer.max_time is a quoted \"DD:HH:MM:SS\" string or a mapping (unquoted, YAML reads a base-60 integer)",
    example="scheduling:\n  max_duration: 30\nparameters:\n  trainer:\n    max_time: 1:00:00:00  #<",
    fix="scheduling:\n  max_duration: 30\nparameters:\n  trainer:\n    max_time: \"01:00:00:00\"",
)
def max_time_format(ctx: RunCtx) -> Iterator[Hit]:
    v = ctx.p("trainer.max_time")
    if v is None or max_time_seconds(v) is not None:
        return
    path = ("parameters", "trainer", "max_time")
    if isinstance(v, int) and not isinstance(v, bool) and v > 0:
        yield Hit(path, f"max_time is the integer {v}: YAML read an unquoted {_sexagesimal(v)} as base 60; "
                        f"Lightning's timer cannot use it. Quote it: \"{_sexagesimal(v)}\" (DD:HH:MM:SS)")
    else:
        yield Hit(path, f"max_time={v!r}: Lightning needs \"DD:HH:MM:SS\" or a mapping such as {{days: 1, hours: 2}}")


@rule(
    "max-time-duration",
    "scheduling.max_duration leaves NeMo time to stop at trainer.max_time and save its checkpoint",
    example="scheduling:\n  max_duration: 12\nparameters:\n  trainer:\n    max_time: \"00:23:30:00\"  #<",
    fix="scheduling:\n  max_duration: 24\nparameters:\n  trainer:\n    max_time: \"00:23:30:00\"",
)
def max_time_duration(ctx: RunCtx) -> Iterator[Hit]:
    hours = ctx.get("scheduling.max_duration")
    if isinstance(hours, bool) or not isinstance(hours, (int, float)):
        return
    limit, raw = hours * 3600, ctx.p("trainer.max_time")
    t = max_time_seconds(raw)
    dur, mt = ("scheduling", "max_duration"), ("parameters", "trainer", "max_time")
    if raw is None:
        written = isinstance(ctx.p("trainer"), dict) and "max_time" in ctx.p("trainer")  # an explicit null
        blamed = ctx.blame(mt, dur) if written else dur
        yield Hit(blamed, f"max_duration={hours} h{ctx.at(dur, blamed)} but trainer.max_time is not set"
                          f"{ctx.at(mt, blamed) if written else ''}: the platform stops the run without a final "
                          "checkpoint; set max_time a little shorter", WARNING)
    elif t is not None and t > limit:
        blamed = ctx.blame(mt, dur)
        yield Hit(blamed,
                  f"trainer.max_time {raw} ({t / 3600:g} h){ctx.at(mt, blamed)} is longer than scheduling.max_duration "
                  f"{hours} h{ctx.at(dur, blamed)}: the platform stops the run before NeMo checkpoints and stops")
    elif t is not None and limit - t < SAVE_MARGIN_S:
        blamed = ctx.blame(mt, dur)
        yield Hit(blamed,
                  f"trainer.max_time {raw}{ctx.at(mt, blamed)} leaves {(limit - t) / 60:g} min before max_duration "
                  f"{hours} h{ctx.at(dur, blamed)}: too little for the last checkpoint", WARNING)


def _persistent(path: Json, prefixes: list[str]) -> bool:
    if not isinstance(path, str) or not path:
        return False
    return any(path.startswith(p) if "://" in p else path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/")
               for p in prefixes)


@rule(
    "resume-checkpoint",
    "a run the platform may restart resumes: resume_if_exists and a checkpoint directory on persistent storage",
    example="scheduling:\n  retry_on_system_failure: true\nparameters:\n  exp_manager:\n"
            "    exp_dir: null  #<",
    fix="scheduling:\n  retry_on_system_failure: true\nparameters:\n  exp_manager:\n"
    "    exp_dir: s3://my-bucket/gpt3-126m   # under a prefix of policy persistent_paths",
)
def resume_checkpoint(ctx: RunCtx) -> Iterator[Hit]:
    why = [k for k in ("retry_on_system_failure", "preemptible") if ctx.get(f"scheduling.{k}") is True]
    retries = ctx.get("scheduling.max_retries")
    if isinstance(retries, int) and not isinstance(retries, bool) and retries > 0:
        why.append("max_retries")
    if not why:
        return
    cause = ", ".join(f"scheduling.{k} ({ctx.where(('scheduling', k))})" for k in why)
    em = ("parameters", "exp_manager")
    resume = ctx.p("exp_manager.resume_if_exists")  # OmegaConf turns an int into a bool (1 True, 0 False)
    if not (resume is True or (isinstance(resume, int) and resume != 0)):
        yield Hit(em + ("resume_if_exists",), f"the platform may restart this run ({cause}) but "
                  "exp_manager.resume_if_exists is not true: every restart trains from step 0")
    if ctx.p("exp_manager.create_checkpoint_callback", True) is False:
        yield Hit(em + ("create_checkpoint_callback",), f"restartable run ({cause}) saves no checkpoints")
    configured = ctx.policy.get("persistent_paths")  # null is unset, as for every policy key
    prefixes = PERSISTENT_DEFAULT if configured is None else configured
    key = "explicit_log_dir" if ctx.p("exp_manager.explicit_log_dir") else "exp_dir"
    where = ctx.p(f"exp_manager.{key}")
    if not _persistent(where, prefixes):
        shown = f"{key}={where!r}" if where else "explicit_log_dir and exp_dir unset (./nemo_experiments)"
        pos = (ctx.policy.get("_pos") or {}).get(("persistent_paths",)) if configured is not None else None
        source = f"{ctx.policy.get('_file')}:{pos[0]}" if pos else "runrepo's default; policy persistent_paths"
        yield Hit(em + (key,), f"restartable run ({cause}) writes checkpoints to {shown}, inside the container: "
                  f"a restart finds none. Use a path under {', '.join(prefixes)} ({source})")


@rule(
    "multi-node-launcher",
    "a multi_node run keeps the `parallel` apt package its launcher needs (an `integrations` list replaces, not merges)",
    example="defaults:\n  - /node: multi_node\nintegrations:  #<\n  - integration_type: pip_packages\n"
            "    packages: [wandb]",
    fix="defaults:\n  - /node: multi_node\nintegrations:\n  - integration_type: apt_packages\n"
    "    packages: [parallel]\n  - integration_type: pip_packages\n    packages: [wandb]",
)
def multi_node_launcher(ctx: RunCtx) -> Iterator[Hit]:
    if ctx.choices.get("node") != "multi_node":
        return
    items = ctx.get("integrations")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        pkgs = item.get("packages")
        if item.get("integration_type") == "apt_packages" and isinstance(pkgs, list) and any(
            isinstance(p, str) and p.split("=")[0].strip() == "parallel" for p in pkgs
        ):
            return
    yield Hit(("integrations",), f"the multi_node profile launches ranks with GNU parallel, but integrations "
              f"({ctx.where('integrations')}) has no apt_packages entry with `parallel`: Hydra replaced the "
              "profile's list; repeat that entry in this list")
