"""`runrepo new --data NAME`: a data run file (runs/data/NAME.yaml) from its inputs and tokenizer.

The tokenizer is given the way the training runs that will read the data have it, so that the two
agree by construction (the dataset-tokenizer rule checks it again later):
  --tokenizer gpt3_126m                       a model option: what a training run on it composes
  --tokenizer runs/experiments/x.yaml         a training run file: its tokenizer
  --tokenizer megatron:GPT2BPETokenizer       library:type (--vocab-file, --merge-file for BPE)
  --tokenizer sentencepiece:/mnt/tok.model    library:model file, for sentencepiece
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compose import dataprep
from ..compose.layers import RUNS, TreeSource
from ..errors import RunrepoError
from . import runfile as rf
from .new import _WithRun

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
WORKERS = 32  # NeMo's GPT guide runs the script with 32


@dataclass
class DataSpec:
    name: str
    cluster: str
    inputs: list[str]
    tokenizer: str
    output_prefix: str | None = None
    workers: int = WORKERS
    nemo: str | None = None
    json_key: str = "text"
    vocab_file: str | None = None
    merge_file: str | None = None
    note: list[str] = field(default_factory=list)


def _usage(message: str) -> RunrepoError:
    return RunrepoError("usage", message)


def tokenizer(source: TreeSource, value: str, nemo: str, cluster: str, vocab: str | None,
              merges: str | None) -> tuple[dict[str, Any], str]:
    """(the tokenizer fields, where they came from) for --tokenizer VALUE."""
    from ..check import expand

    if ":" in value and not value.endswith(".yaml"):
        library, _, what = value.partition(":")
        if library not in ("megatron", "sentencepiece", "huggingface") or not what:
            raise _usage(f"--tokenizer {value!r}: LIBRARY:TYPE with library megatron, sentencepiece or huggingface "
                         "(sentencepiece:MODEL_FILE), a model option, or a training run file")
        tok: dict[str, Any] = {"library": library}
        tok["model" if library == "sentencepiece" else "type"] = what
        tok.update({k: v for k, v in (("vocab_file", vocab), ("merge_file", merges)) if v})
        return tok, f"--tokenizer {value}"
    if value.endswith(".yaml"):
        name = Path(value).as_posix().split(f"{RUNS}/", 1)[-1].removesuffix(".yaml")
        where = f"{RUNS}/{name}.yaml"
        run_source = source
    else:
        rf.check_choice(source, "model", value, "--tokenizer")
        name = "experiments/_runrepo_tokenizer_of"
        text = rf.text(rf.RunSpec(name="t", nemo=nemo, cluster=cluster, node="single_node", model=value, nodes=1,
                                  comment=[]))
        run_source, where = _WithRun(source, name, text), f"model {value} on /nemo: {nemo}"
    resolved, findings = expand(run_source, name)
    found = ((resolved.run.get("parameters") or {}).get("model") or {}).get("tokenizer") if resolved else None
    if not isinstance(found, dict):
        why = f": {findings[0]}" if findings else ""
        raise _usage(f"--tokenizer {value}: no tokenizer composes there{why}")
    return {k: found[k] for k in dataprep.TOKENIZER_KEYS if found.get(k) is not None}, where


def default_output(source: TreeSource, name: str) -> str:
    """<the first filesystem path of policy persistent_paths>/<name>/<name>."""
    from ..validate import policy as pol

    mounts = [p.rstrip("/") for p in pol.load(source).get("persistent_paths") or [] if "://" not in p]
    if not mounts:
        raise _usage("--output-prefix is needed: runs/policy.yaml lists no filesystem path under persistent_paths")
    return f"{mounts[0]}/{name}/{name}"


def new_data_run(repo: Path, spec: DataSpec) -> tuple[Path, str]:
    """(path, text) of runs/data/NAME.yaml; RunrepoError('usage') for a bad choice or an existing file."""
    if not NAME_RE.match(spec.name) or len(spec.name) > 50:
        raise _usage(f"data run name {spec.name!r}: lowercase letters, digits, '_' and '-', at most 50")
    source = TreeSource(repo)
    if not source.runs_dir.is_dir():
        raise _usage(f"{repo}: no runs/ folder here (use --repo)")
    rf.check_choice(source, "cluster", spec.cluster, "--cluster")
    nemo = spec.nemo or rf.nemo_options(source)[-1]
    rf.check_choice(source, "nemo", nemo, "--nemo")
    if not spec.inputs:
        raise _usage("--input is needed: the jsonl files to tokenise (repeat it for several)")
    if spec.workers < 1:
        raise _usage("--workers must be at least 1")
    path = repo / RUNS / dataprep.DATA_DIR / f"{spec.name}.yaml"
    if path.exists():
        raise _usage(f"{path.relative_to(source.repo_root)} exists already; choose another name")
    tok, where = tokenizer(source, spec.tokenizer, nemo, spec.cluster, spec.vocab_file, spec.merge_file)
    out = spec.output_prefix or default_output(source, spec.name)
    recipe: dict[str, Any] = {"inputs": list(spec.inputs)}
    if spec.json_key != "text":
        recipe["json_key"] = spec.json_key
    recipe.update({"tokenizer": tok, "output_prefix": out, "workers": spec.workers})
    lines = ["# @package _global_",
             f"# {len(spec.inputs)} jsonl input(s) tokenised by NeMo's preprocess_data_for_megatron.py into "
             f"{out}_{spec.json_key}_document.bin/.idx",
             f"# (tokenizer of {where}; written by `runrepo new --data`). Training runs read it as "
             f"`data_prefix: [1.0, data: {spec.name}]`.",
             "defaults:", f"  - /nemo: {nemo}", f"  - /cluster: {spec.cluster}", "  - /node: data_prep", "  - _self_"]
    body = {"name": rf.sanitize("data-" + spec.name), "parameters": recipe}
    return path, "\n".join(lines) + "\n" + rf.dump(body)
