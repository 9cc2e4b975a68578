"""What training runs read: datasets this repository knows (a data run's output, or runs/datasets.yaml),
tokenised with the tokenizer the run trains with. The resolve step linked each data_prefix entry
(compose/datasets.py); these rules judge the links."""

from __future__ import annotations

from collections.abc import Iterator

from ..compose import dataprep
from ..compose.datalinks import UNKNOWN
from ..validate import policy as policy_file
from .context import RunCtx
from .registry import ERROR, Hit, rule

TOKENIZER = ("parameters", "model", "tokenizer")
POLICY_KEY = "require_known_datasets"


@rule(
    "dataset-unknown",
    "every data_prefix path is a data run's output or declared in runs/datasets.yaml (a warning; an error under "
    "policy require_known_datasets)",
    severity="warning",
    example="parameters:\n  model:\n    data:\n      data_prefix: [1.0, /mnt/data/pile/pile_01_text_document]  #<",
    fix="parameters:\n  model:\n    data:\n      data_prefix: [1.0, /mnt/data/pile/pile_00_text_document]",
)
def dataset_unknown(ctx: RunCtx) -> Iterator[Hit]:
    strict = ctx.policy.get(POLICY_KEY) is True
    for use in (ctx.resolved.links.uses if ctx.resolved.links else []):
        if use.kind != UNKNOWN:
            continue
        why = (f" ({policy_file.where(ctx.policy, POLICY_KEY)}: {POLICY_KEY}: true)" if strict else "")
        yield Hit(use.path, f"{use.prefix} is neither written by a data run (runs/data/) nor declared in "
                            "runs/datasets.yaml: nothing says it exists or which tokenizer built it; name a data run "
                            f"(`data: NAME`) or declare it under `external:`{why}", ERROR if strict else None)


@rule(
    "dataset-tokenizer",
    "a training run trains with the tokenizer its datasets were built with (a data run's, or one runs/datasets.yaml "
    "declares)",
    example="parameters:\n  model:\n    tokenizer:\n      merge_file: /mnt/data/bpe/other-merges.txt  #<\n"
            "    data:\n      data_prefix: [1.0, data: wiki_gpt2]",
    fix="parameters:\n  model:\n    data:\n      data_prefix: [1.0, data: wiki_gpt2]",
)
def dataset_tokenizer(ctx: RunCtx) -> Iterator[Hit]:
    tok = ctx.p("model.tokenizer")
    mine = dataprep.tokenizer_key(tok)
    for use in (ctx.resolved.links.uses if ctx.resolved.links else []):
        if use.tokenizer is None:
            continue
        theirs = dataprep.tokenizer_key(use.tokenizer)
        differ = [k for k in dict.fromkeys([*theirs, *mine]) if theirs.get(k) != mine.get(k)]
        if not differ:
            continue
        blamed = ctx.blame(*(TOKENIZER + (k,) for k in differ), use.path)
        owner = f"data run {use.name} ({use.file})" if use.name else f"{use.prefix} ({use.file}:{use.line})"
        yield Hit(blamed, f"tokenizer {dataprep.describe(tok)} differs from the one {owner} was tokenised with: "
                          f"{dataprep.describe(use.tokenizer)} (differing: {', '.join(differ)}): its token ids would "
                          "not mean what this model learns")


@rule(
    "datasets-file",
    "runs/datasets.yaml is a readable list of external datasets (see README: Data runs)",
)
def datasets_file(ctx: RunCtx) -> Iterator[Hit]:
    problem = ctx.resolved.links.problem if ctx.resolved.links else None
    if problem is not None:
        yield Hit((), problem.message, at=(problem.file, problem.line, problem.col))
