"""`runrepo new NAME --cluster C --node N --model M`: write a run file that passes `check` as written.
`runrepo new --data NAME --input ... --tokenizer ...`: write a data run (runs/data/NAME.yaml) the same way."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import EXIT_USAGE
from . import common


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser("new", help="write runs/experiments/NAME.yaml from a cluster, launch profile and model "
                                   "(or, with --data, a data run runs/data/NAME.yaml)")
    p.add_argument("name", nargs="?", help="run name: lowercase letters, digits and '-', at most 56 characters")
    p.add_argument("--cluster", help="an option of runs/cluster/")
    p.add_argument("--node", help="single_node or multi_node (runs/node/)")
    p.add_argument("--model", help="an option of runs/model/, e.g. gpt3_126m")
    p.add_argument("--nodes", type=int, help="node count (default: 1, or what the model's parallelism needs)")
    p.add_argument("--data-prefix", help="dataset prefix, a blend `0.7,/a,0.3,/b`, or `data:NAME` for a data run "
                                         "(default: the bundled runs')")
    p.add_argument("--nemo", help="an option of runs/nemo/ (default: the newest release)")
    d = p.add_argument_group("a data run (--data NAME)")
    d.add_argument("--data", metavar="NAME", help="write the data run runs/data/NAME.yaml instead (training runs "
                                                  "read it as `data: NAME`)")
    d.add_argument("--input", action="append", default=[], metavar="JSONL",
                   help="a jsonl file to tokenise: an absolute path, s3:// or https:// URL (repeat for several)")
    d.add_argument("--tokenizer", help="the training runs' tokenizer: a model option (gpt3_126m), a training run "
                                       "file, or LIBRARY:TYPE (megatron:GPT2BPETokenizer; sentencepiece:MODEL_FILE)")
    d.add_argument("--vocab-file", help="with LIBRARY:TYPE: the vocabulary file")
    d.add_argument("--merge-file", help="with LIBRARY:TYPE: the BPE merges file")
    d.add_argument("--output-prefix", help="where the dataset is published (default: <the first mount of policy "
                                           "persistent_paths>/NAME/NAME)")
    d.add_argument("--json-key", default="text", help="the JSON field holding each document's text (text)")
    d.add_argument("--workers", type=int, default=32, help="NeMo's --workers: tokenising processes (32)")
    common.add_repo_arg(p)
    return p


def _usage(message: str) -> int:
    print(f"runrepo new: error[usage] {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    if args.data:
        return _data(args)
    missing = [f for f, v in (("NAME", args.name), ("--cluster", args.cluster), ("--node", args.node),
                              ("--model", args.model)) if v is None]  # an empty NAME is new_run's to refuse
    if missing:
        return _usage(f"a training run needs {', '.join(missing)} (or --data NAME for a data run)")
    from ..author.new import new_run

    repo = Path(args.repo)
    path, text = new_run(repo, args.name, args.cluster, args.node, args.model, args.nodes, args.data_prefix, args.nemo)
    return _write(args, path, text, f"experiments/{args.name}")


def _data(args: argparse.Namespace) -> int:
    extra = [f for f, v in (("NAME", args.name), ("--node", args.node), ("--model", args.model),
                            ("--nodes", args.nodes), ("--data-prefix", args.data_prefix)) if v is not None]
    if extra:
        return _usage(f"--data NAME writes a data run: {', '.join(extra)} belong to a training run")
    missing = [f for f, v in (("--cluster", args.cluster), ("--input", args.input), ("--tokenizer", args.tokenizer))
               if not v]
    if missing:
        return _usage(f"a data run needs {', '.join(missing)}")
    from ..author.data import DataSpec, new_data_run

    spec = DataSpec(args.data, args.cluster, list(args.input), args.tokenizer, args.output_prefix, args.workers,
                    args.nemo, args.json_key, args.vocab_file, args.merge_file)
    path, text = new_data_run(Path(args.repo), spec)
    return _write(args, path, text, f"data/{args.data}")


def _write(args: argparse.Namespace, path: Path, text: str, name: str) -> int:
    from ..check import check_run
    from ..findings import ERROR

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    source = common.source(args)
    rel = path.relative_to(source.repo_root).as_posix()
    res = check_run(source, name, common.policy(source))
    for f in res.findings:
        print(f, file=sys.stderr)
    errors = sum(f.severity == ERROR for f in res.findings)
    if errors:
        print(
            f"wrote {rel}, but check finds {errors} error(s): fix them before opening a pull request", file=sys.stderr
        )
        return 1
    print(f"wrote {rel}; next: `runrepo render {rel}`, then open a pull request with it")
    return 0
