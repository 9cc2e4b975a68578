"""`runrepo submit --base REV|auto`: create on the platform, exactly once, the runs a merged range asks for.

Run files added, modified or renamed with changes in base..head are composed at head, checked, and
created with mcli unless a run with the same identity (path, digest) is already there. A run that
fails `check` is never submitted; the other runs still are (the merge has happened: holding them
back would lose them) and the exit code is 1. See tools/runrepo/submit/engine.py for the algorithm.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from ..errors import EXIT_USAGE, RunrepoError
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
    p.add_argument("--head", default="HEAD")
    p.add_argument("--dry-run", action="store_true",
                   help="print the runs that would be created (YAML) and write nothing anywhere")
    p.add_argument("--format", choices=("text", "json", "github"), default="text")
    p.add_argument("--concurrency", type=_positive(int), default=8, help="creates in flight at once (8)")
    p.add_argument("--timeout", type=_positive(float), default=60.0, help="seconds per platform call (60)")
    p.add_argument("--attempts", type=_positive(int), default=5,
                   help="tries per platform call; create rounds per run (5)")
    p.add_argument("--retry-wait", type=_positive(float), default=1.0,
                   help="first wait in seconds between tries, doubling (1)")
    p.add_argument("--window-days", type=_positive(float), default=30.0,
                   help="look up existing runs created this many days back (30)")
    p.add_argument("--repository", default=os.environ.get("GITHUB_REPOSITORY", ""),
                   help="recorded in each run's metadata (default: $GITHUB_REPOSITORY)")
    common.add_repo_arg(p)
    return p


def _commit(repo: Path, rev: str, what: str) -> str:
    """A revision -> its commit sha, or a usage error naming the option."""
    import subprocess

    done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=repo,
                          capture_output=True, text=True)
    if done.returncode:
        hint = " (fetch full history: actions/checkout fetch-depth: 0)" if what == "base" else ""
        raise RunrepoError("usage", f"--{what} {rev}: not a commit in {repo}{hint}")
    return done.stdout.strip()


def _policy(repo: Path, rev: str) -> dict:
    """runs/policy.yaml as of `rev`, the base: a merge is judged by the rules it could not loosen."""
    from ..compose.layers import GitSource

    return common.policy(GitSource(repo, rev))


def run(args) -> int:
    from ..submit import report
    from ..submit.engine import Policy

    repo = Path(args.repo).resolve()
    if not repo.is_dir():
        print(f"runrepo submit: --repo {args.repo}: no such folder", file=sys.stderr)
        return EXIT_USAGE
    args.head = _commit(repo, args.head, "head")
    if args.base != "auto" and set(args.base) != {"0"}:
        _commit(repo, args.base, "base")
    if args.fallback_base and set(args.fallback_base) != {"0"}:
        _commit(repo, args.fallback_base, "fallback-base")
    policy = Policy(concurrency=args.concurrency, attempts=args.attempts, wait=args.retry_wait,
                    wait_cap=max(args.retry_wait, 30.0), window_days=args.window_days)
    with contextlib.ExitStack() as stack:
        conn = _Connection(stack, args, policy, repo)
        if args.base == "auto":  # reads the platform, even for --dry-run (reading writes nothing)
            base, listing = conn.auto_base()
            if base is None:  # platform unreachable: report per run from the fallback range, if any
                if args.fallback_base is None:
                    return 1
                base = args.fallback_base
        else:
            base, listing = args.base, None
        rules = _policy(repo, args.head if set(base) == {"0"} else base)
        from ..submit.plan import select

        # Without --base auto, mcli is imported and the platform read while the runs compose.
        overlap = None if args.dry_run or listing is not None else conn.connect
        selection, early = select(repo, base, args.head, rules, args.repository, while_composing=overlap)
        if args.dry_run:
            return _dry_run(args, selection, report) or (1 if conn.error else 0)
        if listing is None and selection.to_submit:
            listing = early if early is not None else conn.connect()
        outcomes = conn.submit(selection, listing)
    out = {"text": report.text, "json": report.as_json, "github": report.github}[args.format]
    sys.stdout.write(out(selection, outcomes))
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as f:
            f.write(report.markdown(selection, outcomes))
    return 1 if any(o.failed for o in outcomes) else 0


def _dry_run(args, selection, report) -> int:
    outcomes = report.dry_run_outcomes(selection)
    if args.format == "json":
        import json

        data = json.loads(report.as_json(selection, outcomes))
        runs = {c.path: c.run for c in selection.to_submit}
        for row in data["runs"]:
            row["submission"] = runs.get(row["file"])
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(report.dry_run(selection))
        sys.stderr.write(report.text(selection, outcomes))
    return 1 if any(o.failed for o in outcomes) else 0


class _Connection:
    """The platform side of one command: opened at most once, and only when something needs it."""

    def __init__(self, stack: contextlib.ExitStack, args, policy, repo: Path):
        self.stack, self.args, self.policy, self.repo = stack, args, policy, repo
        self.submitter = None
        self.error = None

    def _open(self):
        if self.submitter is None:
            from ..submit.engine import Submitter
            from ..submit.plan import Ancestry
            from ..submit.platform import Platform, mcli_session

            self.stack.enter_context(mcli_session(self.policy.concurrency + 4))
            platform = Platform(timeout=self.args.timeout, probe_timeout=min(10.0, self.args.timeout))
            self.submitter = Submitter(platform, self.policy, Ancestry(self.repo))
        return self.submitter

    def connect(self):
        """Probe and list; a PlatformError is kept, so every run can report it on its own line."""
        from ..submit.platform import PlatformError

        sub = self._open()
        try:
            return sub.connect()
        except PlatformError as e:
            self.error = e
            return e

    def auto_base(self):
        from ..submit.base import auto_base

        listing = self.connect()
        if self.error is not None:
            print(f"runrepo submit: --base auto needs the platform: {self.error}", file=sys.stderr)
            return None, listing
        base, why = auto_base(self.repo, self.args.head, listing, self.args.fallback_base, None,
                              self.args.window_days)
        print(f"runrepo submit: base {base[:12]}: {why}", file=sys.stderr)
        return base, listing

    def submit(self, selection, listing):
        from ..submit.engine import _fail
        from ..submit.platform import PlatformError

        if isinstance(listing, PlatformError):
            from ..submit.engine import _static_outcome

            return [_fail(c, f"not submitted: {listing}") if c.decision == "submit" else _static_outcome(c)
                    for c in selection.candidates]
        sub = self._open() if selection.to_submit else None
        if sub is None:
            from ..submit.engine import Submitter

            sub = Submitter(None)  # nothing to submit: no platform call at all
        return sub.run(selection, listing)
