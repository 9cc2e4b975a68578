"""`runrepo check [PATHS...] [--all]`: gate, compose, schema and rules; findings with file:line."""

from __future__ import annotations

import sys

from ..errors import EXIT_USAGE
from ..findings import exit_code
from ..report import REPORTERS
from . import common


def add_parser(sub):
    p = sub.add_parser("check", help="validate run files (and every run that uses a changed shared layer)")
    p.add_argument("paths", nargs="*", help="files under runs/ (a shared layer checks its dependent runs)")
    p.add_argument("--all", action="store_true", help="check every run under runs/experiments/")
    p.add_argument(
        "--format",
        choices=sorted(REPORTERS),
        default="text",
        help="text: `file:line:col: severity[rule] message` (default); json: every finding, for scripts; "
        "github: GitHub Actions annotations on the pull request's lines",
    )
    p.add_argument("--strict", action="store_true", help="warnings fail too")
    common.add_repo_arg(p)
    return p


def run(args) -> int:
    source = common.source(args)
    names, strays = None, []
    if not args.all:
        if not args.paths:
            print("runrepo check: give run files or --all", file=sys.stderr)
            return EXIT_USAGE
        names = common.layer_names(args.paths, source)
        if names is None:
            return EXIT_USAGE
        strays = common.stray_paths(args.paths, source)
    from ..check import check

    findings, results = check(source, names, common.policy(source), strays)
    out = REPORTERS[args.format](findings, len(results))
    if args.format == "text":
        from ..report.colour import paint_findings

        out = paint_findings(out, sys.stdout)
    sys.stdout.write(out)
    return exit_code(findings, args.strict)
