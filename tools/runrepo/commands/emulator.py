"""`runrepo emulator --port P --state FILE`: the local MosaicML API, for the demo and the tests."""

from __future__ import annotations

import argparse


def add_parser(sub):
    p = sub.add_parser("emulator", help="serve a local MosaicML API emulator (loopback only)", add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER, help="see `runrepo emulator --help`")
    return p


def run(args) -> int:
    from ..emulator.cli import main

    return main(args.args)
