"""`runrepo logs PATH [--follow] [--rank N]`: the log of a run file's newest run (this repository's).

Exit 0: the log was printed, or the run has not started yet (said on stderr); 1: no run, or the
platform failed; 2: bad arguments.
"""

from __future__ import annotations

import sys

from ..errors import EXIT_USAGE
from . import common
from .status import add_repository_args, repo_and_repository, run_files
from .submit import _positive


def _rank(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a node rank (0, 1, ...), got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a node rank is 0 or more, got {text}")
    return value


def add_parser(sub):
    p = sub.add_parser("logs", help="the log of a run file's newest platform run (--follow to stream it)")
    p.add_argument("path", metavar="PATH", help="a run file, runs/experiments/NAME.yaml or runs/data/NAME.yaml")
    p.add_argument("--follow", "-f", action="store_true",
                   help="stream the log until the run ends (waits for a run that has not started)")
    p.add_argument("--rank", type=_rank, help="node rank (NODE_RANK) of a multi-node run (default: the lowest)")
    p.add_argument("--head", default="HEAD", help="revision whose history has the run file (default HEAD)")
    p.add_argument("--poll", type=_positive(float), default=10.0,
                   help="with --follow, seconds between looks at a run that has not started (10)")
    p.add_argument("--timeout", type=_positive(float), default=60.0, help="seconds per platform call (60)")
    add_repository_args(p)
    common.add_repo_arg(p)
    return p


def run(args) -> int:
    from ..git import Git
    from ..lifecycle import live
    from ..lifecycle.logs import pick, show
    from ..submit.platform import PlatformError
    from ..submit.select import lookup_start

    found = repo_and_repository(args, "logs")
    if found is None:
        return EXIT_USAGE
    repo, who = found
    paths = run_files(repo, [args.path], "logs")
    if paths is None:
        return EXIT_USAGE
    git = Git(repo)
    head = git.commit(args.head, "--head")
    say = live.stderr_progress("logs")
    try:
        with live.session(args.timeout) as sub:
            chosen = pick(live.read(sub, who, lookup_start(git, head, paths)), paths[0])
            if chosen.run is None:
                say(chosen.why)
                return 1
            say(chosen.why)
            return show(sub, chosen.run, args.rank, args.follow, args.poll, say)
    except PlatformError as e:
        print(f"runrepo logs: error[platform] {e}", file=sys.stderr)
        return 1
