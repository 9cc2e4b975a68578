"""`runrepo import LEGACY.yaml [-o PATH]`: a hand-written mcli run YAML -> a run file, with a report.

Exit codes: 0 the run file was written (the report says what needs attention; `check` refuses
the file while a placeholder is left); 1 nothing written (not a NeMo Megatron GPT run);
2 usage (unreadable input, the output exists).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import EXIT_FINDINGS, EXIT_USAGE
from . import common


def add_parser(sub):
    p = sub.add_parser("import", help="turn a hand-written mcli run YAML into a run file on this repository's layers")
    p.add_argument("legacy", help="the mcli run YAML to import")
    p.add_argument("-o", "--output", help="where to write (default: runs/experiments/NAME.yaml; `-` for stdout)")
    common.add_repo_arg(p)
    return p


def run(args) -> int:
    from ..author.legacy import import_legacy, report
    from ..author.runfile import run_path

    legacy, repo = Path(args.legacy), Path(args.repo)
    if not legacy.is_file():
        print(f"{args.legacy}: error[usage] no such file", file=sys.stderr)
        return EXIT_USAGE
    imp = import_legacy(legacy, repo, args.legacy)
    for line in report(imp, args.legacy):
        print(line, file=sys.stderr)
    if not imp.text:
        print(f"{args.legacy}: nothing written", file=sys.stderr)
        return EXIT_FINDINGS
    out = Path(args.output) if args.output and args.output != "-" else run_path(repo.resolve(), imp.name)
    if args.output == "-":
        sys.stdout.write(imp.text)
    else:
        if out.exists():
            print(f"{out}: error[usage] exists already; choose another path with -o", file=sys.stderr)
            return EXIT_USAGE
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(imp.text, encoding="utf-8")
    attention = imp.count("attention")
    where = "standard output" if args.output == "-" else str(out)
    tail = (
        f"; {attention} item(s) need your attention (check refuses the file until they are fixed)" if attention else ""
    )
    print(
        f"wrote {where}: {imp.count('mapped')} mapped, {imp.count('kept')} kept as the source had it, "
        f"{imp.count('dropped')} dropped{tail}",
        file=sys.stderr,
    )
    return 0
