"""`runrepo`: a thin shell over the pipeline. Each command is a module returning an exit code."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .errors import EXIT_FINDINGS, EXIT_USAGE, RunrepoError

COMMANDS = ("check", "render", "rules", "explain", "changes", "plan", "submit", "status", "logs", "emulator", "new",
            "import_", "demo")


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(prog="runrepo", description=__doc__)
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
    try:
        return modules[args.command].run(args)
    except RunrepoError as e:
        print(e, file=sys.stderr)
        return EXIT_USAGE if e.rule in ("usage", "git", "internal") else EXIT_FINDINGS
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
