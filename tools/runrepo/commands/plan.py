"""`runrepo plan --base REV [--head REV]`: what merging the range will submit, with diffs and GPU-hours."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import EXIT_USAGE
from . import common
from .status import add_repository_args


def add_parser(sub):
    p = sub.add_parser("plan", help="show what merging a git range will submit (diffs, GPUs, GPU-hours, findings)")
    p.add_argument("--base", required=True, help="base revision, e.g. origin/main (compared at the merge base)")
    p.add_argument("--head", default="HEAD", help="head revision (default HEAD); read from git, not the working tree")
    p.add_argument(
        "--format",
        choices=("markdown", "json", "text"),
        default="text",
        help="text: everything, for a terminal (default); markdown: the pull-request comment, within "
        "GitHub's size limit; json: everything, for scripts",
    )
    p.add_argument("--output", "-o", help="write here instead of standard output")
    p.add_argument("--platform", action=argparse.BooleanOptionalAction, default=None,
                   help="also read the platform (read-only): the live runs merging would stop, or run beside "
                        "(default: when MOSAICML_API_KEY is set); a platform error is one line, never a failed plan")
    add_repository_args(p)
    common.add_repo_arg(p)
    return p


def run(args) -> int:
    from ..plan.plan import plan
    from ..plan.render import FORMATS

    repo = Path(args.repo)
    if not (repo / ".git").exists() and not (repo / "runs").is_dir():
        print(f"{args.repo}: error[usage] not a repository with runs/ (use --repo)", file=sys.stderr)
        return EXIT_USAGE
    result = plan(repo, args.base, args.head)
    _platform(args, repo, result)
    out = FORMATS[args.format](result)
    if args.output and args.output != "-":
        try:
            Path(args.output).write_text(out, encoding="utf-8")
        except OSError as e:
            print(f"{args.output}: error[usage] cannot write: {e.strerror}", file=sys.stderr)
            return EXIT_USAGE
    else:
        sys.stdout.write(out)
    if result.exit_code:
        n = len(result.blocked)
        print(f"runrepo plan: {n} run(s) to submit have errors", file=sys.stderr)
    return result.exit_code


def _platform(args, repo: Path, result) -> None:
    """The live rows (lifecycle.drift): opt-in, read-only, and never a reason for the plan to fail."""
    from ..lifecycle import drift

    wanted = args.platform if args.platform is not None else bool(os.environ.get("MOSAICML_API_KEY"))
    if not wanted or not (drift.relevant(result) or drift.readers(result)):
        result.platform = "" if args.platform is False else drift.unknown(result)
        return
    from .submit import repository

    who = repository(args, repo.resolve())
    if not (who.name or who.id):
        result.platform = drift.unknown(result, "which repository? --repository OWNER/NAME")
        return
    try:
        drift.annotate(result, repo, who)
    except Exception as e:  # noqa: BLE001 (a plan never fails for the platform's sake)
        result.platform = drift.unknown(result, f"{type(e).__name__}: {e}")
