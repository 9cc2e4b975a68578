"""`runrepo status [PATH...|--all]`: each run file next to what its platform runs are doing.

Read-only: one paginated listing of the platform (no request per file), this repository's runs only.
Exit 0 when all is well; 1 when a file's newest run failed, a file fails check, a submission left a
file without its run, or the platform cannot be read; 2 for bad arguments.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import EXIT_USAGE
from . import common
from .submit import _positive


def add_repository_args(p) -> None:
    """Whose runs these are: the same options as `submit` (identity includes the repository)."""
    p.add_argument("--repository", default=os.environ.get("GITHUB_REPOSITORY", ""),
                   help="this repository's name, owner/name (default: $GITHUB_REPOSITORY, else the origin remote)")
    p.add_argument("--repository-id", default=os.environ.get("GITHUB_REPOSITORY_ID", ""),
                   help="GitHub's id of this repository, which survives a rename (default: $GITHUB_REPOSITORY_ID)")


def add_parser(sub):
    p = sub.add_parser("status", help="what each run file's platform runs are doing (status, times, GPU-hours)")
    p.add_argument("paths", nargs="*", metavar="PATH", help="run files (default: every run file, as --all)")
    p.add_argument("--all", action="store_true", help="every run file at --head, and live runs whose file is gone")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                   help="text: a table; json: every run, for scripts; markdown: the job summary table")
    p.add_argument("--head", default="HEAD", help="the run files of this revision (default HEAD), read from git")
    p.add_argument("--timeout", type=_positive(float), default=60.0, help="seconds per platform call (60)")
    add_repository_args(p)
    common.add_repo_arg(p)
    return p


def run_files(repo: Path, paths: list[str], prog: str) -> list[str] | None:
    """PATHs (relative, absolute, or as under runs/) -> runs/experiments/NAME.yaml or runs/data/NAME.yaml;
    None after a message."""
    from ..compose.layers import TreeSource

    names = common.run_names(paths, TreeSource(repo))
    return None if names is None else [f"runs/{name}.yaml" for name in names]


def repo_and_repository(args, prog: str):
    """(repository root, Repository) or None after a one-line usage error."""
    from .submit import repository

    repo = Path(args.repo).resolve()
    if not (repo / "runs").is_dir():
        print(f"{args.repo}: error[usage] not a repository with runs/ (use --repo)", file=sys.stderr)
        return None
    who = repository(args, repo)
    if not (who.name or who.id):
        print(f"runrepo {prog}: error[usage] which repository's runs? --repository OWNER/NAME (in GitHub Actions, "
              "$GITHUB_REPOSITORY says it)", file=sys.stderr)
        return None
    return repo, who


def run(args) -> int:
    from ..git import Git
    from ..lifecycle import live, report, status
    from ..submit.platform import PlatformError

    found = repo_and_repository(args, "status")
    if found is None:
        return EXIT_USAGE
    repo, who = found
    paths = None if args.all or not args.paths else run_files(repo, args.paths, "status")
    if args.paths and not args.all and paths is None:
        return EXIT_USAGE
    git = Git(repo)
    head = git.commit(args.head, "--head")
    say = live.stderr_progress("status")
    say(f"composing and checking {len(paths) if paths else 'every'} run file(s) at {head[:12]}")
    decl = status.declared(repo, head, paths)
    gone = [d.path for d in decl if not d.digest and not d.error]
    if gone:
        print(f"{gone[0]}: error[usage] no such run file at {args.head} (runs of deleted files: "
              "`runrepo status --all`)", file=sys.stderr)
        return EXIT_USAGE
    say(f"{len(decl)} run file(s) composed and checked; reading the platform")
    try:
        seen = live.read_once(who, status.since(git, head, paths), args.timeout, say)
    except PlatformError as e:
        print(f"runrepo status: error[platform] cannot read the platform: {e}", file=sys.stderr)
        if args.format == "markdown":  # the job summary says why it is empty
            from ..report.escape import markdown

            print(f"### Run status\n\n**The platform could not be read:** {markdown(str(e))}")
        return 1
    rep = status.status(repo, head, paths, seen, decl)
    sys.stdout.write(report.FORMATS[args.format](rep))
    return rep.exit_code
