"""A data run (runs/data/NAME.yaml): NeMo's preprocess_data_for_megatron.py over jsonl inputs, as one mcli run.

It composes like a training run (`/nemo`: the image, `/cluster`, `/node: data_prep`), and its
`parameters` is its recipe, not a NeMo training config (the data_prep profile sets `parameters: null`,
which drops the /nemo layer's GPT config before the data run's own file is merged):

    inputs: [s3://bucket/corpus/00.jsonl]   jsonl files: absolute paths, s3:// or https:// URLs (.gz too)
    json_key: text                          NeMo's --json-keys (one key: one dataset); default text
    tokenizer: {library, type, model, vocab_file, merge_file}   the fields of a training run's model.tokenizer
    output_prefix: /mnt/data/corpus/c00     NeMo's --output-prefix, on persistent storage
    append_eod: true                        NeMo's --append-eod; default true
    workers: 32                             NeMo's --workers

NeMo writes OUTPUT_PREFIX_<json_key>_document.bin/.idx; that prefix (`dataset_prefix`) is what training
runs read. The command is written from the recipe by the resolve step (step 5 in resolve.py): fetch the
inputs, run NeMo's script with these arguments (its argparse in preprocess_data_for_megatron.py:
--input, --json-keys, --tokenizer-library, --tokenizer-type, --tokenizer-model, --vocab-file,
--merge-file, --dataset-impl, --append-eod, --output-prefix, --workers; read in an older 1.x and a
recent version of NVIDIA/NeMo's source, the script is not in the wheels), then check the pair and
publish it (datajob.py). The .bin/.idx format checked is the one indexed_dataset.py writes in the
1.13 and 2.0 wheels (MMIDIDX, version 1).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import shlex
from pathlib import Path
from typing import Any

from .layers import RUNS

DATA_DIR = "data"  # runs/data/: data runs
SCRIPT = "scripts/nlp_language_modeling/preprocess_data_for_megatron.py"
TRAINING_SCRIPT = "examples/nlp/language_modeling/megatron_gpt_pretraining.py"  # /nemo's runrepo.pretraining_script
SPEC_KEYS = ("inputs", "json_key", "tokenizer", "output_prefix", "append_eod", "workers")
TOKENIZER_KEYS = ("library", "type", "model", "vocab_file", "merge_file")
# What NeMo's get_nmt_tokenizer reads for each library (tokenizer_utils.py): the fields two tokenizers
# must agree on. Libraries every release's script accepts: 1.x adds yttm, 2.x tabular.
READS = {"megatron": ("type", "vocab_file", "merge_file"), "huggingface": ("type", "vocab_file", "merge_file"),
         "sentencepiece": ("model",)}
WORK = "/tmp/runrepo-data"  # the container's own disk: inputs and NeMo's output before they are checked
JOB = Path(__file__).with_name("datajob.py").read_text(encoding="utf-8")
JOB_END = "RUNREPO_JOB"


def is_data_file(file: str) -> bool:
    """runs/data/NAME.yaml (repository-relative)."""
    return file.startswith(f"{RUNS}/{DATA_DIR}/") and file.endswith(".yaml")


def name_of(file: str) -> str:
    """runs/data/wiki_gpt2.yaml -> wiki_gpt2, the name training runs give as `data: NAME`."""
    return file[len(f"{RUNS}/{DATA_DIR}/"):-len(".yaml")]


def spec(params: Any) -> dict[str, Any]:
    """The recipe with its defaults (json_key text, append_eod true); {} when parameters is no mapping."""
    if not isinstance(params, dict):
        return {}
    return {"json_key": "text", "append_eod": True, **params}


def dataset_prefix(params: Any) -> str | None:
    """What NeMo writes and training runs read: OUTPUT_PREFIX_<json_key>_document; None when not given."""
    s = spec(params)
    out, key = s.get("output_prefix"), s.get("json_key")
    if not isinstance(out, str) or not out or not isinstance(key, str) or not key:
        return None
    return f"{out}_{key}_document"


def tokenizer_of(params: Any) -> dict[str, Any]:
    tok = spec(params).get("tokenizer")
    return tok if isinstance(tok, dict) else {}


def tokenizer_key(tok: Any) -> dict[str, Any]:
    """The fields NeMo reads for this tokenizer's library (all five for a library it does not list)."""
    tok = tok if isinstance(tok, dict) else {}
    library = tok.get("library")
    return {"library": library, **{k: tok.get(k) for k in READS.get(str(library), TOKENIZER_KEYS[1:])}}


