"""`runrepo render RUN_FILE [--annotate]`: the complete mcli run this file expands to."""

from __future__ import annotations

import sys

from ..errors import EXIT_FINDINGS, EXIT_USAGE
from . import common


def add_parser(sub):
    p = sub.add_parser("render", help="print the expanded mcli run YAML of a run file")
    p.add_argument("path", help="a run file under runs/experiments/ (or a data run under runs/data/)")
    p.add_argument("--annotate", action="store_true", help="show which layer file:line set every value")
    p.add_argument(
        "--engine",
        choices=("fast", "hydra"),
        default="fast",
        help="compose with this tool (default) or with Hydra itself (the reference)",
    )
    common.add_repo_arg(p)
    return p


def run(args) -> int:
    from ..check import expand
    from ..compose import render as r
    from ..compose.datasets import catalog
    from ..compose.resolve import resolve

    source = common.source(args)
    names = common.run_names([args.path], source)
    if names is None:
        return EXIT_USAGE
    resolved, findings = expand(source, names[0])  # the gate stands in front of Hydra too
    if args.engine == "hydra" and resolved is not None:
        from ..compose.oracle import hydra_compose

        try:
            resolved = resolve(hydra_compose(source.runs_dir, names[0]), catalog(source))
        except Exception as e:  # noqa: BLE001 - Hydra's own errors, shown as one line
            print(f"{args.path}: error[hydra] {str(e).splitlines()[0]}", file=sys.stderr)
            return EXIT_FINDINGS
    if resolved is None:
        for f in findings:
            print(f, file=sys.stderr)
        return EXIT_FINDINGS
    from ..rules.secrets import redact  # a credential is never printed, whatever the file says

    sys.stdout.write(r.annotate(resolved, redact) if args.annotate else r.render(resolved, scrub=redact))
    return 0
