"""`runrepo submit --base REV|auto`: create on the platform, exactly once, the runs a merged range asks for.

Run files added, modified or renamed with changes in base..head are composed at head, checked, and
created with mcli unless a run with the same identity (repository, path, digest) is already there.
A run that fails `check` is never submitted; the other runs still are (the merge has happened:
holding them back would lose them) and the exit code is 1. The algorithm: tools/runrepo/submit/.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

from ..errors import EXIT_USAGE
from . import common


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def add_parser(sub):
    p = sub.add_parser("submit", help="submit the runs a merged git range added or changed (exactly once)")
    p.add_argument("--base", required=True,
                   help="base revision; all zeros: every run at head; 'auto': where the last submission "
                        "recorded on the platform got to")
    p.add_argument("--fallback-base", help="with --base auto: the base when the platform has no earlier "
                                           "submission from this history (the workflow passes the push's 'before')")
    p.add_argument("--head", default="HEAD", help="head revision (default HEAD)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the runs that would be created (YAML) and write nothing anywhere")
    p.add_argument("--format", choices=("text", "json", "github"), default="text",
                   help="text: a table; json: everything, for scripts; github: annotations and a table")
    p.add_argument("--concurrency", type=_positive(int), default=8, help="creates in flight at once (8)")
    p.add_argument("--timeout", type=_positive(float), default=60.0, help="seconds per platform call (60)")
    p.add_argument("--attempts", type=_positive(int), default=5,
                   help="tries per platform call; create rounds per run (5)")
    p.add_argument("--retry-wait", type=_positive(float), default=1.0,
                   help="first wait in seconds between tries, doubling (1)")
    p.add_argument("--lookback-days", type=_positive(float),
                   help="also read the platform this many days back (only ever widens the look-up, which "
                        "already reaches the oldest commit that has each run file)")
    p.add_argument("--repository", default=os.environ.get("GITHUB_REPOSITORY", ""),
                   help="this repository's name, owner/name (default: $GITHUB_REPOSITORY, else the origin remote)")
    p.add_argument("--repository-id", default=os.environ.get("GITHUB_REPOSITORY_ID", ""),
                   help="GitHub's id of this repository, which survives a rename (default: $GITHUB_REPOSITORY_ID)")
    common.add_repo_arg(p)
    return p


def repository(args, repo: Path):
    """Whose runs these are: identity includes the repository, so two repositories never share a run."""
    from ..git import Git
    from ..submit.platform import Repository

    return Repository(args.repository or Git(repo).remote_repository(), args.repository_id)


def run(args) -> int:
    from ..submit import report
    from ..submit.engine import RetryPolicy
    from ..submit.flow import Request, submit

    repo = Path(args.repo).resolve()
    if not repo.is_dir():
        print(f"runrepo submit: --repo {args.repo}: no such folder", file=sys.stderr)
        return EXIT_USAGE
    retry = RetryPolicy(concurrency=args.concurrency, attempts=args.attempts, wait=args.retry_wait,
                        wait_cap=max(args.retry_wait, 30.0))
    req = Request(repo, args.base, args.head, repository(args, repo), args.fallback_base, retry, args.timeout,
                  timedelta(days=args.lookback_days) if args.lookback_days else None, args.dry_run)
    result = submit(req)
    selection, outcomes = result.selection, result.outcomes
    for note in result.notes:
        print(f"runrepo submit: {note}", file=sys.stderr)
    if args.dry_run:
        return _dry_run(args, selection, outcomes, report)
    out = {"text": report.text, "json": report.as_json, "github": report.github}[args.format]
    sys.stdout.write(out(selection, outcomes))
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as f:
            f.write(report.markdown(selection, outcomes))
    return 1 if any(o.failed for o in outcomes) else 0


def _dry_run(args, selection, outcomes, report) -> int:
    if args.format == "json":
        import json

        data = json.loads(report.as_json(selection, outcomes))
        from ..rules.secrets import redact

        runs = {c.path: redact(c.run) for c in selection.to_submit}
        for row in data["runs"]:
            row["submission"] = runs.get(row["file"])
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(report.dry_run(selection))
        sys.stderr.write(report.text(selection, outcomes))
    return 1 if any(o.failed for o in outcomes) else 0