def describe(tok: Any) -> str:
    """`megatron GPT2BPETokenizer (vocab_file=..., merge_file=...)`: a tokenizer in one line."""
    key = tokenizer_key(tok)
    named = [str(key.pop("library")), *(str(key.pop(k)) for k in ("type",) if key.get(k) is not None)]
    rest = ", ".join(f"{k}={v}" for k, v in key.items() if v is not None)
    return " ".join(named) + (f" ({rest})" if rest else "")


def dataset_digest(run: dict[str, Any]) -> str:
    """What the dataset is built from: the image and the recipe (workers aside, which only speeds it up).

    Submitted data runs carry it as `runrepo_dataset`: a training run needs a completed run of this
    digest, whatever else (a cluster, the profile) changed in its data run since."""
    params = run.get("parameters") if isinstance(run.get("parameters"), dict) else {}
    body = {"image": run.get("image"), "recipe": {k: v for k, v in spec(params).items() if k != "workers"}}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canon.encode()).hexdigest()


def preprocess_script(pretraining_script: Any) -> str | None:
    """NeMo's preprocessing script in the image: beside the pretraining script the /nemo layer names
    (/workspace/nemo in the 1.x images, /opt/NeMo in 2.x)."""
    if not isinstance(pretraining_script, str) or not pretraining_script.endswith("/" + TRAINING_SCRIPT):
        return None
    return pretraining_script[: -len(TRAINING_SCRIPT)] + SCRIPT


def nemo_args(params: Any, input_file: str, output_prefix: str) -> list[str]:
    """The arguments of NeMo's script for this recipe."""
    s, tok = spec(params), tokenizer_of(params)
    args = [f"--input={input_file}", f"--json-keys={s.get('json_key')}", f"--tokenizer-library={tok.get('library')}"]
    for key, flag in (("type", "--tokenizer-type"), ("model", "--tokenizer-model"), ("vocab_file", "--vocab-file"),
                      ("merge_file", "--merge-file")):
        if tok.get(key) is not None:
            args.append(f"{flag}={tok[key]}")
    args.append("--dataset-impl=mmap")
    if s.get("append_eod") is True:
        args.append("--append-eod")
    args += [f"--output-prefix={output_prefix}", f"--workers={s.get('workers')}"]
    return args


def command(params: Any, tool: dict[str, Any]) -> str:
    """The data run's command: fetch, NeMo's script, check and publish. Written for any recipe (the
    rules refuse a bad one before anything is sent), so `render` always shows what would run."""
    s = spec(params)
    inputs = [str(i) for i in s.get("inputs") or []] if isinstance(s.get("inputs"), list) else []
    dest = dataset_prefix(params) or ""
    stem = posixpath.basename(str(s.get("output_prefix") or "dataset")) or "dataset"
    script = preprocess_script(tool.get("pretraining_script")) or f"{tool.get('pretraining_script')}/../{SCRIPT}"
    local = f"{WORK}/out/{stem}"
    produced = f"{local}_{s.get('json_key')}_document"
    q = shlex.quote
    return "\n".join([
        "set -eu",
        f"# runrepo data run: NeMo's preprocess_data_for_megatron.py over {len(inputs)} input(s); the checked "
        f".bin/.idx pair is published at {dest}",
        f"rm -rf {WORK} && mkdir -p {WORK}/out",
        f"cat > {WORK}/job.py <<'{JOB_END}'",
        JOB.rstrip("\n"),
        JOB_END,
        f"python3 {WORK}/job.py fetch {WORK}/input.jsonl " + " ".join(q(i) for i in inputs),
        "python3 " + " ".join(q(a) for a in [script, *nemo_args(params, f"{WORK}/input.jsonl", local)]),
        f'python3 {WORK}/job.py publish {q(produced)} {q(dest)} "runrepo-${{RUN_NAME:-local}}"',
    ])
