"""Data runs (runs/data/, compose/dataprep.py): a recipe NeMo's preprocess_data_for_megatron.py can run,
and an output that training runs can read after the run is gone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..compose import dataprep
from ..compose.datalinks import DATA, EXTERNAL
from .context import RunCtx
from .nemo import PERSISTENT_DEFAULT, _persistent
from .registry import WARNING, Hit, rule

RECIPE = ("parameters",)
SOURCES = ("/", "s3://", "https://")
SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz")
LIBRARIES = ("megatron", "sentencepiece", "huggingface")  # what the script accepts in every release (1.x adds yttm)
PROFILE = "data_prep"

_RUN = ("# @package _global_\ndefaults:\n  - /nemo: v1_13\n  - /cluster: r7z2\n  - /node: data_prep\n  - _self_\n"
        "name: data-t\nparameters:\n")
_TOK = ("  tokenizer:\n    library: megatron\n    type: GPT2BPETokenizer\n"
        "    vocab_file: /mnt/data/bpe/gpt2-vocab.json\n    merge_file: /mnt/data/bpe/gpt2-merges.txt\n")
_OUT = "  output_prefix: /mnt/data/t/t\n  workers: 8\n"
_IN = "  inputs: [s3://my-bucket/t/00.jsonl]\n"


def _recipe(ctx: RunCtx) -> dict[str, Any]:
    return dataprep.spec(ctx.run.get("parameters"))


@rule(
    "data-inputs",
    "a data run's inputs are jsonl files (.json/.jsonl, optionally .gz): absolute paths, s3:// or https:// URLs",
    example=_RUN + "  inputs: [gs://my-bucket/t/00.jsonl]  #<\n" + _TOK + _OUT,
    fix=_RUN + _IN + _TOK + _OUT,
)
def data_inputs(ctx: RunCtx) -> Iterator[Hit]:
    inputs, path = _recipe(ctx).get("inputs"), RECIPE + ("inputs",)
    if not isinstance(inputs, list) or not inputs:
        yield Hit(path, f"inputs must list the jsonl files to tokenise, got {inputs!r}")
        return
    seen: set[str] = set()
    for i, item in enumerate(inputs):
        if not isinstance(item, str) or not item.startswith(SOURCES):
            yield Hit(path + (i,), f"input {item!r} is not an absolute path (a mount), an s3:// or an https:// URL: "
                      "the data run fetches only those (boto3 for s3://, with the platform's s3 secret)")
        elif item.startswith("s3://") and "/" not in item[len("s3://"):].strip("/"):
            yield Hit(path + (i,), f"input {item!r} names a bucket, not an object: give each jsonl file")
        elif not item.endswith(SUFFIXES):
            yield Hit(path + (i,), f"input {item!r} is not a .jsonl or .json file (optionally .gz): NeMo's script "
                      "reads one JSON document per line")
        elif item in seen:
            yield Hit(path + (i,), f"input {item!r} is listed twice: its documents would be trained on twice")
        if isinstance(item, str):
            seen.add(item)


@rule(
    "data-tokenizer",
    "a data run's tokenizer is one NeMo's script builds: library megatron, sentencepiece or huggingface, and a "
    "type or model (BPE with its vocab and merge files)",
    example=_RUN + _IN + "  tokenizer:\n    library: megatron  #<\n" + _OUT,
    fix=_RUN + _IN + _TOK + _OUT,
)
def data_tokenizer(ctx: RunCtx) -> Iterator[Hit]:
    tok, path = _recipe(ctx).get("tokenizer"), RECIPE + ("tokenizer",)
    if not isinstance(tok, dict):
        yield Hit(path, "tokenizer must be a mapping of library, type, model, vocab_file, merge_file: the fields of a "
                        "training run's model.tokenizer")
        return
    for key in tok:
        if key not in dataprep.TOKENIZER_KEYS:
            yield Hit(path + (key,), f"tokenizer.{key} is not a tokenizer field NeMo's script reads "
                                     f"({', '.join(dataprep.TOKENIZER_KEYS)})")
    library = tok.get("library")
    if library not in LIBRARIES:
        yield Hit(path + ("library",), f"tokenizer.library {library!r}: NeMo's script accepts {', '.join(LIBRARIES)} "
                                       "in every release")
        return
    if tok.get("type") is None and tok.get("model") is None:
        yield Hit(path + ("library",), "tokenizer needs a type or a model: NeMo's script asserts one of them")
    elif library == "sentencepiece" and not tok.get("model"):
        yield Hit(path + ("model",), "a sentencepiece tokenizer needs tokenizer.model (the .model file)")
    elif library == "megatron" and str(tok.get("type")).endswith("BPETokenizer"):
        for key in ("vocab_file", "merge_file"):
            if tok.get(key) is None:
                yield Hit(path + (key,), f"tokenizer.{key} is null: NeMo downloads the {tok.get('type')} files at start, "
                                         "which fails without internet access; point it at a mounted copy", WARNING)


@rule(
    "data-output",
    "a data run's output_prefix is a new path on persistent storage (policy persistent_paths) that no other data "
    "run or runs/datasets.yaml claims",
    example=_RUN + _IN + _TOK + "  output_prefix: /tmp/t/t  #<\n  workers: 8\n",
    fix=_RUN + _IN + _TOK + _OUT,
)
def data_output(ctx: RunCtx) -> Iterator[Hit]:
    out, path = _recipe(ctx).get("output_prefix"), RECIPE + ("output_prefix",)
    if not isinstance(out, str) or not out.strip():
        yield Hit(path, "output_prefix is required: NeMo's --output-prefix, where the dataset is published")
        return
    configured = ctx.policy.get("persistent_paths")  # null is unset, as for every policy key
    prefixes = PERSISTENT_DEFAULT if configured is None else configured
    if "://" in out:
        yield Hit(path, f"output_prefix {out!r} is object storage: NeMo's GPT dataset reads the .bin/.idx pair with "
                        "np.memmap from a filesystem path, so publish it on a persistent mount the training nodes share")
    elif not out.startswith("/"):
        yield Hit(path, f"output_prefix {out!r} must be an absolute path (training runs read it from another container)")
    elif out.endswith((".bin", ".idx", "_document")):
        yield Hit(path, f"output_prefix {out!r}: give the prefix alone; NeMo appends _<json_key>_document.bin/.idx")
    elif not _persistent(out, [p for p in prefixes if "://" not in p]):
        mounts = [p for p in prefixes if "://" not in p]
        yield Hit(path, f"output_prefix {out!r} is not under a persistent path of runs/policy.yaml (persistent_paths "
                        f"mounts: {', '.join(mounts) or 'none'}): the container's disk is gone when the data run ends")
    for use in (ctx.resolved.links.uses if ctx.resolved.links else []):
        if use.kind == DATA:
            yield Hit(path, f"data run {use.name} ({use.file}) writes the same dataset {use.prefix}: each prefix has "
                            "one writer (a published dataset is never overwritten)")
        elif use.kind == EXTERNAL:
            yield Hit(path, f"{use.prefix} is also declared external in {use.file}:{use.line}: a dataset is built here "
                            "or outside, not both")


@rule(
    "data-run",
    "a data run is its recipe on the data_prep profile: known recipe keys, workers a positive integer, and the "
    "command runrepo writes",
    example=_RUN + _IN + _TOK + "  output_prefix: /mnt/data/t/t\n  workers: 0  #<\n",
    fix=_RUN + _IN + _TOK + _OUT,
)
def data_run(ctx: RunCtx) -> Iterator[Hit]:
    params = ctx.run.get("parameters")
    if not isinstance(params, dict):
        yield Hit(RECIPE, "a data run's parameters is its recipe: inputs, tokenizer, output_prefix, workers")
        return
    if ctx.choices.get("node") != PROFILE:
        yield Hit(RECIPE, f"a data run uses `/node: {PROFILE}` (it drops /nemo's training config and writes the "
                          f"command); this one uses {ctx.choices.get('node')!r}")
    for key in params:
        if key not in dataprep.SPEC_KEYS:
            yield Hit(RECIPE + (key,), f"parameters.{key} is not part of a data run's recipe "
                                       f"({', '.join(dataprep.SPEC_KEYS)})")
    s = dataprep.spec(params)
    workers, key, eod = s.get("workers"), s.get("json_key"), s.get("append_eod")
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        yield Hit(RECIPE + ("workers",), f"workers (NeMo's --workers, tokenising processes) must be an integer >= 1, "
                                         f"got {workers!r}")
    if not isinstance(key, str) or not key or not key.isidentifier():
        yield Hit(RECIPE + ("json_key",), f"json_key is the JSON field holding each document's text, got {key!r}")
    if not isinstance(eod, bool):
        yield Hit(RECIPE + ("append_eod",), f"append_eod is true or false, got {eod!r}")
    if ("command",) not in ctx.resolved.derived:
        yield Hit(("command",), "a data run's command is written by runrepo from its recipe (fetch, NeMo's script, "
                                "check and publish): leave `command` unset")
    if dataprep.preprocess_script(ctx.get("runrepo.pretraining_script")) is None:
        yield Hit(("image",), "the /nemo layer names no pretraining_script beside which NeMo's "
                              f"{dataprep.SCRIPT} is found")
