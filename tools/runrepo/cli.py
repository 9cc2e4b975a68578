"""runrepo: NeMo Megatron training runs on the MosaicML platform, reviewed and submitted from git.

A run is one small Hydra file under runs/experiments/ on shared layers (NeMo release, cluster,
launch profile, model). runrepo composes it, refuses what NeMo or the platform would refuse (on
the line that set the value, before any GPU is allocated), shows what a merge will submit, and
submits it through mcli exactly once.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .errors import EXIT_FINDINGS, EXIT_USAGE, NOT_FINDINGS, RunrepoError

COMMANDS = ("check", "render", "rules", "explain", "changes", "plan", "submit", "status", "logs", "emulator", "new",
            "import_", "demo", "completion")

EPILOG = """\
a run's life:
  runrepo new NAME --cluster C --node N --model M   write runs/experiments/NAME.yaml
  runrepo check runs/experiments/NAME.yaml          what pre-commit runs (exit 1 on an error)
  runrepo render | explain FILE                     the mcli run it expands to; layout, memory, GPU-hours
  runrepo plan --base origin/main                   what merging the branch will submit
  runrepo submit --base REV                         what the merge workflow runs
  runrepo status | logs FILE                        what its platform runs are doing; the newest one's log

Run it from anywhere inside the repository: the root (the folder holding runs/) is found from the
file's path or the current directory. Exit codes: 0 clean, 1 findings, 2 usage or internal error.
`runrepo COMMAND --help` explains a command; `runrepo rules` lists what check looks for.
"""


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("runrepo")
    except PackageNotFoundError:  # run from a source tree without installing
        return "unknown (not installed)"


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    from .commands.common import REPO_HELP

    parser = argparse.ArgumentParser(
        prog="runrepo", description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--repo", default=None, help=REPO_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {}
    for name in COMMANDS:
        mod = importlib.import_module(f".commands.{name}", __package__)
        mod.add_parser(sub)
        modules[name.rstrip("_")] = mod
    return parser, modules


PASSTHROUGH = {"emulator": "runrepo.emulator.cli"}  # commands that own their whole argument list


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in PASSTHROUGH:
        return importlib.import_module(PASSTHROUGH[argv[0]]).main(argv[1:])
    parser, modules = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code or 0)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    from .commands.common import settle_repo

    args.parser = parser  # `runrepo completion` reads the whole tree
    try:
        settle_repo(args)
        return modules[args.command].run(args)
    except RunrepoError as e:
        print(e, file=sys.stderr)
        return EXIT_USAGE if e.rule in (*NOT_FINDINGS, "internal") else EXIT_FINDINGS
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # never a traceback for the user; RUNREPO_DEBUG=1 shows it
        if os.environ.get("RUNREPO_DEBUG"):
            raise
        print(f"runrepo: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
