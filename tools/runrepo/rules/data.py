"""The data section: dataset prefixes, splits, tokenizer files and sequence length, as NeMo's
dataset builders read them once the job already holds its GPUs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..releases import in_range
from .registry import ERROR, WARNING, Hit, rule

if TYPE_CHECKING:
    from ..compose.gate import Json, KeyPath
    from .context import RunCtx

DATA = ("parameters", "model", "data")
SPLITS = ("train", "validation", "test")


def _num(x: Json) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _prefix_problems(value: Json, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    """(path, message) for one data_prefix form: a path string or a [weight, path, ...] list."""
    if isinstance(value, str):
        if not value.strip():
            yield path, "data_prefix is an empty string"
        elif value.endswith((".bin", ".idx")):
            yield path, f"{value!r} ends in {value[-4:]}: give the prefix, NeMo appends .bin and .idx itself"
        return
    if not isinstance(value, list) or not value:
        yield path, f"data_prefix must be a path, a [weight, path, ...] list or a train/validation/test mapping; got {value!r}"
        return
    if len(value) == 1:
        yield from _prefix_problems(value[0], path + (0,)) if isinstance(value[0], str) else [
            (path + (0,), f"a one-item data_prefix must be a path, got {value[0]!r}")]
        return
    if len(value) % 2:
        hint = " (separate train/validation/test sets take the mapping form)" if len(value) == 3 else ""
        yield path, f"data_prefix has {len(value)} items: a blend is [weight, path, weight, path, ...]{hint}"
        return
    weights = value[0::2]
    for i, item in enumerate(value):
        if i % 2 == 0 and not _num(item):
            yield path + (i,), f"data_prefix item {i} must be a weight (a number), got {item!r}"
        elif i % 2 == 0 and not (math.isfinite(item) and item >= 0):
            yield path + (i,), f"data_prefix weight {item} must be a finite number >= 0"
        elif i % 2 == 1:
            yield from _prefix_problems(item, path + (i,)) if isinstance(item, str) else [
                (path + (i,), f"data_prefix item {i} must be a path, got {item!r}")]
    if all(_num(w) for w in weights) and sum(weights) <= 0:
        yield path, f"data_prefix weights {weights} sum to {sum(weights)}: NeMo normalises by the sum"


@rule(
    "data-prefix",
    "data_prefix is a path, an even [weight, path, ...] list with a positive weight sum, or (1.13+) "
    "a train/validation/test mapping",
    example="parameters:\n  model:\n    data:\n"
            "      data_prefix: [/mnt/data/train_text_document, /mnt/data/val_text_document, /mnt/data/test_text_document]  #<",
    fix="parameters:\n  model:\n    data:\n      data_prefix:\n        train: [1.0, /mnt/data/train_text_document]\n"
    "        validation: [/mnt/data/val_text_document]\n        test: [/mnt/data/test_text_document]",
)
def data_prefix(ctx: RunCtx) -> Iterator[Hit]:
    path = DATA + ("data_prefix",)
    value = ctx.p("model.data.data_prefix")
    if value == "???":
        return  # the placeholder rule reports it
    if value is None:
        if not ctx.p("model.data.mock_dataset", False):
            yield Hit(path, "data_prefix is null and mock_dataset is not true: there is no training data")
        return
    if not isinstance(value, dict):
        for p, message in _prefix_problems(value, path):
            yield Hit(p, message)
        return
    if not in_range(ctx.release, "1.13"):
        yield Hit(path, f"a train/validation/test mapping needs NeMo 1.13 or later; this image is NeMo {ctx.release}")
        return
    for key in value:
        if key not in SPLITS:
            yield Hit(path + (key,), f"data_prefix key {key!r} is not one of {', '.join(SPLITS)} (NeMo ignores it)")
    for key in SPLITS:
        if key not in value:
            yield Hit(path, f"the data_prefix mapping has no {key!r}: NeMo's dataset builder needs all of "
                            f"{', '.join(SPLITS)}")
        else:
            for p, message in _prefix_problems(value[key], path + (key,)):
                yield Hit(p, message)


@rule(
    "splits-string",
    "splits_string is three non-negative numbers (train, validation, test), none of them zero",
    example="parameters:\n  model:\n    data:\n      splits_string: 98,2,0  #<",
    fix="parameters:\n  model:\n    data:\n      splits_string: 980,19,1",
)
def splits_string(ctx: RunCtx) -> Iterator[Hit]:
    if isinstance(ctx.p("model.data.data_prefix"), dict):
        return  # separate datasets per split: splits_string is not read
    path = DATA + ("splits_string",)
    raw = ctx.p("model.data.splits_string", "900,50,50")
    if raw is None:
        yield Hit(path, "splits_string is null: a single blended dataset needs train,validation,test proportions")
        return
    parts = [p.strip() for p in re.split(r"[,/]", str(raw))]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        yield Hit(path, f"splits_string {raw!r} must be numbers separated by ',' or '/', e.g. 900,50,50")
        return
    if len(values) != 3:
        yield Hit(path, f"splits_string {raw!r} has {len(values)} number(s): give train,validation,test "
                        "(missing ones become 0)")
    elif not all(math.isfinite(v) and v >= 0 for v in values) or sum(values) <= 0:
        yield Hit(path, f"splits_string {raw!r}: proportions must be non-negative with a positive sum")
    elif 0 in values:
        names = ", ".join(n for n, v in zip(SPLITS, values, strict=True) if v == 0)
        yield Hit(path, f"splits_string {raw!r} gives {names} no documents: NeMo still builds that split's "
                        "dataset and loader and fails (NeMo #9385); give every split a share")


@rule(
    "tokenizer-files",
    "tokenizer files are given: with null vocab/merge files NeMo downloads GPT-2's, which fails offline",
    severity="warning",
    example="parameters:\n  model:\n    tokenizer:\n      vocab_file: null  #<",
    fix="parameters:\n  model:\n    tokenizer:\n      vocab_file: /mnt/data/bpe/gpt2-vocab.json",
)
def tokenizer_files(ctx: RunCtx) -> Iterator[Hit]:
    tok = ctx.p("model.tokenizer")
    if not isinstance(tok, dict):
        return
    path = ("parameters", "model", "tokenizer")
    library = tok.get("library", "megatron")
    if library == "megatron" and str(tok.get("type", "GPT2BPETokenizer")).endswith("BPETokenizer"):
        for key in ("vocab_file", "merge_file"):
            if tok.get(key) is None:
                yield Hit(path + (key,), f"tokenizer.{key} is null: NeMo downloads the {tok.get('type')} files at "
                                         "start, which fails without internet access; point it at a mounted copy")
    elif library == "sentencepiece" and not tok.get("model"):
        yield Hit(path + ("model",), "a sentencepiece tokenizer needs tokenizer.model (the .model file)", ERROR)


@rule(
    "data-seq-length",
    "model.data.seq_length equals model.encoder_seq_length",
    example="parameters:\n  model:\n    encoder_seq_length: 2048\n    data:\n      seq_length: 4096  #<",
    fix="parameters:\n  model:\n    encoder_seq_length: 2048\n    data:\n      seq_length: ${model.encoder_seq_length}",
)
def data_seq_length(ctx: RunCtx) -> Iterator[Hit]:
    # NeMo sizes pipeline p2p buffers (fwd_bwd_function(seq_length=cfg.encoder_seq_length)) and userbuffers
    # by encoder_seq_length (megatron_gpt_model.py); with PP 1 and no overlap, shorter samples train as they are.
    seq, data_seq = ctx.p("model.encoder_seq_length"), ctx.p("model.data.seq_length")
    if data_seq is not None and seq is not None and data_seq != seq:
        strict = ctx.pp > 1 or ctx.p("model.ub_tp_comm_overlap") is True
        yield Hit(DATA + ("seq_length",),
                  f"data.seq_length={data_seq!r} but encoder_seq_length={seq!r} "
                  f"({ctx.where('parameters.model.encoder_seq_length')}): "
                  + ("NeMo sizes pipeline and overlap buffers by encoder_seq_length, so samples would not fit; "
                     if strict else f"NeMo trains on {data_seq}-token samples; ")
                  + "interpolate ${model.encoder_seq_length}", None if strict else WARNING)
