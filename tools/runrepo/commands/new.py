"""`runrepo new NAME --cluster C --node N --model M`: write a run file that passes `check` as written."""

from __future__ import annotations

import sys
from pathlib import Path

from . import common


def add_parser(sub):
    p = sub.add_parser("new", help="write runs/experiments/NAME.yaml from a cluster, launch profile and model")
    p.add_argument("name", help="run name: lowercase letters, digits and '-', at most 56 characters")
    p.add_argument("--cluster", required=True, help="an option of runs/cluster/")
    p.add_argument("--node", required=True, help="single_node or multi_node (runs/node/)")
    p.add_argument("--model", required=True, help="an option of runs/model/, e.g. gpt3_126m")
    p.add_argument("--nodes", type=int, help="node count (default: 1, or what the model's parallelism needs)")
    p.add_argument("--data-prefix", help="dataset prefix, or a blend `0.7,/a,0.3,/b` (default: the bundled runs')")
    p.add_argument("--nemo", help="an option of runs/nemo/ (default: the newest release)")
    common.add_repo_arg(p)
    return p


def run(args) -> int:
    from ..author.new import new_run
    from ..check import check_run
    from ..findings import ERROR

    repo = Path(args.repo)
    path, text = new_run(repo, args.name, args.cluster, args.node, args.model, args.nodes, args.data_prefix, args.nemo)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    source = common.source(args)
    rel = path.relative_to(source.repo_root).as_posix()
    res = check_run(source, f"experiments/{args.name}", common.policy(source))
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
