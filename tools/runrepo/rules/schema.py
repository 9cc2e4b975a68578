"""Schema rules: the expanded run is an mcli run, its parameters a NeMo config of its release."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..validate import schema
from .registry import DATA, TRAINING, WARNING, Hit, rule

if TYPE_CHECKING:
    from .context import RunCtx


@rule(
    "mcli-schema",
    "the expanded run is a modern mcli run: known fields, right types, no retired spellings",
    example="gpu_num: 8  #<",
    fix="compute:\n  nodes: 1   # gpus derived from the cluster",
    kinds=(TRAINING, DATA),
)
def mcli_schema(ctx: RunCtx) -> Iterator[Hit]:
    run = {k: v for k, v in ctx.run.items()}
    run.setdefault("metadata", {})
    for path, message in schema.validate(run, "mcli-run.json"):
        yield Hit(path, message)


@rule(
    "nemo-schema",
    "parameters is a NeMo GPT config of the image's release: trainer and exp_manager keys exist, types fit",
    example="parameters:\n  trainer:\n    max_step: 1000  #<",
    fix="parameters:\n  trainer:\n    max_steps: 1000",
)
def nemo_schema(ctx: RunCtx) -> Iterator[Hit]:
    params = ctx.run.get("parameters")
    name = schema.nemo_schema_name(ctx.release) if ctx.release else None
    if name is None or not isinstance(params, dict):
        return
    for path, message in schema.validate(params, name, ("parameters",)):
        yield Hit(path, message)
    for path, value in schema.int_booleans(params, name):
        yield Hit(("parameters", *path), f"{'.'.join(path)}: {value} is read as {bool(value)} (OmegaConf turns "
                  f"an integer into a boolean for this field); write {str(bool(value)).lower()}", WARNING)


@rule(
    "nemo-unknown-key",
    "a model key NeMo does not know: an error when it is close to a known key (a typo NeMo ignores)",
    example="parameters:\n  model:\n    micro_batch_sizee: 4  #<",
    fix="parameters:\n  model:\n    micro_batch_size: 4",
)
def nemo_unknown_key(ctx: RunCtx) -> Iterator[Hit]:
    params = ctx.run.get("parameters")
    name = schema.nemo_schema_name(ctx.release) if ctx.release else None
    if name is None or not isinstance(params, dict):
        return
    for path, message, typo in schema.open_unknown_keys(params, name):
        yield Hit(path, message, None if typo else WARNING)
